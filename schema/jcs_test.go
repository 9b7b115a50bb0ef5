package schema

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// TestESNumberRFC8785 checks number formatting against the IEEE 754 test
// values of RFC 8785 appendix B.
func TestESNumberRFC8785(t *testing.T) {
	cases := []struct {
		bits uint64
		want string
	}{
		{0x0000000000000000, "0"},
		{0x8000000000000000, "0"},
		{0x0000000000000001, "5e-324"},
		{0x8000000000000001, "-5e-324"},
		{0x7fefffffffffffff, "1.7976931348623157e+308"},
		{0xffefffffffffffff, "-1.7976931348623157e+308"},
		{0x4340000000000000, "9007199254740992"},
		{0xc340000000000000, "-9007199254740992"},
		{0x4430000000000000, "295147905179352830000"},
		{0x44b52d02c7e14af5, "9.999999999999997e+22"},
		{0x44b52d02c7e14af6, "1e+23"},
		{0x44b52d02c7e14af7, "1.0000000000000001e+23"},
		{0x444b1ae4d6e2ef4e, "999999999999999700000"},
		{0x444b1ae4d6e2ef4f, "999999999999999900000"},
		{0x444b1ae4d6e2ef50, "1e+21"},
		{0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
		{0x3eb0c6f7a0b5ed8d, "0.000001"},
		{0x41b3de4355555553, "333333333.3333332"},
		{0x41b3de4355555554, "333333333.33333325"},
		{0x41b3de4355555555, "333333333.3333333"},
		{0x41b3de4355555556, "333333333.3333334"},
		{0x41b3de4355555557, "333333333.33333343"},
		{0xbecbf647612f3696, "-0.0000033333333333333333"},
		{0x43143ff3c1cb0959, "1424953923781206.2"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			got, err := appendESNumber(nil, math.Float64frombits(c.bits))
			if err != nil || string(got) != c.want {
				t.Fatalf("%#016x: got %q, %v; want %q", c.bits, got, err, c.want)
			}
		})
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := appendESNumber(nil, f); err == nil {
			t.Errorf("%v: want an error", f)
		}
	}
}

func TestCanonicalJSON(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{
			// RFC 8785 section 3.2.3.
			"rfc8785 example",
			`{
			  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
			  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
			  "literals": [null, true, false]
			}`,
			`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
		},
		{
			// RFC 8785 section 3.2.3: sorting by UTF-16 code units puts the
			// surrogate pair of U+1F600 before U+FB33.
			"rfc8785 sorting",
			`{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}`,
			"{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\",\"\U0001F600\":\"Emoji: Grinning Face\",\"\uFB33\":\"Hebrew Letter Dalet With Dagesh\"}",
		},
		{"nested", `{"b":[{"d":1,"c":2}],"a":{"z":"\t","y":"\u001f"}}`, `{"a":{"y":"\u001f","z":"\t"},"b":[{"c":2,"d":1}]}`},
		{"integers", `[0, -0, 1.0, 100, 1e2, 4096, 68000, -15139]`, `[0,0,1,100,100,4096,68000,-15139]`},
		{"plain string", `"plain"`, `"plain"`},
		{"line separators stay literal", `"\u2028\u2029/"`, "\"\u2028\u2029/\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := CanonicalJSON([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
		})
	}
	for _, bad := range []string{`1e400`, `{"a":1}x`, `{"a":`, ``, `[1,]`} {
		if out, err := CanonicalJSON([]byte(bad)); err == nil {
			t.Errorf("%q: got %s, want an error", bad, out)
		}
	}
}

func TestCompareUTF16(t *testing.T) {
	// In UTF-8 byte order U+FB33 sorts before U+1F600; in UTF-16 after.
	if compareUTF16("\U0001F600", "\uFB33") >= 0 {
		t.Error("surrogate pair must sort before U+FB33")
	}
	if compareUTF16("a", "ab") >= 0 || compareUTF16("ab", "a") <= 0 || compareUTF16("x", "x") != 0 {
		t.Error("prefix ordering is wrong")
	}
}

// FuzzCanonicalJSON checks that canonical JSON is a fixed point, is valid
// JSON, and means the same as its input.
func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1.5,"x",null,true]}`, `1e30`, `"\u0000\ud83d\ude00"`, `{"\ufb33":1,"\ud83d\ude00":2}`, `[0.1,-0,5e-324]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := CanonicalJSON(in)
		if err != nil {
			return
		}
		again, err := CanonicalJSON(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not a fixed point: %s -> %s -> %s (%v)", in, out, again, err)
		}
		var a, b any
		if json.Unmarshal(in, &a) != nil || json.Unmarshal(out, &b) != nil {
			t.Fatalf("%s -> %s: output is not JSON", in, out)
		}
		if !jsonEqual(a, b) {
			t.Fatalf("meaning changed: %s -> %s", in, out)
		}
	})
}

// jsonEqual compares decoded JSON values, numbers by value (so -0 == 0).
func jsonEqual(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			if w, ok := bm[k]; !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return false
		}
		for i := range a {
			if !jsonEqual(a[i], bs[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

func TestAppendJSONStrings(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{{nil, `[]`}, {[]string{"a"}, `["a"]`}, {[]string{"a", "\"b\n", "ü"}, `["a","\"b\n","ü"]`}} {
		if got := string(AppendJSONStrings([]byte("x"), c.in)); got != "x"+c.want {
			t.Errorf("AppendJSONStrings(%q) = %s, want x%s", c.in, got, c.want)
		}
	}
}
