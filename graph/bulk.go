package graph

import (
	"errors"
	"fmt"

	"github.com/verband-cti/verband/schema"
)

// BulkOptions tune a Bulk load.
type BulkOptions struct {
	// ChunkObjects is how many objects one atomic chunk holds at most.
	// Default 2,000. A chunk is also committed early when it nears the
	// largest transaction Badger accepts.
	ChunkObjects int
	// OnCommit, when set, is called after each chunk is durably committed,
	// with the stats of that chunk. It runs on the loading goroutine.
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

// Bulk loads many objects fast: it groups them into chunks and commits each
// chunk as one Badger transaction, so a chunk is stored whole or not at all
// and a crash loses at most the chunk in flight. (Badger's WriteBatch would
// split a chunk over several commits without telling, so it cannot give
// that guarantee.) A Bulk holds the store's writer lock while a chunk is
// open; it is not safe for concurrent use.
type Bulk struct {
	s     *Store
	v     Viewer
	opts  BulkOptions
	tx    *Tx
	chunk []bulkItem
	stats BulkStats // of the open chunk
	total BulkStats
	err   error
}

type bulkItem struct {
	o *schema.Object
	m Meta
}

// NewBulk starts a bulk load as viewer v.
func (s *Store) NewBulk(v Viewer, opts BulkOptions) *Bulk {
	if opts.ChunkObjects <= 0 {
		opts.ChunkObjects = 2000
	}
	return &Bulk{s: s, v: v, opts: opts}
}

func (b *Bulk) begin() error {
	if b.s.closed.Load() {
		return ErrClosed
	}
	if b.s.opts.ReadOnly {
		return ErrReadOnly
	}
	b.s.wmu.Lock()
	b.tx = b.s.newTx(b.s.db.NewTransaction(true), b.v)
	b.tx.w = newWriteState()
	return nil
}

func (b *Bulk) abort() {
	if b.tx != nil {
		b.tx.txn.Discard()
		b.tx = nil
		b.s.wmu.Unlock()
	}
	b.chunk = b.chunk[:0]
	b.stats = BulkStats{}
}

// Put adds an object to the open chunk, committing the chunk when full.
func (b *Bulk) Put(o *schema.Object, m Meta) error {
	if b.err != nil {
		return b.err
	}
	if b.tx == nil {
		if err := b.begin(); err != nil {
			return err
		}
	}
	_, outcome, err := b.tx.Put(o, m)
	if errors.Is(err, ErrTooLarge) {
		err = b.split(o, m)
	} else if err == nil {
		b.chunk = append(b.chunk, bulkItem{o, m})
		b.stats.count(outcome)
	}
	if err != nil {
		b.abort()
		b.err = fmt.Errorf("bulk load %s: %w", o.ID, err)
		return b.err
	}
	maxOps, maxBytes := b.s.db.MaxBatchCount()/2, b.s.db.MaxBatchSize()/2
	if len(b.chunk) >= b.opts.ChunkObjects || int64(b.tx.w.ops) >= maxOps || int64(b.tx.w.bytes) >= maxBytes {
		return b.Flush()
	}
	return nil
}

// split handles an object that did not fit in the open chunk: the chunk is
// replayed without it and committed, then the object gets a chunk of its own.
func (b *Bulk) split(o *schema.Object, m Meta) error {
	items := append([]bulkItem(nil), b.chunk...)
	b.abort()
	if len(items) > 0 {
		if err := b.begin(); err != nil {
			return err
		}
		for _, it := range items {
			_, outcome, err := b.tx.Put(it.o, it.m)
			if err != nil {
				return err
			}
			b.chunk = append(b.chunk, it)
			b.stats.count(outcome)
		}
		if err := b.Flush(); err != nil {
			return err
		}
	}
	if err := b.begin(); err != nil {
		return err
	}
	_, outcome, err := b.tx.Put(o, m)
	if err != nil {
		return err // ErrTooLarge: the object alone exceeds a transaction
	}
	b.chunk = append(b.chunk, bulkItem{o, m})
	b.stats.count(outcome)
	return nil
}

// Flush commits the open chunk, if any.
func (b *Bulk) Flush() error {
	if b.err != nil {
		return b.err
	}
	if b.tx == nil {
		return nil
	}
	err := b.tx.commit()
	b.tx.txn.Discard()
	b.tx = nil
	b.s.wmu.Unlock()
	if err != nil {
		b.chunk = b.chunk[:0]
		b.stats = BulkStats{}
		b.err = fmt.Errorf("bulk load: %w", err)
		return b.err
	}
	b.stats.Chunks = 1
	b.total.add(b.stats)
	if b.opts.OnCommit != nil {
		b.opts.OnCommit(b.stats)
	}
	b.chunk = b.chunk[:0]
	b.stats = BulkStats{}
	return nil
}

// Close commits the open chunk and returns the stats of the whole load.
// After an error, Close discards the open chunk and returns the error.
func (b *Bulk) Close() (BulkStats, error) {
	if b.err != nil {
		b.abort()
		return b.total, b.err
	}
	err := b.Flush()
	return b.total, err
}

// Abort discards the open chunk; committed chunks stay.
func (b *Bulk) Abort() { b.abort() }
