package graph

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestOptimizeOneAtATime checks that neither kind of merge starts while
// another runs: a second one would merge against the first.
func TestOptimizeOneAtATime(t *testing.T) {
	s, err := Open(t.TempDir(), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := s.search.Load()
	_, run, _, err := s.beginOptimize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StartOptimizeSearch(); !errors.Is(err, ErrOptimizing) {
		t.Errorf("background merge during a merge: %v, want ErrOptimizing", err)
	}
	if _, err := s.OptimizeSearch(context.Background()); !errors.Is(err, ErrOptimizing) {
		t.Errorf("merge during a merge: %v, want ErrOptimizing", err)
	}
	if st := s.IndexStatus().Optimize; st == nil || !st.Running() || time.Since(st.Started) > time.Minute {
		t.Errorf("status during a merge: %+v", st)
	}
	// The run ends; the next merge may start.
	in.optimize(context.Background(), run)
	close(run.done)
	if _, err := s.OptimizeSearch(context.Background()); err != nil {
		t.Errorf("merge after the first ended: %v", err)
	}
}
