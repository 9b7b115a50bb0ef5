package lists_test

import (
	"errors"
	"testing"

	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/schema"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		in       string
		kind     lists.Kind
		value    string
		port     int
		fragment bool
	}{
		{"192.0.2.1", lists.KindIPv4, "192.0.2.1", 0, false},
		{" 192.0.2.1 ", lists.KindIPv4, "192.0.2.1", 0, false},
		{"192[.]0[.]2[.]1", lists.KindIPv4, "192.0.2.1", 0, false},
		{"192.0.2.0/24", lists.KindIPv4Net, "192.0.2.0/24", 0, false},
		{"192.0.2.1/32", lists.KindIPv4, "192.0.2.1", 0, false},
		{"2001:DB8::1", lists.KindIPv6, "2001:db8::1", 0, false},
		{"2001:db8:0:0::/64", lists.KindIPv6Net, "2001:db8::/64", 0, false},
		{"::ffff:192.0.2.1", lists.KindIPv4, "192.0.2.1", 0, false},
		{"192.0.2.1:8080", lists.KindIPv4, "192.0.2.1", 8080, false},
		{"[2001:db8::1]:443", lists.KindIPv6, "2001:db8::1", 443, false},
		{"Example.COM.", lists.KindDomain, "example.com", 0, false},
		{"example[.]com", lists.KindDomain, "example.com", 0, false},
		{"example(.)com", lists.KindDomain, "example.com", 0, false},
		{"example{.}com", lists.KindDomain, "example.com", 0, false},
		{"example[dot]com", lists.KindDomain, "example.com", 0, false},
		{"example[DOT]com", lists.KindDomain, "example.com", 0, false},
		{"c2.example.com:1177", lists.KindDomain, "c2.example.com", 1177, false},
		{"bücher.example", lists.KindDomain, "xn--bcher-kva.example", 0, false},
		{"under_score.example.com", lists.KindDomain, "under_score.example.com", 0, false},
		{"hxxp://example[.]com/a", lists.KindURL, "http://example.com/a", 0, false},
		{"hXXps[:]//example[.]com", lists.KindURL, "https://example.com/", 0, false},
		{"hxxps[://]example.com/x", lists.KindURL, "https://example.com/x", 0, false},
		{"fxp://files.example.com/x", lists.KindURL, "ftp://files.example.com/x", 0, false},
		{"HTTP://Example.com:80/A?b=1#c", lists.KindURL, "http://example.com/A?b=1#c", 0, false},
		{"example.com/path/x.php", lists.KindURL, "http://example.com/path/x.php", 0, true},
		{"192.0.2.1:8080/gate.php", lists.KindURL, "http://192.0.2.1:8080/gate.php", 0, true},
		{"192.0.2.1/index.html", lists.KindURL, "http://192.0.2.1/index.html", 0, true},
		{"User@Example.com", lists.KindEmail, "user@example.com", 0, false},
		{"user[@]example[.]com", lists.KindEmail, "user@example.com", 0, false},
		{"user[at]example[.]com", lists.KindEmail, "user@example.com", 0, false},
		{"D41D8CD98F00B204E9800998ECF8427E", lists.KindMD5, "d41d8cd98f00b204e9800998ecf8427e", 0, false},
		{"da39a3ee5e6b4b0d3255bfef95601890afd80709", lists.KindSHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", 0, false},
		{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", lists.KindSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0, false},
		{"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e", lists.KindSHA512, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := lists.Classify(tt.in)
			if err != nil {
				t.Fatalf("Classify(%q): %v", tt.in, err)
			}
			if v.Kind != tt.kind || v.Value != tt.value || v.Port != tt.port || v.Fragment != tt.fragment {
				t.Errorf("Classify(%q) = %+v, want kind %s value %q port %d fragment %v", tt.in, v, tt.kind, tt.value, tt.port, tt.fragment)
			}
			// The canonical value classifies to itself.
			again, err := lists.Classify(v.String())
			if err != nil || again.Value != v.Value || again.Kind != v.Kind {
				t.Errorf("Classify(%q) again = %+v, %v", v.String(), again, err)
			}
		})
	}
}

func TestClassifyRefuses(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"", lists.ErrEmptyValue},
		{"   ", lists.ErrEmptyValue},
		{"localhost", lists.ErrUnknownType},
		{"not a value", lists.ErrUnknownType},
		{"0.0.0.0 example.com", lists.ErrUnknownType},
		{"1.2.3", lists.ErrUnknownType},
		{"999.1.1.1", lists.ErrUnknownType},
		{"/just/a/path", lists.ErrUnknownType},
		{"d41d8cd98f00b204e9800998ecf8427", lists.ErrUnknownType}, // 31 hex digits
		{"exa mple.com", lists.ErrUnknownType},
		{"example..com", schema.ErrInvalidValue},
		{"-", lists.ErrUnknownType},
		{"http://", lists.ErrUnknownType},
		{"A:://", lists.ErrUnknownType},
		{"http:///path", lists.ErrUnknownType},
		{"http://exa mple.com/", lists.ErrUnknownType},
		{"user@", schema.ErrInvalidValue},
		{"a\xffb.com", lists.ErrInvalidUTF8},
		{string(make([]byte, lists.MaxValueBytes+1)), lists.ErrValueTooLong},
		{"192.0.2.1:99999", schema.ErrInvalidValue},
		{"192.0.2.1/33", lists.ErrUnknownType},
	}
	for _, tt := range tests {
		v, err := lists.Classify(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("Classify(%.40q) = %+v, %v; want error %v", tt.in, v, err, tt.want)
		}
	}
}

func TestClassifyAs(t *testing.T) {
	tests := []struct {
		typ, in string
		kind    lists.Kind
		value   string
		err     error
	}{
		{"ip-dst", "192.0.2.1", lists.KindIPv4, "192.0.2.1", nil},
		{"IP", "2001:db8::1", lists.KindIPv6, "2001:db8::1", nil},
		{"ip", "192.0.2.0/24", lists.KindIPv4Net, "192.0.2.0/24", nil},
		{"ipv4", "2001:db8::1", 0, "", lists.ErrTypeMismatch},
		{"ipv4-addr", "192.0.2.0/24", lists.KindIPv4Net, "192.0.2.0/24", nil},
		{"domain", "192.0.2.1", 0, "", lists.ErrTypeMismatch},
		{"hostname", "Example.com", lists.KindDomain, "example.com", nil},
		{"url", "example.com", lists.KindURL, "http://example.com/", nil},
		{"url", "https://example.com/x", lists.KindURL, "https://example.com/x", nil},
		{"md5", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0, "", lists.ErrTypeMismatch},
		{"hash", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", lists.KindSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", nil},
		{"SHA-256", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", lists.KindSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", nil},
		{"email-src", "a@example.com", lists.KindEmail, "a@example.com", nil},
		{"mutex", "x", 0, "", lists.ErrUnknownType},
	}
	for _, tt := range tests {
		v, err := lists.ClassifyAs(tt.typ, tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ClassifyAs(%q, %q) = %+v, %v; want %v", tt.typ, tt.in, v, err, tt.err)
			}
			continue
		}
		if err != nil || v.Kind != tt.kind || v.Value != tt.value {
			t.Errorf("ClassifyAs(%q, %q) = %+v, %v; want %s %q", tt.typ, tt.in, v, err, tt.kind, tt.value)
		}
	}
}

func TestParseKindRoundTrip(t *testing.T) {
	for k := lists.KindIPv4; k <= lists.KindSHA512; k++ {
		got, err := lists.ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %s, %v", k.String(), got, err)
		}
	}
}

func TestRefang(t *testing.T) {
	tests := map[string]string{
		"hxxp://example[.]com":         "http://example.com",
		"HXXPS://example[.]com":        "https://example.com",
		"hxxp[:]//a(.)b{.}c[dot]d":     "http://a.b.c.d",
		"user[at]example(dot)com":      "user@example.com",
		"user(@)example[.]com":         "user@example.com",
		"a[/]b":                        "a/b",
		"[2001:db8::1]:443":            "[2001:db8::1]:443",
		"example.com/[x]":              "example.com/[x]",
		"[.":                           "[.",
		"fxp://f[.]example":            "ftp://f.example",
		"plain.example.com":            "plain.example.com",
		"1.2.3[.]4 and (.)":            "1.2.3.4 and .",
		"hxxp://x[.]y[.]z/p?q=[.]":     "http://x.y.z/p?q=.",
		"hxxps[:]//example{dot}com[/]": "https://example.com/",
	}
	for in, want := range tests {
		if got := lists.Refang(in); got != want {
			t.Errorf("Refang(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPattern(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"example.com", "[domain-name:value = 'example.com']"},
		{"192.0.2.1", "[ipv4-addr:value = '192.0.2.1']"},
		{"192.0.2.0/24", "[ipv4-addr:value ISSUBSET '192.0.2.0/24']"},
		{"2001:db8::/32", "[ipv6-addr:value ISSUBSET '2001:db8::/32']"},
		{"https://example.com/it's", `[url:value = 'https://example.com/it\'s']`},
		{"example.com/x", "[url:value = 'http://example.com/x' OR url:value = 'https://example.com/x']"},
		{"a@example.com", "[email-addr:value = 'a@example.com']"},
		{"d41d8cd98f00b204e9800998ecf8427e", "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']"},
		{"da39a3ee5e6b4b0d3255bfef95601890afd80709", "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']"},
		{"192.0.2.1:8080", "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '192.0.2.1' AND network-traffic:dst_port = 8080]"},
	}
	for _, tt := range tests {
		v, err := lists.Classify(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := lists.Pattern(v); got != tt.want {
			t.Errorf("Pattern(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got, want := lists.PathPattern("/a.php?x='1'"), `[url:value MATCHES '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]+/a\\.php\\?x=\'1\'']`; got != want {
		t.Errorf("PathPattern = %s, want %s", got, want)
	}
}

func TestDeterministicID(t *testing.T) {
	a := lists.DeterministicID("grouping", "src", "file.txt")
	if a != lists.DeterministicID("grouping", "src", "file.txt") {
		t.Fatal("not deterministic")
	}
	if a == lists.DeterministicID("grouping", "srcfile.txt") || a == lists.DeterministicID("grouping", "src", "file.txt", "") {
		t.Error("parts are not separated")
	}
	if !schema.IsIdentifier(a) {
		t.Errorf("%s is not a STIX identifier", a)
	}
}
