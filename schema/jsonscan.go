package schema

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
)

// This file holds a small allocation-free scanner over raw JSON values, so
// that Validate and friends can check the shape of a property without
// decoding it with reflection. The values in Object.Props are normally valid,
// compact JSON (they come from encoding/json), but a caller may put anything
// there, so every function here fails cleanly on malformed input instead of
// panicking.

var errBadJSON = errors.New("malformed JSON value")

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// trimWS returns raw without surrounding whitespace.
func trimWS(raw []byte) []byte {
	i := skipWS(raw, 0)
	j := len(raw)
	for j > i && isWS(raw[j-1]) {
		j--
	}
	return raw[i:j]
}

// firstByte returns the first non-space byte of a raw value, or 0.
func firstByte(raw []byte) byte {
	i := skipWS(raw, 0)
	if i < len(raw) {
		return raw[i]
	}
	return 0
}

// valueEnd returns the index just past the JSON value that starts at b[i].
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errBadJSON
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e, err := stringEnd(b, j)
				if err != nil {
					return 0, err
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errBadJSON
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != ']' && b[j] != '}' && b[j] != ':' && !isWS(b[j]) {
			j++
		}
		if j == i {
			return 0, errBadJSON
		}
		return j, nil
	}
}

// stringEnd returns the index just past the JSON string starting at b[i].
func stringEnd(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errBadJSON
}

// eachElem calls fn with every element of a JSON array. It fails when raw is
// not an array.
func eachElem(raw []byte, fn func(elem []byte) error) error {
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return errBadJSON
	}
	i = skipWS(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return nil
	}
	for {
		end, err := valueEnd(raw, i)
		if err != nil {
			return err
		}
		if err := fn(raw[i:end]); err != nil {
			return err
		}
		i = skipWS(raw, end)
		if i >= len(raw) {
			return errBadJSON
		}
		switch raw[i] {
		case ',':
			i = skipWS(raw, i+1)
		case ']':
			return nil
		default:
			return errBadJSON
		}
	}
}

// eachMember calls fn with the raw (quoted) key and the raw value of every
// member of a JSON object. It fails when raw is not an object.
func eachMember(raw []byte, fn func(key, val []byte) error) error {
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return errBadJSON
	}
	i = skipWS(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return nil
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return errBadJSON
		}
		kend, err := stringEnd(raw, i)
		if err != nil {
			return err
		}
		key := raw[i:kend]
		i = skipWS(raw, kend)
		if i >= len(raw) || raw[i] != ':' {
			return errBadJSON
		}
		i = skipWS(raw, i+1)
		vend, err := valueEnd(raw, i)
		if err != nil {
			return err
		}
		if err := fn(key, raw[i:vend]); err != nil {
			return err
		}
		i = skipWS(raw, vend)
		if i >= len(raw) {
			return errBadJSON
		}
		switch raw[i] {
		case ',':
			i = skipWS(raw, i+1)
		case '}':
			return nil
		default:
			return errBadJSON
		}
	}
}

// rawString decodes a JSON string value. It reports false when raw is not a
// string.
func rawString(raw []byte) (string, bool) {
	raw = trimWS(raw)
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	if s, ok := plainJSONString(raw); ok {
		return s, true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// rawStringBytes returns the content of a JSON string value without
// allocating when it has no escapes; otherwise it decodes it.
func rawStringBytes(raw []byte) ([]byte, bool) {
	raw = trimWS(raw)
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
			s, ok := rawString(raw)
			return []byte(s), ok
		}
	}
	return body, true
}

// rawStringEq reports whether raw is a JSON string equal to s, without
// allocating in the common case.
func rawStringEq(raw []byte, s string) bool {
	raw = trimWS(raw)
	if len(raw) == len(s)+2 && raw[0] == '"' && raw[len(raw)-1] == '"' && string(raw[1:len(raw)-1]) == s {
		return true
	}
	got, ok := rawString(raw)
	return ok && got == s
}

// rawInt decodes a JSON number that holds an integer value (such as 42 or
// 42.0) within the STIX integer range of ±(2^53-1).
func rawInt(raw []byte) (int64, bool) {
	raw = trimWS(raw)
	if len(raw) == 0 {
		return 0, false
	}
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return 0, false
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n, n <= maxSafeInt && n >= -maxSafeInt
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > maxSafeInt {
		return 0, false
	}
	return int64(f), true
}

const maxSafeInt = 1<<53 - 1

// rawBool decodes a JSON boolean.
func rawBool(raw []byte) (bool, bool) {
	switch string(trimWS(raw)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// isNull reports whether raw is the JSON null literal.
func isNull(raw []byte) bool { return string(trimWS(raw)) == "null" }
