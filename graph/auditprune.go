package graph

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
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
	// FilesRewritten counts the value log files rewritten afterwards to
	// give the space back.
	FilesRewritten int `json:"files_rewritten"`
}

// auditPruneBatch is how many entries one pruning transaction removes.
const auditPruneBatch = 1000

// PruneAudit removes the entries of the audit log appended before cutoff,
// oldest first, and makes the last one removed the log's base (see
// AuditBase). It stops at the first entry appended at or after cutoff, so
// an entry is never removed while an older one stays. Entries are removed
// in transactions of up to a thousand, each of which moves the base with
// it, so an interrupted prune leaves a log that verifies. cutoff may not lie
// in the future. PruneAudit runs beside appends and readers; two prunes of
// one store run one after the other.
//
// progress, when set, is called after each transaction with the number of
// entries removed so far.
//
// It verifies what it removes and refuses, with an error wrapping
// ErrCorrupt that names the entry, to remove an entry whose contents do
// not match its hash, that is stored under another sequence number, or that
// does not chain to the entry before it.
func (s *Store) PruneAudit(ctx context.Context, cutoff time.Time, progress func(pruned int)) (AuditPruneResult, error) {
	if s.closed.Load() {
		return AuditPruneResult{}, ErrClosed
	}
	if s.opts.ReadOnly {
		return AuditPruneResult{}, fmt.Errorf("prune audit log: %w", ErrReadOnly)
	}
	if now := auditClock(); cutoff.After(now) {
		return AuditPruneResult{}, fmt.Errorf("prune audit log: the cutoff %s lies in the future (now %s): %w",
			cutoff.UTC().Format(time.RFC3339), now.Format(time.RFC3339), ErrInvalid)
	}
	s.auditPruneMu.Lock()
	defer s.auditPruneMu.Unlock()
	var res AuditPruneResult
	var err error
	if res.Base, err = s.AuditBase(); err != nil {
		return res, fmt.Errorf("prune audit log: %w", err)
	}
	for {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("prune audit log: %w", err)
		}
		batch, err := s.auditPruneBatch(res.Base, cutoff)
		if err != nil {
			return res, fmt.Errorf("prune audit log: %w", err)
		}
		if len(batch.seqs) == 0 {
			if batch.bad != nil {
				return res, fmt.Errorf("prune audit log: %w", batch.bad)
			}
			break
		}
		if err := s.auditDB.Update(func(txn *badger.Txn) error {
			for i, seq := range batch.seqs {
				if err := txn.Delete(auditEntryKey(seq)); err != nil {
					return err
				}
				for _, org := range batch.orgs[i] {
					if err := txn.Delete(s.auditIdx.key(org, seq)); err != nil {
						return err
					}
				}
			}
			return txn.Set(auditBaseKey(), encodeAuditBase(batch.last))
		}); err != nil {
			return res, fmt.Errorf("prune audit log: remove entries %d to %d: %w", batch.seqs[0], batch.last.Seq, err)
		}
		res.Pruned += len(batch.seqs)
		res.Base = batch.last
		if progress != nil {
			progress(res.Pruned)
		}
		if batch.bad != nil {
			s.log.Error("pruned the audit log up to an entry that does not verify", "entries", res.Pruned, "base_seq", res.Base.Seq, "err", batch.bad)
			return res, fmt.Errorf("prune audit log: pruned %d entries, then stopped: %w", res.Pruned, batch.bad)
		}
		if batch.done {
			break
		}
	}
	if res.Pruned == 0 {
		return res, nil
	}
	s.log.Info("pruned the audit log", "entries", res.Pruned, "base_seq", res.Base.Seq,
		"base_hash", res.Base.Hash, "cutoff", cutoff.UTC().Format(time.RFC3339))
	// The space of the removed entries comes back as Badger rewrites the
	// value log files they filled; a file qualifies once compactions have
	// counted it at least half garbage, so some space returns later.
	n, err := collectValueLogOf(s.auditDB, nil)
	res.FilesRewritten = n
	if err != nil {
		return res, fmt.Errorf("prune audit log: entries removed, but: %w", err)
	}
	return res, nil
}

// auditPrunable is one batch of entries to prune.
type auditPrunable struct {
	seqs []uint64
	orgs [][]string
	last AuditBase // the base once the batch is removed
	done bool      // an entry at or after the cutoff ends the batch
	bad  error     // the entry after the batch does not verify
}

// auditPruneBatch reads and verifies (as AuditVerify does) up to
// auditPruneBatch entries after base that were appended before cutoff. The
// batch ends before the first entry that does not verify, which it reports
// in bad.
func (s *Store) auditPruneBatch(base AuditBase, cutoff time.Time) (auditPrunable, error) {
	b := auditPrunable{last: base}
	err := s.auditDB.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: auditEntryPrefix()})
		defer it.Close()
		prev := base.Hash
		if base.Seq == 0 {
			prev = zeroAuditHash
		}
		next := base.Seq + 1
		for it.Seek(auditEntryKey(next)); it.Valid() && len(b.seqs) < auditPruneBatch; it.Next() {
			seq, err := parseAuditEntryKey(it.Item().Key())
			if err != nil {
				return err
			}
			if seq != next {
				b.bad = fmt.Errorf("entry %d is missing (run verband audit verify): %w", next, ErrCorrupt)
				return nil
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("read audit entry %d: %w", seq, err)
			}
			e, hash, p := checkAuditEntry(seq, prev, v)
			if p != nil {
				b.bad = fmt.Errorf("audit %s (run verband audit verify): %w", p, ErrCorrupt)
				return nil
			}
			if !e.Time.Before(cutoff) {
				b.done = true
				return nil
			}
			prev = hash
			b.seqs = append(b.seqs, seq)
			b.orgs = append(b.orgs, e.Orgs)
			b.last = AuditBase{Seq: seq, Hash: prev, Time: e.Time}
			next++
		}
		if !it.Valid() {
			b.done = true // the end of the log
		}
		return nil
	})
	return b, err
}

// readAuditBase returns the base of the log, zero when it was never pruned.
func readAuditBase(txn *badger.Txn) (AuditBase, error) {
	item, err := txn.Get(auditBaseKey())
	if errors.Is(err, badger.ErrKeyNotFound) {
		return AuditBase{}, nil
	}
	if err != nil {
		return AuditBase{}, fmt.Errorf("read audit log base: %w", err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return AuditBase{}, fmt.Errorf("read audit log base: %w", err)
	}
	if len(v) != 8+auditHashLen+8 {
		return AuditBase{}, fmt.Errorf("audit log base of %d bytes: %w", len(v), ErrCorrupt)
	}
	return AuditBase{
		Seq:  binary.BigEndian.Uint64(v),
		Hash: hex.EncodeToString(v[8 : 8+auditHashLen]),
		Time: time.Unix(0, int64(binary.BigEndian.Uint64(v[8+auditHashLen:]))).UTC(),
	}, nil
}

// encodeAuditBase is the value of the base key.
func encodeAuditBase(b AuditBase) []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+auditHashLen+8), b.Seq)
	h, _ := hex.DecodeString(b.Hash)
	v = append(v, h...)
	return binary.BigEndian.AppendUint64(v, uint64(b.Time.UnixNano()))
}

// AuditBase returns where the audit log begins: the last entry pruned, or
// the zero AuditBase when the log was never pruned.
func (s *Store) AuditBase() (AuditBase, error) {
	if s.closed.Load() {
		return AuditBase{}, ErrClosed
	}
	var b AuditBase
	err := s.auditDB.View(func(txn *badger.Txn) error {
		var err error
		b, err = readAuditBase(txn)
		return err
	})
	return b, err
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
