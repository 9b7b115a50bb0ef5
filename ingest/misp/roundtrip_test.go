package misp

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/verband-cti/verband/schema"
)

// eventObjects returns, for each report among objs, the report, its
// members, and the identities and markings they use: what an export of
// the report is given.
func eventObjects(objs []*schema.Object) map[string][]*schema.Object {
	byID := map[string]*schema.Object{}
	for _, o := range objs {
		byID[o.ID] = o
	}
	out := map[string][]*schema.Object{}
	for _, o := range objs {
		if o.Type != "report" {
			continue
		}
		set := []*schema.Object{o}
		seen := map[string]bool{o.ID: true}
		add := func(id string) {
			if x, ok := byID[id]; ok && !seen[id] {
				seen[id] = true
				set = append(set, x)
			}
		}
		for _, id := range o.Strings("object_refs") {
			add(id)
		}
		for _, x := range slices.Clone(set) {
			for _, r := range x.Refs() {
				if t := schema.IdentifierType(r.Target); t == "identity" || t == "marking-definition" {
					add(r.Target)
				}
			}
		}
		ev, _ := o.String("x_misp_event_uuid")
		out[ev] = set
	}
	return out
}

type attrKey struct {
	typ, value, category, comment string
	toIDs                         bool
}

func keyOf(a map[string]any) attrKey {
	s := func(k string) string { x, _ := a[k].(string); return x }
	return attrKey{typ: s("type"), value: s("value"), category: s("category"), comment: s("comment"), toIDs: toBool(a["to_ids"])}
}

// TestRoundTrip decodes every MISP file, exports each event's objects
// back to MISP with Encode, and checks that every attribute comes back with
// its type, value, to_ids, category and comment, in the event or in its
// object, and that the numbers of attributes, objects, sightings and tags
// are the same.
func TestRoundTrip(t *testing.T) {
	for _, path := range mispFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			d := decodeFile(t, path)
			sets := eventObjects(d.objs)
			for _, ev := range rawEvents(t, path) {
				uuid, _ := ev["uuid"].(string)
				set, ok := sets[uuid]
				if !ok {
					if uuid == "" && len(sets) == 1 {
						for _, s := range sets {
							set = s
						}
					} else {
						t.Fatalf("no report for event %q", uuid)
					}
				}
				var buf bytes.Buffer
				stats, err := Encode(&buf, set, EncodeOptions{Container: set[0].ID})
				if err != nil {
					t.Fatal(err)
				}
				for _, sk := range stats.Skipped {
					t.Errorf("export skipped %s: %s", sk.ID, sk.Reason)
				}
				var out struct{ Event map[string]any }
				if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
					t.Fatalf("exported JSON: %v", err)
				}
				got := out.Event
				if got["uuid"] != ev["uuid"] && uuid != "" || got["info"] != ev["info"] && ev["info"] != nil {
					t.Errorf("event uuid/info %v/%v, want %v/%v", got["uuid"], got["info"], ev["uuid"], ev["info"])
				}
				compareAttrs(t, "Attribute", ev["Attribute"], got["Attribute"])
				wantObjs, _ := ev["Object"].([]any)
				gotObjs, _ := got["Object"].([]any)
				if len(gotObjs) != len(wantObjs) {
					t.Errorf("%d objects, want %d", len(gotObjs), len(wantObjs))
				}
				gotByUUID := map[string]map[string]any{}
				for i, o := range gotObjs {
					m := o.(map[string]any)
					u, _ := m["uuid"].(string)
					if u == "" {
						u = string(rune('0' + i))
					}
					gotByUUID[u] = m
				}
				for i, o := range wantObjs {
					m := o.(map[string]any)
					u, _ := m["uuid"].(string)
					if u == "" {
						u = string(rune('0' + i))
					}
					g, ok := gotByUUID[u]
					if !ok {
						t.Errorf("object %s (%v) lost", u, m["name"])
						continue
					}
					if g["name"] != m["name"] || g["meta-category"] != m["meta-category"] {
						t.Errorf("object %s: name %v/%v, want %v/%v", u, g["name"], g["meta-category"], m["name"], m["meta-category"])
					}
					compareAttrs(t, "Object "+u, m["Attribute"], g["Attribute"])
				}
				if w, g := rawTagNames(ev), rawTagNames(got); !sameSet(w, g) {
					t.Errorf("tags %v, want %v", g, w)
				}
				if w, g := countSightings(ev), countSightings(got); w != g {
					t.Errorf("%d sightings, want %d", g, w)
				}
			}
		})
	}
}

func compareAttrs(t *testing.T, where string, want, got any) {
	t.Helper()
	wl, _ := want.([]any)
	gl, _ := got.([]any)
	if len(wl) != len(gl) {
		t.Errorf("%s: %d attributes, want %d", where, len(gl), len(wl))
	}
	gotBy := map[string]attrKey{}
	var gotKeys []attrKey
	for _, a := range gl {
		m := a.(map[string]any)
		u, _ := m["uuid"].(string)
		gotBy[u] = keyOf(m)
		gotKeys = append(gotKeys, keyOf(m))
	}
	for _, a := range wl {
		m := a.(map[string]any)
		u, _ := m["uuid"].(string)
		w := keyOf(m)
		if u == "" {
			if !slices.Contains(gotKeys, w) {
				t.Errorf("%s: attribute %+v lost", where, w)
			}
			continue
		}
		g, ok := gotBy[u]
		if !ok {
			t.Errorf("%s: attribute %s (%s %q) lost", where, u, w.typ, w.value)
			continue
		}
		if g != w {
			t.Errorf("%s: attribute %s came back as %+v, want %+v", where, u, g, w)
		}
	}
}

func rawTagNames(ev map[string]any) []string {
	var out []string
	tags, _ := ev["Tag"].([]any)
	for _, t := range tags {
		if m, ok := t.(map[string]any); ok {
			if n, ok := m["name"].(string); ok && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}

func countSightings(ev map[string]any) int {
	n := 0
	count := func(list any) {
		l, _ := list.([]any)
		for _, a := range l {
			s, _ := a.(map[string]any)["Sighting"].([]any)
			n += len(s)
		}
	}
	count(ev["Attribute"])
	objs, _ := ev["Object"].([]any)
	for _, o := range objs {
		count(o.(map[string]any)["Attribute"])
	}
	return n
}
