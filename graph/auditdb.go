package graph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// The audit log lives in a Badger database of its own, under <dir>/audit,
// with the key layout of keys.go. It has its own database because its
// durability differs from the graph's: every request appends an entry, and
// with the graph's SyncWrites each append would wait for two disk flushes
// (the entry's value and the write-ahead log) before the answer could go
// out. That wait was a quarter of a light request's latency and cost about
// a sixth of the API's throughput. Here, with Options.AuditFlushInterval, an
// append returns once committed, which survives a crash of the process,
// while a flusher writes the log to disk every interval.
//
// Entries go to the value log, as node records do in the graph database:
// the log only grows, and with entries inline every compaction would copy
// them again, level after level. Kept inline, they cost the API about 8%
// of its throughput once the log held half a million entries; in the value
// log, compactions move 20-byte pointers and the organization index.
//
// Its tables are not compressed. Badger compresses a table's blocks on
// twice as many goroutines as there are processors, so each memtable flush
// took every core: at 3,000 requests/s on two cores, the first flush of a
// run stalled the API for three seconds (p50 of 700 ms in that second, in
// each of three 60-second runs); uncompressed, the same runs had no stall.
// The tables hold keys and value pointers, which compress little.
//
// Its levels below L0 grow only past auditBaseLevelSize. With Badger's
// default of 10 MiB, a log of three million entries (144 MiB of tables)
// spread over three levels, each held at its target size; every fifth
// memtable flush then set off a cascade of compactions, L0 into L4, L4 into
// L5, L5 into L6, that rewrote five million keys to take in 575,000, on
// both cores for three to four seconds. At 3,000 requests/s the API's p50
// rose to 300-700 ms for those seconds, in about one 20-second run in
// three. With one level to merge into, the same flush rewrites about
// 900,000 keys in under a second. Badger never puts the base level beneath
// a level that holds data (its fix for deleted keys reappearing), so a log
// already spread over several levels merges into the highest of them.

// auditDirName is the audit database's folder inside the data directory.
const auditDirName = "audit"

// auditBaseLevelSize is the size up to which the audit database keeps its
// tables in one level below L0 (Badger's BaseLevelSize); see above.
const auditBaseLevelSize = 256 << 20

// auditFlusher is the state of the periodic audit flush.
type auditFlusher struct {
	dirty  atomic.Bool // entries committed since the last flush
	failed atomic.Pointer[error]
	run    *periodic
}

// err returns why the last flush failed, or nil.
func (f *auditFlusher) err() error {
	if p := f.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// openAuditDB opens the audit database of a store whose graph database is
// open. A store of format 1 kept its audit log in the graph database, and
// one of format 2 indexed it by organization first: opened for writing,
// the log moves into the audit database, its index is written again in
// the layout of format 3, and the store becomes format 3; read-only, it
// reads the log where it is and as it is.
func (s *Store) openAuditDB(key []byte) error {
	dir := filepath.Join(s.dir, auditDirName)
	s.auditIdx = auditIndex{flat: s.opts.ReadOnly && s.format < FormatVersion}
	if s.opts.ReadOnly && s.format == formatAuditInGraph {
		// A move that stopped after dropping the old keys left the whole
		// log in the audit database.
		inGraph := false
		if err := s.db.View(func(txn *badger.Txn) error {
			inGraph = hasKeys(txn, []byte{tagAudit})
			return nil
		}); err != nil {
			return fmt.Errorf("open audit log: %w", err)
		}
		if _, err := os.Stat(dir); inGraph || errors.Is(err, fs.ErrNotExist) {
			s.auditDB = s.db
			return nil
		}
	}
	strict := s.opts.AuditFlushInterval <= 0
	bopts := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{s.log.With("db", "audit")}).
		WithSyncWrites(s.opts.SyncWrites && strict).
		WithReadOnly(s.opts.ReadOnly).
		WithDetectConflicts(false).
		WithMetricsEnabled(false).
		WithNumGoroutines(1).
		WithValueThreshold(256).
		WithValueLogFileSize(64 << 20).
		WithMemTableSize(16 << 20).
		WithNumMemtables(2).
		WithBlockCacheSize(8 << 20).
		WithNumCompactors(2).
		WithBaseLevelSize(auditBaseLevelSize).
		WithCompression(options.None)
	if key != nil {
		bopts = bopts.WithEncryptionKey(key).WithIndexCacheSize(8 << 20)
	}
	db, err := openBadger(bopts, s.log)
	if err != nil {
		return fmt.Errorf("open audit database in %s: %w", dir, err)
	}
	s.auditDB = db
	if s.opts.ReadOnly {
		return nil
	}
	if s.format < FormatVersion {
		if err := s.upgradeAudit(); err != nil {
			return err
		}
	}
	if s.opts.SyncWrites && !strict {
		f := &auditFlusher{}
		s.auditFlush = f
		f.run = startPeriodic(s.opts.AuditFlushInterval, func(<-chan struct{}) { s.flushAuditOnce(f, s.auditDB.Sync) })
	}
	if s.opts.AuditRetention > 0 {
		s.auditPrune = startPeriodic(auditPruneEvery(s.opts.AuditRetention), s.pruneAuditNow)
	}
	return nil
}

// upgradeAudit brings the audit log of a store of an older format to the
// current one, and then records the current format in the graph database.
// Each step can be run again after a crash: the format changes last.
func (s *Store) upgradeAudit() error {
	if s.format == formatAuditInGraph {
		if err := s.moveLegacyAudit(); err != nil {
			return err
		}
	}
	if err := s.reindexAudit(); err != nil {
		return err
	}
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(keyFormatVersion, binary.BigEndian.AppendUint32(nil, FormatVersion))
	}); err != nil {
		return fmt.Errorf("upgrade the store to format %d: %w", FormatVersion, err)
	}
	s.format = FormatVersion
	return nil
}

// reindexAudit writes the flat organization index of format 2 again in
// buckets.
func (s *Store) reindexAudit() error {
	flat, bucketed := auditIndex{flat: true}, s.auditIdx
	start := time.Now()
	n, err := s.moveToAuditDB(s.auditDB, flat.space(), false, func(k, _ []byte) ([]byte, []byte, error) {
		org, seq, err := flat.parse(k)
		return bucketed.key(org, seq), nil, err
	})
	if err != nil {
		return fmt.Errorf("reindex the audit log by bucket: %w", err)
	}
	if n > 0 {
		s.log.Info("reindexed the audit log by bucket", "keys", n, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// moveLegacyAudit moves audit keys an older build wrote into the graph
// database over to the audit database.
func (s *Store) moveLegacyAudit() error {
	n, err := s.moveToAuditDB(s.db, []byte{tagAudit}, true, func(k, v []byte) ([]byte, []byte, error) {
		return slices.Clone(k), v, nil
	})
	if err != nil {
		return fmt.Errorf("move the audit log to its own database: %w", err)
	}
	if n > 0 {
		s.log.Info("moved the audit log into its own database", "keys", n, "dir", filepath.Join(s.dir, auditDirName))
	}
	return nil
}

// moveToAuditDB writes the keys under prefix in db into the audit
// database as conv rewrites them (with their values when values is set),
// flushes the copy to disk, and only then drops the prefix from db, so
// that a crash at any point leaves every key in the old place or the new
// one or both, and the next open copies again. It returns how many keys it
// copied, and logs progress every million.
func (s *Store) moveToAuditDB(db *badger.DB, prefix []byte, values bool, conv func(k, v []byte) ([]byte, []byte, error)) (int, error) {
	wb := s.auditDB.NewWriteBatch()
	n := 0
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: values})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var v []byte
			if values {
				var err error
				if v, err = it.Item().ValueCopy(nil); err != nil {
					return err
				}
			}
			k, v, err := conv(it.Item().Key(), v)
			if err != nil {
				return err
			}
			if err := wb.Set(k, v); err != nil {
				return err
			}
			if n++; n%1_000_000 == 0 {
				s.log.Info("copying audit keys", "keys", n)
			}
		}
		return nil
	})
	if err == nil {
		err = wb.Flush()
	} else {
		wb.Cancel()
	}
	if err != nil || n == 0 {
		return n, err
	}
	if err := s.auditDB.Sync(); err != nil {
		return n, fmt.Errorf("flush: %w", err)
	}
	if err := db.DropPrefix(prefix); err != nil {
		return n, fmt.Errorf("drop the old keys: %w", err)
	}
	return n, nil
}

// flushAuditOnce flushes with sync when entries are waiting; the flusher
// calls it every Options.AuditFlushInterval. While flushes
// fail, the audit log refuses appends (AuditErr), so that no request is
// answered whose entry may never reach the disk; the next flush that
// succeeds lifts that.
func (s *Store) flushAuditOnce(f *auditFlusher, sync func() error) {
	if !f.dirty.Swap(false) {
		return
	}
	if err := sync(); err != nil {
		f.dirty.Store(true)
		if f.err() == nil {
			s.log.Error("flush the audit log to disk; appends are refused until a flush succeeds", "error", err)
		}
		err = fmt.Errorf("the audit log could not be written to disk: %w", err)
		f.failed.Store(&err)
		return
	}
	if f.err() != nil {
		s.log.Info("the audit log is written to disk again")
		f.failed.Store(nil)
	}
}

// AuditErr reports why the audit log refuses appends: its last flush to
// disk failed. It is nil when appends are accepted.
func (s *Store) AuditErr() error {
	if f := s.auditFlush; f != nil {
		return f.err()
	}
	return nil
}

// closeAuditDB stops the flusher and closes the audit database, which
// writes what it holds to disk.
func (s *Store) closeAuditDB() error {
	s.auditPrune.halt()
	if f := s.auditFlush; f != nil {
		f.run.halt()
	}
	if s.auditDB == nil || s.auditDB == s.db {
		return nil
	}
	if err := s.auditDB.Close(); err != nil {
		return fmt.Errorf("close audit database: %w", err)
	}
	return nil
}
