package auditseg

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/verband-cti/verband/internal/fsutil"
)

// DefaultSegmentBytes is the size at which a segment is sealed and the
// next one begins, unless Options say otherwise.
const DefaultSegmentBytes = 64 << 20

// maxKeptBuffer is the largest frame buffer an append keeps for the next.
const maxKeptBuffer = 1 << 20

// segExt is the file name extension of a segment.
const segExt = ".seg"

// errSeqMismatch reports a whole record whose sequence number is not the
// one its place in the log gives; it is ErrCorrupt too.
var errSeqMismatch = fmt.Errorf("sequence numbers out of order: %w", ErrCorrupt)

// ErrClosed is returned by the methods of a closed log.
var ErrClosed = errors.New("audit segment log closed")

// ErrReadOnly is returned by Append on a log opened with Options.ReadOnly.
var ErrReadOnly = errors.New("audit segment log opened read-only")

// Options tune a log.
type Options struct {
	// SegmentBytes is the size past which the next record starts a new
	// segment; 0 means DefaultSegmentBytes.
	SegmentBytes int64
	// SegmentAge, when set, also starts a new segment with the first
	// record made this long after the first record of the current one.
	// DropBefore removes whole segments, so this bounds how much longer
	// than asked a log cut by age keeps its oldest records.
	SegmentAge time.Duration
	// Key, when set, seals every payload (see the package comment).
	Key []byte
	// Synced is the sequence number of the last record known to have
	// reached the disk (its owner records it after each Sync). A record up
	// to it that does not read is damage, not a tail torn by a crash: Open
	// keeps the segment whole and marks the log damaged instead of cutting
	// it.
	Synced uint64
	// ReadOnly opens the log for reading: Open neither creates the
	// directory nor cuts a torn tail (reads stop before it), and Append
	// fails with ErrReadOnly.
	ReadOnly bool
}

// Recovery says what Open cut from the end of the log: the tail of a
// record that a crash left half-written. Dropped is 0 when nothing was cut.
type Recovery struct {
	Segment string // file name
	Offset  int64  // where the segment now ends
	Dropped int64  // bytes cut
	Reason  string // why the first cut record did not read
}

// segment is one file of the log.
type segment struct {
	first uint64 // sequence number of its first record
	name  string
}

// Log is an open segment log. Its methods are safe for concurrent use.
type Log struct {
	dir      string
	max      int64
	age      int64 // Options.SegmentAge in nanoseconds; 0 for none
	seal     *sealer
	readOnly bool
	synced   uint64 // Options.Synced
	// damaged says why the last segment cannot take more records: it
	// holds a whole record that is out of order or does not decode (see
	// Damaged). It is set by Open only.
	damaged error

	mu      sync.Mutex
	segs    []segment  // ascending by first; the last one grows
	f       *os.File   // the last segment, open for writing
	size    int64      // bytes in the last segment
	idx     *segIndex  // the last segment's index
	next    uint64     // sequence number of the next record; 0 while empty
	buf     []byte     // frames being written
	dirty   bool       // appended since the last Sync
	sealed  []*os.File // segments sealed since the last Sync, still open
	newFile bool       // a segment was created or removed since the last Sync
	closed  bool

	syncMu sync.Mutex // one Sync at a time; Close waits for it
}

// Open opens the log in dir, creating dir when missing, and cuts a torn
// tail from its last segment.
func Open(dir string, opts Options) (*Log, Recovery, error) {
	var rec Recovery
	s, err := newSealer(opts.Key)
	if err != nil {
		return nil, rec, fmt.Errorf("open audit segments in %s: %w", dir, err)
	}
	l := &Log{dir: dir, max: opts.SegmentBytes, age: int64(opts.SegmentAge), seal: s, readOnly: opts.ReadOnly, synced: opts.Synced}
	if l.max <= 0 {
		l.max = DefaultSegmentBytes
	}
	if !l.readOnly {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, rec, fmt.Errorf("open audit segments: %w", err)
		}
	}
	if l.segs, err = listSegments(dir); err != nil && !(l.readOnly && errors.Is(err, fs.ErrNotExist)) {
		return nil, rec, fmt.Errorf("open audit segments in %s: %w", dir, err)
	}
	if tmps, err := filepath.Glob(filepath.Join(dir, "*"+tmpExt)); err == nil && !l.readOnly {
		for _, t := range tmps {
			os.Remove(t) // an index a crash left half-written; rebuilt when read
		}
	}
	if len(l.segs) == 0 {
		l.idx = newSegIndex()
		return l, rec, nil
	}
	last := l.segs[len(l.segs)-1]
	mode := os.O_RDWR
	if l.readOnly {
		mode = os.O_RDONLY
	}
	if l.f, err = os.OpenFile(filepath.Join(dir, last.name), mode, 0); err != nil {
		return nil, rec, fmt.Errorf("open audit segments: %w", err)
	}
	if rec, err = l.recoverTail(last); err != nil {
		l.f.Close()
		return nil, rec, fmt.Errorf("open audit segments in %s: %w", dir, err)
	}
	return l, rec, nil
}

// listSegments returns the segments in dir, ascending.
func listSegments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var segs []segment
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), segExt)
		if !ok || e.IsDir() {
			continue
		}
		first, err := strconv.ParseUint(name, 10, 64)
		if err != nil || first == 0 || len(name) != 20 {
			return nil, fmt.Errorf("segment %s: name is not a 20-digit sequence number", e.Name())
		}
		segs = append(segs, segment{first: first, name: e.Name()})
	}
	slices.SortFunc(segs, func(a, b segment) int { return cmp.Compare(a.first, b.first) })
	return segs, nil
}

// segmentName names the segment whose first record is first.
func segmentName(first uint64) string { return fmt.Sprintf("%020d%s", first, segExt) }

// recoverTail reads the last segment through, sets size and next, and cuts
// the file after its last whole record (a read-only log only stops
// before it). A whole record that is out of order or does not decode is no
// torn write: the segment is kept as it is, and the log is marked damaged.
func (l *Log) recoverTail(last segment) (Recovery, error) {
	rec := Recovery{Segment: last.name}
	st, err := l.f.Stat()
	if err != nil {
		return rec, fmt.Errorf("recover %s: %w", last.name, err)
	}
	r := frameReader{r: bufio.NewReaderSize(io.NewSectionReader(l.f, 0, st.Size()), 1<<20), want: last.first}
	l.idx = newSegIndex()
	for {
		off := r.off
		body, err := r.next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, errSeqMismatch) {
			// A whole record with another number: the segment is misnamed
			// or was pieced together.
			return l.markDamaged(last, r.want, st.Size(), err)
		}
		if err != nil && r.want <= l.synced {
			return l.markDamaged(last, r.want, st.Size(), err)
		}
		if err != nil {
			rec.Reason = err.Error()
			break
		}
		x, err := decodeBody(body, l.seal)
		if err != nil {
			return l.markDamaged(last, r.want-1, st.Size(), err)
		}
		l.idx.add(x.Seq, off, x.Time.UnixNano(), x.Orgs)
	}
	l.size, l.next = r.off, r.want
	if r.off < st.Size() && l.readOnly {
		rec.Offset = r.off
	} else if r.off < st.Size() {
		rec.Offset, rec.Dropped = r.off, st.Size()-r.off
		if err := l.f.Truncate(r.off); err != nil {
			return rec, fmt.Errorf("recover %s: cut the torn tail at %d: %w", last.name, r.off, err)
		}
		if err := l.f.Sync(); err != nil {
			return rec, fmt.Errorf("recover %s: %w", last.name, err)
		}
	}
	return rec, nil
}

// markDamaged keeps the last segment whole, to be read up to the record
// before next and walked through (Walk), and refuses appends.
func (l *Log) markDamaged(last segment, next uint64, size int64, err error) (Recovery, error) {
	l.damaged = fmt.Errorf("the last segment %s holds a record that does not belong there, so no record can follow it: %w", last.name, err)
	l.size, l.next = size, next
	return Recovery{Segment: last.name, Offset: size, Reason: err.Error()}, nil
}

// Damaged returns why the log takes no more records, or nil: Open found a
// whole record in the last segment that is out of order or does not
// decode, which no crash leaves. The log stays readable up to the record
// before it, and Walk reads all of it.
func (l *Log) Damaged() error { return l.damaged }

// frameReader reads the frames of one segment from its start.
type frameReader struct {
	r    *bufio.Reader
	off  int64  // offset of the next frame
	want uint64 // its sequence number
	any  bool   // take any sequence number (Walk)
	buf  []byte
}

// next reads the next frame and returns its checked body, io.EOF at a
// clean end, or an error saying why the frame at off does not read.
func (fr *frameReader) next() ([]byte, error) {
	var h [headerLen]byte
	if _, err := io.ReadFull(fr.r, h[:]); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("record %d at offset %d: header cut short: %w", fr.want, fr.off, ErrCorrupt)
	}
	n := binary.BigEndian.Uint32(h[:])
	if n < seqLen || n > MaxRecordBytes {
		return nil, fmt.Errorf("record %d at offset %d: length %d: %w", fr.want, fr.off, n, ErrCorrupt)
	}
	size := frameLen(int(n))
	if int64(cap(fr.buf)) < size {
		fr.buf = make([]byte, size)
	}
	f := fr.buf[:size]
	copy(f, h[:])
	if _, err := io.ReadFull(fr.r, f[headerLen:]); err != nil {
		return nil, fmt.Errorf("record %d at offset %d: cut short: %w", fr.want, fr.off, ErrCorrupt)
	}
	body, err := checkFrame(f)
	if err != nil {
		return nil, fmt.Errorf("record %d at offset %d: %w", fr.want, fr.off, err)
	}
	if seq := binary.BigEndian.Uint64(body); seq != fr.want && !fr.any {
		return nil, fmt.Errorf("record at offset %d has sequence number %d, want %d: %w", fr.off, seq, fr.want, errSeqMismatch)
	}
	fr.off += size
	fr.want++
	return body, nil
}

// Next returns the sequence number the next record must have, or 0 while
// the log is empty (its first record may have any number above 0).
func (l *Log) Next() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

// First returns the sequence number of the oldest record kept, or 0 while
// the log is empty.
func (l *Log) First() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next == 0 || len(l.segs) == 0 {
		return 0
	}
	return l.segs[0].first
}

// Append writes recs, whose sequence numbers must follow the log's (Next)
// one by one. It returns once they are in the page cache: they survive a
// crash of the process, and the next Sync writes them to disk. On an
// error, Next tells how many of recs were appended (none, unless a new
// segment could not be started after the records before it were written).
func (l *Log) Append(recs ...Record) error {
	if len(recs) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return ErrClosed
	case l.readOnly:
		return ErrReadOnly
	case l.damaged != nil:
		return fmt.Errorf("append audit records: %w", l.damaged)
	}
	want := l.next
	if want == 0 {
		want = recs[0].Seq
	}
	for i := range recs {
		if recs[i].Seq != want+uint64(i) || recs[i].Seq == 0 {
			return fmt.Errorf("append audit record %d: want sequence number %d", recs[i].Seq, want+uint64(i))
		}
	}
	// The frames go out in runs, one for each segment they fall in.
	buf, run, start := l.buf[:0], 0, 0
	for i := range recs {
		before := len(buf)
		var err error
		if buf, err = appendRecord(buf, &recs[i], l.seal); err != nil {
			return fmt.Errorf("append audit record: %w", err)
		}
		empty := l.size+int64(before-run) == 0
		if l.f != nil && (empty || l.fits(int64(len(buf)-run), &recs[start], &recs[i])) {
			continue // it fits, or it is the first of an empty segment
		}
		if err := l.write(buf[run:before], recs[start:i]); err != nil {
			return err
		}
		if err := l.startSegment(recs[i].Seq); err != nil {
			return err
		}
		run, start = before, i
	}
	if cap(buf) <= maxKeptBuffer {
		l.buf = buf[:0]
	}
	return l.write(buf[run:], recs[start:])
}

// fits reports whether a record r can join the last segment, which holds
// run bytes of frames besides its own, the first of them for runFirst.
func (l *Log) fits(run int64, runFirst, r *Record) bool {
	if l.size+run > l.max {
		return false
	}
	if l.age <= 0 {
		return true
	}
	first := l.idx.minTime
	if l.size == 0 {
		first = runFirst.Time.UnixNano()
	}
	return r.Time.UnixNano()-first < l.age
}

// write writes the frames of recs at the end of the last segment.
func (l *Log) write(frames []byte, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	if _, err := l.f.WriteAt(frames, l.size); err != nil {
		// Cut what may have reached the file, so that the records written
		// next follow the last whole one.
		if terr := l.f.Truncate(l.size); terr != nil {
			err = errors.Join(err, terr)
		}
		return fmt.Errorf("append audit records %d-%d: %w", recs[0].Seq, recs[len(recs)-1].Seq, err)
	}
	// Each frame starts with its body's length, which leads to the next.
	off := 0
	for i := range recs {
		l.idx.add(recs[i].Seq, l.size+int64(off), recs[i].Time.UnixNano(), recs[i].Orgs)
		off += int(frameLen(int(binary.BigEndian.Uint32(frames[off:]))))
	}
	l.size += int64(len(frames))
	l.next = recs[len(recs)-1].Seq + 1
	l.dirty = true
	return nil
}

// startSegment seals the last segment, if any, writing its index, and
// creates the one whose first record is first.
func (l *Log) startSegment(first uint64) error {
	if l.f != nil {
		if err := l.writeIndex(l.segs[len(l.segs)-1], l.idx); err != nil {
			return fmt.Errorf("seal audit segment: %w", err)
		}
	}
	name := segmentName(first)
	f, err := os.OpenFile(filepath.Join(l.dir, name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("start audit segment: %w", err)
	}
	if l.f != nil {
		l.sealed = append(l.sealed, l.f)
	}
	l.f, l.size, l.idx, l.newFile = f, 0, newSegIndex(), true
	l.segs = append(l.segs, segment{first: first, name: name})
	return nil
}

// Sync writes everything appended so far to disk: the segments sealed
// since the last Sync, the last segment and, when files came or went, the
// directory. Appends go on while it runs.
func (l *Log) Sync() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	f, dirty, sealed, newFile := l.f, l.dirty, l.sealed, l.newFile
	l.dirty, l.sealed, l.newFile = false, nil, false
	l.mu.Unlock()
	err := l.syncFiles(f, dirty, sealed, newFile)
	if err != nil {
		// Whatever did not reach the disk is due again.
		l.mu.Lock()
		l.dirty = l.dirty || dirty
		l.sealed = append(sealed, l.sealed...)
		l.newFile = l.newFile || newFile
		l.mu.Unlock()
	}
	return err
}

// syncFiles syncs, in order, the sealed segments (closing each), the last
// one and the directory.
func (l *Log) syncFiles(f *os.File, dirty bool, sealed []*os.File, newFile bool) error {
	for len(sealed) > 0 {
		if err := sealed[0].Sync(); err != nil {
			return fmt.Errorf("sync audit segment %s: %w", filepath.Base(sealed[0].Name()), err)
		}
		sealed[0].Close()
		sealed = sealed[1:]
	}
	if dirty && f != nil {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync audit segment %s: %w", filepath.Base(f.Name()), err)
		}
	}
	if newFile {
		if err := fsutil.SyncDir(l.dir); err != nil {
			return fmt.Errorf("sync audit segment directory: %w", err)
		}
	}
	return nil
}

// DropBefore removes the segments all of whose records have sequence
// numbers below seq, never the last one, and returns how many it removed.
// A log is therefore cut at segment boundaries: records below seq in the
// segment that holds seq stay.
func (l *Log) DropBefore(seq uint64) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	if l.readOnly {
		return 0, ErrReadOnly
	}
	n := 0
	for n+1 < len(l.segs) && l.segs[n+1].first <= seq {
		if err := os.Remove(filepath.Join(l.dir, l.segs[n].name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			l.segs = l.segs[n:]
			return n, fmt.Errorf("drop audit segment %s: %w", l.segs[0].name, err)
		}
		// The index goes with it; one left behind is never read, since
		// no segment of that name can come back.
		os.Remove(filepath.Join(l.dir, indexName(l.segs[n])))
		n++
	}
	l.segs = slices.Delete(l.segs, 0, n)
	if n > 0 {
		l.newFile = true
	}
	return n, nil
}

// Close syncs the log and closes its files.
func (l *Log) Close() error {
	err := l.Sync()
	if errors.Is(err, ErrClosed) {
		return nil
	}
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for _, f := range l.sealed {
		f.Close()
	}
	l.sealed = nil
	if l.f != nil {
		if cerr := l.f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close audit segment: %w", cerr)
		}
	}
	return err
}
