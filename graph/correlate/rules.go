package correlate

import (
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Rule names how a container holds a value: as a member (RuleShared) or
// through a derivation from a member's value. Every piece of evidence names
// the rule that made its link.
type Rule string

// The rules. Factor gives the weight each one keeps.
const (
	// RuleShared: both containers hold the value itself (the same
	// observable, indicator, infrastructure or malware object).
	RuleShared Rule = "shared"
	// RuleHashEquivalence: the containers hold different file objects that
	// are the same file, known by a hash they share (directly, or through a
	// third visible file object that carries both hashes).
	RuleHashEquivalence Rule = "hash-equivalence"
	// RuleIndicatorPattern: an indicator member names the value in its STIX
	// pattern (its based-on edges).
	RuleIndicatorPattern Rule = "indicator-pattern"
	// RuleInfrastructure: an infrastructure member consists of the value.
	RuleInfrastructure Rule = "infrastructure"
	// RuleMalwareSample: a malware member names the file as a sample.
	RuleMalwareSample Rule = "malware-sample"
	// RuleURLDomain: the domain name is the host of a URL member.
	RuleURLDomain Rule = "url-domain"
	// RuleURLIP: the IP address is the host of a URL member.
	RuleURLIP Rule = "url-ip"
	// RuleResolvesTo: a domain member resolves to the IP address
	// (resolves_to_refs, or a resolves-to relationship).
	RuleResolvesTo Rule = "resolves-to"
	// RuleEmailDomain: the domain name is the domain of an e-mail address
	// member.
	RuleEmailDomain Rule = "email-domain"
	// RuleRegisteredDomain: the domain name is the registered domain (the
	// public suffix plus one label) of a subdomain member.
	RuleRegisteredDomain Rule = "registered-domain"
	// RuleIPInCIDR: the CIDR block, which a container names, holds an IP
	// address member.
	RuleIPInCIDR Rule = "ip-in-cidr"
)

// Rules lists every rule, strongest first.
var Rules = []Rule{
	RuleShared, RuleHashEquivalence, RuleIndicatorPattern, RuleInfrastructure, RuleMalwareSample,
	RuleURLDomain, RuleURLIP, RuleResolvesTo, RuleEmailDomain, RuleRegisteredDomain, RuleIPInCIDR,
}

// Factor is the share of a value's weight that a link made by the rule
// keeps: 1 for the value itself and for what an indicator, infrastructure
// or malware object names outright; 0.8 for a URL's host and a domain's
// resolution, which tie the value closely; 0.5 for the looser ties of an
// e-mail domain, a registered domain and a CIDR block. A chain of
// derivations keeps the product of its factors.
func (r Rule) Factor() float64 {
	switch r {
	case RuleShared, RuleHashEquivalence, RuleIndicatorPattern, RuleInfrastructure, RuleMalwareSample:
		return 1
	case RuleURLDomain, RuleURLIP, RuleResolvesTo:
		return 0.8
	case RuleEmailDomain, RuleRegisteredDomain, RuleIPInCIDR:
		return 0.5
	}
	return 0
}

// rank orders rules for tie-breaking: the position in Rules.
func (r Rule) rank() int {
	if i := slices.Index(Rules, r); i >= 0 {
		return i
	}
	return len(Rules)
}

// Key is one value evidence can share: its kind (the STIX type of the
// object that carries it, such as "domain-name", "ipv4-addr", "file" or
// "indicator") and its value (the canonical value of an observable, the
// representative hash of a file, or the STIX id of an object without a
// value, such as an indicator).
type Key struct {
	Kind, Value string
}

// String returns "kind:value".
func (k Key) String() string { return k.Kind + ":" + k.Value }

// derived is a key reached from a value by one rule.
type derived struct {
	key  Key
	rule Rule
}

// deriveValue returns the keys one value leads to by the rules that need
// nothing but the value: a URL's host, an e-mail address's domain, and the
// registered domain of a domain name (with shared, when not nil, naming
// further public suffixes: see registeredDomain), each followed by the
// registered domain of the domain it gave. Rules that need the graph
// (resolves-to, indicator patterns, infrastructure, samples) or every
// container (ip-in-cidr, hash-equivalence) are applied by the builder.
func deriveValue(k Key, shared func(string) bool) []derived {
	var out []derived
	domain := func(d string, r Rule) {
		out = append(out, derived{Key{"domain-name", d}, r})
		if reg, ok := registeredDomain(d, shared); ok {
			out = append(out, derived{Key{"domain-name", reg}, RuleRegisteredDomain})
		}
	}
	switch k.Kind {
	case "url":
		kind, host, ok := URLHost(k.Value)
		switch {
		case !ok:
		case kind == "domain-name":
			domain(host, RuleURLDomain)
		default:
			out = append(out, derived{Key{kind, host}, RuleURLIP})
		}
	case "email-addr":
		if d, ok := EmailDomain(k.Value); ok {
			domain(d, RuleEmailDomain)
		}
	case "domain-name":
		if reg, ok := registeredDomain(k.Value, shared); ok {
			out = append(out, derived{Key{"domain-name", reg}, RuleRegisteredDomain})
		}
	}
	return out
}

// URLHost returns the host of a canonical URL and its kind: "domain-name",
// or "ipv4-addr" or "ipv6-addr" for an address (without brackets). ok is
// false when the URL has no host.
func URLHost(u string) (kind, host string, ok bool) {
	p, err := url.Parse(u)
	if err != nil {
		return "", "", false
	}
	host = strings.TrimSuffix(strings.ToLower(p.Hostname()), ".")
	if host == "" {
		return "", "", false
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		if a.Is4() {
			return "ipv4-addr", a.String(), true
		}
		return "ipv6-addr", a.String(), true
	}
	return "domain-name", host, true
}

// EmailDomain returns the domain of an e-mail address: what follows the
// last "@", in lower case. ok is false when there is none.
func EmailDomain(addr string) (string, bool) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 || i == len(addr)-1 {
		return "", false
	}
	d := strings.TrimSuffix(strings.ToLower(addr[i+1:]), ".")
	if d == "" || strings.HasPrefix(d, "[") {
		return "", false // an address literal is no domain
	}
	return d, true
}

// RegisteredDomain returns the registered domain of a domain name (its
// public suffix, from the Public Suffix List with its private section, plus
// one label: "www.example.co.uk" → "example.co.uk", "x.blogspot.com" stays
// itself because blogspot.com is a suffix there). ok is false when the name
// is itself a registered domain or a public suffix, or has no known suffix.
func RegisteredDomain(d string) (string, bool) { return registeredDomain(d, nil) }

// registeredDomain is RegisteredDomain with the domains shared reports
// (Options.SharedParent) as public suffixes too: under a shared parent the
// registered domain is the parent plus one label ("a.c2.linkpc.net" →
// "c2.linkpc.net"), and a shared parent itself, like a public suffix, has
// none. Of a public suffix and a shared parent that both end d, the longer
// one counts.
func registeredDomain(d string, shared func(string) bool) (string, bool) {
	reg, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return "", false
	}
	if shared != nil {
		// Walk d's suffixes from the longest, d itself first, while they
		// are no shorter than reg: the first shared parent ends the walk.
		for label, prev := 0, -1; len(d)-label >= len(reg); {
			if shared(d[label:]) {
				if prev < 0 {
					return "", false // d is a shared parent itself
				}
				reg = d[prev:]
				break
			}
			dot := strings.IndexByte(d[label:], '.')
			if dot < 0 {
				break
			}
			prev, label = label, label+dot+1
		}
	}
	if reg == d {
		return "", false
	}
	return reg, true
}

// parseIP returns the address or block a canonical IP value names, with the
// host bits of a block cleared.
func parseIP(v string) (netip.Prefix, bool) {
	if strings.IndexByte(v, '/') >= 0 {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// ipKey returns the key of a canonical IP value: a block with its host bits
// cleared, an address as it is.
func ipKey(kind, v string) Key {
	if p, ok := parseIP(v); ok && !p.IsSingleIP() {
		return Key{kind, p.String()}
	}
	return Key{kind, v}
}

// cidrSet holds the CIDR blocks containers name, and finds the blocks that
// hold an address with one map probe per distinct prefix length.
type cidrSet struct {
	blocks map[netip.Prefix]bool
	bits4  []int // prefix lengths among IPv4 blocks, longest first
	bits6  []int
}

func newCIDRSet() *cidrSet { return &cidrSet{blocks: map[netip.Prefix]bool{}} }

// add records a block; single addresses are not blocks and are ignored.
func (c *cidrSet) add(p netip.Prefix) {
	if !p.IsValid() || p.IsSingleIP() || c.blocks[p] {
		return
	}
	c.blocks[p] = true
	bits := &c.bits6
	if p.Addr().Is4() {
		bits = &c.bits4
	}
	if !slices.Contains(*bits, p.Bits()) {
		*bits = append(*bits, p.Bits())
		slices.SortFunc(*bits, func(a, b int) int { return b - a })
	}
}

// containing returns the blocks that hold address a, longest first.
func (c *cidrSet) containing(a netip.Addr) []netip.Prefix {
	bits := c.bits6
	if a.Is4() {
		bits = c.bits4
	}
	var out []netip.Prefix
	for _, b := range bits {
		if p, err := a.Prefix(b); err == nil && c.blocks[p] {
			out = append(out, p)
		}
	}
	return out
}

// hashClasses groups the hashes of files: two hashes are in one class when
// a visible file object carries both, directly or through a chain of such
// objects (union-find).
type hashClasses struct {
	parent map[string]string
}

func newHashClasses() *hashClasses { return &hashClasses{parent: map[string]string{}} }

func (h *hashClasses) find(x string) string {
	p, ok := h.parent[x]
	if !ok {
		h.parent[x] = x
		return x
	}
	if p == x {
		return x
	}
	r := h.find(p)
	h.parent[x] = r
	return r
}

// union puts every hash of one file object in one class. The class's
// representative is its preferred hash (see preferHash).
func (h *hashClasses) union(hashes []string) {
	if len(hashes) == 0 {
		return
	}
	root := h.find(hashes[0])
	for _, x := range hashes[1:] {
		r := h.find(x)
		if r == root {
			continue
		}
		if preferHash(r, root) {
			h.parent[root] = r
			root = r
		} else {
			h.parent[r] = root
		}
	}
}

// preferHash reports whether hash a makes a better representative than b:
// SHA-256 before SHA-1 before MD5 before other lengths, then the smaller.
func preferHash(a, b string) bool {
	rank := func(s string) int {
		switch len(s) {
		case 64:
			return 0
		case 40:
			return 1
		case 32:
			return 2
		}
		return 3
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra < rb
	}
	return a < b
}
