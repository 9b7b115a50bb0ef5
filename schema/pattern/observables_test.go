package pattern

import (
	"reflect"
	"testing"

	"github.com/verband-cti/verband/schema"
)

func TestObservables(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []Observable
	}{
		{`[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128']`, []Observable{
			{"ipv4-addr", "value", "198.51.100.1/32"}, {"ipv4-addr", "value", "203.0.113.33/32"}, {"ipv6-addr", "value", "2001:0db8:dead:beef:dead:beef:dead:0001/128"},
		}},
		{`[file:hashes.'SHA-256' = 'aa' AND file:name = 'a.exe'] OR [file:hashes.md5 = 'bb']`, []Observable{
			{"file", "hashes.'SHA-256'", "aa"}, {"file", "hashes.md5", "bb"},
		}},
		{`[domain-name:value IN ('a.example', 'b.example', 'a.example')]`, []Observable{
			{"domain-name", "value", "a.example"}, {"domain-name", "value", "b.example"},
		}},
		{`[autonomous-system:number = 15169 AND mutex:name = 'm' AND directory:path = '/tmp' AND windows-registry-key:key = 'HKLM\\Run' AND x509-certificate:serial_number = '01:02']`, []Observable{
			{"autonomous-system", "number", "15169"}, {"mutex", "name", "m"}, {"directory", "path", "/tmp"},
			{"windows-registry-key", "key", `HKLM\Run`}, {"x509-certificate", "serial_number", "01:02"},
		}},
		// Equalities that name no observable of their own.
		{`[network-traffic:dst_ref.value = '203.0.113.33' AND network-traffic:dst_port = 443]`, nil},
		{`[ipv4-addr:value = 1]`, nil},
		// Not simple: other operators, NOT, FOLLOWEDBY, qualifiers.
		{`[ipv4-addr:value = '198.51.100.1' AND file:size > 5]`, nil},
		{`[ipv4-addr:value != '198.51.100.1']`, nil},
		{`[ipv4-addr:value NOT = '198.51.100.1']`, nil},
		{`[ipv4-addr:value NOT IN ('198.51.100.1')]`, nil},
		{`[ipv4-addr:value ISSUBSET '198.51.100.0/24']`, nil},
		{`[ipv4-addr:value = '198.51.100.1'] FOLLOWEDBY [domain-name:value = 'x.example']`, nil},
		{`[ipv4-addr:value = '198.51.100.1'] WITHIN 5 SECONDS`, nil},
		{`[url:value LIKE '%evil%']`, nil},
		{`[EXISTS url:value]`, nil},
	} {
		p, err := Parse(c.in)
		if err != nil {
			t.Fatalf("Parse(%s): %v", c.in, err)
		}
		if got := p.Observables(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Observables(%s)\n = %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestObservableIDs(t *testing.T) {
	sco := func(props string) string {
		o, err := schema.ParseObject([]byte(props))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := schema.Canonicalize(o); err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	ip := sco(`{"type":"ipv4-addr","id":"ipv4-addr--1e4ffad7-0b88-41d4-ba4d-77d27490b956","value":"198.51.100.3"}`)
	dom := sco(`{"type":"domain-name","id":"domain-name--ecb120bf-2694-4902-a737-62b74539a41b","value":"example.com"}`)
	file := sco(`{"type":"file","id":"file--ecb120bf-2694-4902-a737-62b74539a41b","hashes":{"SHA-256":"ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"}}`)
	// The id schema's tests check against the specification's example.
	if ip != "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4" {
		t.Fatalf("canonical ipv4-addr id %s", ip)
	}
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`[ipv4-addr:value = '198.51.100.3']`, []string{ip}},
		// Values are canonicalised: case, trailing dot, hash case, defanging.
		{`[domain-name:value = 'EXAMPLE.com.' OR ipv4-addr:value = '198.51.100[.]3']`, []string{dom, ip}},
		{`[file:hashes.'sha256' = 'EF537F25C895BFA782526529A9B63D97AA631564D5D789C2B765448C8635FB6C']`, []string{file}},
		// An invalid value names nothing; a non-simple pattern gives nothing.
		{`[ipv4-addr:value = 'localhost' OR domain-name:value = 'example.com']`, []string{dom}},
		{`[ipv4-addr:value = '198.51.100.3'] FOLLOWEDBY [ipv4-addr:value = '198.51.100.3']`, nil},
	} {
		got, err := ObservableIDs(c.in)
		if err != nil {
			t.Fatalf("ObservableIDs(%s): %v", c.in, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ObservableIDs(%s) = %v, want %v", c.in, got, c.want)
		}
	}
	if _, err := ObservableIDs(`[ipv4-addr:value = ]`); err == nil {
		t.Error("ObservableIDs of a broken pattern: no error")
	}
	if _, err := (Observable{"file", "name", "a.exe"}).SCO(); err == nil {
		t.Error("SCO of a non-identifying path: no error")
	}
}
