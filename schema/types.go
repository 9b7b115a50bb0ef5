package schema

import (
	"slices"
	"strings"
)

// Kind classifies a STIX type by the part of the specification that defines
// it. The zero value is KindCustom, so an unknown type is never mistaken for a
// known one.
type Kind uint8

const (
	// KindCustom is any type the registry does not know: x-mitre-* objects,
	// Attack Flow objects, x-opencti-* objects and so on. Only the common
	// checks apply to them and all their properties are kept.
	KindCustom Kind = iota
	// KindSDO is a STIX Domain Object (section 4 of STIX 2.1), and the
	// Verband case type x-verband-case.
	KindSDO
	// KindSCO is a STIX Cyber-observable Object (section 6).
	KindSCO
	// KindSRO is a STIX Relationship Object: relationship or sighting
	// (section 5).
	KindSRO
	// KindMeta is a STIX Meta Object: marking-definition, language-content
	// or extension-definition (section 7).
	KindMeta
)

// String returns the short name of the kind, such as "sdo".
func (k Kind) String() string {
	switch k {
	case KindSDO:
		return "sdo"
	case KindSCO:
		return "sco"
	case KindSRO:
		return "sro"
	case KindMeta:
		return "meta"
	default:
		return "custom"
	}
}

// TypeInfo describes one STIX type that Verband knows.
type TypeInfo struct {
	// Name is the STIX type name, such as "indicator".
	Name string
	// Kind says which family the type belongs to.
	Kind Kind
	// Required lists the properties an object of this type must have,
	// besides "type" and "id", in the order the specification lists them.
	Required []string
	// IDContributing lists, for SCOs, the properties whose values make up
	// the deterministic id (STIX 2.1 section 2.9 and the "ID Contributing
	// Properties" row of each SCO). It is empty for every other kind and for
	// process, whose ids the specification leaves random.
	IDContributing []string
}

// TypeCase is the type name of a Verband case: a custom SDO that groups the
// objects an investigation is about.
//
// Properties of x-verband-case, beyond the SDO common properties:
//
//   - name (required): a short title.
//   - status (required): one of "open", "in-progress", "closed".
//   - description (optional): free text.
//   - severity (optional): one of "low", "medium", "high", "critical".
//   - x_owner_organization (optional): the identifier of the organization
//     that owns the case, as a string.
//   - participating_organizations (optional): a list of organization
//     identifiers, as strings, that take part in the case.
//   - object_refs (optional): the STIX ids of the case's member objects.
const TypeCase = "x-verband-case"

// CaseStatuses lists the allowed values of an x-verband-case "status".
var CaseStatuses = []string{"open", "in-progress", "closed"}

// CaseSeverities lists the allowed values of an x-verband-case "severity".
var CaseSeverities = []string{"low", "medium", "high", "critical"}

// sdoCommon lists the common properties that every SDO and SRO requires
// besides "type" and "id".
var sdoCommon = []string{"spec_version", "created", "modified"}

func sdo(name string, req ...string) TypeInfo {
	return TypeInfo{Name: name, Kind: KindSDO, Required: append(slices.Clone(sdoCommon), req...)}
}

func sro(name string, req ...string) TypeInfo {
	return TypeInfo{Name: name, Kind: KindSRO, Required: append(slices.Clone(sdoCommon), req...)}
}

func meta(name string, req ...string) TypeInfo {
	return TypeInfo{Name: name, Kind: KindMeta, Required: req}
}

func sco(name string, req []string, contrib ...string) TypeInfo {
	return TypeInfo{Name: name, Kind: KindSCO, Required: req, IDContributing: contrib}
}

// registry holds every known type. The required lists follow the property
// tables of STIX 2.1 (OASIS CS02 / OS); properties that the specification
// requires only in some combinations (such as malware "name" when is_family
// is true, or one of "payload_bin" and "url" on an artifact) are checked by
// Validate and are not listed here.
var registry = func() map[string]TypeInfo {
	infos := []TypeInfo{
		// STIX Domain Objects (section 4).
		sdo("attack-pattern", "name"),
		sdo("campaign", "name"),
		sdo("course-of-action", "name"),
		sdo("grouping", "context", "object_refs"),
		sdo("identity", "name"),
		sdo("incident", "name"),
		sdo("indicator", "pattern", "pattern_type", "valid_from"),
		sdo("infrastructure", "name"),
		sdo("intrusion-set", "name"),
		sdo("location"),
		sdo("malware", "is_family"),
		sdo("malware-analysis", "product"),
		sdo("note", "content", "object_refs"),
		sdo("observed-data", "first_observed", "last_observed", "number_observed"),
		sdo("opinion", "opinion", "object_refs"),
		sdo("report", "name", "published", "object_refs"),
		sdo("threat-actor", "name"),
		sdo("tool", "name"),
		sdo("vulnerability", "name"),
		// Verband's case.
		sdo(TypeCase, "name", "status"),

		// STIX Relationship Objects (section 5).
		sro("relationship", "relationship_type", "source_ref", "target_ref"),
		sro("sighting", "sighting_of_ref"),

		// STIX Meta Objects (section 7). A marking definition has no
		// "modified": it cannot be versioned.
		meta("marking-definition", "spec_version", "created"),
		meta("language-content", "spec_version", "created", "modified", "object_ref", "contents"),
		meta("extension-definition", "spec_version", "created", "modified", "created_by_ref",
			"name", "schema", "version", "extension_types"),

		// STIX Cyber-observable Objects (section 6).
		sco("artifact", nil, "hashes", "payload_bin"),
		sco("autonomous-system", []string{"number"}, "number"),
		sco("directory", []string{"path"}, "path"),
		sco("domain-name", []string{"value"}, "value"),
		sco("email-addr", []string{"value"}, "value"),
		sco("email-message", []string{"is_multipart"}, "from_ref", "subject", "body"),
		sco("file", nil, "hashes", "name", "extensions", "parent_directory_ref"),
		sco("ipv4-addr", []string{"value"}, "value"),
		sco("ipv6-addr", []string{"value"}, "value"),
		sco("mac-addr", []string{"value"}, "value"),
		sco("mutex", []string{"name"}, "name"),
		sco("network-traffic", []string{"protocols"},
			"start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions"),
		sco("process", nil),
		sco("software", []string{"name"}, "name", "cpe", "swid", "vendor", "version"),
		sco("url", []string{"value"}, "value"),
		sco("user-account", nil, "account_type", "user_id", "account_login"),
		sco("windows-registry-key", nil, "key", "values"),
		sco("x509-certificate", nil, "hashes", "serial_number"),
	}
	m := make(map[string]TypeInfo, len(infos))
	for _, ti := range infos {
		m[ti.Name] = ti
	}
	return m
}()

// sortedTypes is registry in name order, built once.
var sortedTypes = func() []TypeInfo {
	out := make([]TypeInfo, 0, len(registry))
	for _, ti := range registry {
		out = append(out, ti)
	}
	slices.SortFunc(out, func(a, b TypeInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}()

// Lookup returns what the registry knows about a type. The returned slices
// are shared: callers must not modify them.
func Lookup(typ string) (TypeInfo, bool) {
	ti, ok := registry[typ]
	return ti, ok
}

// KindOf returns the kind of a type; unknown types are KindCustom.
func KindOf(typ string) Kind {
	return registry[typ].Kind
}

// Types returns every known type, sorted by name. The slice is a fresh copy;
// the Required and IDContributing slices inside it are shared.
func Types() []TypeInfo {
	return slices.Clone(sortedTypes)
}
