package auditseg

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// ErrIndex reports an index file that does not match its segment.
var ErrIndex = errors.New("audit segment index does not match its records")

// Found is one thing Walk finds on disk: a record, or why the segment
// cannot be read further, or that its index does not match it.
type Found struct {
	// Segment and Offset locate the record (Offset is -1 for an index);
	// First is the sequence number the segment's name gives its first
	// record.
	Segment string
	Offset  int64
	First   uint64
	// Record is the record read, when Err is nil.
	Record Record
	// Err says why the frame at Offset does not read (Walk then goes on
	// with the next segment), or, wrapping ErrIndex, how the segment's
	// index file differs from its records.
	Err error
}

// Walk reads every segment, oldest first, from its first byte to its end,
// and calls fn with each record as it finds it, whatever its sequence
// number, until fn returns false. It is the reader of verification: unlike
// Find, it does not expect records in order, so that the caller can say
// what is missing or out of place. A frame that does not read ends the
// walk of its segment. After the records of a sealed segment, Walk
// compares its index file, when there is one, with them.
func (l *Log) Walk(fn func(Found) bool) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	segs, size := slices.Clone(l.segs), l.size
	l.mu.Unlock()
	for i, seg := range segs {
		limit := int64(-1)
		if i == len(segs)-1 {
			limit = size
		}
		more, x, err := l.walkSegment(seg, limit, fn)
		if err != nil {
			return fmt.Errorf("walk audit segment %s: %w", seg.name, err)
		}
		if !more {
			return nil
		}
		if x == nil || i == len(segs)-1 {
			continue
		}
		if err := l.checkIndex(seg, x); err != nil && !fn(Found{Segment: seg.name, Offset: -1, First: seg.first, Err: err}) {
			return nil
		}
	}
	return nil
}

// walkSegment passes on the records of one segment and returns the index
// they make, or nil when a frame did not read.
func (l *Log) walkSegment(seg segment, limit int64, fn func(Found) bool) (bool, *segIndex, error) {
	f, limit, err := l.openSegment(seg, limit)
	if f == nil {
		return true, nil, err
	}
	defer f.Close()
	r := frameReader{r: bufio.NewReaderSize(io.NewSectionReader(f, 0, limit), 256<<10), want: seg.first, any: true}
	x := newSegIndex()
	for {
		off := r.off
		body, err := r.next()
		if err == io.EOF {
			return true, x, nil
		}
		var rec Record
		if err == nil {
			rec, err = decodeBody(body, l.seal)
		}
		if err != nil {
			return fn(Found{Segment: seg.name, Offset: off, First: seg.first, Err: err}), nil, nil
		}
		x.add(rec.Seq, off, rec.Time.UnixNano(), rec.Orgs)
		if !fn(Found{Segment: seg.name, Offset: off, First: seg.first, Record: rec}) {
			return false, nil, nil
		}
	}
}

// checkIndex compares the index file of a sealed segment, if it has one,
// with x, the index its records make.
func (l *Log) checkIndex(seg segment, x *segIndex) error {
	b, err := os.ReadFile(filepath.Join(l.dir, indexName(seg)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // built again from the segment when a read needs it
	}
	if err != nil {
		return fmt.Errorf("read index %s: %w", indexName(seg), err)
	}
	stored, err := decodeIndex(b, seg, l.seal)
	if err != nil {
		return fmt.Errorf("index %s does not read (%w): %w", indexName(seg), err, ErrIndex)
	}
	if stored.minTime != x.minTime || stored.maxTime != x.maxTime {
		return fmt.Errorf("index %s bounds the times of its records differently: %w", indexName(seg), ErrIndex)
	}
	for _, org := range sortedOrgs(stored, x) {
		if !slices.Equal(stored.orgs[org], x.orgs[org]) {
			return fmt.Errorf("index %s lists other records for organization %q than the segment holds: %w", indexName(seg), org, ErrIndex)
		}
	}
	return nil
}

// sortedOrgs returns the organizations of a and b, sorted.
func sortedOrgs(a, b *segIndex) []string {
	orgs := make([]string, 0, len(a.orgs)+len(b.orgs))
	for o := range a.orgs {
		orgs = append(orgs, o)
	}
	for o := range b.orgs {
		orgs = append(orgs, o)
	}
	slices.Sort(orgs)
	return slices.Compact(orgs)
}

// WriteSegment writes recs as they are, in order, into a new segment file
// in dir named by the first record's sequence number, sealed with key when
// it is set. It checks neither their order nor the log around them: it is
// for tests and tools that piece a log together by hand, and must not run
// while the log is open.
func WriteSegment(dir string, key []byte, recs []Record) error {
	if len(recs) == 0 {
		return errors.New("write audit segment: no records")
	}
	s, err := newSealer(key)
	if err != nil {
		return fmt.Errorf("write audit segment: %w", err)
	}
	var b []byte
	for i := range recs {
		if b, err = appendRecord(b, &recs[i], s); err != nil {
			return fmt.Errorf("write audit segment: %w", err)
		}
	}
	name := filepath.Join(dir, segmentName(recs[0].Seq))
	if err := os.WriteFile(name, b, 0o600); err != nil {
		return fmt.Errorf("write audit segment: %w", err)
	}
	return nil
}
