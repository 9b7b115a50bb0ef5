package correlate_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/correlate"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/schema"
)

const ts = "2024-05-01T09:00:00.000Z"

// Viewers of the tests: analysts of two organizations.
var (
	viewerA = graph.Viewer{Org: "org-a", User: "alice"}
	viewerB = graph.Viewer{Org: "org-b", User: "bob"}
)

// Policies the tests store objects under.
var (
	green = graph.Meta{Policy: graph.Policy{Owner: "org-a", TLP: schema.TLPGreen}, Provenance: graph.Provenance{Source: "test"}}
	amber = graph.Meta{Policy: graph.Policy{Owner: "org-a", TLP: schema.TLPAmber}, Provenance: graph.Provenance{Source: "test-a"}}
)

// obj makes a STIX object from properties; SCOs get their deterministic id.
func obj(tb testing.TB, props map[string]any) *schema.Object {
	tb.Helper()
	props["spec_version"] = "2.1"
	if schema.KindOf(fmt.Sprint(props["type"])) == schema.KindSCO {
		return graphtest.SCO(tb, props)
	}
	props["created"], props["modified"] = ts, ts
	return graphtest.Object(tb, props)
}

// value makes an observable with a value, such as value(t, "ipv4-addr", "192.0.2.1").
func value(tb testing.TB, typ, v string) *schema.Object {
	return obj(tb, map[string]any{"type": typ, "value": v})
}

// file makes a file object with the given hashes ("MD5", "SHA-1", "SHA-256" keys).
func file(tb testing.TB, hashes map[string]string) *schema.Object {
	return obj(tb, map[string]any{"type": "file", "hashes": hashes})
}

// uuid returns a fixed UUID numbered n, for readable test ids.
func uuid(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// container makes a grouping numbered n holding members.
func container(tb testing.TB, n int, members ...*schema.Object) *schema.Object {
	refs := make([]string, len(members))
	for i, m := range members {
		refs[i] = m.ID
	}
	return obj(tb, map[string]any{"type": "grouping", "id": "grouping--" + uuid(n), "name": fmt.Sprintf("container %d", n),
		"context": "suspicious-activity", "object_refs": refs})
}

// idOf returns the internal id of a STIX id.
func idOf(tb testing.TB, s *graph.Store, stixID string) graph.ID {
	tb.Helper()
	var id graph.ID
	err := s.View(graph.System(), func(tx *graph.Tx) error {
		var err error
		id, err = tx.Lookup(stixID)
		return err
	})
	if err != nil {
		tb.Fatalf("look up %s: %v", stixID, err)
	}
	return id
}

// build builds the projection of viewer v with opts.
func build(tb testing.TB, s *graph.Store, v graph.Viewer, opts correlate.Options) *correlate.Projection {
	tb.Helper()
	p, err := correlate.Build(context.Background(), s, v, opts)
	if err != nil {
		tb.Fatalf("build: %v", err)
	}
	return p
}

// related returns the correlations of container stixID, by the related
// container's STIX id.
func related(tb testing.TB, s *graph.Store, p *correlate.Projection, stixID string) map[string]correlate.Correlation {
	tb.Helper()
	res, err := p.Correlate(idOf(tb, s, stixID))
	if err != nil {
		tb.Fatalf("correlate %s: %v", stixID, err)
	}
	out := map[string]correlate.Correlation{}
	for _, c := range res.Related {
		out[c.Container.StixID] = c
	}
	return out
}
