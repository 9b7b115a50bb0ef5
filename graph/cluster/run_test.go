package cluster_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/cluster"
	"github.com/verband-cti/verband/graph/correlate"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/schema"
)

// now is the start of the tests' first run.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var green = graph.Meta{Policy: graph.Policy{Owner: "org-a", TLP: schema.TLPGreen}, Provenance: graph.Provenance{Source: "test"}}

// ip makes the address 198.51.100.n.
func ip(tb testing.TB, n int) *schema.Object {
	return graphtest.SCO(tb, map[string]any{"type": "ipv4-addr", "spec_version": "2.1", "value": fmt.Sprintf("198.51.100.%d", n)})
}

// report makes report n, published at t, holding members.
func report(tb testing.TB, n int, t time.Time, members ...*schema.Object) *schema.Object {
	refs := make([]string, len(members))
	for i, m := range members {
		refs[i] = m.ID
	}
	ts := t.Format(time.RFC3339)
	return graphtest.Object(tb, map[string]any{"type": "report", "spec_version": "2.1", "id": reportID(n), "name": fmt.Sprintf("report %d", n),
		"created": ts, "modified": ts, "published": ts, "object_refs": refs})
}

func reportID(n int) string { return fmt.Sprintf("report--00000000-0000-4000-8000-%012d", n) }

// run computes and stores a snapshot of viewer v's projection, as audience,
// started at t, compared with the audience's latest snapshot.
func run(tb testing.TB, s *graph.Store, v graph.Viewer, audience string, t time.Time, opts cluster.Options) *cluster.Snapshot {
	tb.Helper()
	ctx := context.Background()
	p, err := correlate.Build(ctx, s, v, correlate.DefaultOptions())
	if err != nil {
		tb.Fatal(err)
	}
	res, err := cluster.Compute(ctx, p, opts)
	if err != nil {
		tb.Fatal(err)
	}
	first, err := cluster.FirstSeen(ctx, s, v, p)
	if err != nil {
		tb.Fatal(err)
	}
	prev, err := cluster.Latest(s, audience)
	if err != nil && !strings.Contains(err.Error(), graph.ErrNotFound.Error()) {
		tb.Fatal(err)
	}
	snap := cluster.NewSnapshot(p, res, first, prev, cluster.RunInfo{ID: cluster.RunID(t), Audience: audience, Started: t, MaxDF: correlate.DefaultMaxDF})
	if err := cluster.Save(ctx, s, snap); err != nil {
		tb.Fatal(err)
	}
	return snap
}

// byMembers finds the cluster holding a member.
func byMember(tb testing.TB, s *cluster.Snapshot, stixID string) cluster.Summary {
	tb.Helper()
	for _, c := range s.Clusters {
		for _, m := range c.Members {
			if m.StixID == stixID {
				return c
			}
		}
	}
	tb.Fatalf("run %s: no cluster holds %s", s.Run, stixID)
	return cluster.Summary{}
}

// TestRunsKeepIDsOfGrownClusters runs three times: the second run adds a
// recent report to a cluster of past ones, which keeps its id, grows, and
// brings new recent-to-past links; the third changes nothing.
//
//	r1 ─a─ r2 ─b─ r3 (and r1 ─c─ r3)      r4 ─d─ r5      r6 (alone)
//	run 2 adds r7 (recent), holding a and b
func TestRunsKeepIDsOfGrownClusters(t *testing.T) {
	s := graphtest.Open(t)
	old := now.AddDate(0, 0, -100)
	a, b, c, d, e := ip(t, 1), ip(t, 2), ip(t, 3), ip(t, 4), ip(t, 5)
	graphtest.Put(t, s, green, a, b, c, d, e, report(t, 1, old, a, c), report(t, 2, old, a, b), report(t, 3, old, b, c),
		report(t, 4, old, d), report(t, 5, old, d), report(t, 6, old, e))
	one := run(t, s, graph.System(), "instance", now, cluster.Options{})
	if len(one.Clusters) != 2 || one.Totals.Singletons != 1 || one.Totals.Containers != 6 {
		t.Fatalf("run 1: %d clusters, totals %+v", len(one.Clusters), one.Totals)
	}
	x, y := byMember(t, one, reportID(1)), byMember(t, one, reportID(4))
	if len(x.Members) != 3 || x.Status != cluster.StatusNew || len(y.Members) != 2 {
		t.Errorf("run 1: clusters %+v / %+v", x, y)
	}
	if !slices.Equal(one.Changes.New, slices.Sorted(slices.Values([]string{x.ID, y.ID}))) || one.Previous != "" {
		t.Errorf("run 1 changes %+v previous %q", one.Changes, one.Previous)
	}
	if len(one.Changes.NewLinks) != 0 {
		t.Errorf("run 1 has new links between containers that are all past: %+v", one.Changes.NewLinks)
	}

	graphtest.Put(t, s, green, report(t, 7, now.Add(-48*time.Hour), a, b))
	two := run(t, s, graph.System(), "instance", now.Add(time.Hour), cluster.Options{})
	x2, y2 := byMember(t, two, reportID(7)), byMember(t, two, reportID(4))
	if x2.ID != x.ID || x2.Status != cluster.StatusGrown || !slices.Equal(x2.NewMembers, []string{reportID(7)}) {
		t.Errorf("run 2: grown cluster %s %s new %q, want id %s", x2.ID, x2.Status, x2.NewMembers, x.ID)
	}
	if y2.ID != y.ID || y2.Status != cluster.StatusUnchanged {
		t.Errorf("run 2: other cluster %s %s, want %s unchanged", y2.ID, y2.Status, y.ID)
	}
	if two.Previous != one.Run || len(two.Changes.Grown) != 1 || two.Changes.Grown[0].ID != x.ID || len(two.Changes.New) != 0 {
		t.Errorf("run 2: previous %q changes %+v", two.Previous, two.Changes)
	}
	var pasts []string
	for _, nl := range two.Changes.NewLinks {
		if nl.Recent.StixID != reportID(7) || nl.Cluster != x.ID || len(nl.Evidence) == 0 {
			t.Errorf("run 2: new link %+v", nl)
		}
		pasts = append(pasts, nl.Past.StixID)
	}
	slices.Sort(pasts)
	if !slices.Equal(pasts, []string{reportID(1), reportID(2), reportID(3)}) {
		t.Errorf("run 2: new links to %q, want r1, r2, r3", pasts)
	}
	// Members are ranked: r2 and r7, which hold both a and b, outrank the
	// others.
	if top := []string{x2.Members[0].StixID, x2.Members[1].StixID}; !slices.Contains(top, reportID(2)) || !slices.Contains(top, reportID(7)) {
		t.Errorf("run 2: ranking %+v", x2.Members)
	}

	three := run(t, s, graph.System(), "instance", now.Add(2*time.Hour), cluster.Options{})
	if len(three.Changes.NewLinks)+len(three.Changes.New)+len(three.Changes.Grown) != 0 {
		t.Errorf("run 3 without changes: %+v", three.Changes)
	}
	for _, c := range three.Clusters {
		if c.Status != cluster.StatusUnchanged {
			t.Errorf("run 3: cluster %s is %s", c.ID, c.Status)
		}
	}
	ids, err := cluster.RunIDs(s, "instance", "")
	if err != nil || !slices.Equal(ids, []string{three.Run, two.Run, one.Run}) {
		t.Errorf("run ids %q %v", ids, err)
	}
	loaded, err := cluster.Load(s, "instance", two.Run)
	if err != nil || loaded.Run != two.Run || len(loaded.Clusters) != len(two.Clusters) {
		t.Errorf("load run 2: %v", err)
	}
}

// cliques stores two groups of five reports, each group holding one value
// in common, joined by one bridge value that a report of each group holds.
func cliques(tb testing.TB, s *graph.Store) {
	old := now.AddDate(0, -6, 0)
	ga, gb, bridge := ip(tb, 10), ip(tb, 20), ip(tb, 99)
	var objs []*schema.Object
	objs = append(objs, ga, gb, bridge)
	for i := range 5 {
		ma, mb := []*schema.Object{ga}, []*schema.Object{gb}
		if i == 0 {
			ma, mb = append(ma, bridge), append(mb, bridge)
		}
		objs = append(objs, report(tb, 10+i, old, ma...), report(tb, 20+i, old, mb...))
	}
	graphtest.Put(tb, s, green, objs...)
}

// TestLouvainSplitsAndBridges checks that a component above LouvainAbove
// splits into its two communities, that the value holding them together is
// each one's top bridge, naming both, and that the result and ids are the
// same on another store with the same data and seed.
func TestLouvainSplitsAndBridges(t *testing.T) {
	opts := cluster.Options{LouvainAbove: 4, Seed: 42}
	var snaps []*cluster.Snapshot
	for range 2 {
		s := graphtest.Open(t)
		cliques(t, s)
		snaps = append(snaps, run(t, s, graph.System(), "instance", now, opts))
	}
	one := snaps[0]
	if len(one.Clusters) != 2 || len(one.Clusters[0].Members) != 5 || len(one.Clusters[1].Members) != 5 {
		t.Fatalf("clusters %+v", one.Clusters)
	}
	// Each cluster's own value holds it together (the most betweenness,
	// summed over its ten links); the bridge value's single link carries
	// the 25 shortest paths between the groups and names both clusters.
	for _, c := range one.Clusters {
		if len(c.Bridges) != 2 || len(c.Bridges[0].Clusters) != 1 || c.Bridges[0].Clusters[0] != c.ID ||
			c.Bridges[1].Value != "198.51.100.99" || c.Bridges[1].Betweenness != 25 || len(c.Bridges[1].Clusters) != 2 {
			t.Errorf("cluster %s: bridges %+v", c.ID, c.Bridges)
		}
	}
	for i := range one.Clusters {
		a, b := one.Clusters[i], snaps[1].Clusters[i]
		if a.ID != b.ID || !slices.EqualFunc(a.Members, b.Members, func(x, y cluster.Member) bool { return x.StixID == y.StixID && x.Rank == y.Rank }) {
			t.Errorf("cluster %d differs between two stores with the same data and seed: %+v / %+v", i, a, b)
		}
	}
}

// TestPathsBetweenContainers checks that the evidence path between two
// reports of different groups runs over the bridge link.
func TestPathsBetweenContainers(t *testing.T) {
	s := graphtest.Open(t)
	cliques(t, s)
	ctx := context.Background()
	p, err := correlate.Build(ctx, s, graph.System(), correlate.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	idx := func(n int) int32 {
		var id graph.ID
		if err := s.View(graph.System(), func(tx *graph.Tx) (err error) { id, err = tx.Lookup(reportID(n)); return err }); err != nil {
			t.Fatal(err)
		}
		i, ok := p.Index(id)
		if !ok {
			t.Fatalf("report %d is no projection node", n)
		}
		return i
	}
	paths, err := cluster.Paths(ctx, p, idx(11), idx(21), cluster.PathOptions{K: 2, MaxDepth: 4})
	if err != nil {
		t.Fatal(err)
	}
	// The cheapest goes r11 → r10 → r20 → r21; the next takes one more
	// hop inside a group. Both cross the bridge link.
	if len(paths) != 2 || len(paths[0].Links) != 3 || len(paths[1].Links) != 4 || paths[0].Cost >= paths[1].Cost {
		t.Fatalf("paths %+v", paths)
	}
	for _, path := range paths {
		crosses := false
		for _, li := range path.Links {
			crosses = crosses || p.Links()[li].Evidence[0].Value == "198.51.100.99"
		}
		if !crosses {
			t.Errorf("path %+v does not cross the bridge", path)
		}
	}
	if none, err := cluster.Paths(ctx, p, idx(11), idx(21), cluster.PathOptions{MaxDepth: 2}); err != nil || len(none) != 0 {
		t.Errorf("paths within 2 links: %+v %v", none, err)
	}
	if _, err := cluster.Paths(ctx, p, idx(11), idx(11), cluster.PathOptions{}); err == nil {
		t.Error("a path from a container to itself was accepted")
	}
}
