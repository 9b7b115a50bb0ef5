package refdata

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/internal/shareddata"
	"github.com/verband-cti/verband/schema"
)

func names(refs []ListRef) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.Name)
	}
	slices.Sort(out)
	return out
}

const (
	publicDNS = "List of known IPv4 public DNS resolvers"
	tranco    = "Top 10K most-used sites from Tranco"
	cisco     = "Top 1000 websites from Cisco Umbrella"
	rfc1918   = "List of RFC 1918 CIDR blocks"
	rfc5735   = "List of RFC 5735 CIDR blocks"
	shortener = "List of known URL Shorteners domains"
)

// TestWarninglistsRealData loads the MISP warninglists of the shared data
// and checks well-known values against them.
func TestWarninglistsRealData(t *testing.T) {
	w, err := LoadWarninglists(shareddata.Dir(t, "misp", "warninglists"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(w.Lists()); n != 8 {
		t.Fatalf("%d lists, want the 8 of the folder (its JSON schema skipped)", n)
	}
	tests := []struct {
		typ, value string
		want       []string // list names that must match
		not        []string // list names that must not match
	}{
		{"ipv4-addr", "8.8.8.8", []string{publicDNS}, []string{rfc1918}},
		{"ip-dst", "8.8.8.8", []string{publicDNS}, nil},
		{"domain|ip", "dns.google|8.8.8.8", []string{publicDNS}, nil},
		{"domain-name", "8.8.8.8", nil, []string{publicDNS}}, // the list is for IP attributes only
		{"domain-name", "google.com", []string{tranco, cisco}, nil},
		{"domain", "google.com", []string{tranco, cisco}, nil},
		{"domain-name", "verband-test.google.com", []string{tranco}, []string{cisco}}, // hostname lists match subdomains, string lists do not
		{"url", "https://www.google.com/search?q=x", []string{tranco}, nil},
		{"domain-name", "bit.ly", []string{shortener}, nil},
		{"ipv4-addr", "10.20.30.40", []string{rfc1918, rfc5735}, nil},
		{"ipv4-addr", "192.168.0.0/24", []string{rfc1918}, nil}, // a block inside a listed block
		{"ipv4-addr", "198.51.100.7", nil, []string{rfc1918, publicDNS}},
		{"domain-name", "qx7h2k9v-verband-test.internal", nil, []string{tranco, cisco, shortener}},
		{"domain-name", "c2.evil-verband-test.example", nil, []string{tranco, cisco, shortener}},
	}
	for _, tc := range tests {
		got := names(w.Match(tc.typ, tc.value))
		for _, n := range tc.want {
			if !slices.Contains(got, n) {
				t.Errorf("Match(%s, %s) = %v, want %q among them", tc.typ, tc.value, got, n)
			}
		}
		for _, n := range tc.not {
			if slices.Contains(got, n) {
				t.Errorf("Match(%s, %s) = %v, must not hold %q", tc.typ, tc.value, got, n)
			}
		}
	}
	for _, tc := range tests[len(tests)-2:] {
		if got := w.Match(tc.typ, tc.value); got != nil {
			t.Errorf("Match(%s, %s) = %v, want no list", tc.typ, tc.value, got)
		}
	}
	// Every entry of the false-positive hash list matches itself.
	for _, l := range w.Lists() {
		if l.Type != ListString || !slices.Contains(l.MatchingAttributes, "md5") {
			continue
		}
		for _, e := range l.List {
			if !w.Matches("file", e) {
				t.Errorf("hash %s of %q does not match", e, l.Name)
			}
		}
	}
}

// TestWarninglistSpeed checks that the matcher answers hundreds of
// thousands of lookups a second, with a wide margin for a loaded machine.
func TestWarninglistSpeed(t *testing.T) {
	w, err := LoadWarninglists(shareddata.Dir(t, "misp", "warninglists"))
	if err != nil {
		t.Fatal(err)
	}
	values := lookupMix()
	const n = 300_000
	start := time.Now()
	hits := 0
	for i := 0; i < n; i++ {
		v := values[i%len(values)]
		if w.Matches(v[0], v[1]) {
			hits++
		}
	}
	el := time.Since(start)
	t.Logf("%d lookups in %v (%.0f/s), %d hits", n, el, n/el.Seconds(), hits)
	if el > 3*time.Second {
		t.Errorf("%d lookups took %v, want well under a second", n, el)
	}
}

func lookupMix() [][2]string {
	var out [][2]string
	for i := 0; i < 1000; i++ {
		out = append(out,
			[2]string{"ipv4-addr", fmt.Sprintf("%d.%d.%d.%d", 1+i%223, i*7%256, i*13%256, i%251)},
			[2]string{"domain-name", fmt.Sprintf("host%d.sub%d.example%d.com", i, i%17, i%5)},
			[2]string{"url", fmt.Sprintf("http://www%d.verband-test%d.org/path", i%50, i)},
			[2]string{"file", fmt.Sprintf("%032x", i)},
		)
	}
	out = append(out, [2]string{"ipv4-addr", "8.8.8.8"}, [2]string{"domain-name", "www.google.com"})
	return out
}

// BenchmarkWarninglistMatch reports lookups per second over a mix of
// addresses, domains, URLs and hashes.
func BenchmarkWarninglistMatch(b *testing.B) {
	w, err := LoadWarninglists(shareddata.Dir(b, "misp", "warninglists"))
	if err != nil {
		b.Fatal(err)
	}
	values := lookupMix()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := values[i%len(values)]
		w.Match(v[0], v[1])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// TestWarninglistTypes checks each list type on small lists.
func TestWarninglistTypes(t *testing.T) {
	lists := []*Warninglist{
		{Name: "s", Type: ListString, List: []string{"Exact.Example"}, MatchingAttributes: []string{"domain", "hostname"}},
		{Name: "h", Type: ListHostname, List: []string{".Example.NET", "*.wild.example", "bücher.example"}},
		{Name: "c", Type: ListCIDR, List: []string{"192.0.2.0/24", "2001:db8::/32", "203.0.113.5", "198.51.100.1/16"}, MatchingAttributes: []string{"ip-dst"}},
		{Name: "sub", Type: ListSubstring, List: []string{"Tracker"}, MatchingAttributes: []string{"url"}},
		{Name: "re", Type: ListRegex, List: []string{`/^[a-f0-9]{4}\.dyn\.example$/i`}, MatchingAttributes: []string{"domain"}},
	}
	w, err := NewWarninglists(lists...)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		typ, value string
		want       []string
	}{
		{"domain", "exact.example", []string{"s"}},
		{"domain", "sub.exact.example", nil},
		{"url", "exact.example", nil}, // not a matching attribute of "s"
		{"domain-name", "a.b.example.net", []string{"h"}},
		{"domain-name", "example.net", []string{"h"}},
		{"domain-name", "notexample.net", nil},
		{"domain-name", "x.wild.example", []string{"h"}},
		{"domain-name", "xn--bcher-kva.example", []string{"h"}},
		{"url", "https://user@www.example.net:8443/x", []string{"h"}},
		{"ipv4-addr", "192.0.2.77", []string{"c"}},
		{"ip-dst", "192.0.2.0/25", []string{"c"}},
		{"ip-dst", "192.0.0.0/16", nil}, // wider than the listed block
		{"ipv6-addr", "2001:db8:1::5", []string{"c"}},
		{"ip-dst", "203.0.113.5", []string{"c"}},
		{"ip-dst", "::ffff:203.0.113.5", []string{"c"}},
		{"ip-dst", "198.51.7.7", []string{"c"}}, // host bits in the entry are ignored
		{"ip-src", "192.0.2.77", nil},           // "c" is for ip-dst only
		{"url", "https://cdn.example.org/TRACKER.js", []string{"sub"}},
		{"domain", "BEEF.dyn.example", []string{"re"}},
		{"domain", "beefy.dyn.example", nil},
	}
	for _, tc := range tests {
		if got := names(w.Match(tc.typ, tc.value)); !slices.Equal(got, tc.want) {
			t.Errorf("Match(%s, %s) = %v, want %v", tc.typ, tc.value, got, tc.want)
		}
	}
	for _, bad := range []*Warninglist{
		{Name: "c", Type: ListCIDR, List: []string{"10.0.0.0/33"}},
		{Name: "c", Type: ListCIDR, List: []string{"example.com"}},
		{Name: "r", Type: ListRegex, List: []string{"/(/"}},
		{Name: "r", Type: ListRegex, List: []string{"/x/e"}},
	} {
		if _, err := NewWarninglists(bad); !errors.Is(err, ErrBadEntry) {
			t.Errorf("%v: err %v, want ErrBadEntry", bad.List, err)
		}
	}
	for in, want := range map[string]error{
		`{"type":"object","properties":{}}`:                     ErrNotWarninglist,
		`{"name":"x","type":"bogus","list":[]}`:                 ErrBadField,
		`{"name":"x","type":"string","list":"a"}`:               ErrBadField,
		`{"name":"x","type":"string","list":[],"version":"v2"}`: ErrBadField,
	} {
		if _, err := ReadWarninglist(strings.NewReader(in), "x.json"); !errors.Is(err, want) {
			t.Errorf("ReadWarninglist(%s): %v, want %v", in, err, want)
		}
	}
}

// TestGalaxies loads the galaxies of the shared data and turns them into
// STIX objects.
func TestGalaxies(t *testing.T) {
	g, err := LoadGalaxies(shareddata.Dir(t, "misp", "galaxy"))
	if err != nil {
		t.Fatal(err)
	}
	var clusters int
	for _, gal := range g.Galaxies() {
		clusters += len(gal.Clusters)
		if gal.Type == "threat-actor" && (gal.Namespace != "misp" || gal.Name != "Threat Actor") {
			t.Errorf("threat-actor galaxy %+v did not get its definition", gal)
		}
	}
	apt1, ok := g.ByTag(`misp-galaxy:threat-actor="APT1"`)
	if !ok || apt1.UUID != "1cb7e1cc-d695-42b1-92f4-fd0112a3c9be" {
		t.Fatalf("ByTag APT1: %v %v", apt1, ok)
	}
	o, err := ClusterObject(apt1)
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "threat-actor--1cb7e1cc-d695-42b1-92f4-fd0112a3c9be" || !slices.Contains(o.Strings("aliases"), "Comment Crew") {
		t.Errorf("APT1 became %s with aliases %v", o.ID, o.Strings("aliases"))
	}
	if !strings.Contains(string(o.Props["external_references"]), "attack.mitre.org/groups/G0006") {
		t.Errorf("APT1 refs not kept: %s", o.Props["external_references"])
	}
	src := g.Source("galaxies")
	types := map[string]int{}
	for {
		o, err := src.Next()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatal(err)
		}
		if err := schema.Validate(o); err != nil {
			t.Errorf("%s: %v", o.ID, err)
		}
		types[o.Type]++
	}
	if types["threat-actor"]+types["malware"] != clusters || types["malware"] == 0 || types["relationship"] == 0 {
		t.Errorf("objects %v for %d clusters", types, clusters)
	}
	t.Logf("%d clusters: %v", clusters, types)
	for typ, want := range map[string]string{
		"threat-actor": "threat-actor", "mitre-intrusion-set": "intrusion-set", "botnet": "malware",
		"mitre-enterprise-attack-attack-pattern": "attack-pattern", "exploit-kit": "tool", "mitre-tool": "tool",
		"mitre-course-of-action": "course-of-action", "sector": TypeGalaxyCluster, "branded-vulnerability": "vulnerability",
	} {
		if got := STIXType(typ); got != want {
			t.Errorf("STIXType(%s) = %s, want %s", typ, got, want)
		}
	}
}

// TestTaxonomies loads the taxonomies of the shared data as a vocabulary.
func TestTaxonomies(t *testing.T) {
	v, err := LoadTaxonomies(shareddata.Dir(t, "misp", "taxonomies"))
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Namespaces(); len(got) != 6 {
		t.Errorf("namespaces %v", got)
	}
	for _, tag := range []string{"tlp:amber", "TLP:AMBER", "PAP:GREEN", `admiralty-scale:source-reliability="a"`,
		"admiralty-scale:source-reliability=a", `false-positive:risk="high"`, `estimative-language:likelihood-probability="likely"`} {
		e, ok := v.Lookup(tag)
		if !ok || e.Expanded == "" {
			t.Errorf("Lookup(%s) = %+v, %v", tag, e, ok)
		}
		if err := v.Validate(tag); err != nil {
			t.Errorf("Validate(%s): %v", tag, err)
		}
	}
	if e, _ := v.Lookup(`admiralty-scale:source-reliability="a"`); e.NumericalValue == nil || *e.NumericalValue != 100 || !e.Exclusive {
		t.Errorf("admiralty a: %+v", e)
	}
	for tag, part := range map[string]string{`admiralty-scale:source-reliability="z"`: "unknown value", "tlp:purple": "unknown predicate", "nope:x": "unknown namespace",
		"tlp": "not a machine tag", "admiralty-scale:nope": "unknown predicate"} {
		err := v.Validate(tag)
		if !errors.Is(err, ErrUnknownTag) || !strings.Contains(err.Error(), part) {
			t.Errorf("Validate(%s) = %v, want %q", tag, err, part)
		}
	}
}
