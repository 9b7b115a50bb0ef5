package schema

import (
	"encoding/json"
	"slices"
	"testing"
)

// FuzzPlainJSONStrings checks the fast paths of Object.String and
// Object.Strings against encoding/json: whatever they accept must decode to
// what json.Unmarshal gives.
func FuzzPlainJSONStrings(f *testing.F) {
	for _, s := range []string{`"a"`, `""`, `"a\"b"`, `"é"`, "\"\xff\"", "\"a\tb\"", `[]`, `[""]`, `["a","b"]`, `["a",""]`, `["a", "b"]`, `["a",1]`, `["a""b"]`, `["a\\","b"]`, `[","]`, `["a","b",1,"c"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if got, ok := plainJSONString(raw); ok {
			var want string
			if err := json.Unmarshal(raw, &want); err != nil || got != want {
				t.Errorf("plainJSONString(%q) = %q, json gives %q, %v", raw, got, want, err)
			}
		}
		if got, ok := plainJSONStrings(raw); ok {
			var want []string
			if err := json.Unmarshal(raw, &want); err != nil || !slices.Equal(got, want) || (got == nil) != (want == nil) {
				t.Errorf("plainJSONStrings(%q) = %q, json gives %q, %v", raw, got, want, err)
			}
		}
	})
}

// TestPlainJSONStrings checks that the common forms take the fast paths.
func TestPlainJSONStrings(t *testing.T) {
	if s, ok := plainJSONString([]byte(`"Emotet loader"`)); !ok || s != "Emotet loader" {
		t.Errorf("plain string: %q, %v", s, ok)
	}
	if ss, ok := plainJSONStrings([]byte(`["a","b c",""]`)); !ok || !slices.Equal(ss, []string{"a", "b c", ""}) {
		t.Errorf("plain list: %q, %v", ss, ok)
	}
	for _, s := range []string{`"a\nb"`, `"a\"b"`, "\"\xff\""} {
		if _, ok := plainJSONString([]byte(s)); ok {
			t.Errorf("plainJSONString(%q) took the fast path", s)
		}
	}
}

// FuzzSplitObject checks ParseObject's splitting of an object into members
// against json.Unmarshal into a map of raw messages.
func FuzzSplitObject(f *testing.F) {
	for _, s := range []string{`{}`, ` { } `, `{"a":1}`, `{"a" : "x" , "b":[1,{"c":"]"}],"a":true}`, `{"a\"b":"\\","é":null}`, "{\"\xff\":1}", `{"a":{"b":{}}, "c":-1.5e3}`, `[]`, `null`, `{"a":1`, `{"a":"x"}x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := splitObject(raw)
		var want map[string]json.RawMessage
		err := json.Unmarshal(raw, &want)
		if !ok {
			if err == nil && want != nil {
				t.Errorf("splitObject(%q) refused an object json decodes", raw)
			}
			return
		}
		if err != nil || len(got) != len(want) {
			t.Fatalf("splitObject(%q) = %q, json gives %q, %v", raw, got, want, err)
		}
		for k, v := range want {
			if string(got[k]) != string(v) {
				t.Errorf("splitObject(%q)[%q] = %q, json gives %q", raw, k, got[k], v)
			}
		}
	})
}

// FuzzMarshalPropertyNames checks that MarshalJSON writes every property
// name exactly as encoding/json does (sorted, HTML characters escaped), so
// that the fast path for plain names changes no stored byte.
func FuzzMarshalPropertyNames(f *testing.F) {
	for _, name := range []string{
		"name", "x_mitre_version", "a<b", "a>b", "a&b", `quo"te`, `back\slash`,
		"tab\there", "nul\x00", "ümlaut", "line\u2028sep", "\x7f", "~", "",
		"bad\xffutf8",
	} {
		f.Add(name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		o := &Object{Props: map[string]json.RawMessage{
			name:   json.RawMessage(`1`),
			"type": json.RawMessage(`"indicator"`),
		}}
		got, err := o.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		want, err := json.Marshal(o.Props)
		if err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		if string(got) != string(want) {
			t.Fatalf("name %q: got %s, want %s", name, got, want)
		}
	})
}
