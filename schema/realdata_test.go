package schema_test

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verband-cti/verband/internal/shareddata"
	"github.com/verband-cti/verband/schema"
)

// readObjects returns the objects of a STIX bundle file, or the file itself
// when it holds a single object (interop-objectmarking-test.json does).
func readObjects(t testing.TB, path string) []json.RawMessage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = gz
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var bundle struct {
		Type    string            `json:"type"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(data, &bundle); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if bundle.Type != "bundle" {
		return []json.RawMessage{data}
	}
	return bundle.Objects
}

func stixFiles(t *testing.T) []string {
	t.Helper()
	dir := shareddata.Dir(t, "stix")
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no .json files under %s", dir)
	}
	return files
}

// TestRealSCOIDs checks every SCO in the shared STIX corpora whose id is a
// version-5 UUID: SCOID, on the object as published, must reproduce it. SCOs
// with random (version-4) ids are counted and canonicalised, which must
// succeed and give a version-5 id whenever the SCO has ID contributing
// properties.
func TestRealSCOIDs(t *testing.T) {
	var scos, v5, matched, v4 int
	for _, path := range stixFiles(t) {
		for i, raw := range readObjects(t, path) {
			o, err := schema.ParseObject(raw)
			if err != nil {
				t.Errorf("%s object %d: %v", filepath.Base(path), i, err)
				continue
			}
			if schema.KindOf(o.Type) != schema.KindSCO {
				continue
			}
			scos++
			version := o.ID[len(o.ID)-36+14]
			switch version {
			case '5':
				v5++
				got, err := schema.SCOID(o)
				if err != nil || got != o.ID {
					t.Errorf("%s: SCOID(%s) = %s, %v", filepath.Base(path), o.ID, got, err)
					continue
				}
				matched++
			default:
				v4++
			}
			c := o.Clone()
			if _, err := schema.Canonicalize(c); err != nil {
				t.Errorf("%s: Canonicalize(%s): %v", filepath.Base(path), o.ID, err)
				continue
			}
			if ti, _ := schema.Lookup(c.Type); len(ti.IDContributing) > 0 && c.ID[len(c.ID)-36+14] != '5' {
				t.Errorf("%s: canonical id %s of %s is not a UUIDv5", filepath.Base(path), c.ID, o.ID)
			}
		}
	}
	if scos == 0 {
		t.Fatal("no SCOs found in the STIX corpora")
	}
	t.Logf("%d SCOs: %d with UUIDv5 ids, %d reproduced by SCOID; %d with random ids", scos, v5, matched, v4)
}

// TestRealValidate runs Validate over every object of the shared STIX
// corpora and of MITRE ATT&CK; all of them are valid STIX 2.1.
func TestRealValidate(t *testing.T) {
	files := stixFiles(t)
	if root, ok := shareddata.Find(); ok {
		if p := filepath.Join(root, "attack", "enterprise-attack.json.gz"); fileExists(p) {
			files = append(files, p)
		}
	}
	n := 0
	for _, path := range files {
		for i, raw := range readObjects(t, path) {
			n++
			o, err := schema.ParseObject(raw)
			if err != nil {
				t.Errorf("%s object %d: %v", filepath.Base(path), i, err)
				continue
			}
			if err := schema.Validate(o); err != nil {
				t.Errorf("%s: %v", filepath.Base(path), err)
			}
		}
	}
	t.Logf("validated %d objects from %d files", n, len(files))
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestRealTLPDefinitions reads the marking definitions of the OASIS
// examples.
func TestRealTLPDefinitions(t *testing.T) {
	path := filepath.Join(shareddata.Dir(t, "stix", "examples"), "using-marking-definitions.json")
	found := 0
	for _, raw := range readObjects(t, path) {
		o, err := schema.ParseObject(raw)
		if err != nil {
			t.Fatal(err)
		}
		switch o.ID {
		case schema.MarkingTLP1Amber:
			found++
			if tlp, ok := schema.TLPFromDefinition(o); !ok || tlp != schema.TLPAmber {
				t.Errorf("TLP:AMBER definition read as %v, %v", tlp, ok)
			}
		case "marking-definition--d81f86b9-975b-4c0b-875e-810c5ad45a4f": // a statement marking
			found++
			if tlp, ok := schema.TLPFromDefinition(o); ok {
				t.Errorf("statement marking read as %v", tlp)
			}
		case "indicator--33fe3b22-0201-47cf-85d0-97c02164528d":
			found++
			if tlp := schema.TLPOf(o); tlp != schema.TLPAmber {
				t.Errorf("TLPOf(indicator) = %v, want TLP:AMBER", tlp)
			}
		}
	}
	if found != 3 {
		t.Fatalf("found %d of the 3 expected objects in %s", found, path)
	}
}

// BenchmarkValidateATTACK validates the MITRE ATT&CK objects, a realistic
// mix of large SDOs and relationships.
func BenchmarkValidateATTACK(b *testing.B) {
	path := filepath.Join(shareddata.Dir(b, "attack"), "enterprise-attack.json.gz")
	var objs []*schema.Object
	for _, raw := range readObjects(b, path) {
		o, err := schema.ParseObject(raw)
		if err != nil {
			b.Fatal(err)
		}
		objs = append(objs, o)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := schema.Validate(objs[i%len(objs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}
