package schema

import (
	"bytes"
	"encoding/json"
	"strings"
)

// RewriteRefs replaces identifiers in the object's references: every string
// under a property name ending in "_ref" or "_refs", at the top level or
// nested anywhere inside a property (such as archive-ext "contains_refs" in
// a file's extensions, or "body_raw_ref" in an email's body_multipart), for
// which newID returns a replacement. It returns how many references changed.
//
// Ingest needs it because Canonicalize changes SCO ids: an SCO whose ID
// contributing properties hold references (email-message from_ref,
// file parent_directory_ref and extensions, network-traffic src_ref and
// dst_ref) must have those references rewritten to the canonical ids of
// their targets before it is canonicalised itself, or its own id is
// computed over stale references. (The STIX 2.1 specification's examples
// show exactly this mistake: see the errata table in scoid_test.go.)
//
// Nested properties that change are re-encoded with sorted keys; their
// values are otherwise kept. Values that are not valid JSON are left alone.
func RewriteRefs(o *Object, newID func(old string) (string, bool)) int {
	n := 0
	for name, raw := range o.Props {
		if name == "id" || name == "type" {
			continue
		}
		isRef := strings.HasSuffix(name, "_ref") || strings.HasSuffix(name, "_refs")
		if !isRef && !bytes.Contains(raw, []byte(`_ref`)) {
			continue // no reference can be inside
		}
		v, err := decodeJSON(raw)
		if err != nil {
			continue
		}
		v, changed := rewriteValue(v, isRef, newID)
		if changed == 0 {
			continue
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			continue
		}
		o.Props[name] = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		n += changed
	}
	return n
}

// rewriteValue rewrites the identifiers in v; inRef says whether v sits
// under a reference property.
func rewriteValue(v any, inRef bool, newID func(string) (string, bool)) (any, int) {
	switch v := v.(type) {
	case string:
		if inRef {
			if id, ok := newID(v); ok && id != v {
				return id, 1
			}
		}
		return v, 0
	case []any:
		n := 0
		for i, e := range v {
			var c int
			v[i], c = rewriteValue(e, inRef, newID)
			n += c
		}
		return v, n
	case map[string]any:
		n := 0
		for k, e := range v {
			var c int
			v[k], c = rewriteValue(e, strings.HasSuffix(k, "_ref") || strings.HasSuffix(k, "_refs"), newID)
			n += c
		}
		return v, n
	}
	return v, 0
}
