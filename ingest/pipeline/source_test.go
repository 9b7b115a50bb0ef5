package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/ingest/pipeline"
	"github.com/verband-cti/verband/schema"
)

// sliceSource is an ingest.Source over fixed objects, with hints.
type sliceSource struct {
	name  string
	objs  []string
	hints []ingest.Hints
	i     int
}

func (s *sliceSource) Name() string { return s.name }

func (s *sliceSource) Next() (*schema.Object, error) {
	if s.i >= len(s.objs) {
		return nil, io.EOF
	}
	s.i++
	o, err := schema.ParseObject([]byte(s.objs[s.i-1]))
	if err != nil {
		return nil, &ingest.ObjectError{File: s.name, Index: s.i - 1, Offset: -1, Err: err}
	}
	return o, nil
}

func (s *sliceSource) Hints() ingest.Hints { return s.hints[s.i-1] }

func TestLoadSourceHints(t *testing.T) {
	s := graphtest.Open(t)
	src := &sliceSource{
		name: "feeds/page-1",
		objs: []string{
			`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--00000000-0000-4000-8000-000000000001","value":"203.0.113.1"}`,
			`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--00000000-0000-4000-8000-000000000002","value":"203.0.113.2","object_marking_refs":["` + schema.TLPRed.MarkingID() + `"]}`,
			`{"type":"ipv4-addr","id":"broken"}`,
		},
		hints: []ingest.Hints{
			{TLP: schema.TLPAmber, Sharing: []string{"org-c"}, Owner: "org-b"},
			{TLP: schema.TLPAmber},
			{},
		},
	}
	st, err := pipeline.New(s, pipeline.Options{Source: "feed", Owner: "org-a", TLP: schema.TLPGreen, OnError: pipeline.Skip}).LoadSource(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if st.Objects != 3 || st.Created != 2 || st.Rejected != 1 {
		t.Fatalf("stats = %+v", st)
	}
	a := nodeByValue(t, s, "203.0.113.1")
	if a.Policy.TLP != schema.TLPAmber || a.Policy.Owner != "org-b" || len(a.Policy.Sharing) != 1 || a.Provenance[0].File != "page-1" || a.Provenance[0].Source != "feed" {
		t.Errorf("hinted object: policy %+v provenance %+v", a.Policy, a.Provenance)
	}
	// The object's own marking wins over the hint.
	if b := nodeByValue(t, s, "203.0.113.2"); b.Policy.TLP != schema.TLPRed || b.Policy.Owner != "org-a" {
		t.Errorf("marked object: policy %+v", b.Policy)
	}
	var oe *ingest.ObjectError
	if !errors.As(st.Errors[0], &oe) || oe.File != "feeds/page-1" || oe.Index != 2 {
		t.Errorf("error = %v, want one naming the source and index 2", st.Errors[0])
	}
}

func TestDetect(t *testing.T) {
	for _, c := range []struct {
		name, head string
		want       pipeline.Format
	}{
		{"a.json", `{"type": "bundle", "id": "bundle--x", "objects": []}`, pipeline.STIX},
		{"a.json", "\xef\xbb\xbf  [ {\"type\": \"indicator\"}]", pipeline.STIX},
		{"a.json", `{"objects": [], "type": "bundle"}`, pipeline.STIX},
		{"e.json", `{"Event": {"info": "x"}}`, pipeline.MISP},
		{"e.json", "{\n  \"response\": [{\"Event\": {}}]}", pipeline.MISP},
		{"e.json", `[{"Event": {}}]`, pipeline.MISP},
		{"manifest.json", `{"5f1bba1c-8c94-4b4f-a2f3-1cf3a6b6e2d1": {"info": "x"}}`, pipeline.MISP},
		{"PAP.json", `{"description": "PAP", "expanded": "Permissible Actions Protocol", "namespace": "PAP", "predicates": [], "uuid": "x"}`, pipeline.RefData},
		{"threat-actor.json", `{"authors": ["x"], "category": "actor", "description": "d", "name": "Threat Actor", "type": "threat-actor", "uuid": "u", "values": []}`, pipeline.RefData},
		{"rfc1918.json", `{"description": "d", "list": ["10.0.0.0/8"], "matching_attributes": ["ip-dst"], "name": "n", "type": "cidr", "version": 1}`, pipeline.RefData},
		{"iocs.csv", "type,value\nip,1.2.3.4\n", pipeline.CSV},
		{"iocs.TSV.gz", "type\tvalue\n", pipeline.CSV},
		{"emotet.txt", "# Emotet\nevil.example\n", pipeline.List},
		{"samples.md5", "cead3f77f6cda6ec00f57d76c9a6879f\n", pipeline.List},
	} {
		if got := pipeline.Detect(c.name, []byte(c.head)); got != c.want {
			t.Errorf("Detect(%s, %.30q) = %s, want %s", c.name, c.head, got, c.want)
		}
	}
}

// TestDeferredSCOs loads a bundle whose email-message, file and
// network-traffic come before the SCOs they reference: their ids must be
// computed over the canonical ids of those references, and loading the
// file again must change nothing.
func TestDeferredSCOs(t *testing.T) {
	s := graphtest.Open(t)
	const file = "../export/testdata/tricky-scos.json"
	first := mustLoad(t, s, pipeline.Options{Source: "tricky"}, file)
	if first.Rejected != 0 || first.Created != first.Objects {
		t.Fatalf("first load = %+v (%v)", first, first.Errors)
	}
	for orig, refProp := range map[string]string{
		"email-message--0c57a381-2a17-5e61-8754-5ef96efb286c":   "from_ref",
		"file--9a1f834d-2506-5367-9e5c-3e8e5b8d0f8a":            "parent_directory_ref",
		"network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d": "src_ref",
	} {
		n := node(t, s, orig)
		o, err := n.Object()
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := o.String(refProp)
		target := node(t, s, ref)
		if target.StixID != ref {
			t.Errorf("%s: %s = %s is not the canonical id %s", orig, refProp, ref, target.StixID)
		}
		if want, _ := schema.SCOID(o); want != n.StixID {
			t.Errorf("%s stored as %s, its SCOID is %s", orig, n.StixID, want)
		}
		var original map[string]json.RawMessage
		if err := json.Unmarshal(n.Provenance[0].Original, &original); err != nil || !strings.Contains(string(original[refProp]), "--") || n.Provenance[0].OriginalID != orig {
			t.Errorf("%s: provenance %+v does not keep the original %s and id", orig, n.Provenance[0], refProp)
		}
	}
	second := mustLoad(t, s, pipeline.Options{Source: "tricky"}, file)
	if second.Unchanged != second.Objects {
		t.Errorf("second load = %+v, want everything unchanged", second)
	}
}

// TestFormats loads a plain list, a MISP event and a STIX bundle in one
// load, each recognised by its content.
func TestFormats(t *testing.T) {
	s := graphtest.Open(t)
	dir := t.TempDir()
	list := filepath.Join(dir, "list.txt")
	if err := os.WriteFile(list, []byte("# test list\nevil[.]example\n198.51.100.77\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	event := filepath.Join(dir, "event.json")
	if err := os.WriteFile(event, []byte(`{"Event": {"uuid": "5c6c1a0c-0a4c-4c1b-9c8e-4a3e0a1b2c3d", "info": "Test event", "date": "2024-05-01", "timestamp": "1714550400", "publish_timestamp": "1714550400", "distribution": "1", "threat_level_id": "2", "analysis": "1", "Orgc": {"name": "CERT-X", "uuid": "5c6c1a0c-0a4c-4c1b-9c8e-4a3e0a1b2c30"}, "Attribute": [{"uuid": "5c6c1a0c-0a4c-4c1b-9c8e-4a3e0a1b2c31", "type": "ip-dst", "category": "Network activity", "value": "198.51.100.77", "to_ids": true, "timestamp": "1714550400"}]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	st := mustLoad(t, s, pipeline.Options{Source: "formats", OnError: pipeline.Skip}, list, event, actorFile)
	if st.Rejected != 0 || st.Files != 3 {
		t.Fatalf("stats = %+v, errors %v", st, st.Errors)
	}
	// The IP of the list and of the event is one node, with two
	// contributions.
	ip := nodeByValue(t, s, "198.51.100.77")
	if len(ip.Provenance) != 2 {
		t.Errorf("shared IP provenance = %+v, want one entry per file", ip.Provenance)
	}
	nodeByValue(t, s, "evil.example")
	// Loading again changes nothing.
	again := mustLoad(t, s, pipeline.Options{Source: "formats", OnError: pipeline.Skip}, list, event, actorFile)
	if again.Unchanged != again.Objects {
		t.Errorf("second load = %+v, want everything unchanged", again)
	}
}
