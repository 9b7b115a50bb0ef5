package misp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// record is one MISP JSON object (an event, attribute, object, tag, …)
// with its members kept raw, so that nothing is lost and fields of either
// JSON type MISP uses ("to_ids": true or "1", "timestamp": "1556920535" or a
// number) can be read.
type record map[string]json.RawMessage

// fieldError reports a field of the wrong JSON type.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

func badField(field string, format string, args ...any) error {
	return &fieldError{field: field, err: fmt.Errorf("%w: %s", ErrBadField, fmt.Sprintf(format, args...))}
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

func decodeRecord(raw json.RawMessage, field string) (record, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, badField(field, "want a JSON object, got %s", clipRaw(raw))
	}
	r, ok := splitObject(raw)
	if !ok {
		return nil, badField(field, "malformed JSON object")
	}
	return r, nil
}

// list decodes an array of objects; an absent or null field is empty.
func (r record) list(key, path string) ([]json.RawMessage, error) {
	raw, ok := r[key]
	if !ok || isNull(raw) {
		return nil, nil
	}
	raw = bytes.TrimSpace(raw)
	if raw[0] == '{' && key != "Attribute" && key != "Object" {
		// A single object where MISP usually puts a list (seen with Tag
		// and RelatedEvent in some exports).
		return []json.RawMessage{raw}, nil
	}
	if raw[0] != '[' {
		return nil, badField(path+key, "want an array, got %s", clipRaw(raw))
	}
	out, ok := splitArray(raw)
	if !ok {
		return nil, badField(path+key, "malformed JSON array")
	}
	return out, nil
}

// str reads a string field; numbers and booleans are taken as their text,
// absent and null fields as "".
func (r record) str(key, path string) (string, error) {
	raw, ok := r[key]
	if !ok || isNull(raw) {
		return "", nil
	}
	raw = bytes.TrimSpace(raw)
	switch raw[0] {
	case '"':
		s, ok := unquote(raw)
		if !ok {
			return "", badField(path+key, "malformed JSON string")
		}
		return s, nil
	case '{', '[':
		return "", badField(path+key, "want a string, got %s", clipRaw(raw))
	}
	return string(raw), nil
}

// boolean reads a flag: true/false, 1/0, "1"/"0", "true"/"false".
func (r record) boolean(key, path string) (bool, error) {
	s, err := r.str(key, path)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, badField(path+key, "want a boolean, got %q", clip(s))
}

// integer reads an integer field; ok is false when it is absent or empty.
func (r record) integer(key, path string) (n int64, ok bool, err error) {
	s, err := r.str(key, path)
	if err != nil || strings.TrimSpace(s) == "" {
		return 0, false, err
	}
	n, perr := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if perr != nil {
		return 0, false, badField(path+key, "want an integer, got %q", clip(s))
	}
	return n, true, nil
}

// unixTime reads a Unix timestamp in seconds; ok is false when it is
// absent, empty or 0.
func (r record) unixTime(key, path string) (t time.Time, ok bool, err error) {
	n, ok, err := r.integer(key, path)
	if err != nil || !ok || n <= 0 {
		return time.Time{}, false, err
	}
	if n > 253402300799 {
		return time.Time{}, false, badField(path+key, "timestamp %d is after year 9999", n)
	}
	return time.Unix(n, 0).UTC(), true, nil
}

// isoTime reads a MISP date or datetime ("2019-05-03",
// "2023-10-27T12:57:33.000000+00:00", "2018-04-10 14:41:38"); ok is false
// when the field is absent or empty.
func (r record) isoTime(key, path string) (t time.Time, ok bool, err error) {
	s, err := r.str(key, path)
	if err != nil || strings.TrimSpace(s) == "" {
		return time.Time{}, false, err
	}
	t, err = parseMISPTime(s)
	if err != nil {
		return time.Time{}, false, badField(path+key, "%v", err)
	}
	return t, true, nil
}

var timeLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02",
}

func parseMISPTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			if t.Year() < 1 || t.Year() > 9999 {
				break
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date or time: %q", clip(s))
}

func clipRaw(raw []byte) string { return clip(string(raw)) }

// clip shortens s for an error message, at a rune boundary.
func clip(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// propName returns the custom property that keeps a MISP field:
// "x_misp_" and the field in snake case ("meta-category" becomes
// x_misp_meta_category, "ShadowAttribute" x_misp_shadow_attribute).
func propName(key string) string {
	var b strings.Builder
	b.WriteString("x_misp_")
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'A' && c <= 'Z':
			if i > 0 {
				if p := key[i-1]; p >= 'a' && p <= 'z' || p >= '0' && p <= '9' {
					b.WriteByte('_')
				}
			}
			b.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
