package auditseg

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Scan calls fn with the records whose sequence numbers are from lo to hi,
// ascending, or descending when reverse is set, until fn returns false. It
// sees the log as it was when Scan began: records appended meanwhile are
// left out, and a segment dropped meanwhile is skipped. Reading a segment
// forward starts at its beginning, so a scan that starts in the middle of
// a segment reads the records before lo in it too (at most a segment's
// worth); backward it reads only what it returns.
func (l *Log) Scan(lo, hi uint64, reverse bool, fn func(Record) bool) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	segs, size, next := append([]segment(nil), l.segs...), l.size, l.next
	l.mu.Unlock()
	if next == 0 || lo > hi || lo >= next || len(segs) == 0 {
		return nil
	}
	hi = min(hi, next-1)
	lo = max(lo, segs[0].first)
	// Segment i holds segs[i].first to end(i).
	end := func(i int) uint64 {
		if i+1 < len(segs) {
			return segs[i+1].first - 1
		}
		return next - 1
	}
	for k := range segs {
		i := k
		if reverse {
			i = len(segs) - 1 - k
		}
		if end(i) < lo || segs[i].first > hi {
			continue
		}
		limit := int64(-1) // a sealed segment is read to its end
		if i == len(segs)-1 {
			limit = size
		}
		var more bool
		var err error
		if reverse {
			more, err = l.scanBackward(segs[i], end(i), limit, lo, hi, fn)
		} else {
			more, err = l.scanForward(segs[i], end(i), limit, lo, hi, fn)
		}
		if err != nil {
			return fmt.Errorf("read audit segment %s: %w", segs[i].name, err)
		}
		if !more {
			return nil
		}
	}
	return nil
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

// scanForward passes on the records lo to hi of one segment, whose last
// record is last, in order. It reports whether to go on.
func (l *Log) scanForward(seg segment, last uint64, limit int64, lo, hi uint64, fn func(Record) bool) (bool, error) {
	f, limit, err := l.openSegment(seg, limit)
	if f == nil {
		return true, err
	}
	defer f.Close()
	r := frameReader{r: bufio.NewReaderSize(io.NewSectionReader(f, 0, limit), 256<<10), want: seg.first}
	for r.want <= min(hi, last) {
		body, err := r.next()
		if err == io.EOF {
			return false, fmt.Errorf("ends before record %d: %w", r.want, ErrCorrupt)
		}
		if err != nil {
			return false, err
		}
		seq := r.want - 1
		if seq < lo {
			continue
		}
		rec, err := decodeBody(body, l.seal)
		if err != nil {
			return false, err
		}
		if !fn(rec) {
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
		if size > pos || size > frameLen(MaxRecordBytes) {
			return false, fmt.Errorf("record %d before offset %d: trailer gives %d bytes: %w", want, pos, size, ErrCorrupt)
		}
		if int64(cap(buf)) < size {
			buf = make([]byte, size)
		}
		frame := buf[:size]
		if _, err := f.ReadAt(frame, pos-size); err != nil {
			return false, fmt.Errorf("record %d at offset %d: %w", want, pos-size, err)
		}
		body, err := checkFrame(frame)
		if err != nil {
			return false, fmt.Errorf("record %d at offset %d: %w", want, pos-size, err)
		}
		if seq := binary.BigEndian.Uint64(body); seq != want {
			return false, fmt.Errorf("record at offset %d has sequence number %d, want %d: %w", pos-size, seq, want, errSeqMismatch)
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
