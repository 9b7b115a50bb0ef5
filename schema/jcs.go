package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// CanonicalJSON returns the RFC 8785 JSON Canonicalization Scheme (JCS)
// serialisation of one JSON value: no insignificant whitespace, object
// members sorted by the UTF-16 code units of their names, numbers formatted
// as ECMAScript formats an IEEE 754 double, and strings with only the
// escapes JSON requires. Duplicate member names keep the last value, as
// encoding/json does; RFC 8785 expects producers not to send them.
func CanonicalJSON(raw []byte) ([]byte, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("canonical JSON: %w", err)
	}
	out, err := appendJCS(nil, v)
	if err != nil {
		return nil, fmt.Errorf("canonical JSON: %w", err)
	}
	return out, nil
}

// decodeJSON decodes one JSON value into nil, bool, json.Number, string,
// []any or map[string]any. Strings without escapes skip the decoder.
func decodeJSON(raw []byte) (any, error) {
	if firstByte(raw) == '"' {
		if s, ok := rawString(raw); ok {
			return s, nil
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

var errNotFinite = errors.New("number is not a finite IEEE 754 double")

// appendJCS appends the canonical form of a decoded JSON value.
func appendJCS(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case string:
		return AppendJSONString(b, v), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", truncate(string(v), 40), errNotFinite)
		}
		return appendESNumber(b, f)
	case float64:
		return appendESNumber(b, v)
	case int:
		return appendESNumber(b, float64(v))
	case int64:
		return appendESNumber(b, float64(v))
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJCS(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sortUTF16(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendJCS(b, v[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("unsupported value of type %T", v)
}

// sortUTF16 sorts strings by their UTF-16 code units, as RFC 8785 section
// 3.2.3 requires. For ASCII and BMP-only strings this equals byte order;
// supplementary characters (surrogate pairs, 0xD800-0xDFFF) sort before
// U+E000..U+FFFF, unlike in UTF-8 byte order.
func sortUTF16(keys []string) {
	slices.SortFunc(keys, compareUTF16)
}

func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ua, ub := utf16Units(ra), utf16Units(rb)
			return slices.Compare(ua[:], ub[:])
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

// utf16Units returns the UTF-16 code units of r, padded with a zero unit for
// BMP characters (no real second unit is smaller than a real first unit
// except at the end, so the padding compares correctly).
func utf16Units(r rune) [2]uint16 {
	if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError || r2 != utf8.RuneError {
		return [2]uint16{uint16(r1), uint16(r2)}
	}
	return [2]uint16{uint16(r), 0}
}

// AppendJSONString appends s, which must be valid UTF-8, as a JSON string
// with the escapes of ECMAScript's JSON.stringify (as RFC 8785 requires):
// \" \\ \b \f \n \r \t, \u00XX (lower-case hex) for the other control
// characters, and every other character as itself. Every package that
// writes JSON strings by hand uses it.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendJSONStrings appends ss as a JSON array of strings written by
// AppendJSONString, without white space.
func AppendJSONStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, s)
	}
	return append(b, ']')
}

// appendESNumber appends f formatted as ECMAScript's Number::toString does
// (ECMA-262, section 7.1.12.1), which RFC 8785 section 3.2.2.3 adopts: the
// shortest digit string that round-trips, in plain notation for exponents
// from -6 to 20 and in exponent notation ("1e+21", "5e-324") outside.
func appendESNumber(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, errNotFinite
	}
	if f == 0 {
		return append(b, '0'), nil // also for -0
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // d[.ddd]e±xx
	ePos := bytes.IndexByte(e, 'e')
	exp, _ := strconv.Atoi(string(e[ePos+1:]))
	var digits []byte
	digits = append(digits, e[0])
	if ePos > 1 {
		digits = append(digits, e[2:ePos]...)
	}
	k := len(digits)
	n := exp + 1 // the decimal point sits after n digits
	switch {
	case k <= n && n <= 21:
		b = append(b, digits...)
		b = append(b, strings.Repeat("0", n-k)...)
	case 0 < n && n <= 21:
		b = append(b, digits[:n]...)
		b = append(b, '.')
		b = append(b, digits[n:]...)
	case -6 < n && n <= 0:
		b = append(b, '0', '.')
		b = append(b, strings.Repeat("0", -n)...)
		b = append(b, digits...)
	default:
		b = append(b, digits[0])
		if k > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if n-1 >= 0 {
			b = append(b, '+')
		}
		b = strconv.AppendInt(b, int64(n-1), 10)
	}
	return b, nil
}
