package graph_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
)

// TestOptimizeSearch loads objects in separate commits, so that the search
// index holds several segments, merges them with OptimizeSearch, and checks
// that the index then holds one, that every search answers as before, and
// that both hold after a reopen.
func TestOptimizeSearch(t *testing.T) {
	dir := t.TempDir()
	opts := graph.DefaultOptions()
	opts.SyncWrites = false
	s, err := graph.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for batch := range 6 {
		for i := range 20 {
			n := batch*20 + i
			graphtest.Put(t, s, graph.Meta{}, graphtest.Object(t, map[string]any{
				"type": "malware", "spec_version": "2.1", "id": fmt.Sprintf("malware--%08d-0000-4000-8000-000000000000", n),
				"created": "2025-01-01T00:00:00Z", "modified": "2025-01-01T00:00:00Z", "is_family": true,
				"name": fmt.Sprintf("family%d lanternrat", n), "description": fmt.Sprintf("batch%d loader word%d", batch, n%7),
			}))
		}
		if err := s.WaitIndexed(ctx); err != nil {
			t.Fatal(err)
		}
	}
	queries := []string{"lanternrat", "batch3", "loader word4", "family77", "malware--00000042-0000-4000-8000-000000000000"}
	answers := func(s *graph.Store) [][]graph.ID {
		var out [][]graph.ID
		for _, q := range queries {
			res, err := s.Search(ctx, graph.System(), graph.SearchQuery{Text: q, Size: 200})
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			var ids []graph.ID
			for _, h := range res.Hits {
				ids = append(ids, h.ID)
			}
			slices.Sort(ids)
			out = append(out, ids)
		}
		return out
	}
	before := answers(s)
	if len(before[0]) != 120 || len(before[1]) != 20 || len(before[3]) != 1 || len(before[4]) != 1 {
		t.Fatalf("searches before optimizing: %d, %d, %d, %d hits", len(before[0]), len(before[1]), len(before[3]), len(before[4]))
	}
	if n := s.IndexStatus().Segments; n < 2 {
		t.Fatalf("the index holds %d segments after six batches; the test needs several", n)
	}
	seg, err := s.OptimizeSearch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if seg.After != 1 || seg.Before < 2 || s.IndexStatus().Segments != 1 {
		t.Errorf("optimize: %+v, index status %d segments; want several into 1", seg, s.IndexStatus().Segments)
	}
	if after := answers(s); !slices.EqualFunc(before, after, slices.Equal) {
		t.Errorf("searches after optimizing differ:\n%v\n%v", before, after)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = graphtest.OpenWith(t, dir, opts)
	if n := s.IndexStatus().Segments; n != 1 {
		t.Errorf("after a reopen the index holds %d segments, want 1", n)
	}
	if after := answers(s); !slices.EqualFunc(before, after, slices.Equal) {
		t.Errorf("searches after a reopen differ:\n%v\n%v", before, after)
	}
}
