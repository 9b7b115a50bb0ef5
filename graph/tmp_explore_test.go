package graph_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/internal/bench"
)

func TestTmpExplore(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	opts := graph.DefaultOptions()
	opts.SyncWrites = os.Getenv("SYNC") != ""
	opts.Search = os.Getenv("NOSEARCH") == ""
	if m := os.Getenv("MEMTABLE"); m != "" {
		n, _ := strconv.Atoi(m)
		opts.MemTableSize = int64(n) << 20
	}
	objs := 100000
	if m := os.Getenv("OBJECTS"); m != "" {
		objs, _ = strconv.Atoi(m)
	}
	s, err := graph.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	st, _, err := bench.Load(context.Background(), s, bench.NewGenerator(bench.Config{Objects: objs, Seed: 1}), bench.LoadOptions{Samples: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sync=%v search=%v: %d objects committed %v searchable %v total %v", opts.SyncWrites, opts.Search, st.Objects, st.Committed, st.Searchable, time.Since(start))
}
