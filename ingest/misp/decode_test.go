package misp

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/schema"
)

const (
	evUUID      = "5cccb246-0da0-4c93-a463-61fe0a016219"
	attrUUID    = "5b6464ca-e73c-4707-9b8a-d0350acd0835"
	testOrgUUID = "55f6ea5e-51ac-4344-bc8c-4170950d210f"
)

// event is a small valid event body (without the "Event" wrapper).
const event = `{"uuid":"` + evUUID + `","info":"Test event","date":"2019-05-03","timestamp":"1556920535",
"publish_timestamp":"1556920600","published":true,"distribution":"3","analysis":"2","threat_level_id":"1",
"Orgc":{"name":"ESET","uuid":"` + testOrgUUID + `"},
"Tag":[{"name":"tlp:amber"},{"name":"PAP:GREEN"},{"name":"misp-galaxy:threat-actor=\"Turla Group\""}],
"Attribute":[
 {"uuid":"` + attrUUID + `","type":"ip-dst","category":"Network activity","value":"198.51.100.7","to_ids":true,"timestamp":"1556920535","comment":"C2"},
 {"uuid":"5b6464ca-45f8-43d0-8b78-d0350acd0835","type":"domain|ip","category":"Network activity","value":"Evil.Example.COM|198.51.100.7","to_ids":false,"timestamp":"1556920535","distribution":"0"},
 {"uuid":"5b6464ca-8c84-4c2d-95d9-d0350acd0835","type":"text","category":"Other","value":"free text","to_ids":false,"timestamp":"1556920535"}
],
"Object":[{"uuid":"5c066053-0e94-46eb-9746-4b7d950d210f","name":"file","meta-category":"file","timestamp":"1556920535",
 "Attribute":[
  {"uuid":"5c066053-1111-46eb-9746-4b7d950d210f","object_relation":"md5","type":"md5","category":"Payload delivery","value":"9C1B689AC6863F23BF767F802913826D","to_ids":true},
  {"uuid":"5c066053-2222-46eb-9746-4b7d950d210f","object_relation":"sha1","type":"sha1","category":"Payload delivery","value":"98fbd545b5c1b1fe185730ba9b1cd4bebfae4476","to_ids":false},
  {"uuid":"5c066053-3333-46eb-9746-4b7d950d210f","object_relation":"filename","type":"filename","category":"Payload delivery","value":"libstz.so","to_ids":false}
 ],
 "ObjectReference":[{"uuid":"5c066053-4444-46eb-9746-4b7d950d210f","referenced_uuid":"` + attrUUID + `","relationship_type":"communicates-with"}]
}]}`

func wrapped(body string) string { return `{"Event":` + body + `}` }

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	zw.Close()
	return buf.Bytes()
}

// TestInputForms decodes one event in every layout the decoder accepts and
// expects the same objects from each.
func TestInputForms(t *testing.T) {
	want := decodeString(t, "bare.json", wrapped(event))
	if len(want.errs) > 0 || len(want.objs) == 0 {
		t.Fatalf("bare event: %d objects, errors %v", len(want.objs), want.errs)
	}
	forms := map[string]string{
		"unwrapped":     event,
		"response":      `{"response":[` + wrapped(event) + `]}`,
		"response-one":  `{"response":` + wrapped(event) + `}`,
		"array":         `[` + wrapped(event) + `]`,
		"bom":           "\xef\xbb\xbf" + wrapped(event),
		"gzip":          string(gz(t, wrapped(event))),
		"gzip-response": string(gz(t, `{"response":[`+wrapped(event)+`]}`)),
	}
	for name, in := range forms {
		t.Run(name, func(t *testing.T) {
			got := decodeString(t, name, in)
			if len(got.errs) > 0 {
				t.Fatalf("errors: %v", got.errs)
			}
			if len(got.objs) != len(want.objs) {
				t.Fatalf("%d objects, want %d", len(got.objs), len(want.objs))
			}
			for i := range got.objs {
				a, _ := got.objs[i].MarshalJSON()
				b, _ := want.objs[i].MarshalJSON()
				if !bytes.Equal(a, b) {
					t.Errorf("object %d:\n got %s\nwant %s", i, a, b)
				}
			}
		})
	}
}

// TestEventMapping checks the mapping of the small event, object by object.
func TestEventMapping(t *testing.T) {
	d := decodeString(t, "event.json", wrapped(event))
	if len(d.errs) > 0 {
		t.Fatal(d.errs)
	}
	rep := d.byID("report--" + evUUID)
	if rep == nil {
		t.Fatal("no report with the event's uuid")
	}
	if name, _ := rep.String("name"); name != "Test event" {
		t.Errorf("report name %q", name)
	}
	if p, _ := rep.String("published"); p != "2019-05-03T21:56:40.000Z" {
		t.Errorf("published %q", p)
	}
	if c, _ := rep.String("created_by_ref"); c != "identity--"+testOrgUUID {
		t.Errorf("created_by_ref %q", c)
	}
	if got := rep.Strings("object_marking_refs"); !slices.Equal(got, []string{schema.MarkingTLP2Amber}) {
		t.Errorf("report markings %v, want TLP:AMBER", got)
	}
	if schema.PAPOf(rep) != schema.PAPGreen {
		t.Errorf("PAP tag not kept as label: %v", rep.Strings("labels"))
	}
	if d.byID(schema.MarkingTLP2Amber) == nil {
		t.Error("the TLP:AMBER marking definition was not emitted")
	}
	ip := d.byType("ipv4-addr")
	if len(ip) != 1 {
		t.Fatalf("%d ipv4-addr, want the one address named twice", len(ip))
	}
	dom := d.byType("domain-name")
	if len(dom) != 1 || mustString(dom[0], "value") != "evil.example.com" {
		t.Fatalf("domain-name %v, want evil.example.com", dom)
	}
	ind := d.byID("indicator--" + attrUUID)
	if ind == nil || mustString(ind, "pattern") != "[ipv4-addr:value = '198.51.100.7']" {
		t.Fatalf("indicator %v", ind)
	}
	if d.byID("observed-data--5b6464ca-45f8-43d0-8b78-d0350acd0835") == nil {
		t.Error("no observed-data for the domain|ip attribute")
	}
	resolves := false
	for _, r := range d.byType("relationship") {
		if mustString(r, "relationship_type") == "resolves-to" && mustString(r, "source_ref") == dom[0].ID && mustString(r, "target_ref") == ip[0].ID {
			resolves = true
		}
	}
	if !resolves {
		t.Error("no resolves-to relationship from the domain to the address")
	}
	text := d.byID(TypeAttribute + "--5b6464ca-8c84-4c2d-95d9-d0350acd0835")
	if text == nil || mustString(text, "x_misp_value") != "free text" {
		t.Errorf("text attribute not kept: %v", text)
	}
	files := d.byType("file")
	if len(files) != 1 {
		t.Fatalf("%d files, want one for the file object", len(files))
	}
	if got := string(files[0].Props["hashes"]); got != `{"MD5":"9c1b689ac6863f23bf767f802913826d","SHA-1":"98fbd545b5c1b1fe185730ba9b1cd4bebfae4476"}` {
		t.Errorf("file hashes %s", got)
	}
	obj := d.byID("observed-data--5c066053-0e94-46eb-9746-4b7d950d210f")
	if obj == nil || mustString(obj, "x_misp_name") != "file" {
		t.Fatalf("object carrier %v", obj)
	}
	if d.byID("indicator--5c066053-1111-46eb-9746-4b7d950d210f") == nil {
		t.Error("no indicator for the object's to_ids md5")
	}
	ref := d.byID("relationship--5c066053-4444-46eb-9746-4b7d950d210f")
	if ref == nil || mustString(ref, "source_ref") != obj.ID || mustString(ref, "target_ref") != ind.ID {
		t.Errorf("ObjectReference relationship %v", ref)
	}
	var ta *schema.Object
	for _, o := range d.byType("threat-actor") {
		ta = o
	}
	if ta == nil || mustString(ta, "name") != "Turla Group" {
		t.Errorf("no threat actor from the galaxy tag")
	}
	members := rep.Strings("object_refs")
	for _, o := range d.objs {
		switch o.Type {
		case "identity", "marking-definition", "report":
			continue
		}
		if !slices.Contains(members, o.ID) {
			t.Errorf("%s not a member of the report", o.ID)
		}
	}
}

func mustString(o *schema.Object, p string) string {
	s, _ := o.String(p)
	return s
}

// TestHints checks how tags and distribution become markings and hints.
func TestHints(t *testing.T) {
	in := wrapped(`{"uuid":"` + evUUID + `","info":"x","timestamp":"1556920535","distribution":"4",
"SharingGroup":{"name":"SG","Organisation":{"name":"CERT-A","uuid":"` + testOrgUUID + `"},
 "SharingGroupOrg":[{"Organisation":{"name":"Police B"}},{"Organisation":{"name":"ISAC C"}}]},
"Attribute":[
 {"uuid":"` + attrUUID + `","type":"domain","value":"a.example","to_ids":true,"distribution":"5"},
 {"uuid":"5b6464ca-45f8-43d0-8b78-d0350acd0835","type":"domain","value":"b.example","to_ids":true,"distribution":"0"},
 {"uuid":"5b6464ca-8c84-4c2d-95d9-d0350acd0835","type":"domain","value":"c.example","to_ids":true,"Tag":[{"name":"tlp:red"}]}
]}`)
	d := decodeString(t, "hints.json", in)
	if len(d.errs) > 0 {
		t.Fatal(d.errs)
	}
	hint := map[string]ingest.Hints{}
	for i, o := range d.objs {
		hint[o.ID] = d.hints[i]
	}
	sg := []string{"CERT-A", "ISAC C", "Police B"}
	rep := hint["report--"+evUUID]
	if rep.TLP != schema.TLPAmber || !slices.Equal(rep.Sharing, sg) {
		t.Errorf("report hints %+v, want AMBER shared with %v", rep, sg)
	}
	if h := hint["indicator--"+attrUUID]; h.TLP != schema.TLPAmber || !slices.Equal(h.Sharing, sg) {
		t.Errorf("inheriting attribute hints %+v", h)
	}
	if h := hint["indicator--5b6464ca-45f8-43d0-8b78-d0350acd0835"]; h.TLP != schema.TLPAmberStrict || h.Sharing != nil {
		t.Errorf("distribution 0 attribute hints %+v, want AMBER+STRICT, owner only", h)
	}
	red := d.byID("indicator--5b6464ca-8c84-4c2d-95d9-d0350acd0835")
	if schema.TLPOf(red) != schema.TLPRed || hint[red.ID].TLP != schema.TLPRed {
		t.Errorf("tlp:red attribute: marking %v, hints %+v", schema.TLPOf(red), hint[red.ID])
	}
	if got := red.Strings("x_misp_tlp_tags"); !slices.Equal(got, []string{"tlp:red"}) {
		t.Errorf("x_misp_tlp_tags %v", got)
	}

	// Untagged, all communities: GREEN by hint, no marking.
	d = decodeString(t, "green.json", wrapped(`{"uuid":"`+evUUID+`","info":"x","distribution":"3","Attribute":[{"type":"domain","value":"a.example","uuid":"`+attrUUID+`"}]}`))
	for i, o := range d.objs {
		if o.Type == "report" && (d.hints[i].TLP != schema.TLPGreen || o.Props["object_marking_refs"] != nil) {
			t.Errorf("untagged distribution 3: hints %+v, markings %s", d.hints[i], o.Props["object_marking_refs"])
		}
	}

	// IgnoreDistribution leaves distribution out.
	s0, err := NewSource(strings.NewReader(wrapped(`{"uuid":"`+evUUID+`","info":"x","distribution":"0","Attribute":[{"type":"domain","value":"a.example","uuid":"`+attrUUID+`"}]}`)), "public.json", Options{IgnoreDistribution: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range drain(t, s0).hints {
		if h.TLP != schema.TLPUnmarked || h.Sharing != nil {
			t.Errorf("IgnoreDistribution: hints %+v", h)
		}
	}

	// TrustCreatorOrg makes the creator the owner.
	s, err := NewSource(strings.NewReader(wrapped(event)), "owner.json", Options{TrustCreatorOrg: true})
	if err != nil {
		t.Fatal(err)
	}
	for {
		o, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		if o.Type == "report" {
			if s.Hints().Owner != "ESET" {
				t.Errorf("owner %q, want ESET", s.Hints().Owner)
			}
			break
		}
	}
}

// TestBadInput checks that each kind of bad input yields an
// *ingest.ObjectError naming the file, the event, the field and the
// cause, fatal only when nothing more can be read.
func TestBadInput(t *testing.T) {
	good := wrapped(event)
	tests := []struct {
		name    string
		in      string
		opts    Options
		want    error
		fatal   bool
		index   int
		field   string
		id      string
		goodObj bool // objects still come from the rest of the input
	}{
		{name: "empty", in: "  ", want: ingest.ErrEmpty, fatal: true, index: -1},
		{name: "malformed", in: `{"Event": {"info": "x",}}`, want: ingest.ErrMalformedJSON, fatal: true},
		{name: "truncated", in: `{"response": [{"Event": {"info": "x"`, want: ingest.ErrTruncated, fatal: true},
		{name: "truncated gzip", in: string(gz(t, good)[:200]), want: ingest.ErrTruncated, fatal: true},
		{name: "trailing garbage", in: good + ` x`, want: ingest.ErrTrailingData, fatal: true, index: -1, goodObj: true},
		{name: "second value", in: good + ` {}`, want: ingest.ErrTrailingData, fatal: true, index: -1, goodObj: true},
		{name: "top-level string", in: `"x"`, want: ingest.ErrBadTopLevel, fatal: true, index: -1},
		{name: "member next to Event", in: `{"Event":` + event + `,"x":1}`, want: ingest.ErrBadTopLevel, fatal: true, index: -1, field: "x", goodObj: true},
		{name: "invalid UTF-8", in: `{"response":[{"Event":{"info":"a` + "\xff" + `"}},` + good + `]}`, want: ingest.ErrInvalidUTF8, goodObj: true},
		{name: "lone surrogate", in: `[{"Event":{"info":"\ud800"}},` + good + `]`, want: ingest.ErrInvalidUTF8, goodObj: true},
		{name: "duplicate key", in: `[{"Event":{"info":"a","Attribute":[{"type":"domain","type":"url","value":"x"}]}},` + good + `]`, want: ingest.ErrDuplicateKey, goodObj: true},
		{name: "deep nesting", in: `[{"Event":{"info":"a","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}},` + good + `]`, want: ingest.ErrTooDeep, goodObj: true},
		{name: "huge event", in: `[{"Event":{"info":"` + strings.Repeat("a", 5000) + `"}}]`, opts: Options{MaxEventBytes: 1000}, want: ingest.ErrTooLarge, fatal: true},
		{name: "not an event", in: `{"response":[42,` + good + `]}`, want: ErrNotEvent, goodObj: true},
		{name: "unknown element", in: `{"response":[{"foo":1},` + good + `]}`, want: ErrNotEvent, goodObj: true},
		{name: "Attribute not a list", in: `[{"Event":{"info":"a","Attribute":"x"}},` + good + `]`, want: ErrBadField, field: "Attribute", goodObj: true},
		{name: "attribute without type", in: wrapped(`{"info":"a","Attribute":[{"uuid":"` + attrUUID + `","value":"x"},{"type":"domain","value":"ok.example"}]}`),
			want: ErrBadField, field: "Attribute[0].type", id: attrUUID, goodObj: true},
		{name: "object attribute without value", in: wrapped(`{"info":"a","Object":[{"name":"file","Attribute":[{"type":"md5"}]}],"Attribute":[{"type":"domain","value":"ok.example"}]}`),
			want: ErrBadField, field: "Object[0].Attribute[0].value", goodObj: true},
		{name: "bad timestamp", in: wrapped(`{"info":"a","Attribute":[{"uuid":"` + attrUUID + `","type":"domain","value":"x.example","timestamp":"yesterday"},{"type":"domain","value":"ok.example"}]}`),
			want: ErrBadField, field: "Attribute[0].timestamp", id: attrUUID, goodObj: true},
		{name: "value of wrong type", in: wrapped(`{"info":"a","Attribute":[{"type":"domain","value":{"a":1}},{"type":"domain","value":"ok.example"}]}`),
			want: ErrBadField, field: "Attribute[0].value", goodObj: true},
		{name: "empty event", in: wrapped(`{"info":"nothing"}`), want: ErrEmptyEvent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d decoded
			s, err := NewSource(strings.NewReader(tc.in), "bad.json", tc.opts)
			if err != nil {
				var oe *ingest.ObjectError
				if !errors.As(err, &oe) {
					t.Fatalf("NewSource: %v", err)
				}
				d.errs = []*ingest.ObjectError{oe}
			} else {
				d = drain(t, s)
			}
			if len(d.errs) == 0 {
				t.Fatalf("no error; %d objects", len(d.objs))
			}
			e := d.errs[0]
			if !errors.Is(e, tc.want) {
				t.Fatalf("error %v, want %v", e, tc.want)
			}
			if e.Fatal != tc.fatal {
				t.Errorf("Fatal = %v in %v", e.Fatal, e)
			}
			if e.File != "bad.json" || !strings.HasPrefix(e.Error(), "bad.json: ") {
				t.Errorf("error does not name the file: %v", e)
			}
			if e.Index != tc.index {
				t.Errorf("Index = %d, want %d: %v", e.Index, tc.index, e)
			}
			if tc.field != "" && e.Field != tc.field {
				t.Errorf("Field = %q, want %q: %v", e.Field, tc.field, e)
			}
			if tc.id != "" && e.ID != tc.id {
				t.Errorf("ID = %q, want %q: %v", e.ID, tc.id, e)
			}
			if tc.goodObj && len(d.objs) == 0 {
				t.Errorf("nothing decoded from the good part of the input")
			}
			for _, o := range d.objs {
				if err := schema.Validate(o); err != nil {
					t.Errorf("%s: %v", o.ID, err)
				}
			}
		})
	}
}

// TestFeed reads a feed folder: manifest.json and one file per event; a
// missing event file is reported and skipped.
func TestFeed(t *testing.T) {
	dir := t.TempDir()
	other := strings.ReplaceAll(strings.ReplaceAll(event, evUUID, "6cccb246-0da0-4c93-a463-61fe0a016219"), "Test event", "Other event")
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("manifest.json", `{"`+evUUID+`":{"info":"Test event"},"6cccb246-0da0-4c93-a463-61fe0a016219":{"info":"Other event"},"7cccb246-0da0-4c93-a463-61fe0a016219":{"info":"missing"}}`)
	write(evUUID+".json", wrapped(event))
	write("6cccb246-0da0-4c93-a463-61fe0a016219.json.gz", string(gz(t, wrapped(other))))
	write("hashes.csv", "x,y\n")
	s, c, err := OpenFeed(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d := drain(t, s)
	if n := len(d.byType("report")); n != 2 {
		t.Errorf("%d reports, want 2", n)
	}
	if len(d.errs) != 1 || d.errs[0].Fatal || !errors.Is(d.errs[0], os.ErrNotExist) || !strings.Contains(d.errs[0].File, "7cccb246") {
		t.Errorf("errors %v, want one about the missing event file", d.errs)
	}
	if ok, _ := DetectFile(filepath.Join(dir, evUUID+".json")); !ok {
		t.Error("DetectFile does not recognise a feed event")
	}
	write("manifest.json", `[1]`)
	if _, _, err := OpenFeed(dir, Options{}); !errors.Is(err, ErrBadManifest) {
		t.Errorf("bad manifest: %v", err)
	}
}

// TestDetect tells MISP JSON from STIX.
func TestDetect(t *testing.T) {
	tests := map[string]bool{
		wrapped(event):                   true,
		event:                            true,
		`{"response":[]}`:                true,
		`[{"Event":{}}]`:                 true,
		`[{"SharingGroup":{}}]`:          true,
		`{"id":"2","Attribute":[]}`:      true,
		string(gz(t, `{"response":[]}`)): true,
		`{"type":"bundle","id":"bundle--1","objects":[]}`:       false,
		`{"id":"bundle--5cccb246-0da0-4c93-a463-61fe0a016219"}`: false,
		`[{"type":"indicator"}]`:                                false,
		`{"spec_version":"2.1"}`:                                false,
		``:                                                      false,
		`not json`:                                              false,
		string(gz(t, `{"type":"bundle"}`)):                      false,
	}
	for in, want := range tests {
		if got := Detect([]byte(in)); got != want {
			t.Errorf("Detect(%.40q) = %v, want %v", in, got, want)
		}
	}
}

// TestAttributeTypes maps one attribute of each kind.
func TestAttributeTypes(t *testing.T) {
	tests := []struct {
		typ, value string
		sco        string // type:value of the first observable, or "" for none
		pattern    string
	}{
		{"ip-src", "2001:DB8::1", "ipv6-addr:2001:db8::1", "[ipv6-addr:value = '2001:db8::1']"},
		{"ip-dst", "10.0.0.0/8", "ipv4-addr:10.0.0.0/8", "[ipv4-addr:value ISSUBSET '10.0.0.0/8']"},
		{"ip-dst|port", "198.51.100.1|443", "ipv4-addr:198.51.100.1", "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.1' AND network-traffic:dst_port = 443]"},
		{"hostname", "WWW.Example.com.", "domain-name:www.example.com", "[domain-name:value = 'www.example.com']"},
		{"url", "hxxp://example[.]com/a'b", "url:http://example.com/a'b", `[url:value = 'http://example.com/a\'b']`},
		{"url", "bare-host.example", "domain-name:bare-host.example", "[domain-name:value = 'bare-host.example']"},
		{"email-src", "Bob@Example.COM", "email-addr:bob@example.com", "[email-addr:value = 'bob@example.com']"},
		{"sha256", "398811F4FE60D8088CF19A50208927761BD8D8DC73CE9EE77B407AAEE91A3516", "file:", "[file:hashes.'SHA-256' = '398811f4fe60d8088cf19a50208927761bd8d8dc73ce9ee77b407aaee91a3516']"},
		{"filename|md5", "a.exe|9c1b689ac6863f23bf767f802913826d", "file:", "[file:name = 'a.exe' AND file:hashes.MD5 = '9c1b689ac6863f23bf767f802913826d']"},
		{"mutex", "Global\\x", "mutex:", `[mutex:name = 'Global\\x']`},
		{"regkey|value", `HKLM\Software\Run|c:\x.exe`, "windows-registry-key:", `[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\Software\\Run' AND windows-registry-key:values[*].data = 'c:\\x.exe']`},
		{"AS", "AS64500", "autonomous-system:", "[autonomous-system:number = 64500]"},
		{"yara", "rule x { condition: true }", "", "rule x { condition: true }"},
		{"text", "hello", "", ""},
		{"md5", "not a hash", "", ""},
	}
	for _, tc := range tests {
		m := mapAttribute(tc.typ, tc.value, "")
		got := ""
		if len(m.scos) > 0 {
			got = m.scos[0].Type + ":" + mustString(m.scos[0], "value")
		}
		if got != tc.sco || m.pattern != tc.pattern {
			t.Errorf("%s %q: got %q %q (unmapped %q), want %q %q", tc.typ, tc.value, got, m.pattern, m.unmapped, tc.sco, tc.pattern)
		}
		for _, o := range m.scos {
			if err := schema.Validate(o); err != nil {
				t.Errorf("%s: %v", o.ID, err)
			}
		}
	}
}

// TestSharingGroups decodes a list of sharing groups.
func TestSharingGroups(t *testing.T) {
	in := `[{"SharingGroup":{"id":"1","name":"Trusted","releasability":"","local":true},
"Organisation":{"name":"CIRCL","uuid":"55f6ea5e-2c60-40e5-964f-47a8950d210f"},
"SharingGroupOrg":[{"Organisation":{"name":"CIRCL","uuid":"55f6ea5e-2c60-40e5-964f-47a8950d210f"}},{"Organisation":{"name":"ESET","uuid":"` + testOrgUUID + `"}}]}]`
	d := decodeString(t, "sg.json", in)
	if len(d.errs) > 0 {
		t.Fatal(d.errs)
	}
	sgs := d.byType(TypeSharingGroup)
	if len(sgs) != 1 || len(sgs[0].Strings("organization_refs")) != 2 || len(d.byType("identity")) != 2 {
		t.Fatalf("sharing groups %v, identities %d", sgs, len(d.byType("identity")))
	}
}

// TestAnalysisLinks maps a URL filed under "External analysis" as a
// reference, like a "link" attribute: an x-misp-attribute that names no
// url observable, so that two events citing the same publisher's write-up
// are not linked through it. The same URL marked to_ids, or filed under
// "Network activity", is an observable.
func TestAnalysisLinks(t *testing.T) {
	const (
		ref    = "5b6464ca-0001-4707-9b8a-d0350acd0835"
		ids    = "5b6464ca-0002-4707-9b8a-d0350acd0835"
		netAct = "5b6464ca-0003-4707-9b8a-d0350acd0835"
	)
	body := `{"uuid":"` + evUUID + `","info":"Links","date":"2019-05-03","timestamp":"1556920535","Attribute":[
 {"uuid":"` + ref + `","type":"url","category":"External analysis","value":"https://www.welivesecurity.com/2019/05/07/turla-lightneuron/","to_ids":false,"timestamp":"1556920535"},
 {"uuid":"` + ids + `","type":"url","category":"External analysis","value":"http://c2.example/gate.php","to_ids":true,"timestamp":"1556920535"},
 {"uuid":"` + netAct + `","type":"url","category":"Network activity","value":"http://other.example/x","to_ids":false,"timestamp":"1556920535"}
]}`
	d := decodeString(t, "event.json", wrapped(body))
	if len(d.errs) > 0 {
		t.Fatal(d.errs)
	}
	var urls []string
	for _, o := range d.byType("url") {
		urls = append(urls, mustString(o, "value"))
	}
	slices.Sort(urls)
	if want := []string{"http://c2.example/gate.php", "http://other.example/x"}; !slices.Equal(urls, want) {
		t.Errorf("url observables %v, want %v", urls, want)
	}
	carrier := d.byID("x-misp-attribute--" + ref)
	if carrier == nil {
		t.Fatal("the analysis link was not kept as an x-misp-attribute")
	}
	if v, _ := carrier.String("x_misp_value"); !strings.Contains(v, "welivesecurity") {
		t.Errorf("the link lost its value: %q", v)
	}
	if u, _ := carrier.String("x_misp_unmapped"); u == "" {
		t.Error("the link does not say why it is no observable")
	}
	if d.byID("indicator--"+ids) == nil || d.byID("observed-data--"+netAct) == nil {
		t.Error("the to_ids URL lost its indicator or the network URL its observed-data")
	}
}
