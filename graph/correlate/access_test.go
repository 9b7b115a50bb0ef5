package correlate_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/correlate"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/schema"
)

// needToKnow returns the objects of the need-to-know test: what every
// organization sees (GREEN) and what only org-a sees (AMBER).
//
//	C1, C2: GREEN, share 192.0.2.1
//	H: AMBER (org-a), holds 192.0.2.1 and w-evil.com
//	C3: GREEN, holds w-evil.com
//	C4, C5: GREEN, both name 192.0.2.99, an observable org-a stored AMBER
//	K: GREEN campaign that uses malware M through an AMBER relationship
//	C6: GREEN, holds M
func needToKnow(t *testing.T) (visible, hidden []*schema.Object) {
	v, w, z := value(t, "ipv4-addr", "192.0.2.1"), value(t, "domain-name", "w-evil.com"), value(t, "ipv4-addr", "192.0.2.99")
	m := obj(t, map[string]any{"type": "malware", "id": "malware--" + uuid(500), "name": "QuietRAT", "is_family": true})
	k := obj(t, map[string]any{"type": "campaign", "id": "campaign--" + uuid(501), "name": "Quiet Storm"})
	uses := obj(t, map[string]any{"type": "relationship", "id": "relationship--" + uuid(502), "relationship_type": "uses",
		"source_ref": k.ID, "target_ref": m.ID})
	visible = []*schema.Object{v, w, m, k, container(t, 1, v), container(t, 2, v), container(t, 3, w),
		container(t, 4, z), container(t, 5, z), container(t, 6, m)}
	hidden = []*schema.Object{z, uses, container(t, 7, v, w)}
	return visible, hidden
}

// TestNeedToKnow checks that what a viewer may not see takes no part in its
// correlations: a hidden container is never related and changes no weight,
// and evidence that only a hidden object or edge holds links nothing; while
// the organization that may see them gets those links.
func TestNeedToKnow(t *testing.T) {
	visible, hidden := needToKnow(t)
	s := graphtest.Open(t)
	graphtest.Put(t, s, green, visible...)
	graphtest.Put(t, s, amber, hidden...)
	// The same store without what org-b may not see.
	only := graphtest.Open(t)
	graphtest.Put(t, only, green, visible...)

	h := "grouping--" + uuid(7)
	pa, pb := build(t, s, viewerA, correlate.DefaultOptions()), build(t, s, viewerB, correlate.DefaultOptions())
	if pa.Len() != 8 || pb.Len() != 7 {
		t.Errorf("org-a sees %d containers, org-b %d; want 8 and 7", pa.Len(), pb.Len())
	}
	// org-a: H links C1, C2 (the address) and C3 (the domain); C4 and C5
	// link through the AMBER address; K links C6 through the AMBER "uses".
	for _, c := range []struct{ from, to string }{
		{h, "grouping--" + uuid(1)}, {h, "grouping--" + uuid(3)},
		{"grouping--" + uuid(4), "grouping--" + uuid(5)}, {"campaign--" + uuid(501), "grouping--" + uuid(6)},
	} {
		if _, ok := related(t, s, pa, c.from)[c.to]; !ok {
			t.Errorf("org-a: %s does not link %s", c.from, c.to)
		}
	}
	// org-b: none of that.
	if _, ok := pb.Index(idOf(t, s, h)); ok {
		t.Error("org-b's projection holds the hidden container")
	}
	for _, c := range []string{"grouping--" + uuid(3), "grouping--" + uuid(4), "grouping--" + uuid(6), "campaign--" + uuid(501)} {
		if r := related(t, s, pb, c); len(r) != 0 {
			t.Errorf("org-b: %s relates to %v", c, keys(r))
		}
	}
	if _, err := pb.Correlate(idOf(t, s, h)); !errors.Is(err, graph.ErrNotFound) {
		t.Errorf("org-b correlating the hidden container: %v, want not found", err)
	}
	e := correlate.NewEngine(s, correlate.DefaultOptions())
	defer e.Close()
	if _, err := e.Correlations(context.Background(), viewerB, idOf(t, s, h), 10); !errors.Is(err, graph.ErrNotFound) {
		t.Errorf("engine, org-b, hidden container: %v, want not found", err)
	}
	// org-b's answers are exactly those of a store that never held the
	// hidden objects: same scores, weights, DF and IDF.
	ponly := build(t, only, viewerB, correlate.DefaultOptions())
	if got, want := describe(t, s, pb, visible), describe(t, only, ponly, visible); got != want {
		t.Errorf("org-b's correlations depend on hidden objects:\n%s\nwithout them:\n%s", got, want)
	}
	v := correlate.Key{Kind: "ipv4-addr", Value: "192.0.2.1"}
	if pa.DF(v) != 3 || pb.DF(v) != 2 || math.Abs(pb.IDF(v)-math.Log1p(7.0/2)) > 1e-12 {
		t.Errorf("DF of 192.0.2.1: org-a %d, org-b %d (IDF %v)", pa.DF(v), pb.DF(v), pb.IDF(v))
	}
}

// describe writes every container's correlations as text, by STIX id.
func describe(t *testing.T, s *graph.Store, p *correlate.Projection, objs []*schema.Object) string {
	var b strings.Builder
	for _, o := range objs {
		if !slices.Contains(correlate.ContainerTypes, o.Type) {
			continue
		}
		r := related(t, s, p, o.ID)
		for _, id := range keys(r) {
			c := r[id]
			fmt.Fprintf(&b, "%s → %s %.9f:", o.ID, id, c.Score)
			for _, ev := range c.Evidence {
				fmt.Fprintf(&b, " %s/%s/df=%d/idf=%.9f/w=%.9f", ev.Key, ev.Rule, ev.DF, ev.IDF, ev.Weight)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
