package schema

import (
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

type canonCase struct {
	in, want string // want "" means an error is expected
	errHas   string // a substring the error must contain
}

func runCanon(t *testing.T, fn func(string) (string, error), cases []canonCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := fn(c.in)
			if c.want == "" {
				if err == nil {
					t.Fatalf("got %q, want an error", got)
				}
				if !errors.Is(err, ErrInvalidValue) {
					t.Errorf("error %v does not wrap ErrInvalidValue", err)
				}
				if c.errHas != "" && !strings.Contains(err.Error(), c.errHas) {
					t.Errorf("error %q does not mention %q", err, c.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			again, err := fn(got)
			if err != nil || again != got {
				t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
			}
		})
	}
}

func TestCanonicalDomain(t *testing.T) {
	runCanon(t, CanonicalDomain, []canonCase{
		{"EXAMPLE.com.", "example.com", ""},
		{"  www.Example.ORG ", "www.example.org", ""},
		{"Bücher.example", "xn--bcher-kva.example", ""},
		{"XN--BCHER-KVA.example", "xn--bcher-kva.example", ""},
		{"ｅｘａｍｐｌｅ．ｃｏｍ", "example.com", ""},
		{"a.b。", "a.b", ""},
		{"_dmarc.example.com", "_dmarc.example.com", ""},
		{"configolders4_config4.vivaldar.ru", "configolders4_config4.vivaldar.ru", ""},
		{"xn--_-7sbnylvv.restored.domasq.ru", "xn--_-7sbnylvv.restored.domasq.ru", ""},
		{"express--vpn.com", "express--vpn.com", ""},
		{"a..b", "", `empty label in "a..b"`},
		{".example.com", "", "empty label"},
		{"example.com..", "", "empty label"},
		{"a.xn--", "", "empty punycode label"},
		{"XN--.example", "", "empty punycode label"},
		{"", "", "empty name"},
		{".", "", "empty name"},
		{"1.2.3.4", "", "numeric"},
		{"example.123", "", "numeric"},
		{"a b.com", "", "not allowed"},
		{"*.example.com", "", "not allowed"},
		{"xn--a.com", "", "idna"},
		{strings.Repeat("a", 64) + ".com", "", "63"},
		{strings.Repeat("abcdefghi.", 26) + "com", "", "253"},
	})
}

func TestCanonicalIP(t *testing.T) {
	runCanon(t, CanonicalIP, []canonCase{
		{"198.51.100.3", "198.51.100.3", ""},
		{" 10.0.0.0/8 ", "10.0.0.0/8", ""},
		{"10.1.2.3/08", "10.1.2.3/8", ""},
		{"10.1.2.3/0", "10.1.2.3/0", ""},
		{"1.2.3.4/32", "1.2.3.4", ""},
		{"2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1", ""},
		{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", ""},
		{"2001:db8::1/128", "2001:db8::1", ""},
		{"2001:0db8::/96", "2001:db8::/96", ""},
		{"::ffff:192.0.2.1", "192.0.2.1", ""},
		{"::FFFF:c000:0201", "192.0.2.1", ""},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8", ""},
		{"::ffff:0.0.0.0/95", "::ffff:0.0.0.0/95", ""},
		{"::", "::", ""},
		{"fe80::1%eth0", "", "zone"},
		{"010.1.1.1", "", "not an IP"},
		{"1.2.3", "", "not an IP"},
		{"1.2.3.4/33", "", "too long"},
		{"1.2.3.4/", "", "prefix length"},
		{"1.2.3.4/-1", "", "prefix length"},
		{"1.2.3.4/8/8", "", "prefix length"},
		{"2001:db8::/129", "", "too long"},
		{"", "", "empty"},
		{"example.com", "", "not an IP"},
	})
}

func TestCanonicalURL(t *testing.T) {
	runCanon(t, CanonicalURL, []canonCase{
		{"HTTP://Example.COM", "http://example.com/", ""},
		{"http://example.com", "http://example.com/", ""},
		{"http://example.com?x=1", "http://example.com/?x=1", ""},
		{"http://example.com#top", "http://example.com/#top", ""},
		{"https://example.com:443/a%2fb?q=%7e#Frag%3a", "https://example.com/a%2Fb?q=%7E#Frag%3A", ""},
		{"http://example.com:80/", "http://example.com/", ""},
		{"http://example.com:/", "http://example.com/", ""},
		{"http://example.com:0080/", "http://example.com/", ""},
		{"http://example.com:8080/", "http://example.com:8080/", ""},
		{"https://example.com:80/", "https://example.com:80/", ""},
		{"http://User:Pw@EXAMPLE.com:8080/X/Y", "http://User:Pw@example.com:8080/X/Y", ""},
		{"http://[2001:DB8::1]:80/", "http://[2001:db8::1]/", ""},
		{"http://[::ffff:1.2.3.4]/", "http://1.2.3.4/", ""},
		{"http://84.38.133.149/img/icon.gif", "http://84.38.133.149/img/icon.gif", ""},
		{"http://ex%41mple.com/", "http://example.com/", ""},
		{"http://Bücher.example/ä?ö", "http://xn--bcher-kva.example/ä?ö", ""},
		{"http://example.com/%zz%4", "http://example.com/%zz%4", ""},
		{"file:///etc/passwd", "file:///etc/passwd", ""},
		{"mailto:Joe@Example.com", "mailto:Joe@Example.com", ""},
		{"urn:isbn:0451450523", "urn:isbn:0451450523", ""},
		{"example.com/x", "", "scheme"},
		{"example.com:8080/x", "", "scheme"},
		{"//example.com/x", "", "scheme"},
		{"http:example.com", "", "without //host"},
		{"http:///x", "", "empty host"},
		{"http://a.com:99999/", "", "out of range"},
		{"http://a.com:8x/", "", "bad port"},
		{"http://1.2.3.999/", "", "not an IP"},
		{"http://::1/", "", "brackets"},
		{"http://[::1/", "", "unclosed"},
		{"http://a.com/a b", "", "whitespace"},
		{"hxxp://a[.]com/", "", "not allowed"},
		{"", "", "empty"},
	})
}

func TestCanonicalEmail(t *testing.T) {
	runCanon(t, CanonicalEmail, []canonCase{
		{"John.Doe@Example.COM", "john.doe@example.com", ""},
		{" jane@example.com. ", "jane@example.com", ""},
		{"a@Bücher.example", "a@xn--bcher-kva.example", ""},
		{"a@[192.0.2.1]", "a@[192.0.2.1]", ""},
		{"a@[IPv6:2001:DB8::1]", "a@[IPv6:2001:db8::1]", ""},
		{`"A B"@example.com`, `"a b"@example.com`, ""},
		{`"a@b"@example.com`, `"a@b"@example.com`, ""},
		{"John <j@x.com>", "", "not allowed"},
		{"@x.com", "", "empty local part"},
		{"x@", "", "empty name"},
		{"no-at-sign", "", "no @"},
		{"a@b@c.com", "", "not allowed"},
		{"a@[1.2.3.0/24]", "", "prefix"},
		{strings.Repeat("a", 65) + "@x.com", "", "64"},
	})
}

func TestCanonicalMAC(t *testing.T) {
	runCanon(t, CanonicalMAC, []canonCase{
		{"D2:FB:49:24:37:18", "d2:fb:49:24:37:18", ""},
		{"d2-fb-49-24-37-18", "d2:fb:49:24:37:18", ""},
		{"d2fb.4924.3718", "d2:fb:49:24:37:18", ""},
		{"d2fb49243718", "d2:fb:49:24:37:18", ""},
		{"0:0:ab:cd:ef:1", "00:00:ab:cd:ef:01", ""},
		{"d2:fb:49:24:37", "", "6 octets"},
		{"d2:fb:49:24:37:18:00:01", "", "6 octets"},
		{"zz:fb:49:24:37:18", "", "bad octet"},
		{"d2:fb:49:24:37:188", "", "bad octet"},
		{"", "", "not a MAC"},
	})
}

func TestCanonicalHash(t *testing.T) {
	const md5 = "d41d8cd98f00b204e9800998ecf8427e"
	const sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	tlsh := "T1" + strings.Repeat("A0", 35)
	cases := []struct {
		algo, value         string
		wantAlgo, wantValue string
		errHas              string
	}{
		{"md5", strings.ToUpper(md5), "MD5", md5, ""},
		{"MD5", md5, "MD5", md5, ""},
		{"sha256", sha256, "SHA-256", sha256, ""},
		{"SHA_256", " " + sha256 + " ", "SHA-256", sha256, ""},
		{"sha-1", "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", "SHA-1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", ""},
		{"sha3-256", sha256, "SHA3-256", sha256, ""},
		{"SHA512", strings.Repeat("ab", 64), "SHA-512", strings.Repeat("ab", 64), ""},
		{"ssdeep", "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C", "SSDEEP", "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C", ""},
		{"tlsh", strings.ToLower(tlsh), "TLSH", tlsh, ""},
		{"TLSH", strings.Repeat("a0", 35), "TLSH", strings.Repeat("A0", 35), ""},
		{"x_foo_hash", " AbC ", "x_foo_hash", "AbC", ""},
		{"sha256", "abc", "", "", "3 hex digits, want 64"},
		{"md5", strings.Repeat("g", 32), "", "", "not hex"},
		{"ssdeep", "3:abc", "", "", "blocksize"},
		{"ssdeep", "3:a b:c", "", "", "base64"},
		{"tlsh", "T1ABC", "", "", "70 hex"},
		{"", md5, "", "", "algorithm"},
		{"md5", "  ", "", "", "empty"},
	}
	for _, c := range cases {
		t.Run(c.algo+"/"+c.value, func(t *testing.T) {
			a, v, err := CanonicalHash(c.algo, c.value)
			if c.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), c.errHas) || !errors.Is(err, ErrInvalidValue) {
					t.Fatalf("got %q %q %v, want an error mentioning %q", a, v, err, c.errHas)
				}
				return
			}
			if err != nil || a != c.wantAlgo || v != c.wantValue {
				t.Fatalf("got %q %q %v, want %q %q", a, v, err, c.wantAlgo, c.wantValue)
			}
		})
	}
}

func TestRefang(t *testing.T) {
	cases := map[string]string{
		"hxxp://84.38.133[.]149/img/icon.gif": "http://84.38.133.149/img/icon.gif",
		"hxxps://ptpb[.]pw/OAZG":              "https://ptpb.pw/OAZG",
		"HXXPS[:]//evil(.)com":                "https://evil.com",
		"user[@]example[dot]com":              "user@example.com",
		"example.com":                         "example.com",
		"http://example.com/x[y]":             "http://example.com/x[y]",
	}
	for in, want := range cases {
		if got := Refang(in); got != want {
			t.Errorf("Refang(%q) = %q, want %q", in, got, want)
		}
	}
}

// The fuzz targets check, for any input, that the canonicaliser does not
// panic, that its output is a fixed point, and that the output is valid for
// its kind by an independent check.

func seedStrings(f *testing.F, ss ...string) {
	for _, s := range ss {
		f.Add(s)
	}
}

func FuzzCanonicalDomain(f *testing.F) {
	seedStrings(f, "EXAMPLE.com.", "Bücher.example", "xn--bcher-kva.example", "a..b", "_x.y", "ｅｘａｍｐｌｅ．ｃｏｍ",
		"a.b。", "xn--a.com", "1.2.3.4", "ÄÖÜ.de", "ß.de", "faß.de", "\u200d.com", "a\u0300.com", "xn--ss-4ia.de")
	f.Fuzz(func(t *testing.T, s string) {
		out, err := CanonicalDomain(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("error %v does not wrap ErrInvalidValue", err)
			}
			return
		}
		if !isASCII(out) || out != strings.ToLower(out) || strings.HasSuffix(out, ".") {
			t.Fatalf("%q -> %q: not lower-case ASCII without trailing dot", s, out)
		}
		if err := checkDomainASCII(out); err != nil {
			t.Fatalf("%q -> %q: %v", s, out, err)
		}
		again, err := CanonicalDomain(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, out, again, err)
		}
	})
}

func FuzzCanonicalIP(f *testing.F) {
	seedStrings(f, "198.51.100.3", "10.1.2.3/08", "::ffff:1.2.3.4", "::ffff:10.0.0.0/104", "2001:0DB8::0001",
		"fe80::1%eth0", "1.2.3.4/32", "::/0", "::ffff:0.0.0.0/95", "1:2:3:4:5:6:7:8")
	f.Fuzz(func(t *testing.T, s string) {
		out, err := CanonicalIP(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("error %v does not wrap ErrInvalidValue", err)
			}
			return
		}
		if strings.Contains(out, "/") {
			p, err := netip.ParsePrefix(out)
			if err != nil || p.Bits() >= p.Addr().BitLen() || p.Addr().Zone() != "" {
				t.Fatalf("%q -> %q: not a proper CIDR block (%v)", s, out, err)
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				t.Fatalf("%q -> %q: mapped block left as IPv6", s, out)
			}
		} else {
			a, err := netip.ParseAddr(out)
			if err != nil || a.Is4In6() || a.Zone() != "" || a.String() != out {
				t.Fatalf("%q -> %q: not a canonical address (%v)", s, out, err)
			}
		}
		again, err := CanonicalIP(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, out, again, err)
		}
	})
}

var urlShape = regexp.MustCompile(`^[a-z][a-z0-9+-]*:`)

func FuzzCanonicalURL(f *testing.F) {
	seedStrings(f, "HTTP://Example.COM", "https://example.com:443/a%2fb?q=%7e#Frag", "http://u:p@[2001:DB8::1]:80/",
		"http://[::ffff:1.2.3.4]/", "file:///etc/passwd", "mailto:Joe@Example.com", "http://ex%41mple.com/",
		"http://Bücher.example/ä", "http://a@b@c.com:8080", "ftp://1.2.3.4:21", "ws://x.y:/?#")
	f.Fuzz(func(t *testing.T, s string) {
		out, err := CanonicalURL(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("error %v does not wrap ErrInvalidValue", err)
			}
			return
		}
		if !urlShape.MatchString(out) || strings.ContainsFunc(out, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			t.Fatalf("%q -> %q: bad scheme or whitespace", s, out)
		}
		if rest, ok := strings.CutPrefix(out[strings.IndexByte(out, ':')+1:], "//"); ok {
			end := strings.IndexAny(rest, "/?#")
			if end < 0 {
				t.Fatalf("%q -> %q: authority without path", s, out)
			}
			auth := rest[:end]
			auth = auth[strings.LastIndexByte(auth, '@')+1:]
			host, _, err := splitHostPort(auth)
			if err != nil {
				t.Fatalf("%q -> %q: %v", s, out, err)
			}
			if host != "" {
				h, err := canonicalURLHost(host)
				if err != nil || h != host {
					t.Fatalf("%q -> %q: host %q not canonical (%q, %v)", s, out, host, h, err)
				}
			}
		}
		again, err := CanonicalURL(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, out, again, err)
		}
	})
}

func FuzzCanonicalEmail(f *testing.F) {
	seedStrings(f, "John.Doe@Example.COM", "a@[192.0.2.1]", "a@[IPv6:2001:DB8::1]", `"A B"@example.com`,
		"a@Bücher.example", "İ@x.com", "a@b@c.com", "\xff@x.com")
	f.Fuzz(func(t *testing.T, s string) {
		out, err := CanonicalEmail(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("error %v does not wrap ErrInvalidValue", err)
			}
			return
		}
		at := strings.LastIndexByte(out, '@')
		if at <= 0 || !utf8.ValidString(out) {
			t.Fatalf("%q -> %q: no local part or not UTF-8", s, out)
		}
		local, dom := out[:at], out[at+1:]
		if strings.ToLower(local) != local {
			t.Fatalf("%q -> %q: local part not lower case", s, out)
		}
		if !strings.HasPrefix(dom, "[") {
			if d, err := CanonicalDomain(dom); err != nil || d != dom {
				t.Fatalf("%q -> %q: domain not canonical (%q, %v)", s, out, d, err)
			}
		}
		again, err := CanonicalEmail(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, out, again, err)
		}
	})
}

func FuzzCanonicalHash(f *testing.F) {
	f.Add("md5", "D41D8CD98F00B204E9800998ECF8427E")
	f.Add("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	f.Add("ssdeep", "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C")
	f.Add("tlsh", "t1"+strings.Repeat("a0", 35))
	f.Add("x_custom", " value ")
	f.Fuzz(func(t *testing.T, algo, value string) {
		a, v, err := CanonicalHash(algo, value)
		if err != nil {
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("error %v does not wrap ErrInvalidValue", err)
			}
			return
		}
		if ha, known := hashAlgos[squeezeAlgo(a)]; known {
			if ha.name != a {
				t.Fatalf("%q -> %q: not the vocabulary spelling %q", algo, a, ha.name)
			}
			if ha.hexLen != 0 && (len(v) != ha.hexLen || !allHex(v) || strings.ToLower(v) != v) {
				t.Fatalf("%s %q -> %q: not %d lower-case hex digits", a, value, v, ha.hexLen)
			}
		}
		a2, v2, err := CanonicalHash(a, v)
		if err != nil || a2 != a || v2 != v {
			t.Fatalf("not idempotent: (%q, %q) -> (%q, %q) -> (%q, %q), %v", algo, value, a, v, a2, v2, err)
		}
	})
}

var macShape = regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5}$`)

func FuzzCanonicalMAC(f *testing.F) {
	seedStrings(f, "D2:FB:49:24:37:18", "d2-fb-49-24-37-18", "d2fb.4924.3718", "d2fb49243718", "0:0:ab:cd:ef:1", "::::::")
	f.Fuzz(func(t *testing.T, s string) {
		out, err := CanonicalMAC(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("error %v does not wrap ErrInvalidValue", err)
			}
			return
		}
		if !macShape.MatchString(out) {
			t.Fatalf("%q -> %q: not a MAC-48 in STIX form", s, out)
		}
		again, err := CanonicalMAC(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, out, again, err)
		}
	})
}
