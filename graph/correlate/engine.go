package correlate

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/verband-cti/verband/graph"
)

// EngineStore is what an Engine reads: *graph.Store implements it. Its
// IndexStatus().Committed, the last commit written, tells the engine when a
// projection is out of date.
type EngineStore interface {
	Store
	IndexStatus() graph.IndexStatus
}

// DefaultCachedViewers is how many viewers' projections an Engine keeps.
const DefaultCachedViewers = 16

// Engine answers correlation questions for many viewers. It keeps the
// latest projection of each recent viewer and builds a new one when the
// store has changed since (any commit, so a changed marking or sharing
// list is never answered from an old projection). Concurrent requests of
// one viewer share one build. It is safe for concurrent use.
//
// A build runs to its end, or until Close, even when the request that
// started it gives up waiting, so that a large store's first answer is
// ready for the next request.
type Engine struct {
	store EngineStore
	opts  Options

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	entries map[viewerKey]*entry
}

// viewerKey tells viewers apart: what they may see depends on these only.
type viewerKey struct {
	org, user string
	system    bool
}

func keyOf(v graph.Viewer) viewerKey {
	return viewerKey{org: v.Org, user: v.User, system: v.IsSystem()}
}

// entry is one viewer's projection as of one commit, or its build.
type entry struct {
	seq     uint64
	done    chan struct{}
	p       *Projection
	err     error
	started time.Time
	used    time.Time
}

// NewEngine returns an engine over s with options opts.
func NewEngine(s EngineStore, opts Options) *Engine {
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{store: s, opts: opts.withDefaults(), ctx: ctx, cancel: cancel, entries: map[viewerKey]*entry{}}
}

// Options returns the options in force.
func (e *Engine) Options() Options { return e.opts }

// Close stops the builds under way and waits for them to end. Calls after
// Close fail with context.Canceled.
func (e *Engine) Close() {
	e.cancel()
	e.wg.Wait()
}

// Projection returns viewer v's projection as of the store's latest
// commit, building it when needed. ctx bounds the wait, not the build.
func (e *Engine) Projection(ctx context.Context, v graph.Viewer) (*Projection, error) {
	if err := e.ctx.Err(); err != nil {
		return nil, fmt.Errorf("correlation engine: %w", err)
	}
	// The commit counter is read before the snapshot is taken, so a
	// projection is never labelled newer than what it saw.
	seq := e.store.IndexStatus().Committed
	k := keyOf(v)
	e.mu.Lock()
	en := e.entries[k]
	if en == nil || en.seq != seq || (isDone(en) && en.err != nil) {
		en = &entry{seq: seq, done: make(chan struct{}), started: time.Now()}
		e.entries[k] = en
		e.evictLocked()
		e.wg.Add(1)
		go e.build(k, en, v)
	}
	en.used = time.Now()
	e.mu.Unlock()
	select {
	case <-en.done:
		return en.p, en.err
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the correlation projection (building for %s): %w", time.Since(en.started).Round(time.Second), ctx.Err())
	}
}

// build builds one projection and publishes it in en.
func (e *Engine) build(k viewerKey, en *entry, v graph.Viewer) {
	defer e.wg.Done()
	en.p, en.err = Build(e.ctx, e.store, v, e.opts)
	close(en.done)
	if en.err != nil {
		e.mu.Lock()
		if e.entries[k] == en {
			delete(e.entries, k)
		}
		e.mu.Unlock()
	}
}

func isDone(en *entry) bool {
	select {
	case <-en.done:
		return true
	default:
		return false
	}
}

// evictLocked drops the least recently used finished entries beyond
// DefaultCachedViewers.
func (e *Engine) evictLocked() {
	for len(e.entries) > DefaultCachedViewers {
		var oldest viewerKey
		var at time.Time
		found := false
		for k, en := range e.entries {
			if isDone(en) && (!found || en.used.Before(at)) {
				oldest, at, found = k, en.used, true
			}
		}
		if !found {
			return
		}
		delete(e.entries, oldest)
	}
}

// Correlations ranks the containers related to container id as viewer v
// sees them, best first, and returns at most first of them (all when first
// is 0 or less), each with its score and full evidence list. It fails with
// graph.ErrNotFound when v may not see id, and with ErrNotContainer when id
// is not a container.
func (e *Engine) Correlations(ctx context.Context, v graph.Viewer, id graph.ID, first int) ([]Correlation, error) {
	res, err := e.Correlate(ctx, v, id)
	if err != nil {
		return nil, err
	}
	if first > 0 && len(res.Related) > first {
		return res.Related[:first], nil
	}
	return res.Related, nil
}

// Correlate is Correlations with every related container and the values
// of id that link nothing.
func (e *Engine) Correlate(ctx context.Context, v graph.Viewer, id graph.ID) (*Result, error) {
	if err := e.checkContainer(v, id); err != nil {
		return nil, err
	}
	p, err := e.Projection(ctx, v)
	if err != nil {
		return nil, err
	}
	return p.Correlate(id)
}

// checkContainer tells a container from another visible object and from a
// hidden or missing one.
func (e *Engine) checkContainer(v graph.Viewer, id graph.ID) error {
	return e.store.View(v, func(tx *graph.Tx) error {
		n, err := tx.Node(id)
		if err != nil {
			return fmt.Errorf("correlate %d: %w", id, err)
		}
		if !isContainer(n.Type) {
			return fmt.Errorf("correlate %s (%s): %w", n.StixID, n.Type, ErrNotContainer)
		}
		return nil
	})
}
