package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/verband-cti/verband/graph/internal/auditseg"
)

// Retention of the audit log. Every request adds an entry of about a
// kilobyte, so a server answering a few thousand requests a second writes
// gigabytes a day; without retention the log fills the disk. Pruning
// removes the oldest entries, those appended before a cutoff, and records
// the last one removed as the log's base: its sequence number, hash and
// time. The entries that remain still chain to it, so AuditVerify checks
// the log from the base on, and an oversight body that keeps the hash of
// the last entry of each export can still check that the next export (or
// the base) continues from it. Pruning never removes evidence that does
// not verify: it checks every entry it removes (hash, sequence, chain) and
// stops with an error at the first that fails, leaving it in place for
// `verband audit verify` to report.

// AuditBase is where a pruned audit log begins: the last entry pruned.
// Its zero value (Seq 0) means the log was never pruned and begins with
// entry 1, whose prev is 64 zeros.
type AuditBase struct {
	// Seq and Hash are the sequence number and hash of the last entry
	// pruned: the first entry kept has sequence number Seq+1 and names
	// Hash as its prev.
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
	// Time is when that entry was appended.
	Time time.Time `json:"time"`
}

// AuditPruneResult says what PruneAudit did.
type AuditPruneResult struct {
	// Pruned is the number of entries removed.
	Pruned int `json:"pruned"`
	// Base is where the log now begins.
	Base AuditBase `json:"base"`
	// SegmentsRemoved counts the segment files deleted, all of whose
	// entries were pruned; the space of the others comes back when the
	// rest of their entries are.
	SegmentsRemoved int `json:"segments_removed"`
}

// auditPruneBatch is how often PruneAudit reports progress, in entries.
const auditPruneBatch = 1000

// auditPruneCheckpoint is how many entries PruneAudit removes before it
// records the base it reached, so that an interrupted prune keeps most of
// its work.
const auditPruneCheckpoint = 100_000

// PruneAudit removes the entries of the audit log appended before cutoff,
// oldest first, and makes the last one removed the log's base (see
// AuditBase). It stops at the first entry appended at or after cutoff, so
// an entry is never removed while an older one stays. The base is
// recorded every auditPruneCheckpoint entries and at the end, so an
// interrupted prune leaves a log that verifies. cutoff may not lie in the
// future. PruneAudit runs beside appends and readers; two prunes of one
// store run one after the other.
//
// Entries are removed from every answer at once; their space comes back a
// segment at a time, as each segment all of whose entries were pruned is
// deleted (AuditPruneResult.SegmentsRemoved). Segments span at most an
// hour, or with Options.AuditRetention the interval at which it prunes,
// and at most Options.AuditSegmentBytes.
//
// progress, when set, is called every thousand entries, and at the end,
// with the number of entries removed so far.
//
// It verifies what it removes and refuses, with an error wrapping
// ErrCorrupt that names the entry, to remove an entry whose contents do
// not match its hash, that is stored under another sequence number, or that
// does not chain to the entry before it.
func (s *Store) PruneAudit(ctx context.Context, cutoff time.Time, progress func(pruned int)) (AuditPruneResult, error) {
	if err := s.auditReady(); err != nil {
		return AuditPruneResult{}, err
	}
	if s.opts.ReadOnly {
		return AuditPruneResult{}, fmt.Errorf("prune audit log: %w", ErrReadOnly)
	}
	if now := auditClock(); cutoff.After(now) {
		return AuditPruneResult{}, fmt.Errorf("prune audit log: the cutoff %s lies in the future (now %s): %w",
			cutoff.UTC().Format(time.RFC3339), now.Format(time.RFC3339), ErrInvalid)
	}
	l := &s.audit
	if l.baseErr != nil {
		return AuditPruneResult{}, fmt.Errorf("prune audit log: %w", l.baseErr)
	}
	s.auditPruneMu.Lock()
	defer s.auditPruneMu.Unlock()
	if err := ctx.Err(); err != nil {
		return AuditPruneResult{}, fmt.Errorf("prune audit log: %w", err)
	}
	res := AuditPruneResult{Base: *l.base.Load()}
	saved := res.Base
	prev := hashOrZero(res.Base.Hash)
	var stop error
	err := l.seg.Scan(res.Base.Seq+1, ^uint64(0), false, func(r auditseg.Record) bool {
		if res.Pruned%256 == 255 {
			if stop = ctx.Err(); stop != nil {
				return false
			}
		}
		if r.Seq != res.Base.Seq+1 {
			stop = fmt.Errorf("audit entry %d is missing (run verband audit verify): %w", res.Base.Seq+1, ErrCorrupt)
			return false
		}
		e, hash, p := checkAuditEntry(r.Seq, prev, r.Data)
		if p != nil {
			stop = fmt.Errorf("audit %s (run verband audit verify): %w", p, ErrCorrupt)
			return false
		}
		if !e.Time.Before(cutoff) {
			return false
		}
		prev = hash
		res.Base = AuditBase{Seq: r.Seq, Hash: hash, Time: e.Time}
		res.Pruned++
		if res.Pruned%auditPruneCheckpoint == 0 {
			if stop = s.moveAuditBase(res.Base, &res); stop != nil {
				return false
			}
			saved = res.Base
		}
		if progress != nil && res.Pruned%auditPruneBatch == 0 {
			progress(res.Pruned)
		}
		return true
	})
	if res.Base != saved {
		err = errors.Join(err, s.moveAuditBase(res.Base, &res))
	}
	if progress != nil && res.Pruned%auditPruneBatch != 0 {
		progress(res.Pruned)
	}
	if err = errors.Join(err, stop); err != nil {
		if res.Pruned > 0 {
			s.log.Error("pruned the audit log in part", "entries", res.Pruned, "base_seq", res.Base.Seq, "err", err)
			return res, fmt.Errorf("prune audit log: pruned %d entries, then stopped: %w", res.Pruned, err)
		}
		return res, fmt.Errorf("prune audit log: %w", err)
	}
	if res.Pruned > 0 {
		s.log.Info("pruned the audit log", "entries", res.Pruned, "base_seq", res.Base.Seq,
			"base_hash", res.Base.Hash, "cutoff", cutoff.UTC().Format(time.RFC3339), "segments_removed", res.SegmentsRemoved)
	}
	return res, nil
}

// moveAuditBase records base as the log's base, durably, and then deletes
// the segments it leaves wholly pruned.
func (s *Store) moveAuditBase(base AuditBase, res *AuditPruneResult) error {
	l := &s.audit
	if err := writeAuditBaseFile(l.dir, base); err != nil {
		return err
	}
	l.base.Store(&base)
	n, err := l.seg.DropBefore(base.Seq + 1)
	res.SegmentsRemoved += n
	if err != nil {
		return fmt.Errorf("entries pruned up to %d, but: %w", base.Seq, err)
	}
	return nil
}

// AuditBase returns where the audit log begins: the last entry pruned, or
// the zero AuditBase when the log was never pruned.
func (s *Store) AuditBase() (AuditBase, error) {
	if err := s.auditReady(); err != nil {
		return AuditBase{}, err
	}
	if err := s.audit.baseErr; err != nil {
		return AuditBase{}, err
	}
	return *s.audit.base.Load(), nil
}

// pruneAuditNow is the periodic work of Options.AuditRetention: it prunes
// the entries older than the retention and logs what failed.
func (s *Store) pruneAuditNow(stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	cutoff := auditClock().Add(-s.opts.AuditRetention)
	res, err := s.PruneAudit(ctx, cutoff, nil)
	if err != nil && ctx.Err() == nil {
		s.log.Error("audit log retention", "err", err)
	}
	if res.Pruned == 0 {
		return
	}
	// The log records its own pruning, so that an oversight body reading
	// it learns where and why it now begins.
	result, _ := json.Marshal(map[string]any{"pruned": res.Pruned, "base_seq": res.Base.Seq, "base_hash": res.Base.Hash})
	args, _ := json.Marshal(map[string]string{"retention": s.opts.AuditRetention.String(), "cutoff": cutoff.UTC().Format(time.RFC3339)})
	e := AuditEntry{Viewer: AuditViewer{Role: "system"}, Operation: "audit retention", Args: args, Result: result, Outcome: AuditOK}
	if err != nil {
		e.Outcome, e.Errors = AuditError, []string{err.Error()}
	}
	if _, err := s.AppendAudit(context.Background(), e); err != nil {
		s.log.Error("record audit log retention in the audit log", "err", err)
	}
}

// auditPruneEvery is how often the store applies Options.AuditRetention:
// hourly, or a tenth of the retention when that is shorter (at least a
// second), so that the log holds little more than the retention asks.
func auditPruneEvery(retention time.Duration) time.Duration {
	return max(time.Second, min(time.Hour, retention/10))
}
