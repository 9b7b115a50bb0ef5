package graph

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"
)

// Runs are the stored results of scheduled jobs: opaque bytes under a kind
// (which job: "clusters"), an audience (whom the result was computed for: an
// organization, or an operator's instance-wide view) and a run id. The store
// neither reads nor checks the bytes; the job that writes them owns their
// encoding. Runs are append-only: a run, once stored, is never changed, only
// pruned (PruneRuns) when it is no longer wanted.
//
// Run ids order the runs of one audience by their bytes. Callers give
// fixed-width, time-based ids (such as "20260301T101500.000000000Z"), so that
// the last id is the newest run.
//
// Runs live beside the graph: they are not objects, have no access class and
// are not in the outbox or the search index. What a run may show is decided
// when it is computed, for its audience; the caller that reads one back must
// give it to that audience only.

// MaxRunPart is the longest kind, audience or run id, in bytes.
const MaxRunPart = 255

// RunQuery selects the runs Store.Runs visits.
type RunQuery struct {
	// Before, when set, starts after the run with this id: only older runs
	// are visited.
	Before string
	// IDsOnly skips reading the data: fn gets nil data.
	IDsOnly bool
}

// checkRunPart checks a kind, audience or run id: 1 to MaxRunPart bytes of
// UTF-8 without control characters.
func checkRunPart(field, s string) error {
	if s == "" || len(s) > MaxRunPart || !utf8.ValidString(s) {
		return fmt.Errorf("run %s %q: want 1 to %d bytes of UTF-8: %w", field, s, MaxRunPart, ErrInvalid)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("run %s %q: control character %U: %w", field, s, r, ErrInvalid)
		}
	}
	return nil
}

func checkRunParts(kind, audience string) error {
	return errors.Join(checkRunPart("kind", kind), checkRunPart("audience", audience))
}

// PutRun stores data as run id of kind for audience. It fails with ErrExists
// when the run is stored already (runs are append-only), and with ErrTooLarge
// when data does not fit in one transaction (some megabytes).
func (s *Store) PutRun(ctx context.Context, kind, audience, id string, data []byte) error {
	if err := errors.Join(checkRunParts(kind, audience), checkRunPart("id", id)); err != nil {
		return fmt.Errorf("store run: %w", err)
	}
	step := fmt.Sprintf("store run %s/%s/%s", kind, audience, id)
	err := s.accountWrite(ctx, step, func(txn *badger.Txn) error {
		key := runKey(kind, audience, id)
		if taken, err := exists(txn, key); err != nil || taken {
			return errors.Join(err, errIf(taken, ErrExists))
		}
		return txn.Set(key, data)
	})
	if errors.Is(err, badger.ErrTxnTooBig) {
		return fmt.Errorf("%s: %d bytes: %w", step, len(data), ErrTooLarge)
	}
	return err
}

// errIf returns err when cond holds, and nil otherwise.
func errIf(cond bool, err error) error {
	if cond {
		return err
	}
	return nil
}

// GetRun returns the data of one run, or ErrNotFound.
func (s *Store) GetRun(kind, audience, id string) ([]byte, error) {
	if err := errors.Join(checkRunParts(kind, audience), checkRunPart("id", id)); err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	return accountRead(s, "read run "+id, func(txn *badger.Txn) ([]byte, error) {
		return getRecord(txn, runKey(kind, audience, id), func(v []byte) ([]byte, error) { return append([]byte(nil), v...), nil })
	})
}

// LatestRun returns the id and data of the newest run of kind for audience,
// or ErrNotFound when there is none.
func (s *Store) LatestRun(kind, audience string) (id string, data []byte, err error) {
	err = s.Runs(kind, audience, RunQuery{}, func(rid string, d []byte) bool {
		id, data = rid, d
		return false
	})
	if err == nil && id == "" {
		err = fmt.Errorf("latest run of %s for %s: %w", kind, audience, ErrNotFound)
	}
	return id, data, err
}

// Runs calls fn with the runs of kind for audience, newest first, from one
// snapshot, until fn returns false. The data belongs to fn.
func (s *Store) Runs(kind, audience string, q RunQuery, fn func(id string, data []byte) bool) error {
	if err := checkRunParts(kind, audience); err != nil {
		return fmt.Errorf("list runs: %w", err)
	}
	_, err := accountRead(s, "list runs of "+kind+" for "+audience, func(txn *badger.Txn) (struct{}, error) {
		prefix := runPrefix(kind, audience)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true, PrefetchValues: !q.IDsOnly, PrefetchSize: 4})
		defer it.Close()
		// A reverse iterator seeks to the last key at or before its
		// argument: past every id of the prefix, or just before Before.
		seek := append(append([]byte(nil), prefix...), 0xff)
		if q.Before != "" {
			seek = runKey(kind, audience, q.Before)
		}
		for it.Seek(seek); it.Valid(); it.Next() {
			_, _, id, err := parseRunKey(it.Item().Key())
			if err != nil {
				return struct{}{}, fmt.Errorf("%w: %w", err, ErrCorrupt)
			}
			if q.Before != "" && id >= q.Before {
				continue
			}
			var data []byte
			if !q.IDsOnly {
				if data, err = it.Item().ValueCopy(nil); err != nil {
					return struct{}{}, fmt.Errorf("read run %s: %w", id, err)
				}
			}
			if !fn(id, data) {
				break
			}
		}
		return struct{}{}, nil
	})
	return err
}

// RunAudiences lists the audiences that have runs of kind, sorted by name.
func (s *Store) RunAudiences(kind string) ([]string, error) {
	if err := checkRunPart("kind", kind); err != nil {
		return nil, fmt.Errorf("list run audiences: %w", err)
	}
	return accountRead(s, "list run audiences of "+kind, func(txn *badger.Txn) ([]string, error) {
		var out []string
		kindPrefix := runPrefix(kind, "")
		kindPrefix = kindPrefix[:len(kindPrefix)-2] // r | len | kind
		it := txn.NewIterator(badger.IteratorOptions{Prefix: kindPrefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); {
			_, audience, _, err := parseRunKey(it.Item().Key())
			if err != nil {
				return nil, fmt.Errorf("%w: %w", err, ErrCorrupt)
			}
			out = append(out, audience)
			// Skip the audience's other runs: seek past its prefix.
			it.Seek(append(runPrefix(kind, audience), 0xff))
		}
		slices.Sort(out) // keys order them by length first
		return out, nil
	})
}

// PruneRuns deletes the runs of kind for audience but the newest keep, and
// returns how many it deleted. keep must be at least 1, so the run the next
// one is compared with always stays.
func (s *Store) PruneRuns(ctx context.Context, kind, audience string, keep int) (int, error) {
	if err := checkRunParts(kind, audience); err != nil {
		return 0, fmt.Errorf("prune runs: %w", err)
	}
	if keep < 1 {
		return 0, fmt.Errorf("prune runs of %s for %s: keep %d: want at least 1: %w", kind, audience, keep, ErrInvalid)
	}
	var ids []string
	err := s.Runs(kind, audience, RunQuery{IDsOnly: true}, func(id string, _ []byte) bool {
		ids = append(ids, id)
		return true
	})
	if err != nil || len(ids) <= keep {
		return 0, err
	}
	old := ids[keep:]
	err = s.accountWrite(ctx, fmt.Sprintf("prune runs of %s for %s", kind, audience), func(txn *badger.Txn) error {
		for _, id := range old {
			if err := txn.Delete(runKey(kind, audience, id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(old), nil
}
