package stix

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verband-cti/verband/internal/shareddata"
)

// oracle decodes a whole file with encoding/json: the objects of a bundle,
// of a top-level array, or the single object, each property compacted.
func oracle(tb testing.TB, path string) []map[string]string {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			tb.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			tb.Fatal(err)
		}
	}
	var raws []json.RawMessage
	var top struct {
		Type    string            `json:"type"`
		Objects []json.RawMessage `json:"objects"`
	}
	switch {
	case data[0] == '[':
		err = json.Unmarshal(data, &raws)
	default:
		err = json.Unmarshal(data, &top)
		raws = top.Objects
		if top.Type != "bundle" {
			raws = []json.RawMessage{data}
		}
	}
	if err != nil {
		tb.Fatalf("%s: encoding/json: %v", path, err)
	}
	objs := make([]map[string]string, len(raws))
	for i, raw := range raws {
		var props map[string]json.RawMessage
		if err := json.Unmarshal(raw, &props); err != nil {
			tb.Fatalf("%s: object %d: %v", path, i, err)
		}
		objs[i] = make(map[string]string, len(props))
		for k, v := range props {
			var c bytes.Buffer
			if err := json.Compact(&c, v); err != nil {
				tb.Fatal(err)
			}
			objs[i][k] = c.String()
		}
	}
	return objs
}

// checkFile decodes a file and compares every object with what
// encoding/json reads from it. It returns the count of objects by type.
func checkFile(t *testing.T, path string) map[string]int {
	t.Helper()
	want := oracle(t, path)
	d, c, err := OpenFile(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	types := make(map[string]int)
	n := 0
	for ; ; n++ {
		obj, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%v", err)
		}
		types[obj.Type]++
		if n >= len(want) {
			continue
		}
		if len(obj.Props) != len(want[n]) {
			t.Errorf("%s: object %d (%s): %d properties, want %d", path, n, obj.ID, len(obj.Props), len(want[n]))
		}
		for k, v := range want[n] {
			if string(obj.Props[k]) != v {
				t.Errorf("%s: object %d (%s): %s = %.80s, want %.80s", path, n, obj.ID, k, obj.Props[k], v)
			}
		}
	}
	if n != len(want) {
		t.Errorf("%s: %d objects, want %d", path, n, len(want))
	}
	return types
}

// TestSharedSTIX decodes every STIX file of the shared corpus without an
// error, and checks the totals that SOURCES.md states.
func TestSharedSTIX(t *testing.T) {
	dir := shareddata.Dir(t, "stix")
	totals := make(map[string]int)
	files := 0
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		files++
		for _, n := range checkFile(t, path) {
			totals[filepath.Base(filepath.Dir(path))] += n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != 32 {
		t.Errorf("%d files, want 32", files)
	}
	if totals["examples"] != 155 || totals["attack-flow"] != 724 {
		t.Errorf("objects per folder %v, want examples 155, attack-flow 724", totals)
	}
}

// TestSharedATTACK decodes MITRE ATT&CK Enterprise v18.1.
func TestSharedATTACK(t *testing.T) {
	path := shareddata.Dir(t, "attack", "enterprise-attack.json.gz")
	types := checkFile(t, path)
	total := 0
	for _, n := range types {
		total += n
	}
	if total != 24771 {
		t.Errorf("%d objects, want 24771", total)
	}
	want := map[string]int{"attack-pattern": 835, "intrusion-set": 187, "campaign": 52, "malware": 696,
		"tool": 91, "course-of-action": 268, "relationship": 20048, "x-mitre-tactic": 14}
	for typ, n := range want {
		if types[typ] != n {
			t.Errorf("%d objects of type %s, want %d", types[typ], typ, n)
		}
	}
}
