package graph_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/schema"
)

// The leak tests check that no read reveals what its viewer may not see.
// TestLeak_RandomGraphs compares every kind of read with the reference
// model of graphtest.World on random graphs; the named TestLeak_ tests are
// the minimal scenarios of leaks other platforms shipped.

// leakNS numbers the worlds of a test run, so that their STIX ids differ.
var leakNS atomic.Int64

// leakEdgeTypes are every edge type a World has, plus one it never has.
var leakEdgeTypes = []string{"uses", "indicates", "related-to", "created_by_ref", "object_refs", "sighting_of_ref", "where_sighted_refs", "resolves_to_refs", "based-on", "no-such-type"}

// TestLeak_RandomGraphs builds random graphs with random owners, markings
// and sharing lists, objects contributed by several organizations with
// different properties (protected ones among them) and policies changed
// after storing, stores them by a random path, and runs every kind of read
// as random viewers, plain and narrowed for exports, comparing each answer
// with the reference model: no hidden object, contribution, edge, property,
// provenance or count may appear, and a hidden object must read exactly
// like a missing one. Each example's graph is deleted afterwards,
// so that a store serves several examples; -rapid.checks=N runs longer.
func TestLeak_RandomGraphs(t *testing.T) {
	stores := graphtest.NewWorldStores(t, 20, nil)
	rapid.Check(t, func(rt *rapid.T) {
		s := stores.Next()
		assertNothingVisible(rt, s)
		w := graphtest.DrawWorld(rt, int(leakNS.Add(1)), 10, 60)
		ids := w.Load(rt, s)
		defer w.Unload(rt, s)
		if err := s.WaitIndexed(context.Background()); err != nil {
			rt.Fatalf("wait for the search index: %v", err)
		}
		for _, v := range append(w.Viewers(rt, 2), w.ExportViewers(rt, 2)...) {
			c := newLeakCheck(rt, w, ids, v)
			err := s.View(v.Graph(), func(tx *graph.Tx) error {
				c.nodes(tx)
				c.listings(tx)
				c.edges(tx)
				c.expand(tx)
				if v.Plain() {
					c.hits(tx)
				}
				return nil
			})
			if err != nil {
				rt.Fatalf("%s: view: %v", v, err)
			}
			c.search(s)
		}
	})
}

// assertNothingVisible checks that the worlds of earlier examples are gone,
// so that the model, which knows only the current world, is complete.
func assertNothingVisible(t *rapid.T, s *graph.Store) {
	err := s.View(graph.System(), func(tx *graph.Tx) error {
		counts, err := tx.Types()
		if len(counts) > 0 {
			t.Fatalf("the store still holds objects of an earlier world: %v", counts)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// leakCheck compares the reads of one viewer with the model.
type leakCheck struct {
	t    *rapid.T
	w    *graphtest.World
	v    graphtest.WorldViewer
	ids  map[string]graph.ID
	stix map[graph.ID]string
}

func newLeakCheck(t *rapid.T, w *graphtest.World, ids map[string]graph.ID, v graphtest.WorldViewer) *leakCheck {
	c := &leakCheck{t: t, w: w, v: v, ids: ids, stix: map[graph.ID]string{}}
	for s, id := range ids {
		c.stix[id] = s
	}
	return c
}

// name shows an internal id as the STIX id it stands for, or as a number
// when it is not one of the world's objects.
func (c *leakCheck) name(id graph.ID) string {
	if s, ok := c.stix[id]; ok {
		return s
	}
	return "#" + strconv.FormatUint(uint64(id), 10)
}

// visibleIDs returns the ids of the given objects that the model lets the
// viewer see, sorted.
func (c *leakCheck) visibleIDs(objs []*graphtest.WorldObject) []graph.ID {
	var out []graph.ID
	for _, o := range objs {
		if c.w.Visible(c.v, o.Object.ID) {
			out = append(out, c.ids[o.Object.ID])
		}
	}
	slices.Sort(out)
	return out
}

// sameIDs fails the test when got and want (both sorted) differ, naming
// what is extra and what is missing.
func (c *leakCheck) sameIDs(what string, got, want []graph.ID) {
	if slices.Equal(got, want) {
		return
	}
	var extra, missing []string
	for _, id := range got {
		if !slices.Contains(want, id) {
			extra = append(extra, c.name(id))
		}
	}
	for _, id := range want {
		if !slices.Contains(got, id) {
			missing = append(missing, c.name(id))
		}
	}
	c.t.Fatalf("%s: %s: got %d ids, model %d; extra (leaked) %v, missing %v", c.v, what, len(got), len(want), extra, missing)
}

// missingText is err's message with the id it names replaced, so that the
// messages about a hidden and a missing object can be compared.
func missingText(err error, id string) string {
	if err == nil {
		return "<nil>"
	}
	return strings.ReplaceAll(err.Error(), id, "<id>")
}

// nodes checks the point reads: Node, NodeByStixID, Lookup and Visible
// find exactly the visible objects, and a hidden object is reported as not
// found with the same message as an object that was never stored.
func (c *leakCheck) nodes(tx *graph.Tx) {
	never := "malware--ffffffff-0000-4000-8000-000000000000"
	_, errMissing := tx.Lookup(never)
	_, errMissingNode := tx.NodeByStixID(never)
	for _, o := range c.w.Objects {
		stix, id := o.Object.ID, c.ids[o.Object.ID]
		got, err := tx.Lookup(stix)
		n, nerr := tx.NodeByStixID(stix)
		byID, iderr := tx.Node(id)
		if c.w.Visible(c.v, stix) {
			if err != nil || got != id || nerr != nil || n.StixID != stix || n.Type != o.Object.Type || iderr != nil || byID.StixID != stix {
				c.t.Fatalf("%s: visible %s: Lookup = %d, %v; NodeByStixID err %v; Node err %v", c.v, stix, got, err, nerr, iderr)
			}
			c.content(n)
			continue
		}
		if !errors.Is(err, graph.ErrNotFound) || !errors.Is(nerr, graph.ErrNotFound) || !errors.Is(iderr, graph.ErrNotFound) || n != nil || byID != nil {
			c.t.Fatalf("%s: hidden %s: Lookup err %v, NodeByStixID err %v, Node err %v; want not found", c.v, stix, err, nerr, iderr)
		}
		if missingText(err, stix) != missingText(errMissing, never) || missingText(nerr, stix) != missingText(errMissingNode, never) {
			c.t.Fatalf("%s: hidden %s reads unlike a missing object: %q and %q against %q and %q", c.v, stix, err, nerr, errMissing, errMissingNode)
		}
	}
	for _, stix := range c.w.Dangling {
		if _, err := tx.Lookup(stix); !errors.Is(err, graph.ErrNotFound) {
			c.t.Fatalf("%s: Lookup of %s, never stored: %v, want not found", c.v, stix, err)
		}
	}
	// Every internal id around the world's, stubs of references to objects
	// never stored included, is found exactly when the model sees it.
	lo, hi := graph.ID(1<<62), graph.ID(0)
	for _, id := range c.ids {
		lo, hi = min(lo, id), max(hi, id)
	}
	_, errFar := tx.Node(hi + 1000)
	for id := max(lo, 3) - 2; id <= hi+2; id++ {
		n, err := tx.Node(id)
		stix, known := c.stix[id]
		want := known && c.w.Visible(c.v, stix)
		if (err == nil) != want || tx.Visible(id) != want {
			c.t.Fatalf("%s: Node(%d) (%s): err %v, Visible %v; model visible %v", c.v, id, c.name(id), err, tx.Visible(id), want)
		}
		if err != nil && missingText(err, strconv.FormatUint(uint64(id), 10)) != missingText(errFar, strconv.FormatUint(uint64(hi+1000), 10)) {
			c.t.Fatalf("%s: hidden node %d reads unlike a missing one: %q against %q", c.v, id, err, errFar)
		}
		if n != nil && n.StixID != stix {
			c.t.Fatalf("%s: Node(%d) is %s, want %s", c.v, id, n.StixID, stix)
		}
		// Ref names exactly the nodes Node reads, the same way, twice (the
		// second time from what the store remembers).
		for range 2 {
			ref, rerr := tx.Ref(id)
			if (rerr == nil) != want || rerr != nil && missingText(rerr, strconv.FormatUint(uint64(id), 10)) != missingText(err, strconv.FormatUint(uint64(id), 10)) {
				c.t.Fatalf("%s: Ref(%d) (%s): err %v, Node err %v", c.v, id, c.name(id), rerr, err)
			}
			if n != nil && (ref.ID != id || ref.StixID != n.StixID || ref.Type != n.Type) {
				c.t.Fatalf("%s: Ref(%d) is %+v, Node %s %s", c.v, id, ref, n.StixID, n.Type)
			}
		}
	}
}

// content checks what a visible node shows: its properties, times,
// contributions and provenance are those of the contributions the viewer
// sees, without the protected properties and provenance details of those
// it does not own.
func (c *leakCheck) content(n *graph.Node) {
	view := c.w.View(c.v, n.StixID)
	var got map[string]any
	if err := json.Unmarshal(n.Raw, &got); err != nil {
		c.t.Fatalf("%s: %s: decode %s: %v", c.v, n.StixID, n.Raw, err)
	}
	if !view.Shows(got) {
		want, _ := json.Marshal(view.Props)
		c.t.Fatalf("%s: %s shows\n %s\nmodel (or one of %v)\n %s", c.v, n.StixID, n.Raw, view.Choices, want)
	}
	var created time.Time
	if ts, ok := view.Props["created"].(string); ok {
		created, _ = time.Parse(time.RFC3339, ts)
	}
	if !n.Created.Equal(created) || !n.Modified.Equal(view.Modified) {
		c.t.Fatalf("%s: %s created %s, modified %s; model %s, %s", c.v, n.StixID, n.Created, n.Modified, created, view.Modified)
	}
	var gotPolicies, wantPolicies, gotProv, wantProv []string
	for _, k := range n.Contributions {
		gotPolicies = append(gotPolicies, policyKey(k.Policy))
	}
	for _, p := range n.Provenance {
		gotProv = append(gotProv, p.Source+" "+p.File)
	}
	for _, k := range view.Contributions {
		wantPolicies = append(wantPolicies, policyKey(k.Meta.Policy))
		if graphtest.SeesProvenance(c.v, k.Meta.Policy.Owner) {
			wantProv = append(wantProv, k.Meta.Provenance.Source+" "+k.Meta.Provenance.File)
		} else {
			wantProv = append(wantProv, " ")
		}
	}
	slices.Sort(gotPolicies)
	slices.Sort(wantPolicies)
	slices.Sort(gotProv)
	slices.Sort(wantProv)
	if !slices.Equal(gotPolicies, wantPolicies) || !slices.Equal(gotProv, wantProv) {
		c.t.Fatalf("%s: %s shows contributions %v with provenance %v; model %v with %v", c.v, n.StixID, gotPolicies, gotProv, wantPolicies, wantProv)
	}
	if p, ok := c.w.Primary(c.v, n.StixID); ok && policyKey(n.Policy) != policyKey(p) {
		c.t.Fatalf("%s: %s shows policy %s first, model %s", c.v, n.StixID, policyKey(n.Policy), policyKey(p))
	}
}

// policyKey shows a policy as a string, lists sorted.
func policyKey(p graph.Policy) string {
	return fmt.Sprintf("{%s %v sharing %v users %v discoverable %v}", p.Owner, p.TLP, slices.Sorted(slices.Values(p.Sharing)), slices.Sorted(slices.Values(p.Users)), p.Discoverable)
}

// hits checks Tx.Hits for every value of the world and one it lacks: the
// answer names exactly the organizations the model says hold a
// discoverable match hidden from the viewer.
func (c *leakCheck) hits(tx *graph.Tx) {
	for _, value := range append(c.w.Values(), "10.255.255.255") {
		got, err := tx.Hits(value)
		if err != nil {
			c.t.Fatalf("%s: Hits(%s): %v", c.v, value, err)
		}
		if want := c.w.Hits(c.v, value); !slices.Equal(got, want) && len(got)+len(want) > 0 {
			c.t.Fatalf("%s: Hits(%s) = %v, model %v; world:\n%s", c.v, value, got, want, c.w.Describe())
		}
	}
}

// listings checks ByType, Types, ByValue and ByTime.
func (c *leakCheck) listings(tx *graph.Tx) {
	byType := map[string][]*graphtest.WorldObject{}
	for _, o := range c.w.Objects {
		byType[o.Object.Type] = append(byType[o.Object.Type], o)
	}
	wantCounts := map[string]int64{}
	for _, typ := range []string{"identity", "malware", "indicator", "ipv4-addr", "domain-name", "file", "report", schema.TypeCase, "relationship", "sighting", "no-such-type"} {
		want := c.visibleIDs(byType[typ])
		if len(want) > 0 {
			wantCounts[typ] = int64(len(want))
		}
		var got []graph.ID
		if err := tx.ByType(typ, 0, func(id graph.ID) bool { got = append(got, id); return true }); err != nil {
			c.t.Fatalf("%s: ByType(%s): %v", c.v, typ, err)
		}
		if !slices.IsSorted(got) {
			c.t.Fatalf("%s: ByType(%s) is not in id order: %v", c.v, typ, got)
		}
		c.sameIDs("ByType("+typ+")", got, want)
		if len(want) > 1 {
			// Resuming after a visible id lists the rest.
			after := want[len(want)/2-1]
			got = got[:0]
			if err := tx.ByType(typ, after, func(id graph.ID) bool { got = append(got, id); return true }); err != nil {
				c.t.Fatalf("%s: ByType(%s, after %d): %v", c.v, typ, after, err)
			}
			c.sameIDs(fmt.Sprintf("ByType(%s, after %s)", typ, c.name(after)), got, want[len(want)/2:])
		}
	}
	counts, err := tx.Types()
	if err != nil {
		c.t.Fatalf("%s: Types: %v", c.v, err)
	}
	gotCounts := map[string]int64{}
	for _, tc := range counts {
		gotCounts[tc.Type] = tc.Count
	}
	if !maps.Equal(gotCounts, wantCounts) {
		c.t.Fatalf("%s: Types = %v, model %v", c.v, gotCounts, wantCounts)
	}

	for _, value := range c.w.Values() {
		got, err := tx.ByValue(value)
		if err != nil {
			c.t.Fatalf("%s: ByValue(%s): %v", c.v, value, err)
		}
		c.sameIDs("ByValue("+value+")", got, c.visibleIDs(c.w.ByValue(c.v, value)))
	}

	start := rapid.IntRange(-1, graphtest.WorldDays*24).Draw(c.t, "time window start")
	hours := rapid.IntRange(0, graphtest.WorldDays*24).Draw(c.t, "time window hours")
	from := graphtest.WorldEpoch().Add(time.Duration(start) * time.Hour)
	var to time.Time
	if hours > 0 {
		to = from.Add(time.Duration(hours) * time.Hour)
	}
	// Each object is listed at the newest modification time the viewer
	// sees of it.
	var inWindow []*graphtest.WorldObject
	for _, o := range c.w.Objects {
		view := c.w.View(c.v, o.Object.ID)
		if view != nil && !view.Modified.IsZero() && !view.Modified.Before(from) && (to.IsZero() || view.Modified.Before(to)) {
			inWindow = append(inWindow, o)
		}
	}
	var got []graph.ID
	var last time.Time
	err = tx.ByTime(from, to, func(id graph.ID, at time.Time) bool {
		if at.Before(last) {
			c.t.Fatalf("%s: ByTime is not oldest first: %s after %s", c.v, at, last)
		}
		if view := c.w.View(c.v, c.stix[id]); view != nil && !view.Modified.Equal(at) {
			c.t.Fatalf("%s: ByTime gives %s at %s, model %s", c.v, c.name(id), at, view.Modified)
		}
		last = at
		got = append(got, id)
		return true
	})
	if err != nil {
		c.t.Fatalf("%s: ByTime: %v", c.v, err)
	}
	slices.Sort(got)
	c.sameIDs(fmt.Sprintf("ByTime(%s, %s)", from.Format(time.RFC3339), to.Format(time.RFC3339)), got, c.visibleIDs(inWindow))
}

// stixIDs lists the STIX ids of objects.
func stixIDs(objs []*graphtest.WorldObject) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Object.ID
	}
	return out
}

// graphEdge is the store's form of a model edge.
func (c *leakCheck) graphEdge(e graphtest.WorldEdge) graph.Edge {
	g := graph.Edge{From: c.ids[e.From], To: c.ids[e.To], Type: e.Type}
	if e.Via != "" {
		g.Via = c.ids[e.Via]
	}
	return g
}

func compareEdges(a, b graph.Edge) int {
	return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Via, b.Via), strings.Compare(a.Type, b.Type))
}

// edgeNames shows edges by STIX ids, for failure messages.
func (c *leakCheck) edgeNames(es []graph.Edge) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = fmt.Sprintf("%s -%s-> %s", c.name(e.From), e.Type, c.name(e.To))
		if e.Via != 0 {
			out[i] += " via " + c.name(e.Via)
		}
	}
	return out
}

// sameEdges fails the test when the edge lists differ as multisets.
func (c *leakCheck) sameEdges(what string, got []graph.Edge, want []graphtest.WorldEdge) {
	w := make([]graph.Edge, len(want))
	for i, e := range want {
		w[i] = c.graphEdge(e)
	}
	got = slices.Clone(got)
	slices.SortFunc(got, compareEdges)
	slices.SortFunc(w, compareEdges)
	if !slices.Equal(got, w) {
		c.t.Fatalf("%s: %s:\n got   %v\n model %v", c.v, what, c.edgeNames(got), c.edgeNames(w))
	}
}

// edges checks Neighbours and Degree at every object, in every direction,
// for all edge types, each type the object has an edge of (visible or
// not), two of them together and a type nobody uses.
func (c *leakCheck) edges(tx *graph.Tx) {
	for _, o := range c.w.Objects {
		stix, id := o.Object.ID, c.ids[o.Object.ID]
		if !c.w.Visible(c.v, stix) {
			err := tx.Neighbours(id, graph.NeighbourQuery{}, func(graph.Edge) bool { return true })
			_, derr := tx.Degree(id, graph.Both, "")
			_, _, xerr := tx.Expand(id, 1, graph.NeighbourQuery{}, 0)
			if !errors.Is(err, graph.ErrNotFound) || !errors.Is(derr, graph.ErrNotFound) || !errors.Is(xerr, graph.ErrNotFound) {
				c.t.Fatalf("%s: edges of hidden %s: Neighbours err %v, Degree err %v, Expand err %v; want not found", c.v, stix, err, derr, xerr)
			}
			continue
		}
		typeSets := [][]string{nil, {"no-such-type"}}
		var own []string
		for _, t := range leakEdgeTypes {
			for _, other := range c.w.Objects {
				if slices.ContainsFunc(other.Edges, func(e graphtest.WorldEdge) bool { return e.Type == t && (e.From == stix || e.To == stix) }) {
					own = append(own, t)
					break
				}
			}
		}
		for _, t := range own {
			typeSets = append(typeSets, []string{t})
		}
		if len(own) > 1 {
			typeSets = append(typeSets, own[:2])
		}
		for _, dir := range []graph.Direction{0, graph.Out, graph.In, graph.Both} {
			for _, types := range typeSets {
				var got []graph.Edge
				err := tx.Neighbours(id, graph.NeighbourQuery{Dir: dir, EdgeTypes: types}, func(e graph.Edge) bool { got = append(got, e); return true })
				if err != nil {
					c.t.Fatalf("%s: Neighbours(%s, %v, %v): %v", c.v, stix, dir, types, err)
				}
				want := c.w.EdgesAt(c.v, stix, dir, types)
				c.sameEdges(fmt.Sprintf("Neighbours(%s, %v, %v)", stix, dir, types), got, want)
				if dir == 0 || len(types) > 1 {
					continue // Degree takes one direction and one type
				}
				typ := ""
				if len(types) == 1 {
					typ = types[0]
				}
				n, err := tx.Degree(id, dir, typ)
				if err != nil || n != int64(len(want)) {
					c.t.Fatalf("%s: Degree(%s, %v, %q) = %d, %v; model %d visible edges", c.v, stix, dir, typ, n, err, len(want))
				}
			}
			// Leaving types out keeps exactly the model's edges of the
			// other types.
			for _, except := range [][]string{{"no-such-type"}, own[:min(1, len(own))], own[min(1, len(own)):], own} {
				var got []graph.Edge
				err := tx.Neighbours(id, graph.NeighbourQuery{Dir: dir, Except: except}, func(e graph.Edge) bool { got = append(got, e); return true })
				if err != nil {
					c.t.Fatalf("%s: Neighbours(%s, %v, except %v): %v", c.v, stix, dir, except, err)
				}
				want := slices.DeleteFunc(c.w.EdgesAt(c.v, stix, dir, nil), func(e graphtest.WorldEdge) bool { return slices.Contains(except, e.Type) })
				c.sameEdges(fmt.Sprintf("Neighbours(%s, %v, except %v)", stix, dir, except), got, want)
			}
		}
	}
}

// expand checks Walk from a few visible objects: unless the neighbourhood
// holds more nodes than the limit, it returns the model's breadth-first
// neighbourhood exactly and says it is whole; otherwise it says it was
// truncated and returns a part of it of at most limit nodes whose edges
// join returned nodes.
func (c *leakCheck) expand(tx *graph.Tx) {
	vis := c.w.VisibleObjects(c.v)
	if len(vis) == 0 {
		return
	}
	for range 3 {
		start := rapid.SampledFrom(stixIDs(vis)).Draw(c.t, "expand start")
		depth := rapid.IntRange(1, 3).Draw(c.t, "expand depth")
		dir := rapid.SampledFrom([]graph.Direction{graph.Out, graph.In, graph.Both}).Draw(c.t, "expand direction")
		var types []string
		if rapid.Bool().Draw(c.t, "expand one type") {
			types = []string{rapid.SampledFrom(leakEdgeTypes).Draw(c.t, "expand type")}
		}
		limit := 0
		if rapid.Bool().Draw(c.t, "expand limited") {
			limit = rapid.IntRange(1, 6).Draw(c.t, "expand limit")
		}
		skip := rapid.Bool().Draw(c.t, "expand skip authored")
		what := fmt.Sprintf("Expand(%s, depth %d, %v, %v, skip authored %v, limit %d)", start, depth, dir, types, skip, limit)
		hood, err := tx.Walk(context.Background(), c.ids[start], graph.WalkOptions{Depth: depth, Limit: limit,
			Query: graph.NeighbourQuery{Dir: dir, EdgeTypes: types, SkipAuthored: skip}})
		if err != nil {
			c.t.Fatalf("%s: %s: %v", c.v, what, err)
		}
		nodes, edges := hood.Nodes, hood.Edges
		dist, wantEdges := c.w.Reach(c.v, start, depth, dir, types, skip)
		if want := limit > 0 && len(dist) > limit; hood.Truncated != want {
			c.t.Fatalf("%s: %s: truncated %v with %d nodes within reach; want %v", c.v, what, hood.Truncated, len(dist), want)
		}
		var want []graph.ID
		for s := range dist {
			want = append(want, c.ids[s])
		}
		slices.Sort(want)
		if len(nodes) == 0 || nodes[0] != c.ids[start] {
			c.t.Fatalf("%s: %s does not start with the start: %v", c.v, what, nodes)
		}
		got := slices.Sorted(slices.Values(nodes))
		if !hood.Truncated {
			c.sameIDs(what, got, want)
			c.sameEdges(what, edges, wantEdges)
			continue
		}
		if len(nodes) > limit {
			c.t.Fatalf("%s: %s returned %d nodes", c.v, what, len(nodes))
		}
		for _, id := range nodes {
			if _, ok := dist[c.stix[id]]; !ok {
				c.t.Fatalf("%s: %s returned %s, outside the visible neighbourhood", c.v, what, c.name(id))
			}
		}
		for _, e := range edges {
			if !slices.Contains(nodes, e.From) || !slices.Contains(nodes, e.To) || !slices.ContainsFunc(wantEdges, func(w graphtest.WorldEdge) bool { return c.graphEdge(w) == e }) {
				c.t.Fatalf("%s: %s returned edge %v, not a visible edge between returned nodes", c.v, what, c.edgeNames([]graph.Edge{e}))
			}
		}
	}
}

// search checks Store.Search: hits, Total and the per-type facets of every
// kind of text the model knows, with and without a type filter, count only
// visible matching objects, matched by what the viewer sees of them; the
// value of a protected property matches nothing.
func (c *leakCheck) search(s *graph.Store) {
	texts := append([]string{""}, c.w.Words...)
	if values := c.w.Values(); len(values) > 0 {
		texts = append(texts, rapid.SampledFrom(values).Draw(c.t, "search value"))
	}
	if len(c.w.Secrets) > 0 {
		texts = append(texts, rapid.SampledFrom(c.w.Secrets).Draw(c.t, "search protected value"))
	}
	// Every protected label, which the index would hold if it were not
	// protected.
	texts = append(texts, c.w.ProtectedLabels()...)
	texts = append(texts, rapid.SampledFrom(stixIDs(c.w.Objects)).Draw(c.t, "search id"))
	for i, text := range texts {
		var types []string
		if i > 0 && rapid.IntRange(0, 3).Draw(c.t, "search by type") == 0 {
			types = []string{rapid.SampledFrom([]string{"malware", "indicator", "report", "identity", "ipv4-addr", "sighting"}).Draw(c.t, "search type")}
		}
		what := fmt.Sprintf("Search(%q, types %v)", text, types)
		res, err := s.Search(context.Background(), c.v.Graph(), graph.SearchQuery{Text: text, Types: types, Size: 1000, Facets: true})
		if err != nil {
			c.t.Fatalf("%s: %s: %v", c.v, what, err)
		}
		matches := c.w.SearchMatches(c.v, text, types)
		want := c.visibleIDs(matches)
		wantFacets := map[string]uint64{}
		for _, o := range matches {
			wantFacets[o.Object.Type]++
		}
		got := make([]graph.ID, len(res.Hits))
		for i, h := range res.Hits {
			got[i] = h.ID
		}
		slices.Sort(got)
		c.sameIDs(what+" hits", got, want)
		if res.Total != uint64(len(want)) {
			c.t.Fatalf("%s: %s: Total %d, model %d", c.v, what, res.Total, len(want))
		}
		gotFacets := maps.Clone(res.Facets)
		maps.DeleteFunc(gotFacets, func(_ string, n uint64) bool { return n == 0 })
		if !maps.Equal(gotFacets, wantFacets) {
			c.t.Fatalf("%s: %s: facets %v, model %v", c.v, what, res.Facets, wantFacets)
		}
	}
}

// Named regression tests. Each builds the smallest graph its leak class
// needs; "org-a" owns what is hidden, "org-b" must not learn of it.

// leakItem is an SDO of the named tests, with provenance source "test".
func leakItem(t *testing.T, typ string, n int, p graph.Policy, props map[string]any) graphtest.Item {
	return graphtest.NewItem(t, typ, n, p, "test", props)
}

// Policies of the named tests.
var (
	greenA = graph.Policy{Owner: "org-a", TLP: schema.TLPGreen}
	redA   = graph.Policy{Owner: "org-a", TLP: schema.TLPRed}
)

// loadLeak stores items in a new store and returns it with the internal
// id of each item by STIX id.
func loadLeak(t *testing.T, items ...graphtest.Item) (*graph.Store, map[string]graph.ID) {
	t.Helper()
	s := graphtest.Open(t)
	graphtest.Load(t, s, items)
	var stixIDs []string
	for _, it := range items {
		stixIDs = append(stixIDs, it.Object.ID)
	}
	return s, graphtest.IDs(t, s, stixIDs...)
}

// degrees returns the degree of id in each direction (all types) and of
// one edge type in both directions, as viewer v.
func degrees(t *testing.T, s *graph.Store, v graph.Viewer, id graph.ID, edgeType string) [4]int64 {
	t.Helper()
	var out [4]int64
	err := s.View(v, func(tx *graph.Tx) error {
		for i, q := range []struct {
			dir graph.Direction
			typ string
		}{{graph.Out, ""}, {graph.In, ""}, {graph.Both, ""}, {graph.Both, edgeType}} {
			n, err := tx.Degree(id, q.dir, q.typ)
			if err != nil {
				return err
			}
			out[i] = n
		}
		return nil
	})
	if err != nil {
		t.Fatalf("degrees of %d as %+v: %v", id, v, err)
	}
	return out
}

// neighbourhood returns the nodes Expand reaches from id within depth and
// the number of edges at id, as viewer v.
func neighbourhood(t *testing.T, s *graph.Store, v graph.Viewer, id graph.ID, depth int) ([]graph.ID, int) {
	t.Helper()
	var nodes []graph.ID
	edges := 0
	err := s.View(v, func(tx *graph.Tx) error {
		var err error
		if nodes, _, err = tx.Expand(id, depth, graph.NeighbourQuery{}, 0); err != nil {
			return err
		}
		return tx.Neighbours(id, graph.NeighbourQuery{}, func(graph.Edge) bool { edges++; return true })
	})
	if err != nil {
		t.Fatalf("neighbourhood of %d as %+v: %v", id, v, err)
	}
	slices.Sort(nodes)
	return nodes, edges
}

// TestLeak_RelationshipCountThroughHiddenNode: a visible relationship to a
// hidden object must not count as an edge of the visible end, nor lead a
// walk to the hidden object.
func TestLeak_RelationshipCountThroughHiddenNode(t *testing.T) {
	a := leakItem(t, "malware", 1, greenA, map[string]any{"is_family": true})
	b := leakItem(t, "tool", 1, greenA, map[string]any{})
	h := leakItem(t, "intrusion-set", 1, redA, map[string]any{})
	s, ids := loadLeak(t, a, b, h,
		graphtest.NewRelationship(t, 1, "uses", a.Object.ID, h.Object.ID, greenA),
		graphtest.NewRelationship(t, 2, "uses", a.Object.ID, b.Object.ID, greenA))
	A, B := ids[a.Object.ID], ids[b.Object.ID]
	outsider := graph.Viewer{Org: "org-b"}
	if got, want := degrees(t, s, outsider, A, "uses"), [4]int64{1, 0, 1, 1}; got != want {
		t.Errorf("org-b: degrees of the malware (out, in, both, uses) = %v, want %v: the edge to the hidden intrusion set is counted", got, want)
	}
	if nodes, edges := neighbourhood(t, s, outsider, A, 2); !slices.Equal(nodes, []graph.ID{A, B}) || edges != 1 {
		t.Errorf("org-b: neighbourhood of the malware = %v with %d edges, want the malware and the tool with 1", nodes, edges)
	}
	if got, want := degrees(t, s, graph.Viewer{Org: "org-a"}, A, "uses"), [4]int64{2, 0, 2, 2}; got != want {
		t.Errorf("org-a: degrees of the malware = %v, want %v", got, want)
	}
}

// TestLeak_DegreeThroughHiddenRelationship: two visible objects joined only
// by hidden relationships have no edge for those who may not see the
// relationships, and the relationships are not listed or counted.
func TestLeak_DegreeThroughHiddenRelationship(t *testing.T) {
	a := leakItem(t, "malware", 1, greenA, map[string]any{"is_family": true})
	b := leakItem(t, "tool", 1, greenA, map[string]any{})
	s, ids := loadLeak(t, a, b,
		graphtest.NewRelationship(t, 1, "uses", a.Object.ID, b.Object.ID, redA),
		graphtest.NewRelationship(t, 2, "related-to", a.Object.ID, b.Object.ID, graph.Policy{Owner: "org-a", TLP: schema.TLPAmber, Sharing: []string{"org-c"}}))
	A, B := ids[a.Object.ID], ids[b.Object.ID]
	for _, c := range []struct {
		org     string
		a, b    [4]int64
		related int
	}{
		{"org-b", [4]int64{0, 0, 0, 0}, [4]int64{0, 0, 0, 0}, 0},
		{"org-c", [4]int64{1, 0, 1, 0}, [4]int64{0, 1, 1, 0}, 1},
		{"org-a", [4]int64{2, 0, 2, 1}, [4]int64{0, 2, 2, 1}, 2},
	} {
		v := graph.Viewer{Org: c.org}
		if got := degrees(t, s, v, A, "uses"); got != c.a {
			t.Errorf("%s: degrees of the malware (out, in, both, uses) = %v, want %v", c.org, got, c.a)
		}
		if got := degrees(t, s, v, B, "uses"); got != c.b {
			t.Errorf("%s: degrees of the tool (out, in, both, uses) = %v, want %v", c.org, got, c.b)
		}
		var rels int
		var counted int64
		err := s.View(v, func(tx *graph.Tx) error {
			counts, err := tx.Types()
			for _, tc := range counts {
				if tc.Type == "relationship" {
					counted = tc.Count
				}
			}
			if err != nil {
				return err
			}
			return tx.ByType("relationship", 0, func(graph.ID) bool { rels++; return true })
		})
		if err != nil {
			t.Fatal(err)
		}
		if rels != c.related || counted != int64(c.related) {
			t.Errorf("%s: %d relationships listed, %d counted; want %d", c.org, rels, counted, c.related)
		}
	}
}

// TestLeak_SearchFacetsCountHiddenObjects: search totals and per-type
// facets count only the matches the viewer may see, with and without a
// type filter.
func TestLeak_SearchFacetsCountHiddenObjects(t *testing.T) {
	named := graph.Policy{Owner: "org-a", TLP: schema.TLPRed, Users: []string{"bob"}}
	shared := graph.Policy{Owner: "org-a", TLP: schema.TLPAmber, Sharing: []string{"org-c"}}
	s, _ := loadLeak(t,
		leakItem(t, "malware", 1, greenA, map[string]any{"is_family": true, "description": "kestrel loader"}),
		leakItem(t, "malware", 2, named, map[string]any{"is_family": true, "description": "kestrel dropper"}),
		leakItem(t, "indicator", 1, shared, map[string]any{"pattern": "[file:name = 'k.exe']", "pattern_type": "stix", "valid_from": "2024-03-01T10:00:00Z", "description": "kestrel beacon"}),
		leakItem(t, "report", 1, redA, map[string]any{"published": "2024-03-01T10:00:00Z", "object_refs": []string{graphtest.ItemID("malware", 1)}, "description": "kestrel campaign"}))
	if err := s.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		v      graph.Viewer
		types  []string
		total  uint64
		facets map[string]uint64
	}{
		{graph.Viewer{}, nil, 1, map[string]uint64{"malware": 1}},
		{graph.Viewer{Org: "org-b"}, nil, 1, map[string]uint64{"malware": 1}},
		{graph.Viewer{Org: "org-b", User: "bob"}, nil, 2, map[string]uint64{"malware": 2}},
		{graph.Viewer{Org: "org-c"}, nil, 2, map[string]uint64{"malware": 1, "indicator": 1}},
		{graph.Viewer{Org: "org-b"}, []string{"indicator", "report"}, 0, map[string]uint64{}},
		{graph.Viewer{Org: "org-a"}, nil, 4, map[string]uint64{"malware": 2, "indicator": 1, "report": 1}},
	} {
		res, err := s.Search(context.Background(), c.v, graph.SearchQuery{Text: "kestrel", Types: c.types, Facets: true})
		if err != nil {
			t.Fatal(err)
		}
		facets := maps.Clone(res.Facets)
		maps.DeleteFunc(facets, func(_ string, n uint64) bool { return n == 0 })
		if res.Total != c.total || len(res.Hits) != int(c.total) || !maps.Equal(facets, c.facets) {
			t.Errorf("%+v, types %v: total %d, %d hits, facets %v; want %d, %v", c.v, c.types, res.Total, len(res.Hits), res.Facets, c.total, c.facets)
		}
	}
}

// TestLeak_SearchScoreRevealsHiddenMatches: the score of a visible hit must
// not depend on objects the viewer may not see. If it does, a viewer who
// holds one object with a word (a name, an address) can tell by its score
// whether another organization holds hidden objects with the same word.
//
// This fails today: the index scores hits by term statistics over all
// documents, every organization's included, and the class restriction
// only filters which documents match.
func TestLeak_SearchScoreRevealsHiddenMatches(t *testing.T) {
	s, _ := loadLeak(t, leakItem(t, "malware", 1, greenA, map[string]any{"is_family": true, "description": "kestrel loader"}),
		leakItem(t, "tool", 1, greenA, map[string]any{"description": "osprey scanner"}))
	score := func() float64 {
		t.Helper()
		if err := s.WaitIndexed(context.Background()); err != nil {
			t.Fatal(err)
		}
		res, err := s.Search(context.Background(), graph.Viewer{Org: "org-b"}, graph.SearchQuery{Text: "kestrel"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 1 || res.Total != 1 {
			t.Fatalf("org-b finds %d hits (total %d), want the GREEN malware only", len(res.Hits), res.Total)
		}
		return res.Hits[0].Score
	}
	before := score()
	graphtest.Load(t, s, []graphtest.Item{leakItem(t, "malware", 2, redA, map[string]any{"is_family": true, "description": "kestrel dropper"})})
	if after := score(); after != before {
		t.Errorf("org-b's hit scores %v before and %v after org-a stores one RED object with the same word", before, after)
	}
}

// TestLeak_CreatedOfHiddenVersion: a node's creation time is that of the
// version the viewer sees. When org-a holds a newer RED version of an
// object that org-b shared as GREEN, with its own creation time, org-c
// must see org-b's creation time, not learn org-a's.
func TestLeak_CreatedOfHiddenVersion(t *testing.T) {
	version := func(p graph.Policy, ts string) graphtest.Item {
		it := leakItem(t, "malware", 1, p, map[string]any{"is_family": true})
		if err := it.Object.Set("created", ts); err != nil {
			t.Fatal(err)
		}
		if err := it.Object.Set("modified", ts); err != nil {
			t.Fatal(err)
		}
		return it
	}
	hidden := version(redA, "2024-03-05T00:00:00Z")
	shared := version(graph.Policy{Owner: "org-b", TLP: schema.TLPGreen}, "2024-03-01T00:00:00Z")
	s, ids := loadLeak(t, hidden, shared)
	want := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	err := s.View(graph.Viewer{Org: "org-c"}, func(tx *graph.Tx) error {
		n, err := tx.Node(ids[shared.Object.ID])
		if err != nil {
			return err
		}
		if !n.Created.Equal(want) || !n.Modified.Equal(want) {
			t.Errorf("org-c sees created %s, modified %s; want both %s, from org-b's version", n.Created, n.Modified, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLeak_HitThroughAnotherContributionsMember: a container's discoverable
// contribution makes discoverable only the members it lists itself. When
// org-a's RED contribution to a report lists an address and org-b's
// discoverable contribution to the same report does not, a hit lookup of
// the address must not name org-b: that would be false, and it would tell
// org-c that a hidden contribution lists the address.
func TestLeak_HitThroughAnotherContributionsMember(t *testing.T) {
	ip := obj(t, map[string]any{"type": "ipv4-addr", "id": otherIP, "value": "198.51.100.20"})
	m := leakItem(t, "malware", 1, greenA, map[string]any{"is_family": true})
	listsIP := leakItem(t, "report", 1, redA, map[string]any{"published": "2024-03-01T10:00:00Z", "object_refs": []string{otherIP}})
	discoverableB := graph.Policy{Owner: "org-b", TLP: schema.TLPAmber, Discoverable: true}
	listsMalware := leakItem(t, "report", 1, discoverableB, map[string]any{"published": "2024-03-01T10:00:00Z", "object_refs": []string{m.Object.ID}})
	s, _ := loadLeak(t, m, listsIP, listsMalware)
	put(t, s, ip, meta("org-c", schema.TLPGreen, "c"))
	hits := func() []string {
		t.Helper()
		var orgs []string
		err := s.View(graph.Viewer{Org: "org-c"}, func(tx *graph.Tx) error {
			var err error
			orgs, err = tx.Hits("198.51.100.20")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return orgs
	}
	if got := hits(); len(got) != 0 {
		t.Errorf("org-c's lookup of the address names %v; org-b's contribution to the report does not list it", got)
	}
	// Once org-b's own version lists the address, the lookup names org-b.
	listsBoth := leakItem(t, "report", 1, discoverableB, map[string]any{"published": "2024-03-01T10:00:00Z", "object_refs": []string{m.Object.ID, otherIP}})
	if err := listsBoth.Object.Set("modified", "2024-03-02T10:00:00Z"); err != nil {
		t.Fatal(err)
	}
	put(t, s, listsBoth.Object, listsBoth.Meta)
	if got := hits(); !slices.Equal(got, []string{"org-b"}) {
		t.Errorf("org-c's lookup of the address names %v, want org-b, whose contribution now lists it", got)
	}
}
