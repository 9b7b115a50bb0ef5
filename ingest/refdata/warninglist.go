package refdata

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strings"

	"github.com/verband-cti/verband/schema"
)

// The warninglist types of the misp-warninglists format.
const (
	ListString    = "string"
	ListSubstring = "substring"
	ListHostname  = "hostname"
	ListCIDR      = "cidr"
	ListRegex     = "regex"
)

// Warninglist is one MISP warninglist: values known to be benign or
// ubiquitous (public DNS resolvers, top sites, RFC 1918 blocks), which
// should not link incidents.
type Warninglist struct {
	// Name, Description and Version come from the list file.
	Name, Description string
	Version           int64
	// Type is one of ListString, ListSubstring, ListHostname, ListCIDR and
	// ListRegex.
	Type string
	// Category is "false-positive" (the default) or "known".
	Category string
	// MatchingAttributes lists the MISP attribute types the list applies
	// to; empty means every type.
	MatchingAttributes []string
	// List holds the entries as given.
	List []string
	// File is the file the list was read from, if any.
	File string
}

// ListRef names the warninglist a value matched.
type ListRef struct {
	Name     string
	Version  int64
	Type     string
	Category string
}

// ReadWarninglist decodes one warninglist file (misp-warninglists
// lists/<name>/list.json). name names the input in errors.
func ReadWarninglist(r io.Reader, name string) (*Warninglist, error) {
	var raw struct {
		Name               *string         `json:"name"`
		Description        string          `json:"description"`
		Version            json.RawMessage `json:"version"`
		Type               *string         `json:"type"`
		Category           string          `json:"category"`
		MatchingAttributes []string        `json:"matching_attributes"`
		List               []string        `json:"list"`
	}
	dec := json.NewDecoder(r)
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode warninglist %s: %w: %w", name, ErrBadField, err)
	}
	if raw.Name == nil || raw.Type == nil || raw.List == nil {
		return nil, fmt.Errorf("decode warninglist %s: needs name, type and list: %w", name, ErrNotWarninglist)
	}
	w := &Warninglist{Name: *raw.Name, Description: raw.Description, Type: strings.ToLower(*raw.Type),
		Category: raw.Category, MatchingAttributes: raw.MatchingAttributes, List: raw.List, File: name}
	if len(raw.Version) > 0 {
		v, ok := flexInt(raw.Version)
		if !ok {
			return nil, fmt.Errorf("decode warninglist %s: field \"version\": %w: %s", name, ErrBadField, clip(raw.Version))
		}
		w.Version = v
	}
	if w.Category == "" {
		w.Category = "false-positive"
	}
	switch w.Type {
	case ListString, ListSubstring, ListHostname, ListCIDR, ListRegex:
	default:
		return nil, fmt.Errorf("decode warninglist %s: field \"type\": %w: unknown list type %q", name, ErrBadField, w.Type)
	}
	return w, nil
}

// LoadWarninglists reads warninglist files (files, or directories walked
// for *.json, which covers both the misp-warninglists layout
// lists/<name>/list.json and a flat folder of lists) and indexes them.
func LoadWarninglists(paths ...string) (*Warninglists, error) {
	files, err := jsonFiles(paths)
	if err != nil {
		return nil, fmt.Errorf("load warninglists: %w", err)
	}
	lists, err := readAll(files, ReadWarninglist)
	if err != nil {
		return nil, fmt.Errorf("load warninglists: %w", err)
	}
	return NewWarninglists(lists...)
}

// Warninglists is an index over warninglists that answers, for one
// observable, which lists hold it. It is read-only once built and safe for
// concurrent use.
//
// How entries match (values are compared in ASCII lower case, except by
// regex lists):
//
//   - string: the value equals the entry.
//   - substring: the value contains the entry.
//   - hostname: the value, or the host of a URL value, is the entry or a
//     subdomain of it ("www.google.com" matches "google.com").
//   - cidr: the value, an IP address or prefix, lies inside the entry.
//   - regex: the entry, a PCRE-style "/…/flags" or bare pattern compiled
//     as a Go (RE2) regular expression, matches the value.
type Warninglists struct {
	lists []*Warninglist
	refs  []ListRef

	exact    map[string][]int32
	hosts    map[string][]int32
	addrs    map[netip.Addr][]int32
	prefixes map[netip.Prefix][]int32
	v4Bits   []int // prefix lengths present among IPv4 prefixes, longest first
	v6Bits   []int
	substr   []entryRef
	regexes  []regexRef

	// applies maps a query type to the set of lists that apply to it;
	// every list without matching attributes applies to every type.
	applies map[string]bitset
	all     bitset
}

type entryRef struct {
	s    string
	list int32
}

type regexRef struct {
	re   *regexp.Regexp
	list int32
}

type bitset []uint64

func (b bitset) has(i int32) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
func (b bitset) set(i int32)      { b[i>>6] |= 1 << (uint(i) & 63) }

// stixTypes maps STIX cyber-observable types to the MISP attribute types
// whose values they hold, so lists can be asked about either.
var stixTypes = map[string][]string{
	"ipv4-addr":            {"ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "domain|ip", "ip"},
	"ipv6-addr":            {"ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "domain|ip", "ip"},
	"domain-name":          {"domain", "hostname", "domain|ip", "hostname|port"},
	"url":                  {"url", "uri", "link"},
	"email-addr":           {"email", "email-src", "email-dst", "target-email", "email-reply-to", "whois-registrant-email"},
	"file":                 {"md5", "sha1", "sha224", "sha256", "sha384", "sha512", "ssdeep", "tlsh", "imphash", "filename", "filename|md5", "filename|sha1", "filename|sha224", "filename|sha256", "filename|sha384", "filename|sha512"},
	"x509-certificate":     {"x509-fingerprint-md5", "x509-fingerprint-sha1", "x509-fingerprint-sha256"},
	"mac-addr":             {"mac-address"},
	"autonomous-system":    {"AS"},
	"mutex":                {"mutex"},
	"windows-registry-key": {"regkey"},
}

// NewWarninglists indexes lists. It fails with ErrBadEntry when a cidr
// entry is not an address or prefix, or a regex entry does not compile.
func NewWarninglists(lists ...*Warninglist) (*Warninglists, error) {
	w := &Warninglists{
		lists: lists, exact: map[string][]int32{}, hosts: map[string][]int32{},
		addrs: map[netip.Addr][]int32{}, prefixes: map[netip.Prefix][]int32{},
		applies: map[string]bitset{},
	}
	words := (len(lists) + 63) / 64
	w.all = make(bitset, words)
	add := func(m map[string][]int32, k string, i int32) {
		if ids := m[k]; len(ids) == 0 || ids[len(ids)-1] != i {
			m[k] = append(ids, i)
		}
	}
	v4, v6 := map[int]bool{}, map[int]bool{}
	for li, l := range lists {
		i := int32(li)
		w.refs = append(w.refs, ListRef{Name: l.Name, Version: l.Version, Type: l.Type, Category: l.Category})
		if len(l.MatchingAttributes) == 0 {
			w.all.set(i)
		}
		for _, t := range l.MatchingAttributes {
			if w.applies[t] == nil {
				w.applies[t] = make(bitset, words)
			}
			w.applies[t].set(i)
			for st, mts := range stixTypes {
				for _, mt := range mts {
					if mt == t {
						if w.applies[st] == nil {
							w.applies[st] = make(bitset, words)
						}
						w.applies[st].set(i)
					}
				}
			}
		}
		for ei, e := range l.List {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			bad := func(err error) error {
				return fmt.Errorf("index warninglist %q (%s): entry %d %q: %w: %w", l.Name, l.File, ei, e, ErrBadEntry, err)
			}
			switch l.Type {
			case ListString:
				add(w.exact, asciiLower(e), i)
			case ListSubstring:
				w.substr = append(w.substr, entryRef{asciiLower(e), i})
			case ListHostname:
				if k := hostKey(e); k != "" {
					add(w.hosts, k, i)
				}
			case ListCIDR:
				p, err := parsePrefix(e)
				if err != nil {
					return nil, bad(err)
				}
				if p.IsSingleIP() {
					if ids := w.addrs[p.Addr()]; len(ids) == 0 || ids[len(ids)-1] != i {
						w.addrs[p.Addr()] = append(ids, i)
					}
					continue
				}
				if ids := w.prefixes[p]; len(ids) == 0 || ids[len(ids)-1] != i {
					w.prefixes[p] = append(ids, i)
				}
				if p.Addr().Is4() {
					v4[p.Bits()] = true
				} else {
					v6[p.Bits()] = true
				}
			case ListRegex:
				re, err := compileRegex(e)
				if err != nil {
					return nil, bad(err)
				}
				w.regexes = append(w.regexes, regexRef{re, i})
			}
		}
	}
	for b := 128; b >= 0; b-- {
		if v4[b] {
			w.v4Bits = append(w.v4Bits, b)
		}
		if v6[b] {
			w.v6Bits = append(w.v6Bits, b)
		}
	}
	for t, bs := range w.applies {
		for k := range bs {
			bs[k] |= w.all[k]
		}
		w.applies[t] = bs
	}
	return w, nil
}

// Lists returns the indexed lists, in load order.
func (w *Warninglists) Lists() []*Warninglist { return w.lists }

// Match returns the lists that hold value, among the lists that apply to
// typ. typ is a MISP attribute type ("ip-dst", "domain|ip", …) or a STIX
// cyber-observable type ("ipv4-addr", "domain-name", "url", "file", …); a
// list applies when its matching_attributes name typ (or, for a STIX type,
// any MISP type holding such values), or when it has none. For a composite
// MISP type such as "domain|ip", each part of the value is looked up. The
// value should be canonical (schema.CanonicalIP, CanonicalDomain, …). Match
// returns nil when nothing matches and allocates only for a match.
func (w *Warninglists) Match(typ, value string) []ListRef {
	mask, ok := w.applies[typ]
	if !ok {
		mask = w.all
	}
	k := kindOf(typ)
	if strings.IndexByte(typ, '|') >= 0 && strings.IndexByte(value, '|') >= 0 {
		var out []ListRef
		for _, part := range strings.Split(value, "|") {
			out = w.match(mask, kindAny, part, out)
		}
		return out
	}
	return w.match(mask, k, value, nil)
}

// valueKind says which structures a value may be looked up in.
type valueKind uint8

const (
	kindIP   valueKind = 1 << iota // cidr lists
	kindHost                       // hostname lists
	kindAny  = kindIP | kindHost
)

// kindOf returns the kind of the values of a query type: addresses are
// never looked up as host names, nor domain names as addresses.
func kindOf(typ string) valueKind {
	switch typ {
	case "ipv4-addr", "ipv6-addr", "ip-src", "ip-dst", "ip":
		return kindIP
	case "domain-name", "domain", "hostname", "url", "uri", "link", "email-addr":
		return kindHost
	case "file", "md5", "sha1", "sha256", "sha512", "mutex", "windows-registry-key", "regkey":
		return 0
	}
	return kindAny
}

// Listed returns the name of the first list (in load order) that applies
// to typ and holds value, and whether there is one. It has the signature of
// correlate.Options.Warninglisted, so loaded lists keep noise out of
// correlations.
func (w *Warninglists) Listed(typ, value string) (string, bool) {
	if m := w.Match(typ, value); len(m) > 0 {
		return m[0].Name, true
	}
	return "", false
}

// Matches reports whether any list that applies to typ holds value.
func (w *Warninglists) Matches(typ, value string) bool { return len(w.Match(typ, value)) > 0 }

func (w *Warninglists) match(mask bitset, kind valueKind, value string, out []ListRef) []ListRef {
	value = strings.TrimSpace(value)
	if value == "" {
		return out
	}
	addIDs := func(ids []int32) {
		for _, id := range ids {
			if !mask.has(id) {
				continue
			}
			ref := w.refs[id]
			dup := false
			for _, r := range out {
				if r == ref {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, ref)
			}
		}
	}
	lower := asciiLower(value)
	if len(w.exact) > 0 {
		addIDs(w.exact[lower])
	}
	if len(w.hosts) > 0 && kind&kindHost != 0 {
		host := lower
		host = hostPart(host)
		for host != "" {
			addIDs(w.hosts[host])
			dot := strings.IndexByte(host, '.')
			if dot < 0 {
				break
			}
			host = host[dot+1:]
		}
	}
	if (len(w.addrs) > 0 || len(w.prefixes) > 0) && kind&kindIP != 0 {
		if p, err := parsePrefix(value); err == nil {
			if p.IsSingleIP() {
				addIDs(w.addrs[p.Addr()])
			}
			bits := w.v6Bits
			if p.Addr().Is4() {
				bits = w.v4Bits
			}
			for _, b := range bits {
				if b > p.Bits() {
					continue
				}
				q, err := p.Addr().Prefix(b)
				if err == nil {
					addIDs(w.prefixes[q])
				}
			}
			if p.Addr().Is4() {
				// IPv6 blocks wider than ::ffff:0:0/96 hold the IPv4-mapped
				// form of the address.
				mapped := netip.AddrFrom16(p.Addr().As16())
				for _, b := range w.v6Bits {
					if b > 96 {
						continue
					}
					if q, err := mapped.Prefix(b); err == nil {
						addIDs(w.prefixes[q])
					}
				}
			}
		}
	}
	for _, s := range w.substr {
		if mask.has(s.list) && strings.Contains(lower, s.s) {
			addIDs([]int32{s.list})
		}
	}
	for _, r := range w.regexes {
		if mask.has(r.list) && r.re.MatchString(value) {
			addIDs([]int32{r.list})
		}
	}
	return out
}

// parsePrefix parses an address or prefix, unmapping IPv4-mapped IPv6 and
// clearing host bits.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a, bits := p.Addr(), p.Bits()
		if a.Is4In6() && bits >= 96 {
			a, bits = a.Unmap(), bits-96
		}
		return a.Prefix(bits)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("zone in %q", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// hostKey normalises a hostname-list entry: lower case, without a leading
// "*." or "." and a trailing dot, in the IDNA ASCII form when it is a valid
// domain name.
func hostKey(e string) string {
	e = hostPart(strings.TrimPrefix(strings.TrimPrefix(asciiLower(e), "*."), "."))
	if d, err := schema.CanonicalDomain(e); err == nil {
		return d
	}
	return e
}

// hostPart returns the host name in a value: the host of a URL, the
// domain of an e-mail address, or the value itself, without trailing dots.
func hostPart(v string) string {
	if i := strings.Index(v, "://"); i >= 0 {
		v = urlHost(v[i+3:])
	} else if i := strings.LastIndexByte(v, '@'); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimRight(v, ".")
}

// urlHost returns the host of a URL's authority and what follows it.
func urlHost(rest string) string {
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if strings.HasPrefix(rest, "[") {
		if i := strings.IndexByte(rest, ']'); i >= 0 {
			return rest[1:i]
		}
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// compileRegex compiles a warninglist regex: "/pattern/flags" (PCRE style,
// with the i, m, s and x-free flags RE2 knows) or a bare pattern.
func compileRegex(e string) (*regexp.Regexp, error) {
	pat := e
	if len(e) >= 2 && e[0] == '/' {
		if end := strings.LastIndexByte(e, '/'); end > 0 {
			pat = e[1:end]
			var flags strings.Builder
			for _, f := range e[end+1:] {
				switch f {
				case 'i', 'm', 's', 'U':
					flags.WriteRune(f)
				default:
					return nil, fmt.Errorf("unsupported regex flag %q", f)
				}
			}
			if flags.Len() > 0 {
				pat = "(?" + flags.String() + ")" + pat
			}
		}
	}
	return regexp.Compile(pat)
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
