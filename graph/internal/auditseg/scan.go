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
	"time"
)

// Filter chooses the records a Find passes on.
type Filter struct {
	// Lo and Hi bound the sequence numbers, both included.
	Lo, Hi uint64
	// Org, when set, keeps the records that concern it; each segment's
	// index leads to them.
	Org string
	// Since and Until, when set, keep the records made at or after Since
	// and before Until. Segments whose records all lie outside are not
	// read; in the others each record is checked.
	Since, Until time.Time
	// Reverse passes the records on newest first.
	Reverse bool
}

// keeps reports whether r passes the time window of f.
func (f *Filter) keeps(r *Record) bool {
	return (f.Since.IsZero() || !r.Time.Before(f.Since)) && (f.Until.IsZero() || r.Time.Before(f.Until))
}

// skips reports whether no record of a segment with index x can pass the
// time window of f.
func (f *Filter) skips(x *segIndex) bool {
	if x.minTime > x.maxTime {
		return true // no records
	}
	return !f.Since.IsZero() && x.maxTime < f.Since.UnixNano() || !f.Until.IsZero() && x.minTime >= f.Until.UnixNano()
}

// Scan calls fn with the records whose sequence numbers are from lo to hi,
// ascending, or descending when reverse is set, until fn returns false.
// It is Find without an organization or a time window.
func (l *Log) Scan(lo, hi uint64, reverse bool, fn func(Record) bool) error {
	return l.Find(Filter{Lo: lo, Hi: hi, Reverse: reverse}, fn)
}

// Find calls fn with the records that f keeps, in the order f asks for,
// until fn returns false. It sees the log as it was when Find began:
// records appended meanwhile are left out, and a segment dropped meanwhile
// is skipped. Reading a segment forward without an organization starts at
// its beginning, so it reads the records before f.Lo in that segment too
// (at most a segment's worth); the other reads touch only the records
// they return.
func (l *Log) Find(f Filter, fn func(Record) bool) error {
	return l.find(f, fn, nil)
}

// Count returns how many records Find(f) would pass on. It counts from the
// indexes: a segment with no record outside f's time window (every
// segment, without a window) is counted from its index, or from its
// sequence numbers when f names no organization, without being read; only
// a segment that the window's edge cuts is read, through its index.
func (l *Log) Count(f Filter) (int, error) {
	n := 0
	err := l.find(f, func(Record) bool { n++; return true }, &n)
	return n, err
}

// covers reports whether every record of a segment with index x lies in
// the time window of f.
func (f *Filter) covers(x *segIndex) bool {
	return (f.Since.IsZero() || x.minTime >= f.Since.UnixNano()) && (f.Until.IsZero() || x.maxTime < f.Until.UnixNano())
}

// countIn counts the records from lo to hi of a segment with index x (nil
// when f names no organization) that concern f's organization.
func countIn(x *segIndex, org string, lo, hi uint64) int {
	if org == "" {
		return int(hi - lo + 1)
	}
	from, to := refRange(x.orgs[org], lo, hi)
	return max(to-from, 0)
}

// refRange returns the positions from (included) to (excluded) of the
// refs, ascending by sequence number, whose records are lo to hi.
func refRange(refs []ref, lo, hi uint64) (from, to int) {
	from, _ = slices.BinarySearchFunc(refs, lo, func(r ref, seq uint64) int { return cmp.Compare(r.seq, seq) })
	to, found := slices.BinarySearchFunc(refs, hi, func(r ref, seq uint64) int { return cmp.Compare(r.seq, seq) })
	if found {
		to++
	}
	return from, to
}

// find is Find; with counted set it is Count, which adds to *counted the
// records of the segments it need not read, and passes on the others.
func (l *Log) find(f Filter, fn func(Record) bool, counted *int) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	segs, size, next := append([]segment(nil), l.segs...), l.size, l.next
	var active *segIndex
	if f.Org != "" || !f.Since.IsZero() || !f.Until.IsZero() {
		active = l.idx.copy()
	}
	l.mu.Unlock()
	if next == 0 || f.Lo > f.Hi || f.Lo >= next || len(segs) == 0 {
		return nil
	}
	f.Hi = min(f.Hi, next-1)
	f.Lo = max(f.Lo, segs[0].first)
	// Segment i holds segs[i].first to end(i).
	end := func(i int) uint64 {
		if i+1 < len(segs) {
			return segs[i+1].first - 1
		}
		return next - 1
	}
	keep := fn
	if !f.Since.IsZero() || !f.Until.IsZero() {
		keep = func(r Record) bool { return !f.keeps(&r) || fn(r) }
	}
	for k := range segs {
		i := k
		if f.Reverse {
			i = len(segs) - 1 - k
		}
		seg, last := segs[i], end(i)
		if last < f.Lo || seg.first > f.Hi {
			continue
		}
		limit := int64(-1) // a sealed segment is read to its end
		x := active
		if i == len(segs)-1 {
			limit = size
		} else if active != nil {
			var err error
			if x, err = l.sealedIndex(seg, last); err != nil {
				return fmt.Errorf("read audit segment %s: %w", seg.name, err)
			}
			if x == nil {
				continue // dropped meanwhile
			}
		}
		if x != nil && f.skips(x) {
			continue
		}
		if counted != nil && (x == nil || f.covers(x)) {
			*counted += countIn(x, f.Org, max(f.Lo, seg.first), min(f.Hi, last))
			continue
		}
		var more bool
		var err error
		switch {
		case f.Org != "":
			more, err = l.readRefs(seg, x.orgs[f.Org], f, keep)
		case f.Reverse:
			more, err = l.scanBackward(seg, last, limit, f.Lo, f.Hi, keep)
		default:
			more, err = l.scanForwardRaw(seg, last, limit, f.Lo, f.Hi, func(r Record, _ int64) bool { return keep(r) })
		}
		if err != nil {
			return fmt.Errorf("read audit segment %s: %w", seg.name, err)
		}
		if !more {
			return nil
		}
	}
	return nil
}

// readRefs passes on the records of one segment that refs locate and
// whose sequence numbers lie in f's bounds, in f's order.
func (l *Log) readRefs(seg segment, refs []ref, f Filter, fn func(Record) bool) (bool, error) {
	from, to := refRange(refs, f.Lo, f.Hi)
	if from >= to {
		return true, nil
	}
	file, _, err := l.openSegment(seg, 0)
	if file == nil {
		return true, err
	}
	defer file.Close()
	var buf []byte
	for k := range to - from {
		i := from + k
		if f.Reverse {
			i = to - 1 - k
		}
		r := refs[i]
		var h [headerLen]byte
		if _, err := file.ReadAt(h[:], r.off); err != nil {
			return false, fmt.Errorf("record %d at offset %d: %w", r.seq, r.off, err)
		}
		body, err := readFrameAt(file, r.off, frameLen(int(binary.BigEndian.Uint32(h[:]))), r.seq, &buf)
		if err != nil {
			return false, err
		}
		rec, err := decodeBody(body, l.seal)
		if err != nil {
			return false, err
		}
		if !fn(rec) {
			return false, nil
		}
	}
	return true, nil
}

// readFrameAt reads the frame of size bytes at off, which must be record
// want, into *buf (grown as needed) and returns its checked body.
func readFrameAt(f *os.File, off, size int64, want uint64, buf *[]byte) ([]byte, error) {
	if size > frameLen(MaxRecordBytes) {
		return nil, fmt.Errorf("record %d at offset %d: length %d: %w", want, off, size, ErrCorrupt)
	}
	if int64(cap(*buf)) < size {
		*buf = make([]byte, size)
	}
	frame := (*buf)[:size]
	if _, err := f.ReadAt(frame, off); err != nil {
		return nil, fmt.Errorf("record %d at offset %d: %w", want, off, err)
	}
	body, err := checkFrame(frame)
	if err != nil {
		return nil, fmt.Errorf("record %d at offset %d: %w", want, off, err)
	}
	if seq := binary.BigEndian.Uint64(body); seq != want {
		return nil, fmt.Errorf("record at offset %d has sequence number %d, want %d: %w", off, seq, want, errSeqMismatch)
	}
	return body, nil
}

// openSegment opens a segment for reading and returns how much of it to
// read (limit, or its size when limit < 0); a segment dropped meanwhile
// gives a nil file.
func (l *Log) openSegment(seg segment, limit int64) (*os.File, int64, error) {
	f, err := os.Open(filepath.Join(l.dir, seg.name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if limit < 0 {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		limit = st.Size()
	}
	return f, limit, nil
}

// scanForwardRaw passes on the records lo to hi of one segment, whose
// last record is last, in order, each with its offset. It reports whether
// to go on.
func (l *Log) scanForwardRaw(seg segment, last uint64, limit int64, lo, hi uint64, fn func(Record, int64) bool) (bool, error) {
	f, limit, err := l.openSegment(seg, limit)
	if f == nil {
		return true, err
	}
	defer f.Close()
	r := frameReader{r: bufio.NewReaderSize(io.NewSectionReader(f, 0, limit), 256<<10), want: seg.first}
	for r.want <= min(hi, last) {
		off := r.off
		body, err := r.next()
		if err == io.EOF {
			return false, fmt.Errorf("ends before record %d: %w", r.want, ErrCorrupt)
		}
		if err != nil {
			return false, err
		}
		if r.want-1 < lo {
			continue
		}
		rec, err := decodeBody(body, l.seal)
		if err != nil {
			return false, err
		}
		if !fn(rec, off) {
			return false, nil
		}
	}
	if hi >= last && r.off != limit {
		return false, fmt.Errorf("%d bytes after its last record %d: %w", limit-r.off, last, ErrCorrupt)
	}
	return true, nil
}

// scanBackward passes on the records hi down to lo of one segment, whose
// last record is last, following the trailers from its end.
func (l *Log) scanBackward(seg segment, last uint64, limit int64, lo, hi uint64, fn func(Record) bool) (bool, error) {
	f, limit, err := l.openSegment(seg, limit)
	if f == nil {
		return true, err
	}
	defer f.Close()
	pos, want := limit, last
	var buf []byte
	var t [trailerLen]byte
	for want >= max(lo, seg.first) && want > 0 {
		if pos < headerLen+seqLen+trailerLen {
			return false, fmt.Errorf("record %d before offset %d: segment too short: %w", want, pos, ErrCorrupt)
		}
		if _, err := f.ReadAt(t[:], pos-trailerLen); err != nil {
			return false, fmt.Errorf("record %d before offset %d: %w", want, pos, err)
		}
		size := frameLen(int(binary.BigEndian.Uint32(t[:])))
		if size > pos {
			return false, fmt.Errorf("record %d before offset %d: trailer gives %d bytes: %w", want, pos, size, ErrCorrupt)
		}
		body, err := readFrameAt(f, pos-size, size, want, &buf)
		if err != nil {
			return false, err
		}
		pos -= size
		if want <= hi {
			rec, err := decodeBody(body, l.seal)
			if err != nil {
				return false, err
			}
			if !fn(rec) {
				return false, nil
			}
		}
		want--
	}
	if lo <= seg.first && pos != 0 {
		return false, fmt.Errorf("%d bytes before its first record %d: %w", pos, seg.first, ErrCorrupt)
	}
	return true, nil
}
