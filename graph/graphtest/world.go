package graphtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

// A World is a random graph for the leak tests of every layer: organizations,
// users, and objects of mixed types (identities, malware, indicators,
// observables, reports, cases, relationships, sightings), each with a random
// owner, TLP marking, sharing list and named users, plus the order and the
// path (one transaction, one per object, or Bulk) by which they are stored.
//
// Beside the objects, a World is its own reference model of what each
// viewer may see. The model is written from the access rules of the design,
// not from the store's code: it never calls graph.Viewer.CanSee, and it
// derives the edges from the properties it generated, not from the store's
// edge extraction. Tests compare every answer of the store (or of the API)
// with it.
type World struct {
	// Orgs are the organizations that own objects and appear on sharing
	// lists; Users are the users that appear on RED objects' lists.
	Orgs, Users []string
	// UserOrg maps each user to the organization they belong to.
	UserOrg map[string]string
	// Objects are the stored objects in the order they were generated.
	Objects []*WorldObject
	// Dangling are STIX ids that objects refer to but that are never stored.
	Dangling []string
	// Words are the search words the objects' descriptions draw from.
	Words []string

	byStix map[string]*WorldObject
	edges  []WorldEdge
	order  []int // the order in which Load stores Objects
	load   int   // 0: one transaction, 1: one per object, 2: Bulk
	chunk  int   // Bulk's chunk size
}

// WorldObject is one generated object with the metadata it is stored with.
type WorldObject struct {
	Object *schema.Object
	Meta   graph.Meta
	// Words are the search words of its description.
	Words []string
	// Value is an observable's value, empty for other objects.
	Value string
	// Modified is its modification time, zero for observables.
	Modified time.Time
	// Edges are the edges the object implies, by STIX id.
	Edges []WorldEdge
}

// WorldEdge is an edge by STIX ids: a relationship's edge has Via set to the
// relationship, an embedded reference has an empty Via.
type WorldEdge struct {
	Type, From, To, Via string
}

// WorldViewer is a viewer of the model: an organization and a user, either
// of which may be empty (the zero WorldViewer sees only unrestricted
// objects).
type WorldViewer struct {
	Org, User string
}

// Graph is the store's viewer for v.
func (v WorldViewer) Graph() graph.Viewer { return graph.Viewer{Org: v.Org, User: v.User} }

func (v WorldViewer) String() string { return fmt.Sprintf("viewer{org %q, user %q}", v.Org, v.User) }

// worldKinds are the kinds of object a World draws.
var worldKinds = []string{"identity", "malware", "indicator", "ipv4-addr", "domain-name", "report", schema.TypeCase, "relationship", "sighting"}

// worldTLPs are every marking a policy can carry.
var worldTLPs = []schema.TLP{schema.TLPUnmarked, schema.TLPClear, schema.TLPGreen, schema.TLPAmber, schema.TLPAmberStrict, schema.TLPRed}

// worldWords are the words descriptions are made of; none of them occurs in
// a name, a pattern or a STIX id.
var worldWords = []string{"kestrel", "osprey", "heron", "plover"}

// worldEpoch is the earliest modification time of a World's objects.
var worldEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// WorldDays is how many days the modification times of a World span from
// WorldEpoch.
const WorldDays = 10

// WorldEpoch returns the earliest modification time of a World's objects.
func WorldEpoch() time.Time { return worldEpoch }

// DrawWorld draws a World of between minObjects and maxObjects objects. ns
// makes its STIX ids and observable values unique, so that one store can
// hold the Worlds of a whole rapid run one after the other (see Unload).
func DrawWorld(t *rapid.T, ns, minObjects, maxObjects int) *World {
	w := &World{UserOrg: map[string]string{}, Words: worldWords, byStix: map[string]*WorldObject{}}
	for i := range rapid.IntRange(3, 4).Draw(t, "orgs") {
		w.Orgs = append(w.Orgs, fmt.Sprintf("org-%d", i+1))
	}
	for i := range rapid.IntRange(1, 4).Draw(t, "users") {
		u := fmt.Sprintf("user-%d", i+1)
		w.Users = append(w.Users, u)
		w.UserOrg[u] = rapid.SampledFrom(w.Orgs).Draw(t, "user org")
	}
	n := rapid.IntRange(minObjects, maxObjects).Draw(t, "objects")
	uuid := func(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", ns, i) }
	ip := func(i int) string { return fmt.Sprintf("10.%d.%d.%d", ns/256%256, ns%256, i) }
	dangling := func(typ string) string {
		id := typ + "--" + uuid(1000+len(w.Dangling))
		w.Dangling = append(w.Dangling, id)
		return id
	}
	// pick returns an earlier object of one of the kinds, or (sometimes,
	// and always when there is none) a reference to an object that is
	// never stored.
	pick := func(label string, kinds ...string) string {
		var cands []string
		for _, o := range w.Objects {
			if len(kinds) == 0 || slices.Contains(kinds, o.Object.Type) {
				cands = append(cands, o.Object.ID)
			}
		}
		if len(cands) == 0 || rapid.IntRange(0, 7).Draw(t, label+" dangling") == 0 {
			typ := "malware"
			if len(kinds) > 0 {
				typ = kinds[0]
			}
			return dangling(typ)
		}
		return rapid.SampledFrom(cands).Draw(t, label)
	}
	pickN := func(label string, lo, hi int, kinds ...string) []string {
		var out []string
		for range rapid.IntRange(lo, hi).Draw(t, label+" count") {
			if id := pick(label, kinds...); !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
		return out
	}
	for i := range n {
		kind := rapid.SampledFrom(worldKinds).Draw(t, "kind")
		wo := &WorldObject{Meta: graph.Meta{Policy: w.drawPolicy(t), Provenance: graph.Provenance{Source: "world", File: fmt.Sprintf("world-%d", ns)}}}
		// Each STIX id has one owner for now. When contributions carry
		// their own policy, draw here, for some objects, a second
		// contribution of the same id by another organization (its own
		// Meta), store both, and make the model's Visible true when any
		// contribution is visible to the viewer.
		props := map[string]any{"type": kind, "spec_version": "2.1"}
		if kind == "ipv4-addr" || kind == "domain-name" {
			wo.Value = ip(i)
			if kind == "domain-name" {
				wo.Value = fmt.Sprintf("h%d-%d.example", ns, i)
				if refs := pickN("resolves_to_refs", 0, 2, "ipv4-addr"); len(refs) > 0 {
					props["resolves_to_refs"] = refs
				}
			}
			props["value"] = wo.Value
			o, err := scoObject(props)
			if err != nil {
				t.Fatalf("draw %s: %v", kind, err)
			}
			wo.Object = o
		} else {
			wo.Modified = worldEpoch.Add(time.Duration(rapid.IntRange(0, WorldDays*24-1).Draw(t, "hour")) * time.Hour)
			ts := wo.Modified.Format(time.RFC3339)
			props["id"] = kind + "--" + uuid(i)
			props["created"], props["modified"] = ts, ts
			if kind != "relationship" {
				for range rapid.IntRange(0, 2).Draw(t, "words") {
					if wd := rapid.SampledFrom(worldWords).Draw(t, "word"); !slices.Contains(wo.Words, wd) {
						wo.Words = append(wo.Words, wd)
					}
				}
				if len(wo.Words) > 0 {
					props["description"] = strings.Join(wo.Words, " ")
				}
				if kind != "identity" && rapid.Bool().Draw(t, "created by") {
					props["created_by_ref"] = pick("created_by_ref", "identity")
				}
			}
			switch kind {
			case "identity":
				props["name"], props["identity_class"] = fmt.Sprintf("Agency %d", i), "organization"
			case "malware":
				props["name"], props["is_family"] = fmt.Sprintf("Sample %d", i), true
			case "indicator":
				// A pattern names an address by value; the store links
				// the indicator to that address's observable, stored or
				// not, by its deterministic id.
				v := ip(rapid.IntRange(0, n+2).Draw(t, "pattern address"))
				props["name"], props["pattern"], props["pattern_type"], props["valid_from"] = fmt.Sprintf("Watch %d", i), "[ipv4-addr:value = '"+v+"']", "stix", ts
				target, err := scoObject(map[string]any{"type": "ipv4-addr", "spec_version": "2.1", "value": v})
				if err != nil {
					t.Fatalf("draw pattern target: %v", err)
				}
				wo.Edges = append(wo.Edges, WorldEdge{Type: "based-on", From: props["id"].(string), To: target.ID})
			case "report":
				props["name"], props["published"] = fmt.Sprintf("Report %d", i), ts
				props["object_refs"] = pickN("object_refs", 1, 5)
			case schema.TypeCase:
				props["name"], props["status"], props["severity"] = fmt.Sprintf("Case %d", i), "open", "high"
				props["object_refs"] = pickN("object_refs", 1, 4)
			case "relationship":
				props["relationship_type"] = rapid.SampledFrom([]string{"uses", "indicates", "related-to"}).Draw(t, "relationship_type")
				props["source_ref"], props["target_ref"] = pick("source_ref"), pick("target_ref")
			case "sighting":
				props["sighting_of_ref"] = pick("sighting_of_ref")
				if refs := pickN("where_sighted_refs", 0, 2, "identity"); len(refs) > 0 {
					props["where_sighted_refs"] = refs
				}
				props["first_seen"], props["count"] = ts, 1
			}
			o, err := worldObject(props)
			if err != nil {
				t.Fatalf("draw %s: %v", kind, err)
			}
			wo.Object = o
		}
		wo.Edges = append(refEdges(wo.Object, props), wo.Edges...)
		w.Objects = append(w.Objects, wo)
		w.byStix[wo.Object.ID] = wo
		w.edges = append(w.edges, wo.Edges...)
	}
	idx := make([]int, len(w.Objects))
	for i := range idx {
		idx[i] = i
	}
	w.order = rapid.Permutation(idx).Draw(t, "store order")
	w.load = rapid.IntRange(0, 2).Draw(t, "load path")
	w.chunk = rapid.IntRange(1, 8).Draw(t, "bulk chunk")
	return w
}

// drawPolicy draws an owner (sometimes none, as for reference data), a
// marking, a sharing list and named users. The lists are drawn whatever the
// marking, so that the model also checks that they do not matter where the
// rules ignore them.
func (w *World) drawPolicy(t *rapid.T) graph.Policy {
	p := graph.Policy{
		Owner: rapid.SampledFrom(append(slices.Clone(w.Orgs), "")).Draw(t, "owner"),
		TLP:   rapid.SampledFrom(worldTLPs).Draw(t, "tlp"),
	}
	p.Sharing = rapid.SliceOfNDistinct(rapid.SampledFrom(w.Orgs), 0, len(w.Orgs), rapid.ID[string]).Draw(t, "sharing")
	p.Users = rapid.SliceOfNDistinct(rapid.SampledFrom(w.Users), 0, 2, rapid.ID[string]).Draw(t, "named users")
	return p
}

// refEdges lists the edges of o's properties as the design defines them: a
// relationship is one edge from source_ref to target_ref typed by its
// relationship_type, standing for the relationship; any other object has an
// edge to each target of its _ref and _refs properties, typed by the
// property name.
func refEdges(o *schema.Object, props map[string]any) []WorldEdge {
	if o.Type == "relationship" {
		return []WorldEdge{{Type: props["relationship_type"].(string), From: props["source_ref"].(string), To: props["target_ref"].(string), Via: o.ID}}
	}
	var out []WorldEdge
	for k, v := range props {
		switch {
		case strings.HasSuffix(k, "_ref"):
			out = append(out, WorldEdge{Type: k, From: o.ID, To: v.(string)})
		case strings.HasSuffix(k, "_refs"):
			for _, to := range v.([]string) {
				out = append(out, WorldEdge{Type: k, From: o.ID, To: to})
			}
		}
	}
	return out
}

func worldObject(props map[string]any) (*schema.Object, error) {
	raw, err := json.Marshal(props)
	if err != nil {
		return nil, err
	}
	return schema.ParseObject(raw)
}

// scoObject builds an observable with its deterministic STIX id.
func scoObject(props map[string]any) (*schema.Object, error) {
	props["id"] = fmt.Sprint(props["type"]) + "--00000000-0000-4000-8000-000000000000"
	o, err := worldObject(props)
	if err != nil {
		return nil, err
	}
	id, err := schema.SCOID(o)
	if err != nil {
		return nil, err
	}
	props["id"] = id
	return o, o.Set("id", id)
}

// DrawViewer draws a viewer: any organization of the world, one it does
// not know, or none, with any user or none (users need not belong to the
// organization, as a token names both).
func (w *World) DrawViewer(t *rapid.T) WorldViewer {
	return WorldViewer{
		Org:  rapid.SampledFrom(append(slices.Clone(w.Orgs), "", "org-outsider")).Draw(t, "viewer org"),
		User: rapid.SampledFrom(append(slices.Clone(w.Users), "", "user-outsider")).Draw(t, "viewer user"),
	}
}

// Viewers returns the zero viewer, every organization with one of its
// users (or none), and extra drawn viewers.
func (w *World) Viewers(t *rapid.T, extra int) []WorldViewer {
	vs := []WorldViewer{{}}
	for _, org := range w.Orgs {
		v := WorldViewer{Org: org}
		var own []string
		for _, u := range w.Users {
			if w.UserOrg[u] == org {
				own = append(own, u)
			}
		}
		if len(own) > 0 && rapid.Bool().Draw(t, "with user") {
			v.User = rapid.SampledFrom(own).Draw(t, "user")
		}
		vs = append(vs, v)
	}
	for range extra {
		vs = append(vs, w.DrawViewer(t))
	}
	return vs
}

// Load stores the world's objects in its drawn order and by its drawn path
// and returns the internal id of every stored object.
func (w *World) Load(tb TB, s *graph.Store) map[string]graph.ID {
	tb.Helper()
	switch w.load {
	case 0:
		err := s.Update(graph.System(), func(tx *graph.Tx) error {
			for _, i := range w.order {
				if _, _, err := tx.Put(w.Objects[i].Object, w.Objects[i].Meta); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("load world in one transaction: %v", err)
		}
	case 1:
		for _, i := range w.order {
			err := s.Update(graph.System(), func(tx *graph.Tx) error {
				_, _, err := tx.Put(w.Objects[i].Object, w.Objects[i].Meta)
				return err
			})
			if err != nil {
				tb.Fatalf("load %s: %v", w.Objects[i].Object.ID, err)
			}
		}
	default:
		b := s.NewBulk(graph.System(), graph.BulkOptions{ChunkObjects: w.chunk})
		for _, i := range w.order {
			if err := b.Put(w.Objects[i].Object, w.Objects[i].Meta); err != nil {
				tb.Fatalf("bulk load %s: %v", w.Objects[i].Object.ID, err)
			}
		}
		if _, err := b.Close(); err != nil {
			tb.Fatalf("bulk load: %v", err)
		}
	}
	stixIDs := make([]string, len(w.Objects))
	for i, o := range w.Objects {
		stixIDs[i] = o.Object.ID
	}
	return IDs(tb, s, stixIDs...)
}

// Unload deletes the world's objects, leaving only references that nobody
// sees, so that the next world can use the same store.
func (w *World) Unload(tb TB, s *graph.Store) {
	tb.Helper()
	err := s.Update(graph.System(), func(tx *graph.Tx) error {
		for _, o := range w.Objects {
			if err := tx.Delete(o.Object.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("unload world: %v", err)
	}
}

// TB is what Load and Unload need of a test: *testing.T and *rapid.T both
// have it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Sees is the reference access rule: CLEAR, GREEN and unmarked objects are
// visible to everyone; AMBER and AMBER+STRICT to the owner organization and
// the organizations on the sharing list; RED to the owner organization and
// the named users. An empty organization or user name matches nothing.
func Sees(v WorldViewer, p graph.Policy) bool {
	isOrg := func(org string) bool { return v.Org != "" && org == v.Org }
	switch p.TLP {
	case schema.TLPUnmarked, schema.TLPClear, schema.TLPGreen:
		return true
	case schema.TLPAmber, schema.TLPAmberStrict:
		return isOrg(p.Owner) || slices.ContainsFunc(p.Sharing, isOrg)
	case schema.TLPRed:
		return isOrg(p.Owner) || (v.User != "" && slices.Contains(p.Users, v.User))
	}
	return false
}

// Object returns the stored object with a STIX id, or nil.
func (w *World) Object(stixID string) *WorldObject { return w.byStix[stixID] }

// Visible reports whether v may see the object with a STIX id: it must be
// stored (a reference to an object never stored is seen by nobody) and its
// policy must let v see it. With contributions by several organizations
// (see DrawWorld), it is visible when any contribution's policy lets v see
// it.
func (w *World) Visible(v WorldViewer, stixID string) bool {
	o := w.byStix[stixID]
	return o != nil && Sees(v, o.Meta.Policy)
}

// EdgeVisible reports whether v may see an edge: both ends and the
// relationship behind it, if any, must be visible.
func (w *World) EdgeVisible(v WorldViewer, e WorldEdge) bool {
	return w.Visible(v, e.From) && w.Visible(v, e.To) && (e.Via == "" || w.Visible(v, e.Via))
}

// VisibleObjects lists the objects v may see, in generation order.
func (w *World) VisibleObjects(v WorldViewer) []*WorldObject {
	var out []*WorldObject
	for _, o := range w.Objects {
		if Sees(v, o.Meta.Policy) {
			out = append(out, o)
		}
	}
	return out
}

// EdgeMatch says whether an edge at node, seen in direction dir, is of one
// of types (all when empty).
func EdgeMatch(e WorldEdge, node string, dir graph.Direction, types []string) bool {
	if len(types) > 0 && !slices.Contains(types, e.Type) {
		return false
	}
	switch dir {
	case graph.Out:
		return e.From == node
	case graph.In:
		return e.To == node
	}
	return e.From == node || e.To == node
}

// EdgesAt lists the visible edges at node in direction dir of the given
// types, once per direction it is seen in: a loop seen in both directions
// is listed twice, as the store's neighbour scan lists it.
func (w *World) EdgesAt(v WorldViewer, node string, dir graph.Direction, types []string) []WorldEdge {
	var out []WorldEdge
	for _, e := range w.edges {
		if !w.EdgeVisible(v, e) || (len(types) > 0 && !slices.Contains(types, e.Type)) {
			continue
		}
		if dir != graph.In && e.From == node {
			out = append(out, e)
		}
		if dir != graph.Out && e.To == node {
			out = append(out, e)
		}
	}
	return out
}

// Reach walks the visible graph breadth-first from start up to depth hops
// along edges matching dir and types, and returns each node reached with
// its distance, and every edge scanned from a node closer than depth.
func (w *World) Reach(v WorldViewer, start string, depth int, dir graph.Direction, types []string) (map[string]int, []WorldEdge) {
	dist := map[string]int{start: 0}
	frontier := []string{start}
	var edges []WorldEdge
	walked := map[WorldEdge]bool{}
	for d := 0; d < depth && len(frontier) > 0; d++ {
		var next []string
		for _, n := range frontier {
			for _, e := range w.EdgesAt(v, n, dir, types) {
				if !walked[e] {
					walked[e] = true
					edges = append(edges, e)
				}
				o := e.To
				if o == n {
					o = e.From
				}
				if _, ok := dist[o]; !ok {
					dist[o] = d + 1
					next = append(next, o)
				}
			}
		}
		frontier = next
	}
	return dist, edges
}

// Searchable reports whether the store gives an object a search document:
// every type but relationships has one.
func Searchable(o *WorldObject) bool { return o.Object.Type != "relationship" }

// SearchMatches lists the visible searchable objects that a search for
// text matches, keeping only the given types when there are any. The text is
// one of the world's words (matching descriptions), an observable's value
// (matching the observable and the indicators whose pattern names it) or a
// STIX id (matching that object); empty text matches everything.
func (w *World) SearchMatches(v WorldViewer, text string, types []string) []*WorldObject {
	var out []*WorldObject
	for _, o := range w.VisibleObjects(v) {
		if !Searchable(o) || (len(types) > 0 && !slices.Contains(types, o.Object.Type)) {
			continue
		}
		pattern, _ := o.Object.String("pattern")
		if text == "" || slices.Contains(o.Words, text) || o.Object.ID == text || (o.Value != "" && o.Value == text) ||
			(pattern != "" && strings.Contains(pattern, "'"+text+"'")) {
			out = append(out, o)
		}
	}
	return out
}

// WorldStores hands out the store that the examples of a rapid run load
// their Worlds into. Reusing a store saves opening one per example; opening
// a fresh one every few examples keeps its access classes, which every
// World adds to and no deletion removes, few enough that a long run with
// -rapid.checks=N stays linear in N. Each store is checked (Store.Check)
// before it is closed.
type WorldStores struct {
	tb    testing.TB
	every int
	s     *graph.Store
	uses  int
	fresh func(*graph.Store)
}

// NewWorldStores returns a WorldStores that opens a new store every
// examples; fresh, when not nil, is called with each new store.
func NewWorldStores(tb testing.TB, every int, fresh func(*graph.Store)) *WorldStores {
	ws := &WorldStores{tb: tb, every: every, fresh: fresh}
	// The first TempDir registers the removal of the test's temporary
	// directories; cleanups run last first, so the stores are closed
	// before it runs.
	tb.TempDir()
	tb.Cleanup(ws.close)
	return ws
}

// Next returns the store for the next example.
func (ws *WorldStores) Next() *graph.Store {
	ws.tb.Helper()
	if ws.s == nil || ws.uses == ws.every {
		ws.close()
		opts := graph.DefaultOptions()
		opts.SyncWrites = false
		opts.SearchPersistInterval = 10 * time.Millisecond
		s, err := graph.Open(ws.tb.TempDir(), opts)
		if err != nil {
			ws.tb.Fatalf("open store: %v", err)
		}
		ws.s, ws.uses = s, 0
		if ws.fresh != nil {
			ws.fresh(s)
		}
	}
	ws.uses++
	return ws.s
}

func (ws *WorldStores) close() {
	if ws.s == nil {
		return
	}
	CheckStore(ws.tb, ws.s)
	if err := ws.s.Close(); err != nil {
		ws.tb.Errorf("close store: %v", err)
	}
	ws.s = nil
}

// NewItem returns an SDO of type typ with the id ItemID(typ, n), the given
// properties (a name is added when there is none, except on relationships)
// and fixed timestamps, stored under policy p with a provenance of source
// and the file source.json. Named tests build their small graphs with it.
func NewItem(tb testing.TB, typ string, n int, p graph.Policy, source string, props map[string]any) Item {
	tb.Helper()
	props["type"], props["spec_version"], props["id"] = typ, "2.1", ItemID(typ, n)
	props["created"], props["modified"] = ts, ts
	if _, ok := props["name"]; !ok && typ != "relationship" {
		props["name"] = fmt.Sprintf("%s %d", typ, n)
	}
	return Item{Object: mustObject(tb, props), Meta: graph.Meta{Policy: p, Provenance: graph.Provenance{Source: source, File: source + ".json"}}}
}

// ItemID is the STIX id NewItem gives object n of a type.
func ItemID(typ string, n int) string {
	return fmt.Sprintf("%s--00000000-0000-4000-8000-%012d", typ, n)
}

// NewRelationship returns relationship n of type typ from one STIX id to
// another, stored under policy p.
func NewRelationship(tb testing.TB, n int, typ, from, to string, p graph.Policy) Item {
	tb.Helper()
	return NewItem(tb, "relationship", n, p, "test", map[string]any{"relationship_type": typ, "source_ref": from, "target_ref": to})
}

// IDs returns the internal id of each stored object by STIX id.
func IDs(tb TB, s *graph.Store, stixIDs ...string) map[string]graph.ID {
	tb.Helper()
	ids := map[string]graph.ID{}
	err := s.View(graph.System(), func(tx *graph.Tx) error {
		for _, x := range stixIDs {
			id, err := tx.Lookup(x)
			if err != nil {
				return err
			}
			ids[x] = id
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("look up ids: %v", err)
	}
	return ids
}
