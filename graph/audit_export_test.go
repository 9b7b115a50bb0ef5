package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/schema"
)

// TestAuditExportLineFollowsTheHashRecipe checks that an exported entry
// (AuditEntry.MarshalJSON) is canonical JSON whose hash and chain an
// outsider can recompute with the recipe audit.go documents.
func TestAuditExportLineFollowsTheHashRecipe(t *testing.T) {
	s := graphtest.Open(t)
	for i := range 3 {
		_, err := s.AppendAudit(context.Background(), graph.AuditEntry{Viewer: graph.AuditViewer{Org: "org-a", User: "ü\u2028"},
			Operation: "graphql:Q", Args: json.RawMessage(fmt.Sprintf(`{"variables":{"n":%d.50,"s":"<&>"}}`, i)), Outcome: graph.AuditOK})
		if err != nil {
			t.Fatal(err)
		}
	}
	prev := strings.Repeat("0", 64)
	n := 0
	err := s.AuditEntries(context.Background(), graph.AuditFilter{}, func(e graph.AuditEntry) bool {
		n++
		line, err := e.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		// json.Marshal escapes <, >, & and U+2028 in what MarshalJSON
		// returns: not canonical, but the same JSON value.
		if escaped, err := json.Marshal(e); err != nil || !json.Valid(escaped) || bytes.Equal(escaped, line) {
			t.Errorf("json.Marshal: %s %v", escaped, err)
		}
		if canon, err := schema.CanonicalJSON(line); err != nil || !bytes.Equal(canon, line) {
			t.Errorf("line %s is not canonical: %s %v", line, canon, err)
		}
		sum, hash, linePrev := graphtest.AuditLineHash(t, line)
		if sum != hash || hash != e.Hash || linePrev != prev {
			t.Errorf("entry %d: recomputed hash %s, stored %s; prev %s, want %s", e.Seq, sum, hash, linePrev, prev)
		}
		prev = e.Hash
		var back graph.AuditEntry
		if err := json.Unmarshal(line, &back); err != nil || back.Hash != e.Hash || !back.Time.Equal(e.Time) || back.Viewer != e.Viewer {
			t.Errorf("line does not decode back: %+v %v", back, err)
		}
		return true
	})
	if err != nil || n != 3 {
		t.Fatalf("read %d entries: %v", n, err)
	}
}
