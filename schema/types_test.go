package schema

import (
	"slices"
	"strings"
	"testing"
)

func TestRegistryCoversDesign(t *testing.T) {
	want := map[Kind][]string{
		KindSDO: {"attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident", "indicator",
			"infrastructure", "intrusion-set", "location", "malware", "malware-analysis", "note", "observed-data",
			"opinion", "report", "threat-actor", "tool", "vulnerability", TypeCase},
		KindSRO: {"relationship", "sighting"},
		KindSCO: {"artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message", "file",
			"ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process", "software", "url",
			"user-account", "windows-registry-key", "x509-certificate"},
		KindMeta: {"marking-definition", "language-content", "extension-definition"},
	}
	n := 0
	for kind, names := range want {
		for _, name := range names {
			n++
			t.Run(name, func(t *testing.T) {
				ti, ok := Lookup(name)
				if !ok || ti.Name != name || ti.Kind != kind || KindOf(name) != kind {
					t.Fatalf("Lookup(%q) = %+v, %v; want kind %v", name, ti, ok, kind)
				}
				if kind == KindSCO && name != "process" && len(ti.IDContributing) == 0 {
					t.Errorf("SCO %s has no ID contributing properties", name)
				}
				if kind != KindSCO && len(ti.IDContributing) != 0 {
					t.Errorf("%s is not an SCO but has ID contributing properties", name)
				}
				if kind == KindSDO || kind == KindSRO {
					for _, p := range []string{"spec_version", "created", "modified"} {
						if !slices.Contains(ti.Required, p) {
							t.Errorf("%s does not require %s", name, p)
						}
					}
				}
			})
		}
	}
	all := Types()
	if len(all) != n {
		t.Errorf("Types() has %d entries, want %d", len(all), n)
	}
	if !slices.IsSortedFunc(all, func(a, b TypeInfo) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("Types() is not sorted by name")
	}
	all[0].Name = "changed"
	if Types()[0].Name == "changed" {
		t.Error("Types() returns the registry's own slice")
	}
}

func TestRequiredProperties(t *testing.T) {
	cases := map[string][]string{
		"indicator":            {"pattern", "pattern_type", "valid_from"},
		"malware":              {"is_family"},
		"relationship":         {"relationship_type", "source_ref", "target_ref"},
		"sighting":             {"sighting_of_ref"},
		"report":               {"name", "published", "object_refs"},
		"observed-data":        {"first_observed", "last_observed", "number_observed"},
		TypeCase:               {"name", "status"},
		"marking-definition":   {"spec_version", "created"},
		"extension-definition": {"created_by_ref", "name", "schema", "version", "extension_types"},
		"ipv4-addr":            {"value"},
		"email-message":        {"is_multipart"},
		"network-traffic":      {"protocols"},
	}
	for typ, props := range cases {
		ti, _ := Lookup(typ)
		for _, p := range props {
			if !slices.Contains(ti.Required, p) {
				t.Errorf("%s: %s is not required", typ, p)
			}
		}
	}
	if ti, _ := Lookup("marking-definition"); slices.Contains(ti.Required, "modified") {
		t.Error("marking-definition must not require modified")
	}
	if ti, _ := Lookup("file"); !slices.Equal(ti.IDContributing, []string{"hashes", "name", "extensions", "parent_directory_ref"}) {
		t.Errorf("file ID contributing properties = %v", ti.IDContributing)
	}
}

func TestUnknownTypesAreCustom(t *testing.T) {
	for _, typ := range []string{"x-mitre-tactic", "attack-action", "x-opencti-case", "anything", ""} {
		if k := KindOf(typ); k != KindCustom {
			t.Errorf("KindOf(%q) = %v, want custom", typ, k)
		}
		if _, ok := Lookup(typ); ok {
			t.Errorf("Lookup(%q) found a type", typ)
		}
	}
	names := map[Kind]string{KindCustom: "custom", KindSDO: "sdo", KindSCO: "sco", KindSRO: "sro", KindMeta: "meta"}
	for k, want := range names {
		if k.String() != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k.String(), want)
		}
	}
}
