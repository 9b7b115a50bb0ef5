package refdata

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

// FuzzWarninglist checks that reading and indexing any warninglist never
// panics, and that an indexed list matches its own entries: a string or
// hostname entry matches itself, a cidr entry its own address, a substring
// entry any value holding it.
func FuzzWarninglist(f *testing.F) {
	for _, s := range []string{
		`{"name":"n","type":"string","list":["a.example","B.EXAMPLE"],"matching_attributes":["domain"]}`,
		`{"name":"n","type":"hostname","list":[".example.net","*.x.example","bücher.example","1.2.3.4"]}`,
		`{"name":"n","type":"cidr","list":["10.0.0.0/8","2001:db8::/32","1.2.3.4","::ffff:1.2.3.0/120"],"version":3}`,
		`{"name":"n","type":"substring","list":["track"],"matching_attributes":["url"]}`,
		`{"name":"n","type":"regex","list":["/^a+$/i","b.*"],"matching_attributes":[]}`,
		`{"name":"n","type":"cidr","list":["10.0.0.0/33"]}`,
		`{"type":"object"}`,
		`[]`,
	} {
		f.Add([]byte(s), "a.example")
	}
	f.Fuzz(func(t *testing.T, data []byte, probe string) {
		l, err := ReadWarninglist(bytes.NewReader(data), "fuzz.json")
		if err != nil {
			return
		}
		if len(l.List) > 1000 {
			l.List = l.List[:1000] // keep regex compilation cheap
		}
		w, err := NewWarninglists(l)
		if err != nil {
			return
		}
		for _, typ := range []string{"", "domain-name", "ipv4-addr", "url", "domain|ip", "ip-dst", "file"} {
			w.Match(typ, probe)
		}
		all := len(l.MatchingAttributes) == 0
		for _, e := range l.List {
			e = strings.TrimSpace(e)
			if e == "" || !all {
				continue
			}
			var hit bool
			switch l.Type {
			case ListString:
				hit = w.Matches("x-any", e)
			case ListHostname:
				hit = w.Matches("domain-name", hostKey(e)) || hostKey(e) == ""
			case ListCIDR:
				p, err := parsePrefix(e)
				if err != nil {
					t.Fatalf("indexed cidr entry %q does not parse: %v", e, err)
				}
				hit = w.Matches("ip-dst", p.Addr().String()) || p.Addr().Zone() != "" || !p.Addr().IsValid() || p.Addr() == (netip.Addr{})
			case ListSubstring:
				hit = w.Matches("x-any", "<"+e+">")
			default:
				hit = true
			}
			if !hit {
				t.Fatalf("%s entry %q does not match itself", l.Type, e)
			}
		}
	})
}
