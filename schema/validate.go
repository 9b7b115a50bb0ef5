package schema

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks an object against the STIX 2.1 rules that Verband relies
// on: the id is "<type>--<uuid>" with the object's own type; the type's
// required properties are present; the common properties have their
// specified types (spec_version, timestamps, created_by_ref, labels,
// confidence, lang, external_references, object_marking_refs,
// granular_markings, extensions); every top-level "*_ref" and "*_refs"
// property holds well-formed identifiers; and a few type-specific rules hold
// (relationship and sighting references, indicator pattern, malware
// is_family, sighting count, observed-data counts, opinion values, case
// status and severity, SCO values and hashes).
//
// Custom properties are never a reason to reject an object, with one
// exception: a custom "*_ref"/"*_refs" property that is not empty must still
// hold identifiers, because the graph turns it into an edge. An empty string
// or empty list there is tolerated (MITRE ATT&CK uses
// "x_mitre_data_source_ref": "" for "none").
//
// Timestamps are accepted in any RFC 3339 form, as ParseObject accepts them,
// although STIX asks producers for UTC with a "Z" suffix.
//
// On failure Validate returns a *ValidationError naming the object id and the
// property. When several properties are wrong, it reports the one whose name
// sorts first, so the message is deterministic. The checks scan the raw JSON
// bytes; only strings with escapes go through encoding/json.
func Validate(o *Object) error {
	if o == nil || o.Props == nil {
		return &ValidationError{Reason: "no object", Err: ErrNotObject}
	}
	if err := validateTypeAndID(o); err != nil {
		return err
	}
	ti, known := registry[o.Type]
	for _, p := range ti.Required {
		raw, ok := o.Props[p]
		if !ok || isNull(raw) {
			return invalid(o, p, "required property is missing")
		}
	}
	var first *ValidationError
	keep := func(err *ValidationError) {
		if err != nil && (first == nil || err.Property < first.Property) {
			first = err
		}
	}
	for name, raw := range o.Props {
		if first != nil && name >= first.Property {
			continue
		}
		keep(checkProp(o, known, name, raw))
	}
	if first != nil {
		return first
	}
	if err := checkOrder(o, "created", "modified", false); err != nil {
		return err
	}
	if known {
		if err := checkTypeRules(o); err != nil {
			return err
		}
	}
	return nil
}

func invalid(o *Object, prop, reason string) *ValidationError {
	return &ValidationError{ObjectID: o.ID, Property: prop, Reason: reason}
}

// validateTypeAndID checks "type" and "id" and their agreement with the
// decoded fields.
func validateTypeAndID(o *Object) error {
	if !rawStringEq(o.Props["type"], o.Type) {
		return invalid(o, "type", "property does not match the object's type "+quote(o.Type))
	}
	if !isTypeName(o.Type) {
		return invalid(o, "type", "not a valid type name (3 to 250 characters a-z, 0-9, hyphen): "+quote(o.Type))
	}
	if !rawStringEq(o.Props["id"], o.ID) {
		return invalid(o, "id", "property does not match the object's id "+quote(o.ID))
	}
	typ, ok := strings.CutSuffix(o.ID[:max(0, len(o.ID)-36)], "--")
	if !ok || typ != o.Type {
		return invalid(o, "id", "must be "+quote(o.Type+"--<uuid>")+", got "+quote(truncate(o.ID, 80)))
	}
	if !isUUID(o.ID[len(o.ID)-36:]) {
		return invalid(o, "id", "not an RFC 4122 UUID: "+quote(o.ID[len(o.ID)-36:]))
	}
	return nil
}

func quote(s string) string { return strconv.Quote(s) }

// IsIdentifier reports whether s is a well-formed STIX identifier: a type
// name, "--", and an RFC 4122 UUID (versions 1 to 8, either hex case).
func IsIdentifier(s string) bool { return isIdentifier(s) }

func isIdentifier[T ~string | ~[]byte](s T) bool {
	n := len(s)
	if n < 3+2+36 || s[n-37] != '-' || s[n-38] != '-' {
		return false
	}
	return isTypeName(s[:n-38]) && isUUID(s[n-36:])
}

// IdentifierType returns the type part of an identifier, or "" when s is not
// an identifier.
func IdentifierType(s string) string {
	if !IsIdentifier(s) {
		return ""
	}
	return s[:len(s)-38]
}

func isTypeName[T ~string | ~[]byte](s T) bool {
	if len(s) < 3 || len(s) > 250 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// hexDigit marks the bytes that are hex digits.
var hexDigit = func() (t [256]bool) {
	for _, c := range []byte("0123456789abcdefABCDEF") {
		t[c] = true
	}
	return t
}()

func isHex(c byte) bool { return hexDigit[c] }

// isUUID checks the 8-4-4-4-12 hex layout, a version nibble from 1 to 8 and
// the RFC 4122 variant.
func isUUID[T ~string | ~[]byte](s T) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	for i := 0; i < 36; i++ {
		if !hexDigit[s[i]] && i != 8 && i != 13 && i != 18 && i != 23 {
			return false
		}
	}
	if v := s[14]; v < '1' || v > '8' {
		return false
	}
	switch s[19] {
	case '8', '9', 'a', 'b', 'A', 'B':
		return true
	}
	return false
}

// timestampProps are the standard properties of known types that hold a
// STIX timestamp.
var timestampProps = map[string]bool{
	"created": true, "modified": true,
	"first_seen": true, "last_seen": true, "valid_from": true, "valid_until": true,
	"submitted": true, "analysis_started": true, "analysis_ended": true,
	"first_observed": true, "last_observed": true, "published": true,
	"start_time": true, "stop_time": true, "object_modified": true,
	"ctime": true, "mtime": true, "atime": true, "start": true, "end": true, "date": true,
	"created_time": true, "modified_time": true,
	"account_created": true, "account_expires": true, "credential_last_changed": true,
	"account_first_login": true, "account_last_login": true,
	"validity_not_before": true, "validity_not_after": true,
}

// checkProp checks one property by its name.
func checkProp(o *Object, known bool, name string, raw []byte) *ValidationError {
	switch name {
	case "type", "id":
		return nil
	case "spec_version":
		if !rawStringEq(raw, "2.1") && !rawStringEq(raw, "2.0") {
			return invalid(o, name, `must be "2.1" or "2.0", got `+truncate(string(raw), 40))
		}
		return nil
	case "created", "modified":
		return checkTimestamp(o, name, raw)
	case "revoked", "defanged":
		return checkBool(o, name, raw)
	case "labels":
		return checkStringList(o, name, raw)
	case "confidence":
		if n, ok := rawInt(raw); !ok || n < 0 || n > 100 {
			return invalid(o, name, "must be an integer from 0 to 100, got "+truncate(string(raw), 40))
		}
		return nil
	case "lang":
		return checkString(o, name, raw)
	case "external_references":
		return checkExternalRefs(o, raw)
	case "object_marking_refs":
		return checkRefList(o, name, raw, "marking-definition", false)
	case "granular_markings":
		return checkGranularMarkings(o, raw)
	case "extensions":
		err := eachMember(raw, func(_, v []byte) error {
			if firstByte(v) != '{' {
				return errBadJSON
			}
			return nil
		})
		if err != nil {
			return invalid(o, name, "must be a dictionary whose values are objects")
		}
		return nil
	}
	custom := !known || strings.HasPrefix(name, "x_")
	switch {
	case strings.HasSuffix(name, "_ref"):
		s, ok := rawStringBytes(raw)
		if !ok {
			return invalid(o, name, "must be an identifier string, got "+truncate(string(raw), 60))
		}
		if len(s) == 0 && custom {
			return nil
		}
		if !isIdentifier(s) {
			return invalid(o, name, "not a STIX identifier: "+quote(truncate(string(s), 80)))
		}
	case strings.HasSuffix(name, "_refs"):
		return checkRefList(o, name, raw, "", custom)
	case known && timestampProps[name]:
		return checkTimestamp(o, name, raw)
	case known && name == "hashes":
		return checkHashes(o, name, raw)
	}
	return nil
}

func checkTimestamp(o *Object, name string, raw []byte) *ValidationError {
	s, ok := rawString(raw)
	if !ok {
		return invalid(o, name, "timestamp must be a string, got "+truncate(string(raw), 40))
	}
	if _, err := ParseTimestamp(s); err != nil {
		return &ValidationError{ObjectID: o.ID, Property: name, Reason: "not an RFC 3339 timestamp", Err: err}
	}
	return nil
}

func checkBool(o *Object, name string, raw []byte) *ValidationError {
	if _, ok := rawBool(raw); !ok {
		return invalid(o, name, "must be true or false, got "+truncate(string(raw), 40))
	}
	return nil
}

func checkString(o *Object, name string, raw []byte) *ValidationError {
	if firstByte(raw) != '"' {
		return invalid(o, name, "must be a string, got "+truncate(string(raw), 40))
	}
	return nil
}

func checkNonEmptyString(o *Object, name string) *ValidationError {
	raw, ok := o.Props[name]
	if !ok {
		return nil
	}
	s, ok := rawString(raw)
	if !ok || strings.TrimSpace(s) == "" {
		return invalid(o, name, "must be a non-empty string, got "+truncate(string(raw), 40))
	}
	return nil
}

func checkStringList(o *Object, name string, raw []byte) *ValidationError {
	err := eachElem(raw, func(e []byte) error {
		if firstByte(e) != '"' {
			return errBadJSON
		}
		return nil
	})
	if err != nil {
		return invalid(o, name, "must be a list of strings, got "+truncate(string(raw), 60))
	}
	return nil
}

// checkRefList checks a list of identifiers, optionally all of one type.
// When tolerant, empty strings and an empty list are accepted.
func checkRefList(o *Object, name string, raw []byte, wantType string, tolerant bool) *ValidationError {
	var bad *ValidationError
	n := 0
	err := eachElem(raw, func(e []byte) error {
		n++
		s, ok := rawStringBytes(e)
		switch {
		case !ok:
			bad = invalid(o, name, "must be a list of identifier strings, got element "+truncate(string(e), 60))
		case len(s) == 0 && tolerant:
			return nil
		case !isIdentifier(s):
			bad = invalid(o, name, "not a STIX identifier: "+quote(truncate(string(s), 80)))
		case wantType != "" && string(s[:len(s)-38]) != wantType:
			bad = invalid(o, name, "must reference "+wantType+" objects, got "+quote(truncate(string(s), 80)))
		default:
			return nil
		}
		return errBadJSON
	})
	if bad != nil {
		return bad
	}
	if err != nil {
		return invalid(o, name, "must be a list of identifiers, got "+truncate(string(raw), 60))
	}
	return nil
}

func checkExternalRefs(o *Object, raw []byte) *ValidationError {
	const name = "external_references"
	var bad *ValidationError
	i := 0
	err := eachElem(raw, func(e []byte) error {
		hasSource := false
		err := eachMember(e, func(k, v []byte) error {
			switch string(k) {
			case `"source_name"`:
				if firstByte(v) != '"' {
					return errBadJSON
				}
				hasSource = true
			case `"url"`, `"external_id"`, `"description"`:
				if firstByte(v) != '"' {
					return errBadJSON
				}
			case `"hashes"`:
				if bad = checkHashes(o, name+".hashes", v); bad != nil {
					return errBadJSON
				}
			}
			return nil
		})
		if bad == nil && (err != nil || !hasSource) {
			bad = invalid(o, name, "entry "+itoa(i)+" must be an object with a string source_name")
		}
		i++
		if bad != nil {
			return errBadJSON
		}
		return nil
	})
	if bad != nil {
		return bad
	}
	if err != nil {
		return invalid(o, name, "must be a list of objects")
	}
	return nil
}

func checkGranularMarkings(o *Object, raw []byte) *ValidationError {
	const name = "granular_markings"
	var bad *ValidationError
	err := eachElem(raw, func(e []byte) error {
		hasSel, hasMark := false, false
		err := eachMember(e, func(k, v []byte) error {
			switch string(k) {
			case `"selectors"`:
				n := 0
				if err := eachElem(v, func(s []byte) error {
					n++
					if firstByte(s) != '"' {
						return errBadJSON
					}
					return nil
				}); err != nil || n == 0 {
					return errBadJSON
				}
				hasSel = true
			case `"marking_ref"`:
				s, ok := rawString(v)
				if !ok || IdentifierType(s) != "marking-definition" {
					bad = invalid(o, name, "marking_ref must be a marking-definition identifier, got "+truncate(string(v), 80))
					return errBadJSON
				}
				hasMark = true
			case `"lang"`:
				if firstByte(v) != '"' {
					return errBadJSON
				}
				hasMark = true
			}
			return nil
		})
		if bad == nil && (err != nil || !hasSel || !hasMark) {
			bad = invalid(o, name, "each entry needs a non-empty selectors list and a marking_ref or lang")
		}
		if bad != nil {
			return errBadJSON
		}
		return nil
	})
	if bad != nil {
		return bad
	}
	if err != nil {
		return invalid(o, name, "must be a list of granular markings")
	}
	return nil
}

// checkHashes checks a STIX hashes dictionary: at least one entry, keys of 3
// to 250 characters from a-z, A-Z, 0-9, hyphen and underscore, string values.
func checkHashes(o *Object, name string, raw []byte) *ValidationError {
	n := 0
	var bad *ValidationError
	err := eachMember(raw, func(k, v []byte) error {
		n++
		key, _ := rawString(k)
		if len(key) < 3 || len(key) > 250 || strings.IndexFunc(key, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}) >= 0 {
			bad = invalid(o, name, "bad hash algorithm name "+quote(truncate(key, 40)))
			return errBadJSON
		}
		if s, ok := rawString(v); !ok || s == "" {
			bad = invalid(o, name+"."+key, "hash value must be a non-empty string")
			return errBadJSON
		}
		return nil
	})
	if bad != nil {
		return bad
	}
	if err != nil || n == 0 {
		return invalid(o, name, "must be a non-empty dictionary of hash values")
	}
	return nil
}

// checkOrder checks that the timestamp in later is not before the one in
// earlier (or strictly after it when strict), when both are present.
func checkOrder(o *Object, earlier, later string, strict bool) *ValidationError {
	a, aok := timeProp(o, earlier)
	b, bok := timeProp(o, later)
	if !aok || !bok {
		return nil
	}
	if b.Before(a) || strict && b.Equal(a) {
		rel := "not be earlier than"
		if strict {
			rel = "be later than"
		}
		return invalid(o, later, "must "+rel+" "+earlier)
	}
	return nil
}

func timeProp(o *Object, name string) (time.Time, bool) {
	raw, ok := o.Props[name]
	if !ok {
		return time.Time{}, false
	}
	s, ok := rawString(raw)
	if !ok {
		return time.Time{}, false
	}
	t, err := ParseTimestamp(s)
	return t, err == nil
}

func checkIntRange(o *Object, name string, lo, hi int64) *ValidationError {
	raw, ok := o.Props[name]
	if !ok {
		return nil
	}
	if n, ok := rawInt(raw); !ok || n < lo || n > hi {
		return invalid(o, name, "must be an integer from "+itoa(int(lo))+" to "+itoa(int(hi))+", got "+truncate(string(raw), 40))
	}
	return nil
}

func checkEnum(o *Object, name string, allowed []string) *ValidationError {
	raw, ok := o.Props[name]
	if !ok {
		return nil
	}
	s, ok := rawString(raw)
	if !ok || !slices.Contains(allowed, s) {
		return invalid(o, name, "must be one of "+strings.Join(allowed, ", ")+", got "+truncate(string(raw), 40))
	}
	return nil
}

func checkNonEmptyList(o *Object, name string) *ValidationError {
	raw, ok := o.Props[name]
	if !ok {
		return nil
	}
	n := 0
	if err := eachElem(raw, func([]byte) error { n++; return nil }); err != nil || n == 0 {
		return invalid(o, name, "must be a non-empty list")
	}
	return nil
}

func checkFloatRange(o *Object, name string, lo, hi float64) *ValidationError {
	raw, ok := o.Props[name]
	if !ok {
		return nil
	}
	f, err := parseJSONFloat(raw)
	if err != nil || f < lo || f > hi {
		return invalid(o, name, "must be a number from "+ftoa(lo)+" to "+ftoa(hi)+", got "+truncate(string(raw), 40))
	}
	return nil
}

var opinionValues = []string{"strongly-disagree", "disagree", "neutral", "agree", "strongly-agree"}

// checkTypeRules applies the type-specific rules of known types.
func checkTypeRules(o *Object) error {
	var errs []*ValidationError
	add := func(e *ValidationError) {
		if e != nil {
			errs = append(errs, e)
		}
	}
	p := o.Props
	switch o.Type {
	case "relationship":
		add(checkNonEmptyString(o, "relationship_type"))
		add(checkOrder(o, "start_time", "stop_time", true))
	case "sighting":
		add(checkIntRange(o, "count", 0, 999999999))
		add(checkOrder(o, "first_seen", "last_seen", false))
		if raw, ok := p["summary"]; ok {
			add(checkBool(o, "summary", raw))
		}
	case "indicator":
		add(checkNonEmptyString(o, "pattern"))
		add(checkNonEmptyString(o, "pattern_type"))
		add(checkOrder(o, "valid_from", "valid_until", true))
		if raw, ok := p["indicator_types"]; ok {
			add(checkStringList(o, "indicator_types", raw))
		}
	case "malware":
		raw := p["is_family"]
		if fam, ok := rawBool(raw); !ok {
			add(invalid(o, "is_family", "must be true or false, got "+truncate(string(raw), 40)))
		} else if _, named := p["name"]; fam && !named {
			add(invalid(o, "name", "required when is_family is true"))
		}
		add(checkOrder(o, "first_seen", "last_seen", false))
	case "observed-data":
		add(checkIntRange(o, "number_observed", 1, 999999999))
		add(checkOrder(o, "first_observed", "last_observed", false))
		_, refs := p["object_refs"]
		_, objs := p["objects"]
		if !refs && !objs {
			add(invalid(o, "object_refs", "observed-data needs object_refs or objects"))
		}
	case "report", "grouping", "note":
		add(checkNonEmptyList(o, "object_refs"))
	case "opinion":
		add(checkEnum(o, "opinion", opinionValues))
		add(checkNonEmptyList(o, "object_refs"))
	case "campaign", "intrusion-set", "threat-actor", "infrastructure":
		add(checkOrder(o, "first_seen", "last_seen", false))
	case "location":
		_, region := p["region"]
		_, country := p["country"]
		_, lat := p["latitude"]
		_, lon := p["longitude"]
		if lat != lon {
			add(invalid(o, "latitude", "latitude and longitude must be given together"))
		}
		if !region && !country && !(lat && lon) {
			add(invalid(o, "region", "location needs region, country, or latitude and longitude"))
		}
		add(checkFloatRange(o, "latitude", -90, 90))
		add(checkFloatRange(o, "longitude", -180, 180))
	case "marking-definition":
		_, ext := p["extensions"]
		_, dt := p["definition_type"]
		_, def := p["definition"]
		if !ext && (!dt || !def) {
			add(invalid(o, "definition", "marking-definition needs definition_type and definition, or extensions"))
		}
	case "extension-definition":
		add(checkNonEmptyList(o, "extension_types"))
	case TypeCase:
		add(checkNonEmptyString(o, "name"))
		add(checkEnum(o, "status", CaseStatuses))
		add(checkEnum(o, "severity", CaseSeverities))
		if raw, ok := p["description"]; ok {
			add(checkString(o, "description", raw))
		}
		if raw, ok := p["x_owner_organization"]; ok {
			add(checkString(o, "x_owner_organization", raw))
		}
		if raw, ok := p["participating_organizations"]; ok {
			add(checkStringList(o, "participating_organizations", raw))
		}
	case "ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "mac-addr":
		add(checkNonEmptyString(o, "value"))
	case "autonomous-system":
		add(checkIntRange(o, "number", 0, maxSafeInt))
	case "directory":
		add(checkNonEmptyString(o, "path"))
	case "mutex", "software":
		add(checkNonEmptyString(o, "name"))
	case "email-message":
		add(checkBool(o, "is_multipart", p["is_multipart"]))
	case "file":
		_, h := p["hashes"]
		_, n := p["name"]
		if !h && !n {
			add(invalid(o, "hashes", "file needs hashes or name"))
		}
		add(checkIntRange(o, "size", 0, maxSafeInt))
	case "artifact":
		_, bin := p["payload_bin"]
		_, url := p["url"]
		_, h := p["hashes"]
		switch {
		case bin && url:
			add(invalid(o, "url", "artifact must not have both payload_bin and url"))
		case !bin && !url:
			add(invalid(o, "payload_bin", "artifact needs payload_bin or url"))
		case url && !h:
			add(invalid(o, "hashes", "artifact with url needs hashes"))
		}
	case "network-traffic":
		raw := p["protocols"]
		add(checkStringList(o, "protocols", raw))
		add(checkNonEmptyList(o, "protocols"))
		add(checkIntRange(o, "src_port", 0, 65535))
		add(checkIntRange(o, "dst_port", 0, 65535))
		add(checkOrder(o, "start", "end", false))
	}
	if len(errs) == 0 {
		return nil
	}
	first := errs[0]
	for _, e := range errs[1:] {
		if e.Property < first.Property {
			first = e
		}
	}
	return first
}

func itoa(n int) string { return strconv.Itoa(n) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// parseJSONFloat decodes a JSON number.
func parseJSONFloat(raw []byte) (float64, error) {
	raw = trimWS(raw)
	if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, errBadJSON
	}
	return strconv.ParseFloat(string(raw), 64)
}
