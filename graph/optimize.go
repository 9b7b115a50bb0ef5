package graph

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SearchSegments says how many segments the search index holds before and
// after OptimizeSearch.
type SearchSegments struct {
	Before int `json:"segments_before"`
	After  int `json:"segments_after"`
}

// OptimizeState is a merge of the search index, running or done.
type OptimizeState struct {
	// Started and Finished bound the merge; Finished is zero while it runs.
	Started, Finished time.Time
	// Segments counts the segments before the merge and, once it is done,
	// after it.
	Segments SearchSegments
	// Err is why the merge failed or stopped.
	Err error
}

// Running reports whether the merge goes on.
func (o *OptimizeState) Running() bool { return o.Finished.IsZero() }

// optimizeRun is one merge of an indexer's index.
type optimizeRun struct {
	cancel context.CancelFunc
	done   chan struct{}
	state  OptimizeState // guarded by indexer.optMu
}

// ErrOptimizing is returned when a merge of the search index is asked for
// while one runs.
var ErrOptimizing = errors.New("a merge of the search index is already running")

// OptimizeSearch merges the search index into one segment per shard, which
// makes each search term one dictionary lookup instead of one per segment:
// worth it after a large bulk load, which leaves a score of segments. It
// rewrites the whole index (7 to 12 s per million objects on two cores);
// searches and indexing go on meanwhile. It returns when the merge is done;
// StartOptimizeSearch runs it in the background instead.
func (s *Store) OptimizeSearch(ctx context.Context) (SearchSegments, error) {
	in, run, ctx, err := s.beginOptimize(ctx)
	if err != nil {
		return SearchSegments{}, err
	}
	defer close(run.done)
	return in.optimize(ctx, run)
}

// StartOptimizeSearch starts what OptimizeSearch does in the background,
// for a server that must not stop to merge its index, and returns at once.
// IndexStatus().Optimize follows the merge; closing the store or a
// Reindex stops it. When a merge already runs it returns ErrOptimizing.
func (s *Store) StartOptimizeSearch() error {
	in, run, ctx, err := s.beginOptimize(context.Background())
	if err != nil {
		return err
	}
	go func() {
		defer close(run.done)
		seg, err := in.optimize(ctx, run)
		if err != nil {
			s.log.Error("merge the search index", "error", err)
			return
		}
		s.log.Info("merged the search index", "segments_before", seg.Before, "segments_after", seg.After,
			"seconds", time.Since(run.state.Started).Seconds())
	}()
	return nil
}

// beginOptimize checks that the store may merge its index and records a
// run, unless one is running.
func (s *Store) beginOptimize(ctx context.Context) (*indexer, *optimizeRun, context.Context, error) {
	in := s.search.Load()
	switch {
	case in == nil:
		return nil, nil, nil, fmt.Errorf("optimize search index: the store was opened without a search index: %w", ErrInvalid)
	case s.opts.ReadOnly:
		return nil, nil, nil, fmt.Errorf("optimize search index: %w", ErrReadOnly)
	}
	in.optMu.Lock()
	defer in.optMu.Unlock()
	// Checked under optMu: Close marks the store closed before it halts
	// the run, so no run starts after Close looked.
	if s.closed.Load() {
		return nil, nil, nil, ErrClosed
	}
	if in.opt != nil && in.opt.state.Running() {
		return nil, nil, nil, fmt.Errorf("optimize search index: %w (since %s)", ErrOptimizing, in.opt.state.Started.Format(time.RFC3339))
	}
	ctx, cancel := context.WithCancel(ctx)
	run := &optimizeRun{cancel: cancel, done: make(chan struct{}), state: OptimizeState{Started: time.Now()}}
	in.opt = run
	return in, run, ctx, nil
}

// optimize merges the index for run and records the outcome in it.
func (in *indexer) optimize(ctx context.Context, run *optimizeRun) (SearchSegments, error) {
	defer run.cancel()
	var seg SearchSegments
	var err error
	if seg.Before, err = in.ix.Segments(); err == nil {
		in.optMu.Lock()
		run.state.Segments.Before = seg.Before
		in.optMu.Unlock()
		if err = in.ix.Optimize(ctx); err == nil {
			seg.After, err = in.ix.Segments()
		}
	}
	if err != nil {
		err = fmt.Errorf("optimize search index: %w", err)
	}
	in.optMu.Lock()
	run.state.Finished, run.state.Segments, run.state.Err = time.Now(), seg, err
	in.optMu.Unlock()
	return seg, err
}

// optimizeState returns a copy of the state of the last run, or nil.
func (in *indexer) optimizeState() *OptimizeState {
	in.optMu.Lock()
	defer in.optMu.Unlock()
	if in.opt == nil {
		return nil
	}
	st := in.opt.state
	return &st
}

// haltOptimize stops a running merge and waits until it has let go of the
// index, before the index closes.
func (in *indexer) haltOptimize() {
	in.optMu.Lock()
	run := in.opt
	in.optMu.Unlock()
	if run != nil {
		run.cancel()
		<-run.done
	}
}
