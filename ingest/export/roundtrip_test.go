package export_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/ingest/export"
	"github.com/verband-cti/verband/ingest/pipeline"
	"github.com/verband-cti/verband/internal/shareddata"
	"github.com/verband-cti/verband/schema"
)

// TestRoundTrip ingests every STIX file of the shared data into an empty
// store, exports it as received, and checks that the export holds exactly
// the input's objects, each with the same JSON value (every property,
// custom ones included, timestamps as the same strings). It then checks that
// the canonical export is consistent in itself.
func TestRoundTrip(t *testing.T) {
	// SCOs whose every value and id canonicalisation changes, and SCOs
	// whose ids depend on references to SCOs that come after them.
	t.Run("tricky-scos.json", func(t *testing.T) { roundTrip(t, "testdata/tricky-scos.json") })
	t.Run("shared", func(t *testing.T) {
		var files []string
		for _, dir := range []string{"examples", "attack-flow"} {
			found, err := filepath.Glob(filepath.Join(shareddata.Dir(t, "stix", dir), "*.json"))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, found...)
		}
		if len(files) < 32 {
			t.Fatalf("found %d STIX files, want the 32 of stix/examples and stix/attack-flow", len(files))
		}
		if !testing.Short() {
			files = append(files, filepath.Join(shareddata.Dir(t, "attack"), "enterprise-attack.json.gz"))
		}
		for _, f := range files {
			t.Run(filepath.Base(f), func(t *testing.T) { roundTrip(t, f) })
		}
	})
}

func roundTrip(t *testing.T, file string) {
	ctx := context.Background()
	s := openStore(t)
	st, err := pipeline.New(s, pipeline.Options{Source: "roundtrip"}).LoadFiles(ctx, []string{file})
	if err != nil || st.Rejected != 0 {
		t.Fatalf("ingest: %v (%+v, %v)", err, st, st.Errors)
	}
	input := readObjects(t, file)

	var buf bytes.Buffer
	if _, err := export.WriteBundle(ctx, s, graph.System(), export.Selection{}, &buf, export.Options{Form: export.AsReceived}); err != nil {
		t.Fatalf("export as received: %v", err)
	}
	output := bundleObjects(t, buf.Bytes())
	if len(output) != len(input) {
		t.Errorf("exported %d objects, ingested %d", len(output), len(input))
	}
	for id, want := range input {
		got, ok := output[id]
		if !ok {
			t.Errorf("%s: missing from the export", id)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Errorf("%s differs:\n got %s\nwant %s", id, g, w)
		}
	}
	for id := range output {
		if _, ok := input[id]; !ok {
			t.Errorf("%s: exported but not in the input", id)
		}
	}

	buf.Reset()
	if _, err := export.WriteBundle(ctx, s, graph.System(), export.Selection{}, &buf, export.Options{}); err != nil {
		t.Fatalf("canonical export: %v", err)
	}
	checkConsistent(t, s, buf.Bytes())
}

// checkConsistent asserts that every reference in a canonical bundle names
// an object of the bundle, unless the input never held the target (a
// dangling reference, kept as it was), and that SCOs carry their
// deterministic ids.
func checkConsistent(t *testing.T, s *graph.Store, bundle []byte) {
	t.Helper()
	objs := bundleObjects(t, bundle)
	for id, v := range objs {
		raw, _ := json.Marshal(v)
		o, err := schema.ParseObject(raw)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if schema.KindOf(o.Type) == schema.KindSCO {
			if want, err := schema.SCOID(o); err != nil || want != id {
				t.Errorf("%s: canonical SCO id should be %s (%v)", id, want, err)
			}
		}
		schema.RewriteRefs(o, func(ref string) (string, bool) {
			if _, ok := objs[ref]; ok {
				return "", false
			}
			err := s.View(graph.System(), func(tx *graph.Tx) error {
				_, err := tx.NodeByStixID(ref)
				return err
			})
			if err == nil {
				t.Errorf("%s references %s, which is stored but not in the canonical bundle", id, ref)
			}
			return "", false
		})
	}
}

// readObjects reads a STIX file (plain or gzip; a bundle, an object or an
// array) into its objects by id, numbers kept as written.
func readObjects(t *testing.T, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	v := decode(t, raw)
	var list []any
	switch v := v.(type) {
	case []any:
		list = v
	case map[string]any:
		if v["type"] == "bundle" {
			list, _ = v["objects"].([]any)
		} else {
			list = []any{v}
		}
	}
	return byID(t, list)
}

func bundleObjects(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	v, ok := decode(t, raw).(map[string]any)
	if !ok || v["type"] != "bundle" || !strings.HasPrefix(v["id"].(string), "bundle--") {
		t.Fatalf("export is not a bundle: %.200s", raw)
	}
	list, _ := v["objects"].([]any)
	return byID(t, list)
}

func decode(t *testing.T, raw []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v
}

func byID(t *testing.T, list []any) map[string]any {
	t.Helper()
	out := make(map[string]any, len(list))
	var dups []string
	for _, e := range list {
		m, _ := e.(map[string]any)
		id, _ := m["id"].(string)
		if _, dup := out[id]; dup {
			dups = append(dups, id)
		}
		out[id] = m
	}
	if len(dups) > 0 {
		slices.Sort(dups)
		t.Errorf("ids present twice: %v", dups)
	}
	return out
}

// openStore opens an empty store without the search index, which the round
// trip does not need (and whose close can take a second).
func openStore(t *testing.T) *graph.Store {
	opts := graph.DefaultOptions()
	opts.SyncWrites, opts.Search = false, false
	return graphtest.OpenWith(t, t.TempDir(), opts)
}
