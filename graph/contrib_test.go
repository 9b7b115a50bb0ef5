package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/schema"
)

const (
	sharedIP     = "ipv4-addr--5f2d7a3e-1111-5aaa-8bbb-000000000001"
	sharedDomain = "domain-name--5f2d7a3e-1111-5aaa-8bbb-000000000002"
	otherIP      = "ipv4-addr--5f2d7a3e-1111-5aaa-8bbb-000000000003"
	sharedFile   = "file--5f2d7a3e-1111-5aaa-8bbb-000000000004"
)

func obj(t *testing.T, props map[string]any) *schema.Object {
	t.Helper()
	raw := map[string]json.RawMessage{}
	for k, v := range props {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		raw[k] = b
	}
	o, err := schema.NewObject(raw)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func meta(owner string, tlp schema.TLP, source string, sharing ...string) graph.Meta {
	return graph.Meta{Policy: graph.Policy{Owner: owner, TLP: tlp, Sharing: sharing}, Provenance: graph.Provenance{Source: source, File: source + ".json"}}
}

func put(t *testing.T, s *graph.Store, o *schema.Object, m graph.Meta) graph.Outcome {
	t.Helper()
	var out graph.Outcome
	if err := s.Update(graph.System(), func(tx *graph.Tx) error {
		var err error
		_, out, err = tx.Put(o, m)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func nodeAs(t *testing.T, s *graph.Store, v graph.Viewer, stixID string) (*graph.Node, map[string]any) {
	t.Helper()
	var n *graph.Node
	err := s.View(v, func(tx *graph.Tx) error {
		var err error
		n, err = tx.NodeByStixID(stixID)
		return err
	})
	if errors.Is(err, graph.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var props map[string]any
	if err := json.Unmarshal(n.Raw, &props); err != nil {
		t.Fatal(err)
	}
	return n, props
}

var (
	viewA = graph.Viewer{Org: graphtest.OrgA, User: "alice"}
	viewB = graph.Viewer{Org: graphtest.OrgB, User: "bob"}
	viewC = graph.Viewer{Org: graphtest.OrgC, User: "carol"}
)

// TestSameObjectFromTwoAgencies: the same IP from two agencies is one node,
// visible to each through its own contribution, and each sees only its
// own properties and provenance.
func TestSameObjectFromTwoAgencies(t *testing.T) {
	s := graphtest.Open(t)
	put(t, s, obj(t, map[string]any{"type": "ipv4-addr", "id": sharedIP, "value": "198.51.100.7", "x_source": "informant 7", "x_note_a": "seen at border"}),
		meta(graphtest.OrgA, schema.TLPAmber, "humint"))
	if out := put(t, s, obj(t, map[string]any{"type": "ipv4-addr", "id": sharedIP, "value": "198.51.100.7", "x_note_b": "scanner"}),
		meta(graphtest.OrgB, schema.TLPAmber, "sensors")); out != graph.Updated {
		t.Fatalf("second agency's contribution: %v, want updated", out)
	}

	n, p := nodeAs(t, s, viewA, sharedIP)
	if n == nil || p["x_source"] != "informant 7" || p["x_note_a"] == nil || p["x_note_b"] != nil {
		t.Errorf("org A sees %v", p)
	}
	if len(n.Contributions) != 1 || len(n.Provenance) != 1 || n.Provenance[0].Source != "humint" || n.Policy.Owner != graphtest.OrgA {
		t.Errorf("org A sees contributions %+v provenance %+v", n.Contributions, n.Provenance)
	}
	n, p = nodeAs(t, s, viewB, sharedIP)
	if n == nil || p["x_source"] != nil || p["x_note_a"] != nil || p["x_note_b"] != "scanner" {
		t.Errorf("org B sees %v", p)
	}
	if len(n.Provenance) != 1 || n.Provenance[0].Source != "sensors" {
		t.Errorf("org B sees provenance %+v", n.Provenance)
	}
	if n, _ := nodeAs(t, s, viewC, sharedIP); n != nil {
		t.Errorf("org C sees %s", n.Raw)
	}
	err := s.View(viewC, func(tx *graph.Tx) error {
		ids, err := tx.ByValue("198.51.100.7")
		if len(ids) != 0 {
			t.Errorf("org C finds the value: %v", ids)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, p = nodeAs(t, s, graph.System(), sharedIP)
	if p["x_source"] != "informant 7" || p["x_note_b"] != "scanner" {
		t.Errorf("the system viewer sees %v", p)
	}
}

// TestContributionEdgesAndValues: an edge or value only one contribution
// implies is visible only through that contribution, even when both ends
// are visible.
func TestContributionEdgesAndValues(t *testing.T) {
	s := graphtest.Open(t)
	put(t, s, obj(t, map[string]any{"type": "ipv4-addr", "id": otherIP, "value": "203.0.113.9"}), meta(graphtest.OrgA, schema.TLPGreen, "a"))
	put(t, s, obj(t, map[string]any{"type": "domain-name", "id": sharedDomain, "value": "c2.example", "resolves_to_refs": []string{otherIP}}),
		meta(graphtest.OrgA, schema.TLPAmber, "a"))
	put(t, s, obj(t, map[string]any{"type": "domain-name", "id": sharedDomain, "value": "c2.example"}), meta(graphtest.OrgB, schema.TLPGreen, "b"))
	put(t, s, obj(t, map[string]any{"type": "file", "id": sharedFile, "hashes": map[string]string{"MD5": "0123456789abcdef0123456789abcdef", "SHA-256": strings.Repeat("ab", 32)}}),
		meta(graphtest.OrgA, schema.TLPAmber, "a"))
	put(t, s, obj(t, map[string]any{"type": "file", "id": sharedFile, "hashes": map[string]string{"SHA-256": strings.Repeat("ab", 32)}}),
		meta(graphtest.OrgB, schema.TLPGreen, "b"))

	for _, c := range []struct {
		v     graph.Viewer
		edges int
		md5   int
	}{{viewA, 1, 1}, {viewC, 0, 0}, {graph.System(), 1, 1}} {
		err := s.View(c.v, func(tx *graph.Tx) error {
			id, err := tx.Lookup(sharedDomain)
			if err != nil {
				return err
			}
			var edges int
			if err := tx.Neighbours(id, graph.NeighbourQuery{}, func(graph.Edge) bool { edges++; return true }); err != nil {
				return err
			}
			deg, err := tx.Degree(id, graph.Both, "")
			if err != nil {
				return err
			}
			if edges != c.edges || deg != int64(c.edges) {
				t.Errorf("%s: %d edges, degree %d, want %d", c.v.Org, edges, deg, c.edges)
			}
			ids, err := tx.ByValue("0123456789abcdef0123456789abcdef")
			if len(ids) != c.md5 {
				t.Errorf("%s: the MD5 finds %d nodes, want %d", c.v.Org, len(ids), c.md5)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	_, p := nodeAs(t, s, viewC, sharedFile)
	if h := p["hashes"].(map[string]any); h["MD5"] != nil || h["SHA-256"] == nil {
		t.Errorf("org C sees hashes %v", h)
	}
	_, p = nodeAs(t, s, viewA, sharedFile)
	if h := p["hashes"].(map[string]any); h["MD5"] == nil {
		t.Errorf("org A sees hashes %v", h)
	}
}

// TestProtectedProperties: protected properties show only to the owner,
// never in an export, and never in the search index; per-source rules add
// to the global ones.
func TestProtectedProperties(t *testing.T) {
	s := graphtest.Open(t)
	if err := s.SetProtection(graph.Protection{Properties: []string{"x_source"}, BySource: map[string][]string{"humint": {"description"}}}); err != nil {
		t.Fatal(err)
	}
	put(t, s, obj(t, map[string]any{"type": "indicator", "id": "indicator--5f2d7a3e-1111-4aaa-8bbb-000000000010", "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z",
		"pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z",
		"name": "border relay", "description": "reported by asset nightjar", "x_source": "nightjar"}),
		meta(graphtest.OrgA, schema.TLPGreen, "humint"))
	const id = "indicator--5f2d7a3e-1111-4aaa-8bbb-000000000010"
	if _, p := nodeAs(t, s, viewA, id); p["x_source"] != "nightjar" || p["description"] == nil {
		t.Errorf("the owner sees %v", p)
	}
	if n, p := nodeAs(t, s, viewB, id); p["x_source"] != nil || p["description"] != nil || p["name"] != "border relay" || n.Provenance[0].Source != "" {
		t.Errorf("another organization sees %v, provenance %+v", p, n.Provenance)
	}
	if _, p := nodeAs(t, s, viewA.ForExport(), id); p["x_source"] != nil || p["description"] != nil {
		t.Errorf("the owner's export holds %v", p)
	}
	if err := s.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, v := range []graph.Viewer{viewA, graph.System()} {
		for _, q := range []string{"nightjar", "asset"} {
			res, err := s.Search(context.Background(), v, graph.SearchQuery{Text: q})
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != 0 {
				t.Errorf("search %q as %q finds a protected property: %+v", q, v.Org, res.Hits)
			}
		}
	}
	res, err := s.Search(context.Background(), viewB, graph.SearchQuery{Text: "relay"})
	if err != nil || res.Total != 1 {
		t.Errorf("search of a public word: %+v %v", res, err)
	}
	if got := s.Protection(); !slices.Equal(got.Properties, []string{"x_source"}) {
		t.Errorf("protection reads back as %+v", got)
	}
}

// TestSearchDifferingContributions: a word only a hidden contribution holds
// finds nothing for a viewer who sees the node through another one, and
// totals and facets do not count it.
func TestSearchDifferingContributions(t *testing.T) {
	s := graphtest.Open(t)
	const mal = "malware--5f2d7a3e-1111-4aaa-8bbb-000000000020"
	put(t, s, obj(t, map[string]any{"type": "malware", "id": mal, "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z", "is_family": true,
		"name": "Quietloader", "description": "shared public loader"}), meta(graphtest.OrgB, schema.TLPGreen, "b"))
	put(t, s, obj(t, map[string]any{"type": "malware", "id": mal, "created": "2024-01-01T00:00:00Z", "modified": "2024-02-01T00:00:00Z", "is_family": true,
		"name": "Quietloader", "description": "operation bluefin implant"}), meta(graphtest.OrgA, schema.TLPAmber, "a"))
	if err := s.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		v     graph.Viewer
		q     string
		total uint64
	}{{viewC, "bluefin", 0}, {viewC, "quietloader", 1}, {viewC, "public", 1}, {viewA, "bluefin", 1}, {graph.System(), "bluefin", 1}} {
		res, err := s.Search(context.Background(), c.v, graph.SearchQuery{Text: c.q, Facets: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != c.total || uint64(len(res.Hits)) != c.total || res.Facets["malware"] != c.total {
			t.Errorf("%s searching %q: total %d, hits %d, facets %v; want %d", c.v.Org, c.q, res.Total, len(res.Hits), res.Facets, c.total)
		}
	}
	if _, p := nodeAs(t, s, viewC, mal); p["description"] != "shared public loader" {
		t.Errorf("org C sees %v", p)
	}
	if _, p := nodeAs(t, s, viewA, mal); p["description"] != "operation bluefin implant" {
		t.Errorf("org A sees %v", p)
	}
}

// TestSetPolicy: an owner changes the policy of its own contribution; it
// cannot change another organization's.
func TestSetPolicy(t *testing.T) {
	s := graphtest.Open(t)
	put(t, s, obj(t, map[string]any{"type": "ipv4-addr", "id": sharedIP, "value": "198.51.100.7"}), meta(graphtest.OrgA, schema.TLPAmber, "a"))
	if n, _ := nodeAs(t, s, viewB, sharedIP); n != nil {
		t.Fatal("org B sees an AMBER object not shared with it")
	}
	err := s.Update(viewA, func(tx *graph.Tx) error {
		return tx.SetPolicy(sharedIP, graphtest.OrgA, graph.Policy{TLP: schema.TLPAmber, Sharing: []string{graphtest.OrgB}})
	})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := nodeAs(t, s, viewB, sharedIP)
	if n == nil || n.Policy.Owner != graphtest.OrgA || len(n.Provenance) != 1 {
		t.Fatalf("after sharing, org B sees %+v", n)
	}
	err = s.Update(viewB, func(tx *graph.Tx) error {
		return tx.SetPolicy(sharedIP, graphtest.OrgB, graph.Policy{TLP: schema.TLPClear})
	})
	if !errors.Is(err, graph.ErrForbidden) {
		t.Errorf("org B changing org A's policy: %v, want ErrForbidden", err)
	}
	if n, _ := nodeAs(t, s, viewC, sharedIP); n != nil {
		t.Error("org C sees the object after a refused change")
	}
}

// TestResharingViewer: a recipient's re-sharing view drops AMBER+STRICT and
// RED objects of others, and a partner's view limits what leaves.
func TestResharingViewer(t *testing.T) {
	s := graphtest.Open(t)
	put(t, s, obj(t, map[string]any{"type": "ipv4-addr", "id": sharedIP, "value": "198.51.100.7"}), meta(graphtest.OrgA, schema.TLPAmberStrict, "a", graphtest.OrgB))
	put(t, s, obj(t, map[string]any{"type": "ipv4-addr", "id": otherIP, "value": "203.0.113.9"}), meta(graphtest.OrgA, schema.TLPAmber, "a", graphtest.OrgB))
	for _, c := range []struct {
		name   string
		v      graph.Viewer
		strict bool
		amber  bool
	}{
		{"recipient reads", viewB, true, true},
		{"recipient re-shares", viewB.Resharing(), false, true},
		{"owner re-shares", viewA.Resharing(), true, true},
		{"export to org C", graph.System().And(viewC), false, false},
		{"export to org B", graph.System().And(viewB), true, true},
	} {
		if n, _ := nodeAs(t, s, c.v, sharedIP); (n != nil) != c.strict {
			t.Errorf("%s: AMBER+STRICT object visible = %v", c.name, n != nil)
		}
		if n, _ := nodeAs(t, s, c.v, otherIP); (n != nil) != c.amber {
			t.Errorf("%s: AMBER object visible = %v", c.name, n != nil)
		}
	}
	p := graph.Policy{Owner: graphtest.OrgA, TLP: schema.TLPAmberStrict}
	if p.Reshareable(graphtest.OrgB) || !p.Reshareable(graphtest.OrgA) || !strings.Contains(p.ReshareReason(graphtest.OrgB), "AMBER+STRICT") {
		t.Errorf("reshare rule for %+v: %q", p, p.ReshareReason(graphtest.OrgB))
	}
}

// TestHits: another organization holding a discoverable match is named,
// with nothing else; undiscoverable matches, visible matches and the
// viewer's own organization are not.
func TestHits(t *testing.T) {
	s := graphtest.Open(t)
	disc := meta(graphtest.OrgA, schema.TLPAmber, "a")
	disc.Policy.Discoverable = true
	put(t, s, obj(t, map[string]any{"type": "ipv4-addr", "id": sharedIP, "value": "198.51.100.7"}), disc)
	put(t, s, obj(t, map[string]any{"type": "ipv4-addr", "id": otherIP, "value": "203.0.113.9"}), meta(graphtest.OrgA, schema.TLPAmber, "a"))
	put(t, s, obj(t, map[string]any{"type": "domain-name", "id": sharedDomain, "value": "c2.example"}), meta(graphtest.OrgB, schema.TLPRed, "b"))
	caseMeta := meta(graphtest.OrgB, schema.TLPRed, "b")
	caseMeta.Policy.Discoverable = true
	put(t, s, obj(t, map[string]any{"type": "x-verband-case", "id": "x-verband-case--5f2d7a3e-1111-4aaa-8bbb-000000000030", "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z",
		"name": "op", "object_refs": []string{sharedDomain}}), caseMeta)
	hits := func(v graph.Viewer, value string) []string {
		var orgs []string
		if err := s.View(v, func(tx *graph.Tx) error {
			var err error
			orgs, err = tx.Hits(value)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return orgs
	}
	// Org C stores the same address: it now sees the node through its own
	// contribution, and still learns that org A holds it too.
	put(t, s, obj(t, map[string]any{"type": "ipv4-addr", "id": sharedIP, "value": "198.51.100.7"}), meta(graphtest.OrgC, schema.TLPAmber, "c"))
	for _, c := range []struct {
		v     graph.Viewer
		value string
		want  []string
	}{
		{viewC, "198.51.100.7", []string{graphtest.OrgA}},
		{viewB, "198.51.100.7", []string{graphtest.OrgA}},
		{viewC, "203.0.113.9", nil},
		{viewA, "198.51.100.7", nil},
		{viewC, "c2.example", []string{graphtest.OrgB}},
		{viewA, "c2.example", []string{graphtest.OrgB}},
		{viewB, "c2.example", nil},
		{viewC, "192.0.2.1", nil},
	} {
		if got := hits(c.v, c.value); !slices.Equal(got, c.want) {
			t.Errorf("%s looking up %s: hits %v, want %v", c.v.Org, c.value, got, c.want)
		}
	}
}

// TestLeak_WriteOutcomeOfHiddenObject checks that writing an object another
// organization holds hidden reads to the writer as creating it: "updated"
// would tell it that someone else holds the same address.
func TestLeak_WriteOutcomeOfHiddenObject(t *testing.T) {
	s := graphtest.Open(t)
	ip := obj(t, map[string]any{"type": "ipv4-addr", "spec_version": "2.1", "id": sharedIP, "value": "203.0.113.9"})
	put(t, s, ip, meta("org-a", schema.TLPRed, "a-sensor"))
	as := func(v graph.Viewer, owner string) graph.Outcome {
		var out graph.Outcome
		if err := s.Update(v, func(tx *graph.Tx) error {
			var err error
			_, out, err = tx.Put(ip, meta(owner, schema.TLPAmber, owner+"-feed"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := as(graph.Viewer{Org: "org-b"}, "org-b"); got != graph.Created {
		t.Errorf("org-b adding the address org-a holds as RED: %v, want created", got)
	}
	// org-c can see org-b's AMBER contribution only if shared; it is not, so
	// its write is new to it too. The system viewer sees both: updated.
	if got := as(graph.Viewer{Org: "org-c"}, "org-c"); got != graph.Created {
		t.Errorf("org-c adding it: %v, want created", got)
	}
	if got := as(graph.System(), "org-d"); got != graph.Updated {
		t.Errorf("system adding a contribution of org-d: %v, want updated", got)
	}
}
