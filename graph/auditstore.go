package graph

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/verband-cti/verband/graph/internal/auditseg"
	"github.com/verband-cti/verband/internal/fsutil"
)

// The audit log lives in segment files of its own (package auditseg)
// under <dir>/auditlog, beside two small files: HEAD, the sequence number
// and hash of the last entry written to disk, and BASE, where a pruned log
// begins (auditprune.go).
//
// Why not Badger. Up to format 3 the log was a Badger database of its own.
// Every API request appends an entry, and at 3,000 requests/s on two cores
// Badger's work on that database (memtable rotations, flushes and
// compactions) stalled the whole process now and then, even when no
// request waited for it: measured with verband bench api on a
// million-object store, the 2-hop p99 was 17-25 ms, and one 20-second run
// in three had a stall of a second or more. With the entries written to
// segments instead, the same runs gave 12-16 ms and no stall; with no
// audit log at all, 9-12 ms. A log that is only appended to, read in
// order and cut from the front needs none of what an LSM tree does.
//
// Durability. An append returns once its entry is in the page cache,
// which survives a crash of the process; every Options.AuditFlushInterval
// the flusher writes the segments to disk and then records the last entry
// they hold in HEAD. A log that ends before its head was cut; entries
// after the head are those appended after the last flush, which a crash
// of the process keeps. With an interval of 0 each append waits for its
// own flush, and appends that wait together share one.
//
// HEAD holds two slots of headSlotBytes, written in turn, each with a
// counter and a checksum, so that a write torn by a power failure leaves
// the other slot whole; the valid slot with the higher counter is the
// head. BASE is written to a temporary file and renamed over the old one.

// auditDirName is the audit log's folder inside the data directory;
// legacyAuditDirName the Badger database of formats 2 and 3.
const (
	auditDirName       = "auditlog"
	legacyAuditDirName = "audit"
	auditHeadFile      = "HEAD"
	auditBaseFile      = "BASE"
)

// Layout of a head slot: magic(4) counter(8) seq(8) hash(32) crc(4),
// padded to headSlotBytes.
const (
	headSlotBytes = 64
	headMagic     = "VBAH"
	headBodyLen   = 4 + 8 + 8 + auditHashLen
)

// baseMagic starts the BASE file: magic(4) seq(8) hash(32) time(8) crc(4).
const baseMagic = "VBAB"

// auditHead is what HEAD records: the last entry written to disk.
type auditHead struct {
	seq  uint64
	hash string
}

// auditLog is the store's audit log.
type auditLog struct {
	dir string
	seg *auditseg.Log // nil while upgrade is set

	mu      sync.Mutex // serializes appends
	seq     uint64     // the last entry appended, or the base
	hash    string     // its hash
	refused error      // why appends are refused, set at open (ErrCorrupt)
	buf     []byte     // the value being appended, kept for the next

	syncMu sync.Mutex // one flush at a time
	synced uint64     // the last entry HEAD records
	head   *os.File
	count  uint64 // the counter of the last head slot written

	base    atomic.Pointer[AuditBase]
	baseErr error // BASE did not read; pruning is refused

	flush *auditFlusher
	prune *periodic
	// upgrade, in a store of an older format opened read-only, says why
	// the log cannot be read.
	upgrade error
}

// auditFlusher is the state of the periodic audit flush.
type auditFlusher struct {
	dirty  atomic.Bool // entries appended since the last flush
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

// auditSegmentAge is how long one segment spans at most: the interval of
// retention (so that pruning, which removes whole segments, keeps at most
// about that much more than asked), or an hour without retention.
func auditSegmentAge(retention time.Duration) time.Duration {
	if retention > 0 {
		return auditPruneEvery(retention)
	}
	return time.Hour
}

// openAudit opens the audit log of a store whose graph database is open,
// first moving the log of a store of an older format out of Badger (a
// store opened read-only cannot be converted, and its log cannot be read).
func (s *Store) openAudit(key []byte) error {
	l := &s.audit
	l.dir = filepath.Join(s.dir, auditDirName)
	l.base.Store(&AuditBase{})
	if s.format < FormatVersion {
		if s.opts.ReadOnly {
			l.upgrade = fmt.Errorf("the audit log of this store is in the layout of format %d, which this build only converts: open the store once for writing (verband serve, or any command that writes) to convert it: %w", s.format, ErrFormatVersion)
			return nil
		}
		if err := s.migrateAudit(key); err != nil {
			return err
		}
	}
	if !s.opts.ReadOnly {
		if err := s.removeLegacyAudit(); err != nil {
			return err
		}
	}
	// The head names the last entry flushed: anything up to it that does
	// not read is damage, not a torn tail to cut.
	head, hasHead, headErr := readAuditHeadFile(l.dir)
	seg, rec, err := auditseg.Open(l.dir, auditseg.Options{
		Synced:       head.seq,
		Key:          key,
		SegmentBytes: s.opts.AuditSegmentBytes,
		SegmentAge:   auditSegmentAge(s.opts.AuditRetention),
		ReadOnly:     s.opts.ReadOnly,
	})
	if err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	l.seg = seg
	if rec.Dropped > 0 {
		s.log.Warn("cut the torn tail of the audit log: the end of an entry that a crash left half-written",
			"segment", rec.Segment, "offset", rec.Offset, "bytes", rec.Dropped, "reason", rec.Reason)
	}
	s.loadAudit(head, hasHead, headErr)
	if s.opts.ReadOnly {
		return nil
	}
	if err := s.startAudit(); err != nil {
		return errors.Join(err, l.closeFiles())
	}
	return nil
}

// loadAudit reads the base and the last entry and, with the head Open
// read, decides whether the log may take appends.
func (s *Store) loadAudit(head headRecord, hasHead bool, headErr error) {
	l := &s.audit
	base, err := readAuditBaseFile(l.dir)
	if err != nil {
		l.baseErr = err
		s.log.Error("the audit log's base does not read; pruning is refused (run verband audit verify)", "err", err)
	} else {
		l.base.Store(&base)
	}
	l.seq, l.hash = base.Seq, hashOrZero(base.Hash)
	l.synced, l.count = head.seq, head.count
	var lastErr error
	if next := l.seg.Next(); next > 0 {
		l.seq = next - 1
		if l.hash, err = lastAuditHash(l.seg, l.seq); err != nil {
			lastErr = fmt.Errorf("the last audit entry %d does not read (run verband audit verify): %w", l.seq, errors.Join(err, ErrCorrupt))
		}
	}
	switch {
	case headErr != nil:
		l.refused = fmt.Errorf("the audit log's head does not read (run verband audit verify): %w", headErr)
	case l.seg.Damaged() != nil:
		l.refused = fmt.Errorf("run verband audit verify: %w: %w", l.seg.Damaged(), ErrCorrupt)
	case !hasHead && l.seq > base.Seq:
		l.refused = fmt.Errorf("the audit log holds entries up to %d but its head is missing (run verband audit verify): %w", l.seq, ErrCorrupt)
	case hasHead && head.seq > l.seq:
		l.refused = fmt.Errorf("the audit log ends at entry %d but its head names entry %d: entries were cut (run verband audit verify): %w", l.seq, head.seq, ErrCorrupt)
	default:
		l.refused = lastErr
	}
	if l.refused != nil && !s.opts.ReadOnly {
		s.log.Error("the audit log refuses appends, and so every audited request fails", "err", l.refused)
	}
}

// lastAuditHash returns the stored hash of entry seq, the log's last. It
// reads backward, from the end of the last segment, so that it reads that
// one entry and not the segment (up to AuditSegmentBytes) from its start,
// which Open has just read to recover its tail.
func lastAuditHash(seg *auditseg.Log, seq uint64) (string, error) {
	var hash [auditHashLen]byte
	err := fmt.Errorf("entry %d not found", seq)
	if serr := seg.Scan(seq, seq, true, func(r auditseg.Record) bool {
		hash, _, err = splitAuditValue(r.Data)
		return false
	}); serr != nil {
		return "", serr
	}
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(hash[:]), nil
}

// hashOrZero returns hash, or the prev of entry 1 (64 zeros) when it is
// empty.
func hashOrZero(hash string) string {
	if hash == "" {
		return zeroAuditHash
	}
	return hash
}

// startAudit opens HEAD for writing (creating it for a new log), finishes
// an interrupted prune, and starts the flusher and the retention.
func (s *Store) startAudit() error {
	l := &s.audit
	f, err := os.OpenFile(filepath.Join(l.dir, auditHeadFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open audit log head: %w", err)
	}
	l.head = f
	if st, err := f.Stat(); err == nil && st.Size() == 0 && l.refused == nil {
		if err := l.writeHead(l.seq, l.hash); err != nil {
			return err
		}
		l.synced = l.seq
	}
	if base := l.base.Load(); base.Seq > 0 {
		if _, err := l.seg.DropBefore(base.Seq + 1); err != nil {
			return fmt.Errorf("open audit log: drop pruned segments: %w", err)
		}
	}
	if s.opts.SyncWrites && s.opts.AuditFlushInterval > 0 {
		fl := &auditFlusher{}
		l.flush = fl
		fl.run = startPeriodic(s.opts.AuditFlushInterval, func(<-chan struct{}) { s.flushAuditOnce(fl, l.sync) })
	}
	if s.opts.AuditRetention > 0 {
		l.prune = startPeriodic(auditPruneEvery(s.opts.AuditRetention), s.pruneAuditNow)
	}
	return nil
}

// sync writes the entries appended so far to disk, then records the last
// of them in HEAD. Callers that wait together share one flush.
func (l *auditLog) sync() error {
	l.mu.Lock()
	seq, hash, refused := l.seq, l.hash, l.refused
	l.mu.Unlock()
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if seq <= l.synced {
		return nil // a flush that began after those entries covered them
	}
	if err := l.seg.Sync(); err != nil {
		return err
	}
	if refused != nil {
		return nil // HEAD keeps the evidence of what is wrong
	}
	if err := l.writeHead(seq, hash); err != nil {
		return err
	}
	l.synced = seq
	return nil
}

// writeHead writes the next head slot and syncs it. Only sync and
// startAudit call it, under syncMu or before the log is shared.
func (l *auditLog) writeHead(seq uint64, hash string) error {
	h, err := hex.DecodeString(hash)
	if err != nil || len(h) != auditHashLen {
		return fmt.Errorf("write audit log head: hash %q: %w", hash, ErrCorrupt)
	}
	count := l.count + 1
	b := make([]byte, headSlotBytes)
	copy(b, headMagic)
	binary.BigEndian.PutUint64(b[4:], count)
	binary.BigEndian.PutUint64(b[12:], seq)
	copy(b[20:], h)
	binary.BigEndian.PutUint32(b[headBodyLen:], crc32.Checksum(b[:headBodyLen], crcTable))
	if _, err := l.head.WriteAt(b, int64(count%2)*headSlotBytes); err != nil {
		return fmt.Errorf("write audit log head: %w", err)
	}
	if err := l.head.Sync(); err != nil {
		return fmt.Errorf("sync audit log head: %w", err)
	}
	l.count = count
	return nil
}

// crcTable is the CRC-32C table of the head and base files.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// headRecord is a head as read, with the counter of its slot.
type headRecord struct {
	auditHead
	count uint64
}

// readAuditHeadFile reads HEAD in dir: the valid slot with the higher
// counter. It returns false when the file is missing or empty, and an
// error wrapping ErrCorrupt when neither slot is valid.
func readAuditHeadFile(dir string) (headRecord, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, auditHeadFile))
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(b) == 0 {
		return headRecord{}, false, nil
	}
	if err != nil {
		return headRecord{}, false, fmt.Errorf("read audit log head: %w", err)
	}
	var best headRecord
	found := false
	for off := 0; off+headSlotBytes <= len(b); off += headSlotBytes {
		slot := b[off : off+headSlotBytes]
		if string(slot[:4]) != headMagic || crc32.Checksum(slot[:headBodyLen], crcTable) != binary.BigEndian.Uint32(slot[headBodyLen:]) {
			continue
		}
		if c := binary.BigEndian.Uint64(slot[4:]); !found || c > best.count {
			best = headRecord{auditHead{seq: binary.BigEndian.Uint64(slot[12:]), hash: hex.EncodeToString(slot[20:headBodyLen])}, c}
			found = true
		}
	}
	if !found {
		return headRecord{}, false, fmt.Errorf("audit log head of %d bytes holds no valid record: %w", len(b), ErrCorrupt)
	}
	return best, true, nil
}

// encodeAuditBase is the stored form of a base: seq(8) hash(32) time(8).
func encodeAuditBase(b AuditBase) []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+auditHashLen+8), b.Seq)
	h, _ := hex.DecodeString(b.Hash)
	v = append(v, h...)
	return binary.BigEndian.AppendUint64(v, uint64(b.Time.UnixNano()))
}

// decodeAuditBase reads what encodeAuditBase wrote.
func decodeAuditBase(v []byte) (AuditBase, error) {
	if len(v) != 8+auditHashLen+8 {
		return AuditBase{}, fmt.Errorf("audit log base of %d bytes: %w", len(v), ErrCorrupt)
	}
	return AuditBase{
		Seq:  binary.BigEndian.Uint64(v),
		Hash: hex.EncodeToString(v[8 : 8+auditHashLen]),
		Time: time.Unix(0, int64(binary.BigEndian.Uint64(v[8+auditHashLen:]))).UTC(),
	}, nil
}

// readAuditBaseFile reads BASE in dir; a missing file is the zero base.
func readAuditBaseFile(dir string) (AuditBase, error) {
	b, err := os.ReadFile(filepath.Join(dir, auditBaseFile))
	if errors.Is(err, fs.ErrNotExist) {
		return AuditBase{}, nil
	}
	if err != nil {
		return AuditBase{}, fmt.Errorf("read audit log base: %w", err)
	}
	if len(b) < 8 || string(b[:4]) != baseMagic || crc32.Checksum(b[:len(b)-4], crcTable) != binary.BigEndian.Uint32(b[len(b)-4:]) {
		return AuditBase{}, fmt.Errorf("audit log base of %d bytes does not read: %w", len(b), ErrCorrupt)
	}
	return decodeAuditBase(b[4 : len(b)-4])
}

// writeAuditBaseFile replaces BASE in dir with b, durably.
func writeAuditBaseFile(dir string, b AuditBase) error {
	v := append([]byte(baseMagic), encodeAuditBase(b)...)
	v = binary.BigEndian.AppendUint32(v, crc32.Checksum(v, crcTable))
	if err := fsutil.WriteFileSynced(filepath.Join(dir, auditBaseFile), v); err != nil {
		return fmt.Errorf("write audit log base: %w", err)
	}
	return nil
}

// flushAuditOnce flushes with sync when entries are waiting; the flusher
// calls it every Options.AuditFlushInterval. While flushes fail, the audit
// log refuses appends (AuditErr), so that no request is answered whose
// entry may never reach the disk; the next flush that succeeds lifts that.
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
	if f := s.audit.flush; f != nil {
		return f.err()
	}
	return nil
}

// closeAudit stops the flusher and the retention, writes what was
// appended to disk and closes the log.
func (s *Store) closeAudit() error {
	l := &s.audit
	l.prune.halt()
	if l.flush != nil {
		l.flush.run.halt()
	}
	if l.seg == nil {
		return nil
	}
	var err error
	if !s.opts.ReadOnly {
		if err = l.sync(); err != nil {
			err = fmt.Errorf("close audit log: %w", err)
		}
	}
	return errors.Join(err, l.closeFiles())
}

// closeFiles closes the segments and HEAD.
func (l *auditLog) closeFiles() error {
	var errs []error
	if err := l.seg.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close audit log: %w", err))
	}
	if l.head != nil {
		if err := l.head.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close audit log head: %w", err))
		}
	}
	return errors.Join(errs...)
}
