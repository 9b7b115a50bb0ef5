package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/ingest/pipeline"
	"github.com/verband-cti/verband/schema"
)

// TestIngestHits: an organization that loads a value another organization
// holds as discoverable learns the holder's name, and nothing else; both
// audit logs record it. Undiscoverable holdings stay silent.
func TestIngestHits(t *testing.T) {
	s := graphtest.Open(t)
	dir := t.TempDir()
	bundle := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const ip = `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--00000000-0000-4000-8000-0000000000%s","value":"%s"}`
	obj := func(n, v string) string { return strings.Replace(strings.Replace(ip, "%s", n, 1), "%s", v, 1) }
	held := bundle("b.json", `{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000001","objects":[`+obj("01", "198.51.100.1")+`,`+obj("02", "198.51.100.2")+`]}`)
	mustLoad(t, s, pipeline.Options{Source: "sensors", Owner: graphtest.OrgB, TLP: schema.TLPAmber}, held)
	// Org B makes one of the two discoverable.
	err := s.Update(graph.Viewer{Org: graphtest.OrgB}, func(tx *graph.Tx) error {
		var id string
		ids, err := tx.ByValue("198.51.100.1")
		if err != nil || len(ids) != 1 {
			t.Fatalf("org B's own value: %v %v", ids, err)
		}
		n, err := tx.Node(ids[0])
		if err != nil {
			return err
		}
		id = n.StixID
		return tx.SetPolicy(id, graphtest.OrgB, graph.Policy{TLP: schema.TLPAmber, Discoverable: true})
	})
	if err != nil {
		t.Fatal(err)
	}

	mine := bundle("c.json", `{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000002","objects":[`+obj("03", "198.51.100.1")+`,`+obj("04", "198.51.100.2")+`,`+obj("05", "203.0.113.5")+`]}`)
	st := mustLoad(t, s, pipeline.Options{Source: "incident-42", Owner: graphtest.OrgC, TLP: schema.TLPAmber}, mine)
	if len(st.Hits) != 1 || st.Hits[0].Value != "198.51.100.1" || !slices.Equal(st.Hits[0].Organizations, []string{graphtest.OrgB}) {
		t.Errorf("hits = %+v, want 198.51.100.1 held by org B only", st.Hits)
	}
	for _, org := range []string{graphtest.OrgB, graphtest.OrgC} {
		var hits int
		err := s.AuditEntries(context.Background(), graph.AuditFilter{Org: org}, func(e graph.AuditEntry) bool {
			if strings.HasPrefix(e.Operation, "hit") && strings.Contains(string(e.Result), "198.51.100.1") {
				hits++
			}
			return true
		})
		if err != nil || hits != 1 {
			t.Errorf("%s's audit log shows %d hit entries (%v), want 1", org, hits, err)
		}
	}
}
