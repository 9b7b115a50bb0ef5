package graphtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
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
// observables, reports, cases, relationships, sightings), each contributed
// by one or more organizations. Every contribution has its own owner, TLP
// marking, sharing list, named users, import source, version and
// properties, protected ones among them; some policies are changed with
// Tx.SetPolicy after the objects are stored. A World also holds the order
// and the path (one transaction, one per contribution, or Bulk) by which
// they are stored.
//
// Beside the objects, a World is its own reference model of what each
// viewer may see. The model is written from the access rules of the design,
// not from the store's code: it never calls graph.Viewer.CanSee, it
// derives the edges from the properties it generated, not from the store's
// edge extraction, and it merges contributions by the rules the design
// gives (an observable shows the union of the properties and hashes of the
// contributions the viewer sees; any other object the newest version the
// viewer sees), after removing the protected properties of every
// contribution the viewer does not own. Tests compare every answer of the
// store (or of the API) with it.
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
	// Secrets are the values of protected properties, which no search may
	// find.
	Secrets []string

	labels  []string // the Secrets that are labels
	byStix  map[string]*WorldObject
	edges   []WorldEdge                        // each edge once
	edgeBy  map[WorldEdge][]*WorldContribution // the contributions that imply each edge
	order   []worldPut                         // the order in which Load stores contributions
	changes []worldChange                      // the policy changes Load makes after storing
	load    int                                // 0: one transaction, 1: one per contribution, 2: Bulk
	chunk   int                                // Bulk's chunk size
}

// worldPut names one contribution to store.
type worldPut struct{ object, contribution int }

// worldChange is a Tx.SetPolicy call.
type worldChange struct {
	stixID, owner string
	policy        graph.Policy
}

// WorldObject is one generated object: one node of the store, with every
// contribution to it.
type WorldObject struct {
	// Object is the first contribution's object; its id and type are the
	// node's.
	Object *schema.Object
	// Value is the value of an address or a domain, empty for other
	// objects.
	Value string
	// Contributions lists the object's contributions, each by another
	// owner; the first is the one Object comes from.
	Contributions []*WorldContribution
	// Edges are the edges any contribution implies, by STIX id, each once.
	Edges []WorldEdge
}

// WorldContribution is what one organization stored of an object.
type WorldContribution struct {
	// Object is the version the organization stored.
	Object *schema.Object
	// Meta is the policy (after any SetPolicy) and provenance it has.
	Meta graph.Meta
	// Stored is the policy it was first stored with.
	Stored graph.Policy
	// Words are the search words of its description.
	Words []string
	// Modified is its modification time, zero for observables.
	Modified time.Time
	// Edges are the edges it implies, by STIX id.
	Edges []WorldEdge
	// Values are the canonical values it is indexed under: an observable's
	// value and a file's hashes.
	Values []string
	// Secrets are the values of its protected properties.
	Secrets []string
}

// WorldEdge is an edge by STIX ids: a relationship's edge has Via set to the
// relationship, an embedded reference has an empty Via.
type WorldEdge struct {
	Type, From, To, Via string
}

// WorldViewer is a viewer of the model: an organization and a user, either
// of which may be empty (the zero WorldViewer sees only unrestricted
// objects), possibly narrowed as the store's viewers for exports are.
type WorldViewer struct {
	Org, User string
	// Export is graph.Viewer.ForExport: nobody's protected properties show.
	Export bool
	// Reshare is graph.Viewer.Resharing: contributions the viewer may read
	// but not pass on are hidden.
	Reshare bool
	// And is graph.Viewer.And: the partner who must see a contribution too.
	And *WorldViewer
}

// Graph is the store's viewer for v.
func (v WorldViewer) Graph() graph.Viewer {
	g := graph.Viewer{Org: v.Org, User: v.User}
	if v.Reshare {
		g = g.Resharing()
	}
	if v.Export {
		g = g.ForExport()
	}
	if v.And != nil {
		g = g.And(v.And.Graph())
	}
	return g
}

func (v WorldViewer) String() string {
	s := fmt.Sprintf("viewer{org %q, user %q", v.Org, v.User)
	if v.Export {
		s += ", for export"
	}
	if v.Reshare {
		s += ", resharing"
	}
	if v.And != nil {
		s += ", and " + v.And.String()
	}
	return s + "}"
}

// Plain reports whether v is an organization's and user's own view, not
// narrowed for an export.
func (v WorldViewer) Plain() bool { return !v.Export && !v.Reshare && v.And == nil }

// worldKinds are the kinds of object a World draws.
var worldKinds = []string{"identity", "malware", "indicator", "ipv4-addr", "domain-name", "file", "report", schema.TypeCase, "relationship", "sighting"}

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

// WorldInformant is the import source whose contributions have, besides the
// properties protected everywhere, those WorldProtection protects for it.
const WorldInformant = "world-informant"

// worldSources are the import sources of contributions.
var worldSources = []string{"world", WorldInformant}

// WorldProtection is the protection the stores of WorldStores run with: the
// default, plus labels (which the search index would otherwise hold) and
// x_informant in the contributions of WorldInformant.
func WorldProtection() graph.Protection {
	p := graph.DefaultProtection()
	p.BySource = map[string][]string{WorldInformant: {"labels", "x_informant"}}
	return p
}

// protectedIn lists the properties protected in a contribution: those of
// WorldProtection for every source and for its own.
func protectedIn(c *WorldContribution) []string {
	p := WorldProtection()
	return append(slices.Clone(p.Properties), p.BySource[c.Meta.Provenance.Source]...)
}

// unsearchable reports whether the search index holds no value of a
// property: protected properties, for whichever source, are never indexed.
func unsearchable(prop string) bool {
	p := WorldProtection()
	if slices.Contains(p.Properties, prop) {
		return true
	}
	for _, ps := range p.BySource {
		if slices.Contains(ps, prop) {
			return true
		}
	}
	return false
}

// worldDraw holds what drawing one World needs.
type worldDraw struct {
	t  *rapid.T
	w  *World
	ns int
	n  int
}

func (d *worldDraw) uuid(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", d.ns, i) }

func (d *worldDraw) ip(i int) string {
	return fmt.Sprintf("10.%d.%d.%d", d.ns/256%256, d.ns%256, i)
}

// hash is a hex string of n digits unique to the world, object i and the
// algorithm.
func (d *worldDraw) hash(i, n int, alg string) string {
	s := fmt.Sprintf("%08x%08x%s", d.ns, i, strings.Repeat("ab", 40))
	return strings.ToLower(s[:n-len(alg)] + alg)
}

func (d *worldDraw) dangling(typ string) string {
	id := typ + "--" + d.uuid(1000+len(d.w.Dangling))
	d.w.Dangling = append(d.w.Dangling, id)
	return id
}

// pick returns an earlier object of one of the kinds, or (sometimes, and
// always when there is none) a reference to an object that is never
// stored.
func (d *worldDraw) pick(label string, kinds ...string) string {
	var cands []string
	for _, o := range d.w.Objects {
		if len(kinds) == 0 || slices.Contains(kinds, o.Object.Type) {
			cands = append(cands, o.Object.ID)
		}
	}
	if len(cands) == 0 || rapid.IntRange(0, 7).Draw(d.t, label+" dangling") == 0 {
		typ := "malware"
		if len(kinds) > 0 {
			typ = kinds[0]
		}
		return d.dangling(typ)
	}
	return rapid.SampledFrom(cands).Draw(d.t, label)
}

func (d *worldDraw) pickN(label string, lo, hi int, kinds ...string) []string {
	var out []string
	for range rapid.IntRange(lo, hi).Draw(d.t, label+" count") {
		if id := d.pick(label, kinds...); !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// DrawWorld draws a World of between minObjects and maxObjects objects. ns
// makes its STIX ids and observable values unique, so that one store can
// hold the Worlds of a whole rapid run one after the other (see Unload).
func DrawWorld(t *rapid.T, ns, minObjects, maxObjects int) *World {
	w := &World{UserOrg: map[string]string{}, Words: worldWords, byStix: map[string]*WorldObject{}, edgeBy: map[WorldEdge][]*WorldContribution{}}
	for i := range rapid.IntRange(3, 4).Draw(t, "orgs") {
		w.Orgs = append(w.Orgs, fmt.Sprintf("org-%d", i+1))
	}
	for i := range rapid.IntRange(1, 4).Draw(t, "users") {
		u := fmt.Sprintf("user-%d", i+1)
		w.Users = append(w.Users, u)
		w.UserOrg[u] = rapid.SampledFrom(w.Orgs).Draw(t, "user org")
	}
	d := &worldDraw{t: t, w: w, ns: ns, n: rapid.IntRange(minObjects, maxObjects).Draw(t, "objects")}
	var puts []worldPut
	for i := range d.n {
		kind := rapid.SampledFrom(worldKinds).Draw(t, "kind")
		// Most objects have one contribution; some are contributed by
		// two or three owners (an organization, or none for reference
		// data), each at most once, as the store keeps one contribution
		// per owner.
		owners := []string{rapid.SampledFrom(append(slices.Clone(w.Orgs), "")).Draw(t, "owner")}
		if rapid.IntRange(0, 2).Draw(t, "contributed again") == 0 {
			for range rapid.IntRange(1, 2).Draw(t, "more contributions") {
				if o := rapid.SampledFrom(append(slices.Clone(w.Orgs), "")).Draw(t, "other owner"); !slices.Contains(owners, o) {
					owners = append(owners, o)
				}
			}
		}
		wo := &WorldObject{}
		for k, owner := range owners {
			c := d.contribution(kind, i, k, owner, wo)
			wo.Contributions = append(wo.Contributions, c)
			if k == 0 {
				wo.Object = c.Object
				wo.Value, _ = c.Object.String("value")
			}
			w.Secrets = append(w.Secrets, c.Secrets...)
			for _, e := range c.Edges {
				if !slices.Contains(wo.Edges, e) {
					wo.Edges = append(wo.Edges, e)
				}
				if _, ok := w.edgeBy[e]; !ok {
					w.edges = append(w.edges, e)
				}
				w.edgeBy[e] = append(w.edgeBy[e], c)
			}
			puts = append(puts, worldPut{i, k})
		}
		w.Objects = append(w.Objects, wo)
		w.byStix[wo.Object.ID] = wo
	}
	// Some policies change after the objects are stored: a marking is
	// raised or lowered, a sharing list or the named users change, an
	// owner makes its contribution discoverable.
	for _, o := range w.Objects {
		for _, c := range o.Contributions {
			if rapid.IntRange(0, 5).Draw(t, "set policy") == 0 {
				c.Meta.Policy = w.drawPolicy(t, c.Meta.Policy.Owner)
				w.changes = append(w.changes, worldChange{o.Object.ID, c.Meta.Policy.Owner, c.Meta.Policy})
			}
		}
	}
	w.order = rapid.Permutation(puts).Draw(t, "store order")
	w.load = rapid.IntRange(0, 2).Draw(t, "load path")
	w.chunk = rapid.IntRange(1, 8).Draw(t, "bulk chunk")
	return w
}

// contribution draws contribution k of object i, by owner. Later
// contributions of an object take its STIX id (and, for observables, its
// value) from the first; an SDO's later versions get a modification time
// no other contribution of it has, so that which is newest never depends
// on the order of storing.
func (d *worldDraw) contribution(kind string, i, k int, owner string, wo *WorldObject) *WorldContribution {
	t := d.t
	c := &WorldContribution{Meta: graph.Meta{Policy: d.w.drawPolicy(t, owner), Provenance: graph.Provenance{
		Source: rapid.SampledFrom(worldSources).Draw(t, "source"), File: fmt.Sprintf("world-%d-%d", d.ns, k)}}}
	c.Stored = c.Meta.Policy
	props := map[string]any{"type": kind, "spec_version": "2.1"}
	secret := func(prop string) {
		v := fmt.Sprintf("s%dq%dq%dq%s", d.ns, i, k, strings.ReplaceAll(prop, "_", ""))
		c.Secrets = append(c.Secrets, v)
		if prop == "labels" {
			props[prop] = []string{v}
			d.w.labels = append(d.w.labels, v)
		} else {
			props[prop] = v
		}
	}
	// Protected properties: those protected for every source, and those
	// protected only for WorldInformant, which other sources' contributions
	// carry unprotected.
	for _, prop := range []string{"x_source", "x_collection_method", "x_handling_notes", "x_informant"} {
		if rapid.IntRange(0, 2).Draw(t, prop) == 0 {
			if prop == "x_informant" && c.Meta.Provenance.Source != WorldInformant {
				props[prop] = fmt.Sprintf("open%dq%dq%d", d.ns, i, k)
			} else {
				secret(prop)
			}
		}
	}
	var first *WorldContribution
	if k > 0 {
		first = wo.Contributions[0]
	}
	tag := owner
	if tag == "" {
		tag = "operator"
	}
	switch kind {
	case "ipv4-addr", "domain-name", "file":
		// Each observable contribution adds a property of its own,
		// which merging keeps.
		props["x_tag_"+tag] = rapid.SampledFrom(worldWords).Draw(t, "tag")
		switch kind {
		case "ipv4-addr":
			props["value"] = d.ip(i)
		case "domain-name":
			props["value"] = fmt.Sprintf("h%d-%d.example", d.ns, i)
			if refs := d.pickN("resolves_to_refs", 0, 2, "ipv4-addr"); len(refs) > 0 {
				props["resolves_to_refs"] = refs
			}
		case "file":
			// Every contribution names the file by its MD5, so all
			// have one id; each knows some of its other hashes.
			hashes := map[string]string{"MD5": d.hash(i, 32, "md5")}
			if rapid.Bool().Draw(t, "sha-1") {
				hashes["SHA-1"] = d.hash(i, 40, "sha1")
			}
			if rapid.Bool().Draw(t, "sha-256") {
				hashes["SHA-256"] = d.hash(i, 64, "sha256")
			}
			props["hashes"] = hashes
			for _, h := range hashes {
				c.Values = append(c.Values, h)
			}
		}
		if v, ok := props["value"].(string); ok {
			c.Values = append(c.Values, v)
		}
		o, err := scoObject(props)
		if err != nil {
			t.Fatalf("draw %s: %v", kind, err)
		}
		c.Object = o
		c.Edges = refEdges(o, props)
		return c
	}
	hour := rapid.IntRange(0, WorldDays*24-1).Draw(t, "hour")
	for first != nil && slices.ContainsFunc(wo.Contributions, func(o *WorldContribution) bool {
		return o.Modified.Equal(worldEpoch.Add(time.Duration(hour) * time.Hour))
	}) {
		hour++
	}
	c.Modified = worldEpoch.Add(time.Duration(hour) * time.Hour)
	ts := c.Modified.Format(time.RFC3339)
	id := kind + "--" + d.uuid(i)
	created := ts
	if first != nil {
		// A version keeps the object's creation time, unless it is
		// older than it.
		id = first.Object.ID
		if f := first.Object.Created; f.Before(c.Modified) {
			created = f.Format(time.RFC3339)
		}
	}
	props["id"] = id
	props["created"], props["modified"] = created, ts
	if kind != "relationship" {
		for range rapid.IntRange(0, 2).Draw(t, "words") {
			if wd := rapid.SampledFrom(worldWords).Draw(t, "word"); !slices.Contains(c.Words, wd) {
				c.Words = append(c.Words, wd)
			}
		}
		if len(c.Words) > 0 {
			props["description"] = strings.Join(c.Words, " ")
		}
		if kind != "identity" && rapid.Bool().Draw(t, "created by") {
			props["created_by_ref"] = d.pick("created_by_ref", "identity")
		}
		if kind != "identity" && rapid.IntRange(0, 3).Draw(t, "modified by") == 0 {
			// Another authorship reference, as ATT&CK's x_mitre_modified_by_ref.
			props["x_acme_modified_by_ref"] = d.pick("x_acme_modified_by_ref", "identity")
		}
		if rapid.IntRange(0, 2).Draw(t, "labels") == 0 {
			if c.Meta.Provenance.Source == WorldInformant {
				secret("labels")
			} else {
				props["labels"] = []string{fmt.Sprintf("open%dq%dq%d", d.ns, i, k)}
			}
		}
	}
	switch kind {
	case "identity":
		props["name"], props["identity_class"] = fmt.Sprintf("Agency %d.%d", i, k), "organization"
	case "malware":
		props["name"], props["is_family"] = fmt.Sprintf("Sample %d.%d", i, k), true
	case "indicator":
		// A pattern names an address by value; the store links the
		// indicator to that address's observable, stored or not, by its
		// deterministic id. Versions may name other addresses.
		v := d.ip(rapid.IntRange(0, d.n+2).Draw(t, "pattern address"))
		props["name"], props["pattern"], props["pattern_type"], props["valid_from"] = fmt.Sprintf("Watch %d.%d", i, k), "[ipv4-addr:value = '"+v+"']", "stix", ts
		target, err := scoObject(map[string]any{"type": "ipv4-addr", "spec_version": "2.1", "value": v})
		if err != nil {
			t.Fatalf("draw pattern target: %v", err)
		}
		c.Edges = append(c.Edges, WorldEdge{Type: "based-on", From: id, To: target.ID})
	case "report":
		props["name"], props["published"] = fmt.Sprintf("Report %d.%d", i, k), ts
		props["object_refs"] = d.pickN("object_refs", 1, 5)
	case schema.TypeCase:
		props["name"], props["status"], props["severity"] = fmt.Sprintf("Case %d.%d", i, k), "open", "high"
		props["object_refs"] = d.pickN("object_refs", 1, 4)
	case "relationship":
		// A relationship's type and ends are the same in every version.
		if first != nil {
			for _, p := range []string{"relationship_type", "source_ref", "target_ref"} {
				props[p], _ = first.Object.String(p)
			}
		} else {
			props["relationship_type"] = rapid.SampledFrom([]string{"uses", "indicates", "related-to"}).Draw(t, "relationship_type")
			props["source_ref"], props["target_ref"] = d.pick("source_ref"), d.pick("target_ref")
		}
	case "sighting":
		props["sighting_of_ref"] = d.pick("sighting_of_ref")
		if refs := d.pickN("where_sighted_refs", 0, 2, "identity"); len(refs) > 0 {
			props["where_sighted_refs"] = refs
		}
		props["first_seen"], props["count"] = ts, 1
	}
	o, err := worldObject(props)
	if err != nil {
		t.Fatalf("draw %s: %v", kind, err)
	}
	c.Object = o
	c.Edges = append(refEdges(o, props), c.Edges...)
	return c
}

// drawPolicy draws a policy of owner (empty for reference data): a
// marking, a sharing list, named users and whether it is discoverable. The
// lists are drawn whatever the marking, so that the model also checks that
// they do not matter where the rules ignore them.
func (w *World) drawPolicy(t *rapid.T, owner string) graph.Policy {
	p := graph.Policy{Owner: owner, TLP: rapid.SampledFrom(worldTLPs).Draw(t, "tlp")}
	p.Sharing = rapid.SliceOfNDistinct(rapid.SampledFrom(w.Orgs), 0, len(w.Orgs), rapid.ID[string]).Draw(t, "sharing")
	p.Users = rapid.SliceOfNDistinct(rapid.SampledFrom(w.Users), 0, 2, rapid.ID[string]).Draw(t, "named users")
	p.Discoverable = rapid.IntRange(0, 2).Draw(t, "discoverable") == 0
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

// ExportViewers draws n viewers narrowed for an export: an organization's
// viewer for export, as a sender re-sharing, or with a partner, in any
// combination.
func (w *World) ExportViewers(t *rapid.T, n int) []WorldViewer {
	var vs []WorldViewer
	for range n {
		v := WorldViewer{Org: rapid.SampledFrom(w.Orgs).Draw(t, "exporter")}
		v.Export = rapid.Bool().Draw(t, "for export")
		v.Reshare = rapid.Bool().Draw(t, "resharing")
		if rapid.Bool().Draw(t, "with partner") {
			p := w.DrawViewer(t)
			v.And = &p
		}
		vs = append(vs, v)
	}
	return vs
}

// Load stores the world's contributions in its drawn order and by its drawn
// path, then changes the drawn policies, and returns the internal id of
// every stored object.
func (w *World) Load(tb TB, s *graph.Store) map[string]graph.ID {
	tb.Helper()
	item := func(p worldPut) (*schema.Object, graph.Meta) {
		c := w.Objects[p.object].Contributions[p.contribution]
		m := c.Meta
		m.Policy = c.Stored
		return c.Object, m
	}
	switch w.load {
	case 0:
		err := s.Update(graph.System(), func(tx *graph.Tx) error {
			for _, p := range w.order {
				if _, _, err := tx.Put(item(p)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("load world in one transaction: %v", err)
		}
	case 1:
		for _, p := range w.order {
			err := s.Update(graph.System(), func(tx *graph.Tx) error {
				_, _, err := tx.Put(item(p))
				return err
			})
			if err != nil {
				tb.Fatalf("load %s: %v", w.Objects[p.object].Object.ID, err)
			}
		}
	default:
		b := s.NewBulk(graph.System(), graph.BulkOptions{ChunkObjects: w.chunk})
		for _, p := range w.order {
			if err := b.Put(item(p)); err != nil {
				tb.Fatalf("bulk load %s: %v", w.Objects[p.object].Object.ID, err)
			}
		}
		if _, err := b.Close(); err != nil {
			tb.Fatalf("bulk load: %v", err)
		}
	}
	if len(w.changes) > 0 {
		err := s.Update(graph.System(), func(tx *graph.Tx) error {
			for _, c := range w.changes {
				if err := tx.SetPolicy(c.stixID, c.owner, c.policy); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("change policies: %v", err)
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
// the named users. An empty organization or user name matches nothing. A
// sender re-sharing does not see the AMBER+STRICT and RED contributions of
// other owners, and a viewer with a partner sees only what both see.
func Sees(v WorldViewer, p graph.Policy) bool {
	isOrg := func(org string) bool { return v.Org != "" && org == v.Org }
	if v.And != nil && !Sees(*v.And, p) {
		return false
	}
	if v.Reshare && (p.TLP == schema.TLPAmberStrict || p.TLP == schema.TLPRed) && !isOrg(p.Owner) {
		return false
	}
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

// SeesProtected reports whether v sees the protected properties of a
// contribution of owner: only the owner organization does, never in an
// export, and with a partner only if the partner would too.
func SeesProtected(v WorldViewer, owner string) bool {
	if v.Export || v.Org == "" || v.Org != owner {
		return false
	}
	return v.And == nil || SeesProtected(*v.And, owner)
}

// SeesProvenance reports whether v sees the provenance details (source and
// file) of a contribution of owner: the owner organization does, and
// everybody for reference data, which no organization owns.
func SeesProvenance(v WorldViewer, owner string) bool {
	return owner == "" || (v.Org != "" && v.Org == owner)
}

// ProtectedLabels lists the labels that are protected, being those of
// contributions from WorldInformant: of the protected properties, the only
// ones the search index would hold if they were not protected.
func (w *World) ProtectedLabels() []string { return w.labels }

// Describe lists the world's objects with each contribution's policy,
// provenance source and edges, for failure messages.
func (w *World) Describe() string {
	var b strings.Builder
	for _, o := range w.Objects {
		fmt.Fprintf(&b, "%s\n", o.Object.ID)
		for _, c := range o.Contributions {
			p := c.Meta.Policy
			fmt.Fprintf(&b, "  owner %q %v sharing %v users %v discoverable %v source %s (stored as %v)\n", p.Owner, p.TLP, p.Sharing, p.Users, p.Discoverable, c.Meta.Provenance.Source, c.Stored.TLP)
			for _, e := range c.Edges {
				fmt.Fprintf(&b, "    -%s-> %s\n", e.Type, e.To)
			}
		}
	}
	return b.String()
}

// Object returns the stored object with a STIX id, or nil.
func (w *World) Object(stixID string) *WorldObject { return w.byStix[stixID] }

// Seen lists the contributions to the object with a STIX id that v may
// see: none when it is not stored (a reference to an object never stored
// is seen by nobody).
func (w *World) Seen(v WorldViewer, stixID string) []*WorldContribution {
	o := w.byStix[stixID]
	if o == nil {
		return nil
	}
	var out []*WorldContribution
	for _, c := range o.Contributions {
		if Sees(v, c.Meta.Policy) {
			out = append(out, c)
		}
	}
	return out
}

// Visible reports whether v may see the object with a STIX id: through any
// of its contributions.
func (w *World) Visible(v WorldViewer, stixID string) bool {
	return len(w.Seen(v, stixID)) > 0
}

// EdgeVisible reports whether v may see an edge: both ends and the
// relationship behind it, if any, must be visible, and so must a
// contribution that implies it.
func (w *World) EdgeVisible(v WorldViewer, e WorldEdge) bool {
	return w.Visible(v, e.From) && w.Visible(v, e.To) && (e.Via == "" || w.Visible(v, e.Via)) &&
		slices.ContainsFunc(w.edgeBy[e], func(c *WorldContribution) bool { return Sees(v, c.Meta.Policy) })
}

// VisibleObjects lists the objects v may see, in generation order.
func (w *World) VisibleObjects(v WorldViewer) []*WorldObject {
	var out []*WorldObject
	for _, o := range w.Objects {
		if w.Visible(v, o.Object.ID) {
			out = append(out, o)
		}
	}
	return out
}

// WorldView is what a viewer sees of one object.
type WorldView struct {
	// Contributions are the contributions it sees, in generation order.
	Contributions []*WorldContribution
	// Props are the object's properties as it sees them: for an
	// observable, the union of those of the contributions it sees (and of
	// their hashes); for any other object, those of the newest version it
	// sees; without the protected properties of contributions it does not
	// own.
	Props map[string]any
	// Choices lists, for each property of an observable on whose value the
	// contributions the viewer sees disagree, every value it may show:
	// observables have no versions, so which one the store shows is not
	// the model's to say, only that it is one of these.
	Choices map[string][]any
	// Words are the search words of the description it sees.
	Words []string
	// Modified is the newest modification time it sees, zero for
	// observables.
	Modified time.Time
}

// View returns what v sees of the object with a STIX id, or nil when v may
// not see it.
func (w *World) View(v WorldViewer, stixID string) *WorldView {
	seen := w.Seen(v, stixID)
	if len(seen) == 0 {
		return nil
	}
	view := &WorldView{Contributions: seen, Props: map[string]any{}}
	props := func(c *WorldContribution) map[string]any {
		raw, err := c.Object.MarshalJSON()
		if err != nil {
			panic(fmt.Sprintf("encode %s: %v", c.Object.ID, err))
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			panic(fmt.Sprintf("decode %s: %v", c.Object.ID, err))
		}
		if !SeesProtected(v, c.Meta.Policy.Owner) {
			for _, p := range protectedIn(c) {
				delete(m, p)
			}
		}
		return m
	}
	if schema.KindOf(seen[0].Object.Type) == schema.KindSCO {
		// The contributions to a file never disagree on a hash.
		view.Choices = map[string][]any{}
		for _, c := range seen {
			for k, x := range props(c) {
				if h, ok := view.Props[k].(map[string]any); ok && k == "hashes" {
					maps.Copy(h, x.(map[string]any))
					continue
				}
				if _, ok := view.Props[k]; !ok {
					view.Props[k] = x
				}
				if !slices.ContainsFunc(view.Choices[k], func(y any) bool { return reflect.DeepEqual(x, y) }) {
					view.Choices[k] = append(view.Choices[k], x)
				}
			}
		}
		maps.DeleteFunc(view.Choices, func(k string, xs []any) bool { return len(xs) < 2 || k == "hashes" })
		return view
	}
	newest := seen[0]
	for _, c := range seen {
		if c.Modified.After(newest.Modified) {
			newest = c
		}
	}
	view.Props, view.Words, view.Modified = props(newest), newest.Words, newest.Modified
	return view
}

// Shows reports whether props, what the store shows of an object, are
// what the view says: the same properties, each with the model's value or
// one of its choices.
func (view *WorldView) Shows(props map[string]any) bool {
	if len(props) != len(view.Props) {
		return false
	}
	for k, want := range view.Props {
		got, ok := props[k]
		if !ok {
			return false
		}
		if !reflect.DeepEqual(got, want) && !slices.ContainsFunc(view.Choices[k], func(x any) bool { return reflect.DeepEqual(got, x) }) {
			return false
		}
	}
	return true
}

// Primary returns the policy the store shows first to v of a visible
// object: that of v's organization's contribution, else that of the newest
// contribution v sees. ok is false when that is not determined by the
// model (several observable contributions, which have no versions, and
// none v's own).
func (w *World) Primary(v WorldViewer, stixID string) (p graph.Policy, ok bool) {
	seen := w.Seen(v, stixID)
	for _, c := range seen {
		if v.Org != "" && c.Meta.Policy.Owner == v.Org {
			return c.Meta.Policy, true
		}
	}
	if len(seen) == 0 {
		return graph.Policy{}, false
	}
	if len(seen) > 1 && schema.KindOf(seen[0].Object.Type) == schema.KindSCO {
		return graph.Policy{}, false
	}
	newest := seen[0]
	for _, c := range seen {
		if c.Modified.After(newest.Modified) {
			newest = c
		}
	}
	return newest.Meta.Policy, true
}

// Values lists every canonical value of the world's objects.
func (w *World) Values() []string {
	var out []string
	for _, o := range w.Objects {
		for _, c := range o.Contributions {
			for _, v := range c.Values {
				if !slices.Contains(out, v) {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// ByValue lists the objects v finds under a canonical value: those with a
// contribution v sees that holds it.
func (w *World) ByValue(v WorldViewer, value string) []*WorldObject {
	var out []*WorldObject
	for _, o := range w.Objects {
		if slices.ContainsFunc(w.Seen(v, o.Object.ID), func(c *WorldContribution) bool { return slices.Contains(c.Values, value) }) {
			out = append(out, o)
		}
	}
	return out
}

// Hits is the hit/no-hit answer to v for a value: the organizations other
// than v's that hold the value in a contribution v may not see and made
// discoverable, or that contributed, discoverable and hidden from v, a
// container whose contribution lists an object holding the value.
func (w *World) Hits(v WorldViewer, value string) []string {
	var orgs []string
	add := func(c *WorldContribution) {
		p := c.Meta.Policy
		if p.Discoverable && !Sees(v, p) && p.Owner != "" && p.Owner != v.Org && !slices.Contains(orgs, p.Owner) {
			orgs = append(orgs, p.Owner)
		}
	}
	for _, o := range w.Objects {
		held := false
		for _, c := range o.Contributions {
			if slices.Contains(c.Values, value) {
				held = true
				add(c)
			}
		}
		if !held {
			continue
		}
		for _, e := range w.edges {
			if e.Type == "object_refs" && e.To == o.Object.ID {
				for _, c := range w.edgeBy[e] {
					add(c)
				}
			}
		}
	}
	slices.Sort(orgs)
	return orgs
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
		if (e.From != node && e.To != node) || !w.EdgeVisible(v, e) || (len(types) > 0 && !slices.Contains(types, e.Type)) {
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
// its distance, and every edge scanned from a node closer than depth. With
// skipAuthored and no types, it does not follow the authorship edges (a
// property named "…_by_ref") arriving at a node other than start: a walk
// reaches a creator but does not go on to the rest of what it created.
func (w *World) Reach(v WorldViewer, start string, depth int, dir graph.Direction, types []string, skipAuthored bool) (map[string]int, []WorldEdge) {
	dist := map[string]int{start: 0}
	frontier := []string{start}
	var edges []WorldEdge
	walked := map[WorldEdge]bool{}
	for d := 0; d < depth && len(frontier) > 0; d++ {
		var next []string
		for _, n := range frontier {
			for _, e := range w.EdgesAt(v, n, dir, types) {
				if skipAuthored && len(types) == 0 && n != start && e.To == n && graph.IsAuthorship(e.Type) {
					continue
				}
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
// text matches, as v sees them, keeping only the given types when there are
// any. The text is one of the world's words (matching descriptions), a
// canonical value (matching the observable that holds it and the
// indicators whose pattern names it), a STIX id (matching that object) or
// the value of a protected property (matching nothing: the search index
// never holds one); empty text matches everything.
func (w *World) SearchMatches(v WorldViewer, text string, types []string) []*WorldObject {
	var out []*WorldObject
	for _, o := range w.VisibleObjects(v) {
		if !Searchable(o) || (len(types) > 0 && !slices.Contains(types, o.Object.Type)) {
			continue
		}
		view := w.View(v, o.Object.ID)
		pattern, _ := view.Props["pattern"].(string)
		hashes, _ := view.Props["hashes"].(map[string]any)
		value, _ := view.Props["value"].(string)
		labels, _ := view.Props["labels"].([]any)
		if text == "" || slices.Contains(view.Words, text) || o.Object.ID == text || (value != "" && value == text) ||
			(pattern != "" && strings.Contains(pattern, "'"+text+"'")) || slices.Contains(slices.Collect(maps.Values(hashes)), any(text)) ||
			(!unsearchable("labels") && slices.Contains(labels, any(text))) {
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
		if err := s.SetProtection(WorldProtection()); err != nil {
			ws.tb.Fatalf("protect properties: %v", err)
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
