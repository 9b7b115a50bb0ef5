package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Object is one STIX object as Verband holds it: every property as the raw
// JSON it arrived with, plus the handful of fields that every layer needs
// decoded. Props always contains "type" and "id"; custom properties and unknown
// types are kept the same way as known ones, so nothing is dropped.
type Object struct {
	// Type is the STIX type, such as "indicator" or "x-mitre-tactic".
	Type string
	// ID is the STIX identifier, "type--uuid".
	ID string
	// Created and Modified are zero when the object has none (SCOs).
	Created, Modified time.Time
	// Props holds every property, compacted, keyed by property name.
	Props map[string]json.RawMessage
}

// Ref is one embedded reference of an object: the property that holds it and
// the STIX id it names.
type Ref struct {
	// Prop is the property name, such as "created_by_ref" or "object_refs".
	Prop string
	// Target is the referenced STIX id.
	Target string
}

// ErrNotObject reports JSON that is not a STIX object at all.
var ErrNotObject = errors.New("not a STIX object")

// ParseObject decodes one STIX object from JSON. It checks only what every
// object must have (a JSON object with string "type" and "id", and RFC 3339
// "created"/"modified" when present); Validate checks the rest.
func ParseObject(data []byte) (*Object, error) {
	props, ok := splitObject(data)
	if !ok {
		if err := json.Unmarshal(data, &props); err != nil {
			return nil, fmt.Errorf("decode object: %w", err)
		}
	}
	return NewObject(props)
}

// splitObject splits a valid JSON object into its members, as
// json.Unmarshal into a map of raw messages does (the last of duplicate
// names wins), but without reflection: the store and the search indexer
// parse every object they read. The values share one copy of data. It
// reports false for anything but a valid JSON object, which the caller
// decodes with encoding/json for its error.
func splitObject(data []byte) (map[string]json.RawMessage, bool) {
	if !json.Valid(data) {
		return nil, false
	}
	data = bytes.Clone(data)
	props := make(map[string]json.RawMessage, bytes.Count(data, []byte(`":`)))
	err := eachMember(data, func(key, val []byte) error {
		name, ok := rawString(key)
		if !ok {
			return errBadJSON
		}
		props[name] = val[:len(val):len(val)]
		return nil
	})
	return props, err == nil
}

// NewObject builds an Object from decoded properties, compacting each raw
// value. It fails with a *ValidationError when type, id or the timestamps are
// missing or malformed.
func NewObject(props map[string]json.RawMessage) (*Object, error) {
	if props == nil {
		return nil, ErrNotObject
	}
	o := &Object{Props: props}
	for k, v := range props {
		if needsCompact(v) {
			var buf bytes.Buffer
			if err := json.Compact(&buf, v); err != nil {
				return nil, &ValidationError{Property: k, Reason: "invalid JSON value", Err: err}
			}
			props[k] = buf.Bytes()
		}
	}
	var ok bool
	if o.Type, ok = o.String("type"); !ok || o.Type == "" {
		return nil, &ValidationError{Property: "type", Reason: "missing or not a string"}
	}
	if o.ID, ok = o.String("id"); !ok || o.ID == "" {
		return nil, &ValidationError{Property: "id", Reason: "missing or not a string"}
	}
	var err error
	if o.Created, err = o.timeProp("created"); err != nil {
		return nil, err
	}
	if o.Modified, err = o.timeProp("modified"); err != nil {
		return nil, err
	}
	if o.Modified.IsZero() {
		o.Modified = o.Created
	}
	return o, nil
}

// needsCompact reports whether a raw value may hold insignificant whitespace.
// A string holds none (its spaces are content), and most values are strings.
func needsCompact(v json.RawMessage) bool {
	return len(v) > 0 && v[0] != '"' && bytes.ContainsAny(v, " \t\r\n")
}

func (o *Object) timeProp(name string) (time.Time, error) {
	raw, ok := o.Props[name]
	if !ok {
		return time.Time{}, nil
	}
	s, ok := o.String(name)
	if !ok {
		return time.Time{}, &ValidationError{ObjectID: o.ID, Property: name, Reason: "not a string: " + truncate(string(raw), 40)}
	}
	t, err := ParseTimestamp(s)
	if err != nil {
		return time.Time{}, &ValidationError{ObjectID: o.ID, Property: name, Reason: "not an RFC 3339 timestamp", Err: err}
	}
	return t, nil
}

// ParseTimestamp parses a STIX timestamp (RFC 3339, any sub-second precision).
func ParseTimestamp(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}

// String returns a string property and whether it exists and is a string.
func (o *Object) String(name string) (string, bool) {
	raw, ok := o.Props[name]
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	return rawString(raw)
}

// plainJSONStrings decodes a compact JSON list of strings that need no
// unescaping, such as ["a","b"], as plainJSONString does each member. It
// reports false for anything else.
func plainJSONStrings(raw []byte) ([]string, bool) {
	if len(raw) < 2 || raw[0] != '[' || raw[len(raw)-1] != ']' {
		return nil, false
	}
	inner := raw[1 : len(raw)-1]
	if len(inner) == 0 {
		return []string{}, true
	}
	if len(inner) < 2 || inner[0] != '"' || inner[len(inner)-1] != '"' || bytes.IndexByte(inner, '\\') >= 0 {
		return nil, false
	}
	// Without backslashes no member holds a quote, so "," only ever
	// separates members.
	sep := []byte(`","`)
	body := inner[1 : len(inner)-1]
	ss := make([]string, 0, bytes.Count(body, sep)+1)
	for part := range bytes.SplitSeq(body, sep) {
		if !plainJSONText(part) {
			return nil, false
		}
		ss = append(ss, string(part))
	}
	return ss, true
}

// plainJSONString decodes a JSON string that needs no unescaping: quoted,
// without backslashes, inner quotes or control characters, and valid UTF-8
// (json.Unmarshal would replace invalid bytes). Most property values are
// such strings, and slicing them costs a fraction of json.Unmarshal. It
// reports false for anything else, which the caller decodes in full.
func plainJSONString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' || !plainJSONText(raw[1:len(raw)-1]) {
		return "", false
	}
	return string(raw[1 : len(raw)-1]), true
}

// plainJSONText reports whether the inside of a JSON string is its value:
// no backslashes, quotes or control characters, and valid UTF-8.
func plainJSONText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(b)
}

// Strings returns a list-of-strings property; it is nil when the property is
// absent or not a list of strings.
func (o *Object) Strings(name string) []string {
	raw, ok := o.Props[name]
	if !ok || len(raw) == 0 || raw[0] != '[' {
		return nil
	}
	if ss, ok := plainJSONStrings(raw); ok {
		return ss
	}
	var ss []string
	if err := json.Unmarshal(raw, &ss); err != nil {
		return nil
	}
	return ss
}

// Set stores a property, encoding v as JSON. It keeps Type, ID, Created and
// Modified in step with the properties of the same name.
func (o *Object) Set(name string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	o.Props[name] = raw
	switch name {
	case "type":
		o.Type, _ = v.(string)
	case "id":
		o.ID, _ = v.(string)
	case "created":
		o.Created, err = o.timeProp(name)
	case "modified":
		o.Modified, err = o.timeProp(name)
	}
	return err
}

// Refs lists the embedded references of the object in a stable order: every
// top-level property whose name ends in "_ref" (a string) or "_refs" (a list
// of strings), sorted by property name and then by position. Relationship
// objects report their source_ref and target_ref like any other.
func (o *Object) Refs() []Ref {
	var refs []Ref
	names := make([]string, 0, 4)
	for k := range o.Props {
		if strings.HasSuffix(k, "_ref") || strings.HasSuffix(k, "_refs") {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		if strings.HasSuffix(k, "_ref") {
			if s, ok := o.String(k); ok && s != "" {
				refs = append(refs, Ref{Prop: k, Target: s})
			}
			continue
		}
		for _, s := range o.Strings(k) {
			if s != "" {
				refs = append(refs, Ref{Prop: k, Target: s})
			}
		}
	}
	return refs
}

// MarshalJSON encodes the object with its properties in sorted key order, so
// the same object always encodes to the same bytes.
func (o *Object) MarshalJSON() ([]byte, error) {
	keys := make([]string, 0, len(o.Props))
	for k := range o.Props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	n := 2
	for _, k := range keys {
		n += len(k) + len(o.Props[k]) + 4
	}
	buf := make([]byte, 0, n)
	buf = append(buf, '{')
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		if plainASCIIName(k) {
			buf = append(append(append(buf, '"'), k...), '"')
		} else {
			kb, err := json.Marshal(k)
			if err != nil {
				return nil, fmt.Errorf("encode property name %q: %w", k, err)
			}
			buf = append(buf, kb...)
		}
		buf = append(buf, ':')
		buf = append(buf, o.Props[k]...)
	}
	return append(buf, '}'), nil
}

// plainASCIIName reports whether json.Marshal encodes name as itself in
// quotes: printable ASCII without the quote, the backslash and the three
// characters it escapes for HTML. Property names almost always are, and
// copying them saves MarshalJSON an allocation and a reflective call per
// property.
func plainASCIIName(name string) bool {
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// Clone returns a copy whose property map can be changed without touching o.
func (o *Object) Clone() *Object {
	c := *o
	c.Props = make(map[string]json.RawMessage, len(o.Props))
	for k, v := range o.Props {
		c.Props[k] = v
	}
	return &c
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
