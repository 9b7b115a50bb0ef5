package misp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/verband-cti/verband/ingest"
)

// checkJSON checks what encoding/json lets pass in one well-formed JSON
// value: invalid UTF-8 and escaped lone UTF-16 surrogates (which it would
// replace by U+FFFD), nesting deeper than maxDepth (counting from depth),
// and objects that repeat a key (where it would keep the last value). It
// returns the byte offset of the problem and an error wrapping
// ingest.ErrInvalidUTF8, ingest.ErrTooDeep or ingest.ErrDuplicateKey.
//
// raw must be well-formed JSON, as json.Decoder returns it; checkJSON does
// not check the grammar.
func checkJSON(raw []byte, depth, maxDepth int) (int, error) {
	if !utf8.Valid(raw) {
		off := 0
		for off < len(raw) {
			r, n := utf8.DecodeRune(raw[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return off, fmt.Errorf("%w: byte %#x", ingest.ErrInvalidUTF8, raw[min(off, len(raw)-1)])
	}
	// keys holds the keys of the open objects, each frame's from its start
	// index; an object with many keys gets a set.
	type frame struct {
		obj   bool
		start int
		set   map[string]struct{}
	}
	var stack []frame
	var keys [][]byte
	expectKey := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '{', '[':
			depth++
			if depth > maxDepth {
				return i, fmt.Errorf("%w: more than %d levels", ingest.ErrTooDeep, maxDepth)
			}
			stack = append(stack, frame{obj: c == '{', start: len(keys)})
			expectKey = c == '{'
		case '}', ']':
			depth--
			if len(stack) == 0 {
				return i, fmt.Errorf("%w: unbalanced %q", ingest.ErrMalformedJSON, c)
			}
			keys = keys[:stack[len(stack)-1].start]
			stack = stack[:len(stack)-1]
			expectKey = false
		case ',':
			expectKey = len(stack) > 0 && stack[len(stack)-1].obj
		case '"':
			start := i
			end, err := scanString(raw, i)
			if err != nil {
				return i, err
			}
			i = end
			if !expectKey || len(stack) == 0 {
				continue
			}
			expectKey = false
			f := &stack[len(stack)-1]
			key := raw[start : end+1]
			if bytes.IndexByte(key, '\\') >= 0 {
				var s string
				if json.Unmarshal(key, &s) == nil {
					key = []byte(s)
				}
			} else {
				key = key[1 : len(key)-1]
			}
			if f.set != nil {
				if _, dup := f.set[string(key)]; dup {
					return start, fmt.Errorf("%w %q", ingest.ErrDuplicateKey, clip(string(key)))
				}
				f.set[string(key)] = struct{}{}
				continue
			}
			for _, k := range keys[f.start:] {
				if bytes.Equal(k, key) {
					return start, fmt.Errorf("%w %q", ingest.ErrDuplicateKey, clip(string(key)))
				}
			}
			keys = append(keys, key)
			if len(keys)-f.start > 16 {
				f.set = make(map[string]struct{}, 32)
				for _, k := range keys[f.start:] {
					f.set[string(k)] = struct{}{}
				}
			}
		}
	}
	return 0, nil
}

// scanString returns the index of the closing quote of the string that
// starts at raw[i], checking its \u escapes for lone surrogates.
func scanString(raw []byte, i int) (int, error) {
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case '"':
			return j, nil
		case '\\':
			if j+1 < len(raw) && raw[j+1] == 'u' {
				r := hex4(raw, j+2)
				switch {
				case r >= 0xD800 && r < 0xDC00:
					if j+11 < len(raw) && raw[j+6] == '\\' && raw[j+7] == 'u' {
						if lo := hex4(raw, j+8); lo >= 0xDC00 && lo < 0xE000 {
							j += 11
							continue
						}
					}
					return 0, fmt.Errorf("%w: unpaired surrogate escape at byte %d", ingest.ErrInvalidUTF8, j)
				case r >= 0xDC00 && r < 0xE000:
					return 0, fmt.Errorf("%w: unpaired surrogate escape at byte %d", ingest.ErrInvalidUTF8, j)
				}
				j += 5
				continue
			}
			j++
		}
	}
	return len(raw), nil
}

// hex4 decodes four hex digits at raw[i:], or returns -1.
func hex4(raw []byte, i int) rune {
	if i+4 > len(raw) {
		return -1
	}
	var r rune
	for _, c := range raw[i : i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return -1
		}
	}
	return r
}
