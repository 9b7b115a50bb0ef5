package schema

import (
	"fmt"
	"strings"
)

// TLP is a Traffic Light Protocol level. Larger values are more restrictive,
// except TLPUnmarked, which means the object carries no TLP marking at all.
type TLP uint8

const (
	// TLPUnmarked means no TLP marking applies.
	TLPUnmarked TLP = iota
	// TLPClear (TLP 1.0 "WHITE"): disclosure is not limited.
	TLPClear
	// TLPGreen: limited disclosure, the community may share it.
	TLPGreen
	// TLPAmber: limited disclosure, recipients' organisations and clients.
	TLPAmber
	// TLPAmberStrict: limited disclosure, the recipient's organisation only.
	TLPAmberStrict
	// TLPRed: for the eyes and ears of individual recipients only.
	TLPRed
)

// The STIX ids of the TLP 2.0 marking-definitions, published by OASIS with
// the TLP 2.0 extension (extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d)
// in cti-stix-common-objects.
const (
	MarkingTLP2Clear       = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
	MarkingTLP2Green       = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	MarkingTLP2Amber       = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	MarkingTLP2AmberStrict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
	MarkingTLP2Red         = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
)

// The STIX ids of the TLP 1.0 marking-definitions that STIX 2.1 section
// 7.2.1.4 predefines.
const (
	MarkingTLP1White = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
	MarkingTLP1Green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
	MarkingTLP1Amber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
	MarkingTLP1Red   = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
)

// TLP2ExtensionID is the extension-definition that TLP 2.0 marking
// definitions use, with a "tlp_2_0" property naming the level.
const TLP2ExtensionID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

var tlpByMarking = map[string]TLP{
	MarkingTLP2Clear:       TLPClear,
	MarkingTLP2Green:       TLPGreen,
	MarkingTLP2Amber:       TLPAmber,
	MarkingTLP2AmberStrict: TLPAmberStrict,
	MarkingTLP2Red:         TLPRed,
	MarkingTLP1White:       TLPClear,
	MarkingTLP1Green:       TLPGreen,
	MarkingTLP1Amber:       TLPAmber,
	MarkingTLP1Red:         TLPRed,
}

var tlpNames = [...]string{"unmarked", "TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"}

// String returns the TLP 2.0 label, such as "TLP:AMBER+STRICT", or
// "unmarked".
func (t TLP) String() string {
	if int(t) < len(tlpNames) {
		return tlpNames[t]
	}
	return fmt.Sprintf("TLP(%d)", uint8(t))
}

// MarkingID returns the STIX id of the TLP 2.0 marking-definition for t, or
// "" for TLPUnmarked.
func (t TLP) MarkingID() string {
	switch t {
	case TLPClear:
		return MarkingTLP2Clear
	case TLPGreen:
		return MarkingTLP2Green
	case TLPAmber:
		return MarkingTLP2Amber
	case TLPAmberStrict:
		return MarkingTLP2AmberStrict
	case TLPRed:
		return MarkingTLP2Red
	}
	return ""
}

// ParseTLP parses a TLP level in the usual spellings: "amber+strict",
// "TLP:AMBER+STRICT", "tlp:green", "TLP:WHITE" (TLP 1.0, which is CLEAR) and
// so on, without regard to case or surrounding space. "unmarked" parses to
// TLPUnmarked.
func ParseTLP(s string) (TLP, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	v = strings.TrimPrefix(v, "tlp:")
	v = strings.TrimSpace(v)
	switch v {
	case "unmarked":
		return TLPUnmarked, nil
	case "clear", "white":
		return TLPClear, nil
	case "green":
		return TLPGreen, nil
	case "amber":
		return TLPAmber, nil
	case "amber+strict":
		return TLPAmberStrict, nil
	case "red":
		return TLPRed, nil
	}
	return TLPUnmarked, fmt.Errorf("parse TLP %q: %w", s, ErrInvalidValue)
}

// TLPOfMarking returns the TLP level of a marking-definition id, and false
// when the id is not one of the standard TLP 1.0 or TLP 2.0 markings.
func TLPOfMarking(id string) (TLP, bool) {
	t, ok := tlpByMarking[id]
	return t, ok
}

// TLPOf returns the most restrictive TLP level among the standard TLP
// marking-definitions in the object's object_marking_refs (TLP 1.0 WHITE
// counts as CLEAR), or TLPUnmarked when there is none. Granular markings
// and other marking definitions are ignored; use TLPFromDefinition to
// recognise a producer's own TLP marking objects.
func TLPOf(o *Object) TLP {
	best := TLPUnmarked
	_ = eachElem(o.Props["object_marking_refs"], func(e []byte) error {
		id, ok := rawString(e)
		if !ok {
			return nil
		}
		if t, ok := tlpByMarking[id]; ok && t > best {
			best = t
		}
		return nil
	})
	return best
}

// TLPFromDefinition reads the TLP level that a marking-definition object
// states, whatever its id: the TLP 2.0 extension ("tlp_2_0": "amber+strict"),
// the STIX 2.1 "tlp" definition type ({"tlp": "amber"}), or, for producers
// that mint their own TLP markings (OpenCTI, MISP exports), a name such as
// "TLP:AMBER". It reports false for anything else.
func TLPFromDefinition(md *Object) (TLP, bool) {
	if md == nil || md.Type != "marking-definition" {
		return TLPUnmarked, false
	}
	if t, ok := tlpByMarking[md.ID]; ok {
		return t, true
	}
	var found string
	_ = eachMember(md.Props["extensions"], func(k, v []byte) error {
		if ks, _ := rawString(k); ks == TLP2ExtensionID {
			_ = eachMember(v, func(k2, v2 []byte) error {
				if ks2, _ := rawString(k2); ks2 == "tlp_2_0" {
					found, _ = rawString(v2)
				}
				return nil
			})
		}
		return nil
	})
	if found == "" {
		if dt, _ := md.String("definition_type"); strings.EqualFold(dt, "tlp") {
			_ = eachMember(md.Props["definition"], func(k, v []byte) error {
				if ks, _ := rawString(k); ks == "tlp" {
					found, _ = rawString(v)
				}
				return nil
			})
		}
	}
	if found == "" {
		if name, ok := md.String("name"); ok && strings.HasPrefix(strings.ToLower(strings.TrimSpace(name)), "tlp:") {
			found = name
		}
	}
	if found == "" {
		return TLPUnmarked, false
	}
	t, err := ParseTLP(found)
	if err != nil || t == TLPUnmarked {
		return TLPUnmarked, false
	}
	return t, true
}

// PAP is a Permissible Actions Protocol level: what a recipient may do with
// the information. Larger values are more restrictive, except PAPUnmarked.
//
// PAP has no standard STIX marking-definition ids (the UUIDs in the MISP PAP
// taxonomy identify MISP tags, and OpenCTI mints its own marking ids), so
// Verband reads PAP from labels of the form "pap:green" and from marking
// definitions named "PAP:GREEN".
type PAP uint8

const (
	// PAPUnmarked means no PAP level is given.
	PAPUnmarked PAP = iota
	// PAPClear (formerly PAP:WHITE): no restriction on use.
	PAPClear
	// PAPGreen: active actions allowed.
	PAPGreen
	// PAPAmber: passive cross-checks only.
	PAPAmber
	// PAPRed: non-detectable actions only.
	PAPRed
)

var papNames = [...]string{"unmarked", "PAP:CLEAR", "PAP:GREEN", "PAP:AMBER", "PAP:RED"}

// String returns the label, such as "PAP:AMBER", or "unmarked".
func (p PAP) String() string {
	if int(p) < len(papNames) {
		return papNames[p]
	}
	return fmt.Sprintf("PAP(%d)", uint8(p))
}

// Label returns the lower-case label form, such as "pap:amber", that PAPOf
// reads back; it is "" for PAPUnmarked.
func (p PAP) Label() string {
	if p == PAPUnmarked || int(p) >= len(papNames) {
		return ""
	}
	return strings.ToLower(papNames[p])
}

// ParsePAP parses "pap:green", "PAP:AMBER", "red", "PAP:WHITE" (the old name
// of CLEAR) and so on, without regard to case or surrounding space.
func ParsePAP(s string) (PAP, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	v = strings.TrimSpace(strings.TrimPrefix(v, "pap:"))
	switch v {
	case "unmarked":
		return PAPUnmarked, nil
	case "clear", "white":
		return PAPClear, nil
	case "green":
		return PAPGreen, nil
	case "amber":
		return PAPAmber, nil
	case "red":
		return PAPRed, nil
	}
	return PAPUnmarked, fmt.Errorf("parse PAP %q: %w", s, ErrInvalidValue)
}

// PAPOf returns the most restrictive PAP level among the object's labels
// that have the form "pap:<level>", or PAPUnmarked.
func PAPOf(o *Object) PAP {
	best := PAPUnmarked
	_ = eachElem(o.Props["labels"], func(e []byte) error {
		s, ok := rawString(e)
		if !ok || !strings.HasPrefix(strings.ToLower(s), "pap:") {
			return nil
		}
		if p, err := ParsePAP(s); err == nil && p > best {
			best = p
		}
		return nil
	})
	return best
}
