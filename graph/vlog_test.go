package graph_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/schema"
)

// vlogBytes sums the sizes of the store's value log files.
func vlogBytes(t *testing.T, dir string) int64 {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "badger", "*.vlog"))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		n += st.Size()
	}
	return n
}

// TestCollectValueLog replaces every large record several times, so most
// of the value log is garbage, and shows that collecting it gives the space
// back while every node keeps its newest version.
func TestCollectValueLog(t *testing.T) {
	opts := graph.DefaultOptions()
	opts.SyncWrites = false
	opts.Search = false
	opts.MemTableSize = 1 << 20 // many flushes, so compactions find the garbage
	opts.ValueLogFileSize = 1 << 20
	opts.ValueLogGCInterval = 0
	dir := t.TempDir()
	s, err := graph.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	meta := graph.Meta{Policy: graph.Policy{Owner: "org-a", TLP: schema.TLPGreen}, Provenance: graph.Provenance{Source: "test"}}

	const nodes, versions = 200, 12
	filler := strings.Repeat("a long description that keeps the record in the value log ", 40)
	id := func(i int) string { return fmt.Sprintf("malware--00000000-0000-4000-8000-%012d", i) }
	for v := range versions {
		objs := make([]*schema.Object, nodes)
		for i := range objs {
			objs[i] = graphtest.Object(t, map[string]any{
				"type": "malware", "spec_version": "2.1", "id": id(i), "name": fmt.Sprintf("m%d", i),
				"is_family": true, "description": fmt.Sprintf("version %d: %s", v, filler),
				"created":  "2024-01-01T00:00:00Z",
				"modified": time.Date(2024, 1, 1, 0, 0, v+1, 0, time.UTC).Format(time.RFC3339),
			})
		}
		graphtest.Put(t, s, meta, objs...)
		// Each close flushes the memtable into a table of its own, so the
		// versions spread over enough tables to be compacted.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if s, err = graph.Open(dir, opts); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = graphtest.OpenWith(t, dir, opts)
	before := vlogBytes(t, dir)

	// Compactions that discover the replaced versions run in the
	// background; collect until they have.
	var rewritten int
	deadline := time.Now().Add(20 * time.Second)
	for rewritten == 0 && time.Now().Before(deadline) {
		n, err := s.CollectValueLog()
		if err != nil {
			t.Fatal(err)
		}
		rewritten += n
		time.Sleep(50 * time.Millisecond)
	}
	if rewritten == 0 {
		t.Fatalf("no value log file rewritten although %d of %d versions are replaced", versions-1, versions)
	}
	after := vlogBytes(t, dir)
	if after >= before {
		t.Errorf("value log %d bytes after rewriting %d files, %d before", after, rewritten, before)
	}
	t.Logf("value log %d → %d bytes, %d files rewritten", before, after, rewritten)

	err = s.View(graph.System(), func(tx *graph.Tx) error {
		for i := range nodes {
			n, err := tx.NodeByStixID(id(i))
			if err != nil {
				return err
			}
			want := fmt.Sprintf("version %d:", versions-1)
			o, err := n.Object()
			if err != nil {
				return err
			}
			if d, _ := o.String("description"); !strings.HasPrefix(d, want) {
				t.Fatalf("%s after collection: description %.20q, want %q", id(i), d, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
