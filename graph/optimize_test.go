package graph_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

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
	loadSegmented(t, s)
	before := searchAnswers(t, s)
	seg, err := s.OptimizeSearch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if seg.After != 1 || seg.Before < 2 || s.IndexStatus().Segments != 1 {
		t.Errorf("optimize: %+v, index status %d segments; want several into 1", seg, s.IndexStatus().Segments)
	}
	if after := searchAnswers(t, s); !slices.EqualFunc(before, after, slices.Equal) {
		t.Errorf("searches after optimizing differ:\n%v\n%v", before, after)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = graphtest.OpenWith(t, dir, opts)
	if n := s.IndexStatus().Segments; n != 1 {
		t.Errorf("after a reopen the index holds %d segments, want 1", n)
	}
	if after := searchAnswers(t, s); !slices.EqualFunc(before, after, slices.Equal) {
		t.Errorf("searches after a reopen differ:\n%v\n%v", before, after)
	}
}

// loadSegmented loads 120 malware objects in six commits, each indexed
// before the next, so that the search index holds several segments.
func loadSegmented(t *testing.T, s *graph.Store) {
	t.Helper()
	for batch := range 6 {
		for i := range 20 {
			n := batch*20 + i
			graphtest.Put(t, s, graph.Meta{}, graphtest.Object(t, map[string]any{
				"type": "malware", "spec_version": "2.1", "id": fmt.Sprintf("malware--%08d-0000-4000-8000-000000000000", n),
				"created": "2025-01-01T00:00:00Z", "modified": "2025-01-01T00:00:00Z", "is_family": true,
				"name": fmt.Sprintf("family%d lanternrat", n), "description": fmt.Sprintf("batch%d loader word%d", batch, n%7),
			}))
		}
		if err := s.WaitIndexed(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.IndexStatus().Segments; n < 2 {
		t.Fatalf("the index holds %d segments after six batches; the test needs several", n)
	}
}

// searchAnswers runs the searches of the optimize tests on what
// loadSegmented stored and returns the ids each finds, sorted.
func searchAnswers(t *testing.T, s *graph.Store) [][]graph.ID {
	t.Helper()
	var out [][]graph.ID
	for _, q := range []string{"lanternrat", "batch3", "loader word4", "family77", "malware--00000042-0000-4000-8000-000000000000"} {
		res, err := s.Search(context.Background(), graph.System(), graph.SearchQuery{Text: q, Size: 200})
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
	if len(out[0]) != 120 || len(out[1]) != 20 || len(out[3]) != 1 || len(out[4]) != 1 {
		t.Fatalf("searches: %d, %d, %d, %d hits; want 120, 20, 1, 1", len(out[0]), len(out[1]), len(out[3]), len(out[4]))
	}
	return out
}

// TestStartOptimizeSearch merges the index in the background, as a
// running server does: IndexStatus follows the merge to its end, searches
// answer as before, and a store closed during a merge closes cleanly.
func TestStartOptimizeSearch(t *testing.T) {
	s := graphtest.Open(t)
	if st := s.IndexStatus().Optimize; st != nil {
		t.Fatalf("a fresh store reports a merge: %+v", st)
	}
	loadSegmented(t, s)
	before := searchAnswers(t, s)
	if err := s.StartOptimizeSearch(); err != nil {
		t.Fatal(err)
	}
	var st *graph.OptimizeState
	deadline := time.Now().Add(time.Minute)
	for st = s.IndexStatus().Optimize; st == nil || st.Running(); st = s.IndexStatus().Optimize {
		if st == nil {
			t.Fatal("IndexStatus reports no merge after StartOptimizeSearch")
		}
		if time.Now().After(deadline) {
			t.Fatalf("the merge still runs after a minute: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.Err != nil || st.Segments.Before < 2 || st.Segments.After != 1 || st.Finished.Before(st.Started) {
		t.Errorf("merge: %+v; want several segments into 1 without error", st)
	}
	if after := searchAnswers(t, s); !slices.EqualFunc(before, after, slices.Equal) {
		t.Errorf("searches after the merge differ:\n%v\n%v", before, after)
	}

	// A merge that runs when the store closes is stopped, and Close waits
	// for it to let go of the index.
	s2, err := graph.Open(t.TempDir(), graph.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	loadSegmented(t, s2)
	if err := s2.StartOptimizeSearch(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatalf("close during a merge: %v", err)
	}
	if err := s2.StartOptimizeSearch(); !errors.Is(err, graph.ErrClosed) {
		t.Errorf("merge on a closed store: %v, want ErrClosed", err)
	}
}
