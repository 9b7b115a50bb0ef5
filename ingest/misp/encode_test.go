package misp

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/verband-cti/verband/schema"
)

func parse(t *testing.T, s string) *schema.Object {
	t.Helper()
	o, err := schema.ParseObject([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestEncodeForeignObjects exports STIX objects that did not come from
// MISP.
func TestEncodeForeignObjects(t *testing.T) {
	ts := `"spec_version":"2.1","created":"2024-01-02T03:04:05.000Z","modified":"2024-01-02T03:04:05.000Z"`
	objs := []*schema.Object{
		parse(t, `{"type":"report","id":"report--0e0b6e9a-6f2a-4a32-b5c1-3b5a6f2b0c11",`+ts+`,"name":"Case export","published":"2024-01-03T00:00:00Z",
			"created_by_ref":"identity--5f4ae6e4-27c5-4b5c-9a12-2f8a8a0b2c33","labels":["phishing"],
			"object_marking_refs":["`+schema.MarkingTLP2Amber+`"],"object_refs":["ipv4-addr--1f1ab3b1-0000-5000-8000-000000000001"]}`),
		parse(t, `{"type":"identity","id":"identity--5f4ae6e4-27c5-4b5c-9a12-2f8a8a0b2c33",`+ts+`,"name":"CERT-A","identity_class":"organization"}`),
		parse(t, `{"type":"ipv4-addr","id":"ipv4-addr--1f1ab3b1-0000-5000-8000-000000000001","value":"198.51.100.9"}`),
		parse(t, `{"type":"domain-name","id":"domain-name--1f1ab3b1-0000-5000-8000-000000000002","value":"evil.example"}`),
		parse(t, `{"type":"file","id":"file--1f1ab3b1-0000-5000-8000-000000000003","hashes":{"MD5":"9c1b689ac6863f23bf767f802913826d","SHA-256":"398811f4fe60d8088cf19a50208927761bd8d8dc73ce9ee77b407aaee91a3516"},"name":"a.exe"}`),
		parse(t, `{"type":"indicator","id":"indicator--1f1ab3b1-0000-4000-8000-000000000004",`+ts+`,"pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z",
			"pattern":"[url:value = 'http://evil.example/x'] OR [domain-name:value = 'evil.example' OR file:hashes.'SHA-1' = '98fbd545b5c1b1fe185730ba9b1cd4bebfae4476']","name":"C2"}`),
		parse(t, `{"type":"indicator","id":"indicator--1f1ab3b1-0000-4000-8000-000000000005",`+ts+`,"pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z",
			"pattern":"[network-traffic:dst_port = 443 AND network-traffic:dst_ref.value = '198.51.100.9']"}`),
		parse(t, `{"type":"indicator","id":"indicator--1f1ab3b1-0000-4000-8000-000000000006",`+ts+`,"pattern_type":"yara","valid_from":"2024-01-01T00:00:00Z","pattern":"rule x { condition: true }"}`),
		parse(t, `{"type":"malware","id":"malware--1f1ab3b1-0000-4000-8000-000000000007",`+ts+`,"name":"LanternRAT","is_family":true,"aliases":["LRAT"]}`),
		parse(t, `{"type":"vulnerability","id":"vulnerability--1f1ab3b1-0000-4000-8000-000000000008",`+ts+`,"name":"CVE-2021-44228"}`),
		parse(t, `{"type":"location","id":"location--1f1ab3b1-0000-4000-8000-000000000009",`+ts+`,"country":"BE"}`),
		parse(t, `{"type":"note","id":"note--1f1ab3b1-0000-4000-8000-000000000010",`+ts+`,"content":"analyst note","object_refs":["report--0e0b6e9a-6f2a-4a32-b5c1-3b5a6f2b0c11"]}`),
		parse(t, `{"type":"sighting","id":"sighting--1f1ab3b1-0000-4000-8000-000000000011",`+ts+`,"sighting_of_ref":"indicator--1f1ab3b1-0000-4000-8000-000000000006","where_sighted_refs":["identity--5f4ae6e4-27c5-4b5c-9a12-2f8a8a0b2c33"]}`),
	}
	var buf bytes.Buffer
	stats, err := Encode(&buf, objs, EncodeOptions{Indent: true})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Event struct {
			UUID, Info, Distribution string
			Orgc                     map[string]string
			Tag                      []map[string]string
			Attribute                []map[string]any
			Object                   []map[string]any
			Galaxy                   []map[string]any
			EventReport              []map[string]any
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	ev := out.Event
	if ev.UUID != "0e0b6e9a-6f2a-4a32-b5c1-3b5a6f2b0c11" || ev.Info != "Case export" || ev.Orgc["name"] != "CERT-A" || ev.Distribution != "1" {
		t.Errorf("event header %+v", ev)
	}
	var tags []string
	for _, tg := range ev.Tag {
		tags = append(tags, tg["name"])
	}
	for _, want := range []string{"tlp:amber", "phishing", `misp-galaxy:mitre-malware="LanternRAT"`} {
		if !slices.Contains(tags, want) {
			t.Errorf("tags %v lack %q", tags, want)
		}
	}
	got := map[string]bool{}
	for _, a := range ev.Attribute {
		got[a["type"].(string)+" "+a["value"].(string)+" "+map[bool]string{true: "ids", false: "-"}[a["to_ids"].(bool)]] = true
	}
	for _, want := range []string{
		"ip-dst 198.51.100.9 -", "domain evil.example -", "url http://evil.example/x ids", "domain evil.example ids",
		"sha1 98fbd545b5c1b1fe185730ba9b1cd4bebfae4476 ids", "yara rule x { condition: true } ids",
		"stix2-pattern [network-traffic:dst_port = 443 AND network-traffic:dst_ref.value = '198.51.100.9'] ids",
		"vulnerability CVE-2021-44228 -",
	} {
		if !got[want] {
			t.Errorf("no attribute %q in %v", want, got)
		}
	}
	if len(ev.Object) != 1 || ev.Object[0]["name"] != "file" || len(ev.Object[0]["Attribute"].([]any)) != 3 {
		t.Errorf("file object %v", ev.Object)
	}
	if len(ev.Galaxy) != 1 || len(ev.EventReport) != 1 || stats.Sightings != 1 {
		t.Errorf("galaxies %v, event reports %v, sightings %d", ev.Galaxy, ev.EventReport, stats.Sightings)
	}
	if len(stats.Skipped) != 1 || !strings.HasPrefix(stats.Skipped[0].ID, "location--") {
		t.Errorf("skipped %+v, want the location only", stats.Skipped)
	}
	// The export decodes again.
	d := decodeString(t, "export.json", buf.String())
	if len(d.errs) > 0 || len(d.byType("report")) != 1 {
		t.Errorf("export does not decode cleanly: %v", d.errs)
	}
}
