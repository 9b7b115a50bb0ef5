package graph

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/verband-cti/verband/graph/internal/auditseg"
	"github.com/verband-cti/verband/internal/fsutil"
)

// Converting the audit log of a store of format 1 to 3, which kept it in
// Badger (format 1 in the graph database, 2 and 3 in a database of its own
// under <dir>/audit), into segments. The entries are copied as they are
// stored, hashes and all, so the chain, the head and the base carry over
// and exports made before still verify against the log.
//
// Each step can be run again after a crash: the entries are copied into
// <dir>/auditlog.converting, which is synced and renamed to
// <dir>/auditlog; the store's format becomes 4; only then is the old log
// removed. A crash before the format changes leaves the old log whole, and
// the next open converts again; one after it leaves the old log, which the
// next open removes (removeLegacyAudit).

// migrateBatch is how many entries the conversion appends at once.
const migrateBatch = 1024

// migrateAudit converts the audit log of a store of an older format and
// records the current format.
func (s *Store) migrateAudit(key []byte) error {
	start := time.Now()
	final := filepath.Join(s.dir, auditDirName)
	tmp := final + ".converting"
	for _, d := range []string{tmp, final} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("convert the audit log: remove what an interrupted conversion left: %w", err)
		}
	}
	src, closeSrc, err := s.legacyAuditDB(key)
	if err != nil {
		return fmt.Errorf("convert the audit log: %w", err)
	}
	n, err := s.copyLegacyAudit(src, tmp, key)
	if src != nil {
		err = errors.Join(err, closeSrc())
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err == nil {
		err = fsutil.SyncDir(s.dir)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("convert the audit log to segments (the store was not changed; its old audit log is whole): %w", err)
	}
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(keyFormatVersion, binary.BigEndian.AppendUint32(nil, FormatVersion))
	}); err != nil {
		return fmt.Errorf("upgrade the store to format %d: %w", FormatVersion, err)
	}
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("upgrade the store to format %d: %w", FormatVersion, err)
	}
	s.log.Info("converted the audit log to segments", "from_format", s.format, "entries", n,
		"dir", final, "took", time.Since(start).Round(time.Millisecond))
	s.format = FormatVersion
	return nil
}

// legacyAuditDB opens the database that holds the old audit log: the graph
// database when a store of format 1 still holds it there, else the audit
// database, when there is one (nil when there is none).
func (s *Store) legacyAuditDB(key []byte) (*badger.DB, func() error, error) {
	if s.format == formatAuditInGraph && s.hasLegacyAuditKeys() {
		return s.db, func() error { return nil }, nil
	}
	dir := filepath.Join(s.dir, legacyAuditDirName)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	bopts := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{s.log.With("db", "audit")}).
		WithMetricsEnabled(false).
		WithNumGoroutines(1).
		WithCompression(options.None).
		WithBlockCacheSize(8 << 20)
	if key != nil {
		bopts = bopts.WithEncryptionKey(key).WithIndexCacheSize(8 << 20)
	}
	db, err := openBadger(bopts, s.log)
	if err != nil {
		return nil, nil, fmt.Errorf("open the old audit database in %s: %w", dir, err)
	}
	return db, db.Close, nil
}

// copyLegacyAudit copies the entries after the base of the old log in db
// (none when db is nil), with its head and base, into a new segment log in
// dir, and returns how many it copied. It refuses a log with a gap or an
// entry that does not decode, which segments cannot hold in place: such a
// log is evidence to be kept as it is (verband audit verify and export of
// the release that wrote it show it).
func (s *Store) copyLegacyAudit(db *badger.DB, dir string, key []byte) (int, error) {
	seg, _, err := auditseg.Open(dir, auditseg.Options{Key: key, SegmentBytes: s.opts.AuditSegmentBytes, SegmentAge: auditSegmentAge(s.opts.AuditRetention)})
	if err != nil {
		return 0, err
	}
	l := auditLog{dir: dir, seg: seg}
	var base AuditBase
	var head auditHead
	hasHead, n := false, 0
	if db != nil {
		err = db.View(func(txn *badger.Txn) error {
			var err error
			if base, err = legacyAuditBase(txn); err != nil {
				return err
			}
			if head, hasHead, err = legacyAuditHead(txn); err != nil {
				return err
			}
			n, err = copyLegacyEntries(txn, seg, base.Seq+1, s.log)
			return err
		})
	}
	if err == nil && base.Seq > 0 {
		err = writeAuditBaseFile(dir, base)
	}
	if err == nil && (hasHead || n == 0) {
		if !hasHead {
			head = auditHead{seq: base.Seq, hash: hashOrZero(base.Hash)}
		}
		l.head, err = os.OpenFile(filepath.Join(dir, auditHeadFile), os.O_RDWR|os.O_CREATE, 0o600)
		if err == nil {
			err = l.writeHead(head.seq, head.hash)
		}
	}
	return n, errors.Join(err, l.closeFiles())
}

// copyLegacyEntries appends the entries of txn from first on to seg, in
// batches, logging progress every million.
func copyLegacyEntries(txn *badger.Txn, seg *auditseg.Log, first uint64, log *slog.Logger) (int, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: auditEntryPrefix(), PrefetchValues: true})
	defer it.Close()
	batch := make([]auditseg.Record, 0, migrateBatch)
	next, n := first, 0
	for it.Seek(auditEntryKey(first)); it.Valid(); it.Next() {
		seq, err := parseAuditEntryKey(it.Item().Key())
		if err != nil {
			return n, err
		}
		if seq != next {
			return n, fmt.Errorf("the old audit log lacks entry %d (its next is %d): %w", next, seq, ErrCorrupt)
		}
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return n, fmt.Errorf("read old audit entry %d: %w", seq, err)
		}
		e, err := readAuditEntry(v)
		if err != nil {
			return n, fmt.Errorf("old audit entry %d: %w", seq, err)
		}
		batch = append(batch, auditseg.Record{Seq: seq, Time: e.Time, Orgs: e.Orgs, Data: v})
		if len(batch) == migrateBatch {
			if err := seg.Append(batch...); err != nil {
				return n, err
			}
			batch = batch[:0]
		}
		next++
		if n++; n%1_000_000 == 0 {
			log.Info("converting the audit log to segments", "entries", n)
		}
	}
	return n, seg.Append(batch...)
}

// legacyAuditHead reads the head key of an old audit log.
func legacyAuditHead(txn *badger.Txn) (auditHead, bool, error) {
	v, ok, err := legacyValue(txn, auditHeadKey())
	if !ok || err != nil {
		return auditHead{}, false, err
	}
	if len(v) != 8+auditHashLen {
		return auditHead{}, false, fmt.Errorf("old audit head of %d bytes: %w", len(v), ErrCorrupt)
	}
	return auditHead{seq: binary.BigEndian.Uint64(v), hash: hex.EncodeToString(v[8:])}, true, nil
}

// legacyAuditBase reads the base key of an old audit log.
func legacyAuditBase(txn *badger.Txn) (AuditBase, error) {
	v, ok, err := legacyValue(txn, auditBaseKey())
	if !ok || err != nil {
		return AuditBase{}, err
	}
	return decodeAuditBase(v)
}

// legacyValue reads key, reporting false when it is missing.
func legacyValue(txn *badger.Txn, key []byte) ([]byte, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read old audit key %x: %w", key, err)
	}
	v, err := item.ValueCopy(nil)
	return v, true, err
}

// hasLegacyAuditKeys reports whether the graph database holds audit keys
// of format 1.
func (s *Store) hasLegacyAuditKeys() bool {
	found := false
	s.db.View(func(txn *badger.Txn) error { // on an open database, View fails only with fn's error
		found = hasKeys(txn, []byte{tagAudit})
		return nil
	})
	return found
}

// removeLegacyAudit removes what a conversion left of the old audit log:
// the audit database, and the keys of format 1 in the graph database.
func (s *Store) removeLegacyAudit() error {
	dir := filepath.Join(s.dir, legacyAuditDirName)
	if _, err := os.Stat(dir); err == nil {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove the converted audit database in %s: %w", dir, err)
		}
		s.log.Info("removed the old audit database, converted to segments", "dir", dir)
	}
	if s.hasLegacyAuditKeys() {
		if err := s.db.DropPrefix([]byte{tagAudit}); err != nil {
			return fmt.Errorf("remove the converted audit keys from the graph database: %w", err)
		}
	}
	return nil
}
