package graphtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

// CheckAudit runs Store.AuditVerify and reports every problem of the audit
// log as a test error.
func CheckAudit(tb testing.TB, s *graph.Store) {
	tb.Helper()
	rep, err := s.AuditVerify(context.Background())
	if errors.Is(err, graph.ErrClosed) {
		return
	}
	if err != nil {
		tb.Errorf("verify audit log: %v", err)
		return
	}
	reportProblems(tb, "audit log", rep.Problems, rep.ProblemCount)
}

// reportProblems fails the test with each problem listed, and says how many
// more there are of count.
func reportProblems[P any](tb testing.TB, what string, problems []P, count int) {
	tb.Helper()
	for _, p := range problems {
		tb.Errorf("%s: %v", what, p)
	}
	if count > len(problems) {
		tb.Errorf("… and %d more %s problems", count-len(problems), what)
	}
}

// LastAuditEntry returns the newest entry of the store's audit log, and
// fails the test when there is none.
func LastAuditEntry(tb testing.TB, s *graph.Store) graph.AuditEntry {
	tb.Helper()
	var last *graph.AuditEntry
	err := s.AuditEntries(context.Background(), graph.AuditFilter{Newest: true, Limit: 1}, func(e graph.AuditEntry) bool {
		last = &e
		return false
	})
	if err != nil || last == nil {
		tb.Fatalf("no audit entry: %v", err)
	}
	return *last
}

// AuditLineHash recomputes the hash of one line of an audit export the way
// an oversight body would, without Verband's own encoder: it decodes the
// line, removes "hash", writes the rest in RFC 8785 canonical form and
// returns its SHA-256 in hex, with the line's "hash" and "prev".
func AuditLineHash(tb testing.TB, line []byte) (recomputed, hash, prev string) {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		tb.Fatalf("audit line %q: %v", line, err)
	}
	hash, _ = m["hash"].(string)
	prev, _ = m["prev"].(string)
	delete(m, "hash")
	raw, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	canon, err := schema.CanonicalJSON(raw)
	if err != nil {
		tb.Fatalf("audit line %q: %v", line, err)
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), hash, prev
}
