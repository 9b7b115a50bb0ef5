package graph

import (
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"

	"github.com/verband-cti/verband/schema"
)

// BulkOptions tune a Bulk load.
type BulkOptions struct {
	// ChunkObjects is how many objects one atomic chunk holds at most.
	// Default 2,000. A chunk is also committed early when it nears the
	// largest transaction Badger accepts.
	ChunkObjects int
	// OnCommit, when set, is called after each chunk is committed (durably
	// when Options.SyncWrites is on), with the stats of that chunk. It runs
	// on the loading goroutine, in commit order, from a later Put, Flush or
	// Close.
	OnCommit func(BulkStats)
}

// BulkStats counts what a chunk or a whole load did, by outcome.
type BulkStats struct {
	Objects                            int
	Created, Updated, Unchanged, Older int
	// Chunks is the number of committed chunks.
	Chunks int
}

func (b *BulkStats) add(o BulkStats) {
	b.Objects += o.Objects
	b.Created += o.Created
	b.Updated += o.Updated
	b.Unchanged += o.Unchanged
	b.Older += o.Older
	b.Chunks += o.Chunks
}

func (b *BulkStats) count(o Outcome) {
	b.Objects++
	switch o {
	case Created:
		b.Created++
	case Updated:
		b.Updated++
	case Unchanged:
		b.Unchanged++
	case Older:
		b.Older++
	}
}

// Bulk loads many objects fast. It groups them into chunks and commits each
// chunk as one Badger transaction, so a chunk is stored whole or not at all
// and a crash loses at most the chunks not yet acknowledged. (Badger's
// WriteBatch would split a chunk over several commits without telling, so
// it cannot give that guarantee.)
//
// Loading is pipelined: while one chunk commits (Badger writes its
// memtable, and fsyncs when SyncWrites is on), Put prepares the next one
// (encoding, implied edges, index values) on the caller's goroutine, and
// when it is full builds its transaction too. That transaction's Badger
// snapshot does not hold the chunk still committing, so it reads what that
// chunk wrote (ids, records, counters) from the chunk's staged state; the
// one read that state cannot answer, the edge scan that merges a stub into
// its node, waits for the commit and builds the chunk again. The snapshot
// is taken just before the chunk beneath starts committing: Badger's
// NewTransaction waits for every commit that has a timestamp, so a
// transaction begun later would wait for that commit, and the loader and
// Badger's writer would take turns. A chunk is committed only after the
// one before it committed successfully; when that commit fails, the chunk
// built on it is discarded with it.
//
// The store's writer lock is held from the moment a chunk is built until
// its commit completes, and passes straight to the next chunk when that is
// built meanwhile, so no other writer runs between chunks that read each
// other's writes, and any other writer reads what they wrote. A Bulk is not
// safe for concurrent use.
type Bulk struct {
	s     *Store
	v     Viewer
	opts  BulkOptions
	chunk []*prepared
	total BulkStats
	err   error

	inflight *inflight // the chunk being committed, if any
}

// inflight is a chunk whose commit runs in Badger's goroutines.
type inflight struct {
	done  chan struct{}
	err   error
	stats BulkStats
	w     *writeState // what the chunk wrote, for a chunk built on it
	// next is a transaction begun just before the chunk started
	// committing, whose snapshot holds everything before the chunk and
	// nothing of it, for the next chunk to be built in without waiting
	// for the commit; nil once taken.
	next *badger.Txn

	// mu guards finished and handoff: the commit callback releases the
	// writer lock unless the next chunk took it over (handoff) first.
	mu       sync.Mutex
	finished bool
	handoff  bool
}

// errUnderCommit reports a read that a transaction built on a chunk still
// committing cannot answer; the chunk is built again once it committed.
var errUnderCommit = errors.New("needs the committing chunk in Badger")

// NewBulk starts a bulk load as viewer v.
func (s *Store) NewBulk(v Viewer, opts BulkOptions) *Bulk {
	if opts.ChunkObjects <= 0 {
		opts.ChunkObjects = 2000
	}
	return &Bulk{s: s, v: v, opts: opts}
}

// Put adds an object to the open chunk; a full chunk starts committing.
func (b *Bulk) Put(o *schema.Object, m Meta) error {
	if b.err != nil {
		return b.err
	}
	p, err := prepare(o, m)
	if err != nil {
		return b.fail(fmt.Errorf("bulk load %s: %w", o.ID, err))
	}
	b.chunk = append(b.chunk, p)
	if len(b.chunk) >= b.opts.ChunkObjects {
		return b.apply()
	}
	return b.reap(false)
}

func (b *Bulk) fail(err error) error {
	b.chunk = nil
	b.err = err
	return err
}

// reap collects the in-flight commit's result; with wait it blocks until
// the commit is done, otherwise it returns at once when it is still running.
func (b *Bulk) reap(wait bool) error {
	f := b.inflight
	if f == nil {
		return nil
	}
	if !wait {
		select {
		case <-f.done:
		default:
			return nil
		}
	}
	<-f.done
	b.inflight = nil
	if f.next != nil {
		f.next.Discard()
		f.next = nil
	}
	if f.err != nil {
		return b.fail(fmt.Errorf("bulk load: %w", f.err))
	}
	b.total.add(f.stats)
	if b.opts.OnCommit != nil {
		b.opts.OnCommit(f.stats)
	}
	return nil
}

// takeWriter makes the bulk hold the store's writer lock for the next
// chunk. When the chunk in flight is still committing, the lock passes
// from it to the next chunk, which must then read through the staged state
// takeWriter returns, in the transaction it returns, begun before that
// chunk's commit; otherwise takeWriter locks and returns nil for both.
func (b *Bulk) takeWriter() (*writeState, *badger.Txn) {
	if f := b.inflight; f != nil {
		f.mu.Lock()
		defer f.mu.Unlock()
		next := f.next
		f.next = nil
		if !f.finished {
			f.handoff = true
			return f.w, next
		}
		if next != nil {
			// Its snapshot misses the chunk, which has committed since.
			next.Discard()
		}
	}
	b.s.wmu.Lock()
	return nil, nil
}

// apply writes the open chunk into a transaction and starts its commit.
// Objects that do not fit in one transaction are committed in several,
// each whole; an object that alone exceeds a transaction fails the load.
func (b *Bulk) apply() error {
	if len(b.chunk) == 0 {
		return b.reap(true)
	}
	if b.s.closed.Load() {
		_ = b.reap(true)
		return b.fail(ErrClosed)
	}
	if b.s.opts.ReadOnly {
		return b.fail(ErrReadOnly)
	}
	items := b.chunk
	b.chunk = nil
	under, txn := b.takeWriter()
	for len(items) > 0 {
		tx, n, stats, err := b.build(items, under, txn)
		txn = nil
		if errors.Is(err, errUnderCommit) {
			// Build it again on a snapshot that holds the chunk before.
			if err := b.reap(true); err != nil {
				b.s.wmu.Unlock()
				return err
			}
			under = nil
			continue
		}
		// Whatever happened, the chunk before must be done before this
		// one commits or the writer lock is released.
		if rerr := b.reap(true); rerr != nil {
			if err == nil {
				tx.txn.Discard()
			}
			b.s.wmu.Unlock()
			return rerr
		}
		under = nil
		if err != nil {
			b.s.wmu.Unlock()
			return b.fail(err)
		}
		items = items[n:]
		stats.Chunks = 1
		if len(items) > 0 {
			// An early split: commit this part synchronously.
			err := tx.txn.Commit()
			if err != nil {
				tx.abandon()
				b.s.wmu.Unlock()
				return b.fail(fmt.Errorf("bulk load: commit: %w", tx.wrapTxnErr(err)))
			}
			tx.publish()
			b.total.add(stats)
			if b.opts.OnCommit != nil {
				b.opts.OnCommit(stats)
			}
			continue
		}
		// Begun now, the next chunk's transaction need not wait for this
		// commit; see Bulk.
		f := &inflight{done: make(chan struct{}), stats: stats, w: tx.w, next: b.s.db.NewTransaction(true)}
		b.inflight = f
		tx.txn.CommitWith(func(err error) {
			if err != nil {
				tx.abandon()
				f.err = fmt.Errorf("commit: %w", tx.wrapTxnErr(err))
			} else {
				tx.publish()
			}
			f.mu.Lock()
			f.finished = true
			if !f.handoff {
				b.s.wmu.Unlock()
			}
			f.mu.Unlock()
			close(f.done)
		})
	}
	return nil
}

// build applies items to one transaction until it is full, and finishes
// it (counters, outbox). under is the staged state of the chunk still
// committing, or nil; txn, when not nil, is the transaction to use, begun
// before that chunk's commit (otherwise build begins one). The caller
// holds s.wmu.
func (b *Bulk) build(items []*prepared, under *writeState, txn *badger.Txn) (*Tx, int, BulkStats, error) {
	s := b.s
	if txn == nil {
		txn = s.db.NewTransaction(true)
	}
	tx := s.newTx(txn, b.v)
	tx.w = newWriteState()
	tx.under = under
	if err := s.wcache.ensureFilter(tx); err != nil {
		tx.txn.Discard()
		return nil, 0, BulkStats{}, fmt.Errorf("bulk load: %w", err)
	}
	maxOps, maxBytes := s.db.MaxBatchCount()/2, s.db.MaxBatchSize()/2
	var stats BulkStats
	n := 0
	for ; n < len(items); n++ {
		if n > 0 && (int64(tx.w.pendingOps()) >= maxOps || int64(tx.w.pendingBytes()) >= maxBytes) {
			break
		}
		_, outcome, err := tx.put(items[n])
		if errors.Is(err, ErrTooLarge) && n > 0 {
			// Too much for this transaction: build it again without this
			// object, which then starts the next one.
			tx.txn.Discard()
			return b.build(items[:n], under, nil)
		}
		if err != nil {
			tx.txn.Discard()
			return nil, 0, BulkStats{}, fmt.Errorf("bulk load %s: %w", items[n].o.ID, err)
		}
		stats.count(outcome)
	}
	if err := tx.finish(); err != nil {
		tx.txn.Discard()
		if errors.Is(err, ErrTooLarge) && n > 1 {
			// The counters did not fit after all: half as many objects.
			return b.build(items[:n/2], under, nil)
		}
		if errors.Is(err, ErrTooLarge) {
			return nil, 0, BulkStats{}, fmt.Errorf("bulk load %s: %w", items[0].o.ID, err)
		}
		return nil, 0, BulkStats{}, fmt.Errorf("bulk load: %w", err)
	}
	return tx, n, stats, nil
}

// Flush commits the open chunk and waits until every chunk is committed.
func (b *Bulk) Flush() error {
	if b.err != nil {
		return b.err
	}
	if err := b.apply(); err != nil {
		return err
	}
	return b.reap(true)
}

// Close commits the open chunk and returns the stats of the whole load.
// After an error, Close discards the open chunk and returns the error.
func (b *Bulk) Close() (BulkStats, error) {
	if b.err != nil {
		_ = b.reap(true)
		return b.total, b.err
	}
	err := b.Flush()
	return b.total, err
}

// Abort discards the open chunk and waits for a chunk in flight; committed
// chunks stay.
func (b *Bulk) Abort() {
	_ = b.reap(true)
	b.chunk = nil
}
