package graph

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// vlogGCRatio is the share of garbage at which a value log file is
// rewritten. Half is Badger's recommendation: rewriting a file that is
// mostly live copies much and frees little.
const vlogGCRatio = 0.5

// collectValueLogNow is the periodic work of the value log collector: a
// collection that stop can end early, with its outcome logged.
func (s *Store) collectValueLogNow(stop <-chan struct{}) {
	n, err := s.collectValueLog(stop)
	switch {
	case err != nil:
		s.log.Warn("value log garbage collection failed", "err", err)
	case n > 0:
		s.log.Info("value log garbage collected", "files_rewritten", n)
	}
}

// CollectValueLog rewrites every value log file whose share of garbage
// (values of replaced or deleted records, indexed outbox entries) is at
// least half, and returns how many it rewrote. The store does this on its
// own every ValueLogGCInterval; call it after deleting much data to get the
// disk space back at once. It runs beside readers and writers.
func (s *Store) CollectValueLog() (int, error) {
	if s.opts.ReadOnly {
		return 0, ErrReadOnly
	}
	return s.collectValueLog(nil)
}

// collectValueLog rewrites files of the graph database until none
// qualifies or stop closes.
func (s *Store) collectValueLog(stop <-chan struct{}) (int, error) {
	return collectValueLogOf(s.db, stop)
}

// collectValueLogOf rewrites files of db until none qualifies or stop
// closes.
func collectValueLogOf(db *badger.DB, stop <-chan struct{}) (int, error) {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return n, nil
		default:
		}
		err := db.RunValueLogGC(vlogGCRatio)
		switch {
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
			// Nothing (more) to rewrite, or another collection runs.
			return n, nil
		case err != nil:
			return n, fmt.Errorf("collect value log: %w", err)
		}
	}
}
