package query_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/verband-cti/verband/graph/graphtest"
)

// TestSourceSettings checks the settings of incoming data through the API:
// any admin reads them, only an instance admin changes them, a bad setting
// comes back as a validation error naming the field, and the settings take
// effect: an ingest from a source with a default marking is marked with it,
// and a protected property vanishes from the other organization's view.
func TestSourceSettings(t *testing.T) {
	a := openAccounts(t)
	const set = `mutation($in: SourceMarkingInput!) { setSourceMarking(input: $in) { source tlp sharing } }`
	in := map[string]any{"in": map[string]any{"source": "partner-feed", "tlp": "AMBER", "sharing": []any{graphtest.OrgB}}}

	for _, who := range []string{"a-admin", "a-reader", "b-analyst"} {
		if ans := a.exec(t, a.secrets[who], set, in); ans.code != "FORBIDDEN" {
			t.Errorf("%s setSourceMarking: code %q (%s), want FORBIDDEN", who, ans.code, ans.message)
		}
		if ans := a.exec(t, a.secrets[who], `mutation { protectProperties(properties: ["x_informant"]) { properties } }`, nil); ans.code != "FORBIDDEN" {
			t.Errorf("%s protectProperties: code %q, want FORBIDDEN", who, ans.code)
		}
	}
	if ans := a.exec(t, a.secrets["a-reader"], `{ protection { properties } }`, nil); ans.code != "FORBIDDEN" {
		t.Errorf("a reader read the protection: code %q, want FORBIDDEN", ans.code)
	}

	ans := a.exec(t, a.secrets["root"], set, in)
	if ans.code != "" {
		t.Fatalf("setSourceMarking as instance admin: %s %s", ans.code, ans.message)
	}
	if got := ans.data["setSourceMarking"].(map[string]any); got["tlp"] != "AMBER" || len(got["sharing"].([]any)) != 1 {
		t.Errorf("setSourceMarking = %v", got)
	}
	bad := map[string]any{"in": map[string]any{"source": "x", "tlp": "AMBER", "sharing": []any{"no-such-org"}}}
	if ans := a.exec(t, a.secrets["root"], set, bad); ans.code != "VALIDATION" || !strings.Contains(ans.message, "no-such-org") {
		t.Errorf("unknown sharing organization: code %q field %q message %q", ans.code, ans.field, ans.message)
	}
	unmarked := map[string]any{"in": map[string]any{"source": "x", "tlp": "UNMARKED"}}
	if ans := a.exec(t, a.secrets["root"], set, unmarked); ans.code != "VALIDATION" {
		t.Errorf("UNMARKED default: code %q, want VALIDATION", ans.code)
	}
	if ans := a.exec(t, a.secrets["a-admin"], `{ sourceMarkings { source tlp } }`, nil); len(names(ans.data, "sourceMarkings", "source")) != 1 {
		t.Errorf("an org admin reads sourceMarkings: %v %s", ans.data, ans.message)
	}

	// An analyst of org-a ingests an unmarked indicator from the feed: it
	// gets AMBER shared with org-b, so org-b sees it and org-c does not.
	const ingest = `mutation($d: String!) { ingest(input: {data: $d, source: "partner-feed"}) { created } }`
	data := `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--ff0ad4b1-9f7e-5b5c-9b3c-111111111111","value":"198.51.100.7"}`
	analyst := graphtest.Token(t, a.s, graphtest.OrgA, "a-analyst", "analyst")
	if ans := a.exec(t, analyst, ingest, map[string]any{"d": data}); ans.code != "" {
		t.Fatalf("ingest: %s %s", ans.code, ans.message)
	}
	if err := a.s.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	const get = `{ search(query: "198.51.100.7") { totalCount edges { node { markings { tlp } } } } }`
	for who, want := range map[string]int{"b-analyst": 1, "c": 0} {
		secret := a.secrets[who]
		if who == "c" {
			secret = graphtest.Token(t, a.s, graphtest.OrgC, "c-reader", "reader")
		}
		ans := a.exec(t, secret, get, nil)
		s := ans.data["search"].(map[string]any)
		if n := int(s["totalCount"].(float64)); n != want {
			t.Errorf("%s sees %d objects of the feed, want %d", who, n, want)
		}
		if want == 1 {
			m := s["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)["markings"].(map[string]any)
			if m["tlp"] != "AMBER" {
				t.Errorf("the feed's object is %v, want AMBER by the source's default", m)
			}
		}
	}
	if ans := a.exec(t, a.secrets["root"], `mutation { removeSourceMarking(source: "partner-feed") }`, nil); ans.data["removeSourceMarking"] != true {
		t.Errorf("removeSourceMarking = %v %s", ans.data, ans.message)
	}
	if ans := a.exec(t, a.secrets["root"], `mutation { removeSourceMarking(source: "partner-feed") }`, nil); ans.data["removeSourceMarking"] != false {
		t.Errorf("removing it twice = %v, want false", ans.data)
	}

	// Protected properties.
	if ans := a.exec(t, a.secrets["root"], `mutation { protectProperties(properties: ["id"]) { properties } }`, nil); ans.code != "VALIDATION" || ans.field != "properties" {
		t.Errorf("protecting id: code %q field %q, want VALIDATION on properties", ans.code, ans.field)
	}
	ans = a.exec(t, a.secrets["root"], `mutation { protectProperties(properties: ["x_informant"], source: "humint") { properties bySource { source properties } } }`, nil)
	if ans.code != "" {
		t.Fatalf("protectProperties: %s %s", ans.code, ans.message)
	}
	by := ans.data["protectProperties"].(map[string]any)["bySource"].([]any)
	if len(by) != 1 || by[0].(map[string]any)["source"] != "humint" {
		t.Errorf("bySource = %v", by)
	}
	ans = a.exec(t, a.secrets["root"], `mutation { protectProperties(properties: ["x_informant"]) { properties } }`, nil)
	props := ans.data["protectProperties"].(map[string]any)["properties"].([]any)
	if !slices.Contains(props, any("x_informant")) {
		t.Fatalf("x_informant not protected: %v", props)
	}
	// An indicator with the property, shared with everyone: org-a (the
	// owner) sees the property, org-b does not.
	ind := `{"type":"malware","spec_version":"2.1","id":"malware--3a1a2a2a-1111-4111-8111-111111111111","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","name":"Informer","is_family":true,"x_informant":"agent K"}`
	if ans := a.exec(t, analyst, `mutation($d: String!) { ingest(input: {data: $d, tlp: GREEN}) { created } }`, map[string]any{"d": ind}); ans.code != "" {
		t.Fatalf("ingest: %s %s", ans.code, ans.message)
	}
	if err := a.s.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	const raw = `{ node(id: "malware--3a1a2a2a-1111-4111-8111-111111111111") { property(name: "x_informant") } }`
	for who, want := range map[string]bool{"a-reader": true, "b-analyst": false} {
		ans := a.exec(t, a.secrets[who], raw, nil)
		node, _ := ans.data["node"].(map[string]any)
		if node == nil {
			t.Fatalf("%s cannot see the GREEN malware: %s", who, ans.message)
		}
		if got := node["property"] == "agent K"; got != want {
			t.Errorf("%s sees x_informant: %v, want %v", who, got, want)
		}
	}
	if ans := a.exec(t, a.secrets["b-analyst"], `{ search(query: "\"agent K\"") { totalCount } }`, nil); ans.data["search"].(map[string]any)["totalCount"].(float64) != 0 {
		t.Errorf("org-b finds the protected property by search: %v", ans.data)
	}
}
