package detect_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/ingest/detect"
	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// fixture is a set of indicators and observables covering every rule kind
// and every reason to leave something out. The values are real malicious
// infrastructure from the shared maltrail data, so that none is reserved.
var fixture = []string{
	// Kept.
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000001","created":"2025-01-01T00:00:00Z","modified":"2025-03-04T00:00:00Z",
	  "name":"Sofacy C2","description":"C2 of \"Sofacy\"; seen\\used in 2025\nsecond line — ünïcode","pattern":"[domain-name:value = 'adawareblock.com']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z",
	  "labels":["apt28","c2"],"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
	  "external_references":[{"source_name":"x","description":"no url"},{"source_name":"blog","url":"https://www.example-blog.net/sofacy?x=1"}],
	  "x_verband_first_seen":"2024-12-01T00:00:00.000Z","x_verband_last_seen":"2025-02-01T00:00:00.000Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000002","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z",
	  "pattern":"[url:value = 'http://185.203.118.198/en_action_device/center_correct_customer/drivers-i7-x86.php?a=%20b#frag'] OR [url:value = 'https://Pbxsources.com/']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000003","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z","name":"37.236.39.49:1177",
	  "pattern":"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '37.236.39.49' AND network-traffic:dst_port = 1177]","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000004","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z",
	  "pattern":"[ipv4-addr:value = '185.141.63.103' OR ipv6-addr:value = '2a06:98c0::1' OR ipv4-addr:value ISSUBSET '45.9.148.0/24']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000005","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z",
	  "pattern":"[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427E' OR file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709' OR file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' OR file:hashes.'SHA-512' = 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e']",
	  "pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000006","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z",
	  "pattern":"[email-addr:value = 'Phish@Akamaicontainer.com'] OR [email-message:from_ref.value = 'boss@msedgeupdate.net']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`,
	// An observable of a value an indicator names too: the indicator wins.
	`{"type":"domain-name","spec_version":"2.1","id":"domain-name--00000000-0000-4000-8000-000000000007","value":"adawareblock.com"}`,
	`{"type":"url","spec_version":"2.1","id":"url--00000000-0000-4000-8000-000000000008","value":"http://xn--bcher-kva.ch/basvurulınk.apk"}`,
	`{"type":"file","spec_version":"2.1","id":"file--00000000-0000-4000-8000-000000000009","hashes":{"SHA-256":"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae","SSDEEP":"3:a:b"}}`,
	`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--00000000-0000-4000-8000-00000000000a","value":"37.236.39.49"}`,
	// Left out.
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000101","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z","revoked":true,
	  "pattern":"[domain-name:value = 'revoked.xyz']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000102","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z",
	  "pattern":"[domain-name:value = 'expired.xyz']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z","valid_until":"2026-01-01T00:00:00Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000103","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z",
	  "pattern":"[domain-name:value = 'future.xyz']","pattern_type":"stix","valid_from":"2030-01-01T00:00:00Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000104","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z","indicator_types":["benign"],
	  "pattern":"[domain-name:value = 'benign.xyz']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000105","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z",
	  "pattern":"[url:value LIKE '%evil%']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000106","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z",
	  "pattern":"[ipv4-addr:value = '185.141.63.104'] WITHIN 300 SECONDS","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000107","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z",
	  "pattern":"[file:name = 'evil.exe' AND file:size = 3]","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000108","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z",
	  "pattern":"[file:name = 'evil.exe']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000109","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z",
	  "pattern":"[ipv4-addr:value = '10.1.2.3' OR ipv4-addr:value = '192.0.2.1' OR domain-name:value = 'www.example.com' OR ipv6-addr:value = 'fe80::1' OR ipv4-addr:value ISSUBSET '0.0.0.0/0' OR url:value = 'http://127.0.0.1/x']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-00000000010a","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z",
	  "pattern":"[domain-name:value = 'www.google.com']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-00000000010b","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z",
	  "object_marking_refs":["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"],
	  "pattern":"[domain-name:value = 'red.xyz']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-00000000010c","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z",
	  "pattern":"title: x","pattern_type":"sigma","valid_from":"2025-01-01T00:00:00Z"}`,
	`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-00000000010d","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z",
	  "pattern":"[domain-name:value = 'not a domain']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`,
	`{"type":"malware","spec_version":"2.1","id":"malware--00000000-0000-4000-8000-00000000010e","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z","name":"x","is_family":true}`,
}

func fixtureObjects(t *testing.T) []*schema.Object {
	t.Helper()
	var out []*schema.Object
	for i, s := range fixture {
		o, err := schema.ParseObject([]byte(s))
		if err != nil {
			t.Fatalf("fixture %d: %v", i, err)
		}
		if err := schema.Validate(o); err != nil {
			t.Fatalf("fixture %d: %v", i, err)
		}
		out = append(out, o)
	}
	return out
}

func collectFixture(t *testing.T) *detect.Collector {
	t.Helper()
	c := detect.NewCollector(detect.Options{
		Now:         now,
		Observables: true,
		Warninglisted: func(typ, value string) bool {
			return typ == "domain-name" && (value == "google.com" || strings.HasSuffix(value, ".google.com"))
		},
	})
	objs := fixtureObjects(t)
	// The order objects arrive in does not matter.
	for i := len(objs) - 1; i >= 0; i-- {
		c.Add(objs[i], detect.Origin{Source: "fixture"})
	}
	return c
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestCollectorSkips(t *testing.T) {
	c := collectFixture(t)
	want := map[string]error{
		"indicator--00000000-0000-4000-8000-000000000101": detect.ErrRevoked,
		"indicator--00000000-0000-4000-8000-000000000102": detect.ErrExpired,
		"indicator--00000000-0000-4000-8000-000000000103": detect.ErrNotYetValid,
		"indicator--00000000-0000-4000-8000-000000000104": detect.ErrNotForDetection,
		"indicator--00000000-0000-4000-8000-000000000105": detect.ErrNotSimple,
		"indicator--00000000-0000-4000-8000-000000000106": detect.ErrNotSimple,
		"indicator--00000000-0000-4000-8000-000000000107": detect.ErrNotSimple,
		"indicator--00000000-0000-4000-8000-000000000108": detect.ErrUnsupported,
		"indicator--00000000-0000-4000-8000-000000000109": detect.ErrReserved,
		"indicator--00000000-0000-4000-8000-00000000010a": detect.ErrWarninglisted,
		"indicator--00000000-0000-4000-8000-00000000010b": detect.ErrTLP,
		"indicator--00000000-0000-4000-8000-00000000010c": detect.ErrNotSimple,
		"indicator--00000000-0000-4000-8000-00000000010d": detect.ErrBadValue,
	}
	got := map[string]int{}
	var report strings.Builder
	for _, s := range c.Skipped() {
		fmt.Fprintln(&report, s)
		w, ok := want[s.ID]
		if !ok {
			t.Errorf("unexpected skip %s", s)
			continue
		}
		if !errors.Is(s.Reason, w) {
			t.Errorf("%s: reason %v, want %v", s.ID, s.Reason, w)
		}
		got[s.ID]++
	}
	for id := range want {
		if got[id] == 0 {
			t.Errorf("%s was not skipped", id)
		}
	}
	if n := got["indicator--00000000-0000-4000-8000-000000000109"]; n != 6 {
		t.Errorf("%d reserved values skipped, want 6", n)
	}
	golden(t, "skipped.txt", []byte(report.String()))

	// The indicator wins over the observable of the same value.
	for _, e := range c.Entries() {
		if e.Value == "adawareblock.com" && !e.Indicator {
			t.Error("the observable won over the indicator")
		}
	}
}

func TestSuricataGolden(t *testing.T) {
	c := collectFixture(t)
	var buf bytes.Buffer
	res, err := detect.WriteSuricata(&buf, c.Entries(), detect.SuricataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := validateSuricataFile(buf.String())
	if err != nil {
		t.Fatal(err)
	}
	if n != res.Rules {
		t.Errorf("validated %d rules, WriteSuricata says %d", n, res.Rules)
	}
	golden(t, "fixture.rules", buf.Bytes())
	var names []string
	for name := range res.Lists {
		names = append(names, name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"verband-md5.list", "verband-sha1.list", "verband-sha256.list"}) {
		t.Errorf("hash lists %q", names)
	}
	for _, name := range names {
		golden(t, name, res.Lists[name])
		if !strings.Contains(buf.String(), ":"+name+";") {
			t.Errorf("no rule loads %s", name)
		}
	}
	var skipped []string
	for _, s := range res.Skipped {
		skipped = append(skipped, s.Value)
		if !errors.Is(s.Reason, detect.ErrNoRule) {
			t.Errorf("skip %s: %v", s, s.Reason)
		}
	}
	if len(skipped) != 3 { // two e-mail addresses and the SHA-512 digest
		t.Errorf("skipped %q, want the e-mail addresses and the SHA-512 digest", skipped)
	}
	// The same entries give the same rules, sids included.
	var again bytes.Buffer
	if _, err := detect.WriteSuricata(&again, collectFixture(t).Entries(), detect.SuricataOptions{}); err != nil {
		t.Fatal(err)
	}
	if again.String() != buf.String() {
		t.Error("a second export differs")
	}
}

func TestZeekGolden(t *testing.T) {
	c := collectFixture(t)
	var buf bytes.Buffer
	res, err := detect.WriteZeek(&buf, c.Entries(), detect.ZeekOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := validateZeekFile(buf.String())
	if err != nil {
		t.Fatal(err)
	}
	if n != res.Lines {
		t.Errorf("validated %d lines, WriteZeek says %d", n, res.Lines)
	}
	golden(t, "fixture.intel", buf.Bytes())
	for _, want := range []string{
		"185.203.118.198/en_action_device/center_correct_customer/drivers-i7-x86.php?a=%20b\tIntel::URL",
		"45.9.148.0/24\tIntel::SUBNET",
		"37.236.39.49\tIntel::ADDR",
		"phish@akamaicontainer.com\tIntel::EMAIL",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("intel file lacks %q", want)
		}
	}
}

func TestCSVGoldenAndRoundTrip(t *testing.T) {
	entries := collectFixture(t).Entries()
	var buf bytes.Buffer
	if err := detect.WriteCSV(&buf, entries); err != nil {
		t.Fatal(err)
	}
	golden(t, "fixture.csv", buf.Bytes())

	// Loading the export with the lists decoder and collecting again gives
	// the same entries.
	dec, err := lists.NewDecoder(bytes.NewReader(buf.Bytes()), "export.csv", lists.Options{Indicators: true, Container: lists.ContainerNone})
	if err != nil {
		t.Fatal(err)
	}
	c := detect.NewCollector(detect.Options{Now: now})
	for {
		o, err := dec.Next()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatal(err)
			}
			break
		}
		c.Add(o, detect.Origin{})
	}
	back := c.Entries()
	if len(back) != len(entries) {
		t.Fatalf("%d entries back, want %d", len(back), len(entries))
	}
	for i := range entries {
		a, b := entries[i], back[i]
		if a.Kind != b.Kind || a.Value != b.Value || a.Port != b.Port || !a.FirstSeen.Equal(b.FirstSeen) ||
			!a.LastSeen.Equal(b.LastSeen) || !slices.Equal(a.Labels, b.Labels) || a.TLP != b.TLP || a.Source != b.Source {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, b, a)
		}
	}
}

func TestValidatorsRefuse(t *testing.T) {
	good := `alert dns $HOME_NET any -> any any (msg:"VERBAND domain a\;b"; dns.query; dotprefix; content:".a|3B|b.xyz"; nocase; endswith; classtype:trojan-activity; sid:1000000001; rev:1; metadata:stix_id indicator--x, tlp clear;)`
	if _, err := validateSuricataRule(good); err != nil {
		t.Fatalf("good rule refused: %v", err)
	}
	for _, bad := range []string{
		strings.Replace(good, `a\;b`, `a;b`, 1),
		strings.Replace(good, `|3B|`, `|3G|`, 1),
		strings.Replace(good, `|3B|`, `;`, 1),
		strings.Replace(good, `sid:1000000001; `, ``, 1),
		strings.Replace(good, `sid:1000000001`, `sid:x`, 1),
		strings.Replace(good, `dns.query; `, `dns.qeury; `, 1),
		strings.Replace(good, `any -> any`, `any => any`, 1),
		strings.Replace(good, `$HOME_NET`, `999.1.1.1`, 1),
		strings.Replace(good, `rev:1; metadata:stix_id indicator--x, tlp clear;)`, `rev:1)`, 1),
		strings.Replace(good, `tlp clear`, `tlp`, 1),
		strings.Replace(good, `content:".a|3B|b.xyz"; `, ``, 1),
	} {
		if _, err := validateSuricataRule(bad); err == nil {
			t.Errorf("bad rule accepted: %s", bad)
		}
	}
	header := []string{"indicator", "indicator_type", "meta.source", "meta.desc", "meta.url"}
	for _, bad := range []string{
		"a.xyz\tIntel::DOMAIN\tsrc\tdesc",
		"a.xyz\tIntel::DOMAIN\tsrc\t\t-",
		"http://a.xyz/x\tIntel::URL\tsrc\t-\t-",
		"A.xyz\tIntel::DOMAIN\tsrc\t-\t-",
		"1.2.3.4:80\tIntel::ADDR\tsrc\t-\t-",
		"a.xyz\tIntel::HOST\tsrc\t-\t-",
		"abc\tIntel::FILE_HASH\tsrc\t-\t-",
	} {
		if err := validateZeekLine(header, bad); err == nil {
			t.Errorf("bad intel line accepted: %q", bad)
		}
	}
}
