package lists_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/internal/shareddata"
	"github.com/verband-cti/verband/schema"
)

// maltrailFiles returns the trail files of the shared data folder.
func maltrailFiles(t testing.TB) []string {
	t.Helper()
	dir := shareddata.Dir(t, "maltrail")
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no maltrail files in %s: %v", dir, err)
	}
	return files
}

// trailLines returns the trails of a file, counted without the decoder: the
// lines that are neither blank nor comments, with an inline "# comment"
// removed.
func trailLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if i := strings.Index(line, "\t#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// decodeFile decodes a whole file and fails on any error.
func decodeFile(t *testing.T, path string, opts lists.Options) ([]*schema.Object, lists.Stats) {
	t.Helper()
	dec, err := lists.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	return drain(t, dec), dec.Stats()
}

// drain reads a decoder to its end and reports every error.
func drain(t *testing.T, dec *lists.Decoder) []*schema.Object {
	t.Helper()
	var objs []*schema.Object
	for {
		o, err := dec.Next()
		if err == io.EOF {
			return objs
		}
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		objs = append(objs, o)
	}
}

// TestMaltrailFiles loads every shared maltrail file: zero errors, one
// entry per trail line (counted independently), every object valid, and
// every trail one hop from its family through a relationship.
func TestMaltrailFiles(t *testing.T) {
	files := maltrailFiles(t)
	if len(files) != 60 {
		t.Errorf("%d maltrail files, want 60", len(files))
	}
	total := 0
	for _, path := range files {
		objs, st := decodeFile(t, path, lists.Options{})
		trails := trailLines(t, path)
		total += len(trails)
		file := filepath.Base(path)
		if st.Entries != len(trails) || st.Rejected != 0 {
			t.Errorf("%s: %d entries, %d rejected; the file has %d trails", file, st.Entries, st.Rejected, len(trails))
		}
		byID := map[string]*schema.Object{}
		// rel maps each object to the objects one relationship away.
		rel := map[string][]string{}
		var malware *schema.Object
		for _, o := range objs {
			if err := schema.Validate(o); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if _, dup := byID[o.ID]; dup {
				t.Fatalf("%s: object %s returned twice", file, o.ID)
			}
			byID[o.ID] = o
			switch o.Type {
			case "malware":
				malware = o
			case "relationship":
				src, _ := o.String("source_ref")
				dst, _ := o.String("target_ref")
				rel[src] = append(rel[src], dst)
				rel[dst] = append(rel[dst], src)
			}
		}
		if malware == nil {
			t.Fatalf("%s: no malware object", file)
		}
		if name, _ := malware.String("name"); name != lists.FamilyName(file) {
			t.Errorf("%s: family %q", file, name)
		}
		// Every trail, resolved independently of the decoder, is one
		// relationship away from the family, and in the container.
		members := map[string]bool{}
		for _, o := range objs {
			if o.Type == "grouping" {
				for _, r := range o.Strings("object_refs") {
					members[r] = true
				}
			}
		}
		for _, trail := range trails {
			id := trailID(t, file, trail)
			if byID[id] == nil {
				t.Errorf("%s: trail %q: no object %s", file, trail, id)
				continue
			}
			if !slices.Contains(rel[id], malware.ID) {
				t.Errorf("%s: trail %q (%s) is not linked to the family", file, trail, id)
			}
			if !members[id] {
				t.Errorf("%s: trail %q (%s) is not in the container", file, trail, id)
			}
		}
	}
	t.Logf("%d files, %d trails", len(files), total)
}

// trailID returns the id of the object that stands for a trail: its
// observable, or for a bare path its indicator.
func trailID(t *testing.T, file, trail string) string {
	t.Helper()
	if strings.HasPrefix(trail, "/") {
		return lists.DeterministicID("indicator", lists.DefaultMaltrailSource+"\x1f"+file, lists.PathPattern(trail))
	}
	v, err := lists.Classify(trail)
	if err != nil {
		t.Fatalf("%s: trail %q: %v", file, trail, err)
	}
	o := &schema.Object{Type: v.Kind.STIXType(), Props: map[string]json.RawMessage{}}
	if v.Kind.IsHash() {
		t.Fatalf("%s: trail %q is a hash", file, trail)
	}
	o.Props["type"], _ = json.Marshal(o.Type)
	o.Props["value"], _ = json.Marshal(v.Value)
	id, err := schema.SCOID(o)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestMaltrailFamily(t *testing.T) {
	dir := shareddata.Dir(t, "maltrail")
	objs, _ := decodeFile(t, filepath.Join(dir, "apt_sofacy.txt"), lists.Options{})
	m := objs[0]
	if m.Type != "malware" {
		t.Fatalf("first object is a %s, want the malware", m.Type)
	}
	if fam, _ := m.Props["is_family"]; string(fam) != "true" {
		t.Error("is_family is not true")
	}
	aliases := m.Strings("aliases")
	for _, want := range []string{"apt28", "fancy bear", "sednit", "UAC-0001", "UAC-0028"} {
		if !slices.Contains(aliases, want) {
			t.Errorf("aliases %q lack %q", aliases, want)
		}
	}
	var refs []struct {
		SourceName string `json:"source_name"`
		URL        string `json:"url"`
		ExternalID string `json:"external_id"`
	}
	if err := json.Unmarshal(m.Props["external_references"], &refs); err != nil {
		t.Fatal(err)
	}
	if refs[0].URL != lists.MaltrailURL+"apt_sofacy.txt" {
		t.Errorf("first reference %+v", refs[0])
	}
	var mitre, alienvault bool
	for _, r := range refs {
		mitre = mitre || r.SourceName == "mitre-attack" && r.ExternalID == "G0007"
		alienvault = alienvault || r.URL == "https://www.alienvault.com/open-threat-exchange/blog/from-russia-with-love-sofacy-sednit-apt28-is-in-town"
	}
	if !mitre || !alienvault {
		t.Errorf("references lack MITRE G0007 (%v) or the first # Reference (%v)", mitre, alienvault)
	}

	// A continuation file belongs to the family without its number.
	objs, st := decodeFile(t, filepath.Join(dir, "njrat-1.txt"), lists.Options{})
	if name, _ := objs[0].String("name"); name != "njrat" {
		t.Errorf("njrat-1.txt family %q", name)
	}
	// Its ip:port trails get indicators with the port, citing the
	// reference above them.
	var withPort *schema.Object
	for _, o := range objs {
		if n, _ := o.String("name"); o.Type == "indicator" && n == "37.236.39.49:1177" {
			withPort = o
		}
	}
	if withPort == nil {
		t.Fatal("no indicator for 37.236.39.49:1177")
	}
	if p, _ := withPort.String("pattern"); !strings.Contains(p, "network-traffic:dst_port = 1177") {
		t.Errorf("pattern %s", p)
	}
	if !strings.Contains(string(withPort.Props["external_references"]), "0913b8486c4ea2783806d678485462564003520209cdf54a67762e47faf6516f") {
		t.Errorf("indicator references %s", withPort.Props["external_references"])
	}
	if st.Kinds[lists.KindIPv4] == 0 {
		t.Error("no IPv4 trails counted")
	}
}

// TestMaltrailDeterministic decodes a file twice and compares the bytes.
//
// A gzip-compressed copy of the file decodes to the same objects too: the
// list is the same, so its container keeps its id and its reference URL
// names the file Maltrail publishes, not the copy.
func TestMaltrailDeterministic(t *testing.T) {
	path := filepath.Join(shareddata.Dir(t, "maltrail"), "hacked_3cx.txt")
	a, _ := decodeFile(t, path, lists.Options{Indicators: true})
	b, _ := decodeFile(t, path, lists.Options{Indicators: true})
	same(t, a, b)
	// A stream has no modification time, so both decodes are given one.
	at := lists.Options{Indicators: true, Time: time.Date(2026, 8, 23, 0, 0, 0, 0, time.UTC)}
	a, _ = decodeFile(t, path, at)
	plain, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The pipeline hands the decoder the decompressed stream under the
	// compressed file's name.
	dec, err := lists.NewDecoder(bytes.NewReader(plain), filepath.Join(t.TempDir(), "hacked_3cx.txt.gz"), at)
	if err != nil {
		t.Fatal(err)
	}
	same(t, a, drain(t, dec))
}

// same fails unless a and b hold the same objects in the same order.
func same(t *testing.T, a, b []*schema.Object) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d and %d objects", len(a), len(b))
	}
	for i := range a {
		x, _ := json.Marshal(a[i])
		y, _ := json.Marshal(b[i])
		if string(x) != string(y) {
			t.Fatalf("object %d differs:\n%s\n%s", i, x, y)
		}
	}
}
