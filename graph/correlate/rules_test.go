package correlate

import (
	"net/netip"
	"slices"
	"testing"
)

func TestURLHost(t *testing.T) {
	for _, c := range []struct{ in, kind, host string }{
		{"http://evil.example.com/a/b?c", "domain-name", "evil.example.com"},
		{"https://EVIL.example.com:8443/", "domain-name", "evil.example.com"},
		{"http://198.51.100.7/gate.php", "ipv4-addr", "198.51.100.7"},
		{"http://[2001:db8::1]:8080/x", "ipv6-addr", "2001:db8::1"},
		{"http://user:pw@host.example/", "domain-name", "host.example"},
	} {
		kind, host, ok := URLHost(c.in)
		if !ok || kind != c.kind || host != c.host {
			t.Errorf("URLHost(%q) = %q, %q, %v; want %q, %q", c.in, kind, host, ok, c.kind, c.host)
		}
	}
	for _, in := range []string{"mailto:a@b.example", "/relative/path", "http://"} {
		if _, _, ok := URLHost(in); ok {
			t.Errorf("URLHost(%q) found a host", in)
		}
	}
}

func TestEmailDomain(t *testing.T) {
	if d, ok := EmailDomain("Alice.Smith@Mail.Evil.Example"); !ok || d != "mail.evil.example" {
		t.Errorf("EmailDomain = %q, %v", d, ok)
	}
	for _, in := range []string{"no-at-sign", "trailing@", "x@[192.0.2.1]"} {
		if d, ok := EmailDomain(in); ok {
			t.Errorf("EmailDomain(%q) = %q", in, d)
		}
	}
}

func TestRegisteredDomain(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"www.example.com", "example.com", true},
		{"a.b.c.example.co.uk", "example.co.uk", true},
		{"example.com", "", false},          // already registered
		{"co.uk", "", false},                // a public suffix
		{"someone.blogspot.com", "", false}, // blogspot.com is a (private) suffix
		{"cdn.someone.blogspot.com", "someone.blogspot.com", true},
	} {
		got, ok := RegisteredDomain(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("RegisteredDomain(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestRegisteredDomainUnderSharedParents(t *testing.T) {
	shared := func(d string) bool { return d == "linkpc.net" || d == "dyn.example.org" }
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"c2.linkpc.net", "", false},               // a customer's name is registered itself
		{"linkpc.net", "", false},                  // so is the parent, like a suffix
		{"a.c2.linkpc.net", "c2.linkpc.net", true}, // the customer's name links its subdomains
		{"x.y.dyn.example.org", "y.dyn.example.org", true},
		{"dyn.example.org", "", false},
		{"www.example.org", "example.org", true}, // not under a shared parent: the suffix list
		{"cdn.someone.blogspot.com", "someone.blogspot.com", true},
		{"evil-linkpc.net", "", false}, // a suffix match is by whole labels
		{"a.evil-linkpc.net", "evil-linkpc.net", true},
	} {
		got, ok := registeredDomain(c.in, shared)
		if got != c.want || ok != c.ok {
			t.Errorf("registeredDomain(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	// Without shared parents the provider is what links.
	if got, ok := registeredDomain("c2.linkpc.net", nil); !ok || got != "linkpc.net" {
		t.Errorf("registeredDomain without shared parents = %q, %v", got, ok)
	}
	got := deriveValue(Key{"url", "http://c2.linkpc.net/gate"}, shared)
	want := []derived{{Key{"domain-name", "c2.linkpc.net"}, RuleURLDomain}}
	if !slices.Equal(got, want) {
		t.Errorf("deriveValue under a shared parent = %v; want %v", got, want)
	}
}

func TestDeriveValue(t *testing.T) {
	got := deriveValue(Key{"url", "http://c2.evil.example.com/x"}, nil)
	want := []derived{
		{Key{"domain-name", "c2.evil.example.com"}, RuleURLDomain},
		{Key{"domain-name", "example.com"}, RuleRegisteredDomain},
	}
	if !slices.Equal(got, want) {
		t.Errorf("url: %v, want %v", got, want)
	}
	got = deriveValue(Key{"url", "http://192.0.2.9/x"}, nil)
	if want := []derived{{Key{"ipv4-addr", "192.0.2.9"}, RuleURLIP}}; !slices.Equal(got, want) {
		t.Errorf("url with address: %v, want %v", got, want)
	}
	got = deriveValue(Key{"email-addr", "ops@mail.evil.example.org"}, nil)
	want = []derived{
		{Key{"domain-name", "mail.evil.example.org"}, RuleEmailDomain},
		{Key{"domain-name", "example.org"}, RuleRegisteredDomain},
	}
	if !slices.Equal(got, want) {
		t.Errorf("email: %v, want %v", got, want)
	}
	if got := deriveValue(Key{"ipv4-addr", "192.0.2.9"}, nil); got != nil {
		t.Errorf("address derives %v without the graph", got)
	}
}

func TestCIDRSet(t *testing.T) {
	c := newCIDRSet()
	for _, s := range []string{"198.51.100.0/24", "198.51.0.0/16", "2001:db8::/32"} {
		p, _ := parseIP(s)
		c.add(p)
	}
	single, _ := parseIP("198.51.100.7")
	c.add(single) // an address is no block
	got := c.containing(netip.MustParseAddr("198.51.100.7"))
	want := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("198.51.0.0/16")}
	if !slices.Equal(got, want) {
		t.Errorf("containing = %v, want %v", got, want)
	}
	if got := c.containing(netip.MustParseAddr("203.0.113.1")); len(got) != 0 {
		t.Errorf("outside address in %v", got)
	}
	if got := c.containing(netip.MustParseAddr("2001:db8::5")); len(got) != 1 {
		t.Errorf("IPv6: %v", got)
	}
	if k := ipKey("ipv4-addr", "198.51.100.77/24"); k.Value != "198.51.100.0/24" {
		t.Errorf("ipKey keeps host bits: %v", k)
	}
}

func TestHashClasses(t *testing.T) {
	md5 := "d41d8cd98f00b204e9800998ecf8427f"
	sha1 := "da39a3ee5e6b4b0d3255bfef95601890afd80709"
	sha256 := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	h := newHashClasses()
	h.union([]string{md5, sha1})
	h.union([]string{sha1, sha256})
	h.union([]string{"ffffffffffffffffffffffffffffffff"})
	for _, x := range []string{md5, sha1, sha256} {
		if r := h.find(x); r != sha256 {
			t.Errorf("find(%s) = %s, want the SHA-256", x, r)
		}
	}
	if h.find("ffffffffffffffffffffffffffffffff") == sha256 {
		t.Error("an unrelated hash joined the class")
	}
}

func TestRuleFactors(t *testing.T) {
	for _, r := range Rules {
		if f := r.Factor(); f <= 0 || f > 1 {
			t.Errorf("%s: factor %v", r, f)
		}
	}
	if Rule("made-up").Factor() != 0 {
		t.Error("unknown rule has a factor")
	}
}
