package schema

import (
	"errors"
	"testing"
)

func TestTLPOrderAndNames(t *testing.T) {
	order := []TLP{TLPClear, TLPGreen, TLPAmber, TLPAmberStrict, TLPRed}
	for i := 1; i < len(order); i++ {
		if order[i] <= order[i-1] {
			t.Errorf("%v is not more restrictive than %v", order[i], order[i-1])
		}
	}
	if TLPUnmarked != 0 {
		t.Error("TLPUnmarked must be the zero value")
	}
	names := map[TLP]string{TLPUnmarked: "unmarked", TLPClear: "TLP:CLEAR", TLPGreen: "TLP:GREEN", TLPAmber: "TLP:AMBER",
		TLPAmberStrict: "TLP:AMBER+STRICT", TLPRed: "TLP:RED", TLP(9): "TLP(9)"}
	for tlp, want := range names {
		if tlp.String() != want {
			t.Errorf("%d.String() = %q, want %q", tlp, tlp.String(), want)
		}
	}
}

func TestParseTLP(t *testing.T) {
	cases := map[string]TLP{
		"amber+strict": TLPAmberStrict, "TLP:AMBER+STRICT": TLPAmberStrict, " tlp:green ": TLPGreen,
		"TLP:WHITE": TLPClear, "white": TLPClear, "clear": TLPClear, "Red": TLPRed, "amber": TLPAmber,
		"unmarked": TLPUnmarked,
	}
	for in, want := range cases {
		if got, err := ParseTLP(in); err != nil || got != want {
			t.Errorf("ParseTLP(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "amber strict", "tlp:purple", "pap:red"} {
		if _, err := ParseTLP(bad); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("ParseTLP(%q) error = %v", bad, err)
		}
	}
	for _, tlp := range []TLP{TLPClear, TLPGreen, TLPAmber, TLPAmberStrict, TLPRed} {
		if got, err := ParseTLP(tlp.String()); err != nil || got != tlp {
			t.Errorf("ParseTLP(%q) = %v, %v", tlp.String(), got, err)
		}
		id := tlp.MarkingID()
		if !IsIdentifier(id) || IdentifierType(id) != "marking-definition" {
			t.Errorf("%v.MarkingID() = %q", tlp, id)
		}
		if got, ok := TLPOfMarking(id); !ok || got != tlp {
			t.Errorf("TLPOfMarking(%v.MarkingID()) = %v, %v", tlp, got, ok)
		}
	}
	if TLPUnmarked.MarkingID() != "" {
		t.Error("TLPUnmarked has a marking id")
	}
}

func TestTLPOf(t *testing.T) {
	mk := func(refs string) *Object {
		return mustParse(t, `{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","object_marking_refs":`+refs+`}`)
	}
	cases := []struct {
		refs string
		want TLP
	}{
		{`["` + MarkingTLP1White + `"]`, TLPClear},
		{`["` + MarkingTLP2Green + `","` + MarkingTLP1Amber + `"]`, TLPAmber},
		{`["` + MarkingTLP2Red + `","` + MarkingTLP2AmberStrict + `"]`, TLPRed},
		{`["` + MarkingTLP2AmberStrict + `","marking-definition--d81f86b9-975b-4c0b-875e-810c5ad45a4f"]`, TLPAmberStrict},
		// The typo'd TLP:RED id from the OASIS interop example is not TLP.
		{`["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec"]`, TLPUnmarked},
		{`[]`, TLPUnmarked},
		{`"not a list"`, TLPUnmarked},
	}
	for _, c := range cases {
		if got := TLPOf(mk(c.refs)); got != c.want {
			t.Errorf("TLPOf(%s) = %v, want %v", c.refs, got, c.want)
		}
	}
	if got := TLPOf(mustParse(t, validObjects["ipv4"])); got != TLPUnmarked {
		t.Errorf("unmarked object: %v", got)
	}
}

func TestTLPFromDefinition(t *testing.T) {
	cases := []struct {
		name, src string
		want      TLP
		ok        bool
	}{
		{"TLP 2.0 extension", `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
			"created":"2022-10-01T00:00:00.000Z","name":"TLP:AMBER+STRICT","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":
			{"extension_type":"property-extension","tlp_2_0":"amber+strict"}}}`, TLPAmberStrict, true},
		{"TLP 2.0 extension on another id", `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--11111111-1111-4111-8111-111111111111",
			"created":"2022-10-01T00:00:00.000Z","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":
			{"extension_type":"property-extension","tlp_2_0":"red"}}}`, TLPRed, true},
		{"tlp definition type", `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--11111111-1111-4111-8111-111111111111",
			"created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","definition":{"tlp":"white"}}`, TLPClear, true},
		{"name only", `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--11111111-1111-4111-8111-111111111111",
			"created":"2020-01-01T00:00:00.000Z","definition_type":"TLP","definition":{"TLP":"TLP:GREEN"},"name":"TLP:GREEN"}`, TLPGreen, true},
		{"statement", `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--11111111-1111-4111-8111-111111111111",
			"created":"2017-01-20T00:00:00.000Z","definition_type":"statement","definition":{"statement":"Copyright"}}`, TLPUnmarked, false},
		{"not a marking", validObjects["indicator"], TLPUnmarked, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := TLPFromDefinition(mustParse(t, c.src))
			if got != c.want || ok != c.ok {
				t.Fatalf("got %v, %v; want %v, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

func TestPAP(t *testing.T) {
	cases := map[string]PAP{"pap:green": PAPGreen, "PAP:AMBER": PAPAmber, "red": PAPRed, "PAP:WHITE": PAPClear, "clear": PAPClear}
	for in, want := range cases {
		if got, err := ParsePAP(in); err != nil || got != want {
			t.Errorf("ParsePAP(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParsePAP("tlp:red"); err == nil {
		t.Error("ParsePAP accepted a TLP label")
	}
	for _, p := range []PAP{PAPClear, PAPGreen, PAPAmber, PAPRed} {
		if got, err := ParsePAP(p.Label()); err != nil || got != p {
			t.Errorf("round trip of %v via %q: %v, %v", p, p.Label(), got, err)
		}
	}
	if PAPAmber.String() != "PAP:AMBER" || PAPUnmarked.Label() != "" {
		t.Error("PAP names are wrong")
	}
	o := mustParse(t, `{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","labels":["malicious","pap:green","PAP:AMBER","tlp:red"]}`)
	if got := PAPOf(o); got != PAPAmber {
		t.Errorf("PAPOf = %v, want PAP:AMBER", got)
	}
	if got := PAPOf(mustParse(t, validObjects["malware"])); got != PAPUnmarked {
		t.Errorf("PAPOf(unlabelled) = %v", got)
	}
}
