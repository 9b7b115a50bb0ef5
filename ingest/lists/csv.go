package lists

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/verband-cti/verband/schema"
)

// csvFeed feeds encoding/csv one line at a time from a lineReader. A line
// longer than the limit reaches csv as an empty line (which csv skips), and
// its number is kept, so that the decoder reports it and drops a record it
// was part of. Lines are never longer than the limit in memory.
type csvFeed struct {
	lr   *lineReader
	buf  []byte
	off  int
	long []int // numbers of long lines not yet reported
	err  error
	// ahead holds lines read by sniff, fed before the rest.
	ahead [][]byte
}

func (f *csvFeed) Read(p []byte) (int, error) {
	for f.off >= len(f.buf) {
		if len(f.ahead) > 0 {
			f.buf, f.off = append(f.buf[:0], f.ahead[0]...), 0
			f.ahead = f.ahead[1:]
			continue
		}
		if f.err != nil {
			return 0, f.err
		}
		line, long, err := f.lr.next()
		if err != nil {
			f.err = err
			continue
		}
		f.buf, f.off = f.buf[:0], 0
		if long {
			f.long = append(f.long, f.lr.n)
		} else {
			f.buf = append(f.buf, line...)
		}
		f.buf = append(f.buf, '\n')
	}
	n := copy(p, f.buf[f.off:])
	f.off += n
	return n, nil
}

// sniff reads ahead to the first line that is neither blank nor a comment
// and returns it (nil at the end of the input). The lines read are fed to
// csv afterwards.
func (f *csvFeed) sniff() []byte {
	for len(f.ahead) < 1000 {
		line, long, err := f.lr.next()
		if err != nil {
			f.err = err
			return nil
		}
		if long {
			f.long = append(f.long, f.lr.n)
			f.ahead = append(f.ahead, []byte{'\n'})
			continue
		}
		cp := append(append([]byte(nil), line...), '\n')
		f.ahead = append(f.ahead, cp)
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' {
			return line
		}
	}
	return nil
}

// takeLong removes and returns the numbers of long lines up to line.
func (f *csvFeed) takeLong(line int) []int {
	i := 0
	for i < len(f.long) && f.long[i] <= line {
		i++
	}
	out := f.long[:i:i]
	f.long = f.long[i:]
	return out
}

// colMap holds 0-based column positions, -1 for absent.
type colMap struct {
	value, typ, comment, first, last, tags, tlp, source int
}

// csvState is the CSV side of a Decoder.
type csvState struct {
	d       *Decoder
	feed    *csvFeed
	r       *csv.Reader
	cols    colMap
	started bool
}

func newCSVState(d *Decoder) *csvState {
	return &csvState{d: d, feed: &csvFeed{lr: d.lines}}
}

// start sniffs the separator and builds the csv reader.
func (s *csvState) start() {
	s.started = true
	comma := s.d.opts.Comma
	if comma == 0 {
		comma = ','
		if first := s.feed.sniff(); first != nil && !bytes.ContainsRune(first, ',') {
			switch {
			case bytes.ContainsRune(first, '\t'):
				comma = '\t'
			case bytes.ContainsRune(first, ';'):
				comma = ';'
			case bytes.ContainsRune(first, '|'):
				comma = '|'
			}
		}
	}
	s.r = csv.NewReader(s.feed)
	s.r.Comma = comma
	s.r.Comment = '#'
	s.r.FieldsPerRecord = -1
	s.r.TrimLeadingSpace = true
	s.r.ReuseRecord = true
	s.cols = colMap{value: -1, typ: -1, comment: -1, first: -1, last: -1, tags: -1, tlp: -1, source: -1}
}

// step reads the next record and queues its objects or its error.
func (s *csvState) step() error {
	d := s.d
	if !s.started {
		s.start()
		if err := s.header(); err != nil {
			return err
		}
		if len(d.queue) > 0 {
			return nil
		}
	}
	rec, err := s.r.Read()
	if err == io.EOF {
		s.reportLong(int(^uint(0) >> 1))
		if s.feed.err != nil && s.feed.err != io.EOF {
			return s.feed.err
		}
		return io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		d.stats.Lines = pe.Line
		s.reportLong(pe.Line)
		d.push(item{err: d.lineErr(pe.StartLine, "", fmt.Errorf("parse CSV record: %w: %w", ErrMalformedCSV, pe))})
		return nil
	}
	if err != nil {
		return err // a read error from the feed
	}
	start, _ := s.r.FieldPos(0)
	end, _ := s.r.FieldPos(len(rec) - 1)
	end += strings.Count(rec[len(rec)-1], "\n") // a quoted last field may span lines
	d.stats.Lines = end
	if long := s.reportLong(end); len(long) > 0 && long[len(long)-1] >= start {
		return nil // the record held a line that was cut: it is damaged
	}
	s.record(start, rec)
	return nil
}

// reportLong queues an error for each long line up to line and returns
// their numbers.
func (s *csvState) reportLong(line int) []int {
	long := s.feed.takeLong(line)
	for _, n := range long {
		s.d.push(item{err: s.d.lineErr(n, "", fmt.Errorf("longer than %d bytes: %w", s.d.opts.MaxLineBytes, ErrLineTooLong))})
	}
	return long
}

// header reads the first record when it is (or may be) a header and
// resolves the column mapping. A mapping that cannot be resolved is fatal.
func (s *csvState) header() error {
	d := s.d
	c := d.opts.Columns
	specs := []*string{&c.Value, &c.Type, &c.Comment, &c.FirstSeen, &c.LastSeen, &c.Tags, &c.TLP, &c.Source}
	named := false
	for _, sp := range specs {
		if *sp != "" && !isNumber(*sp) {
			named = true
		}
	}
	mode := c.Header
	if mode == HeaderAuto && named {
		mode = HeaderYes
	}
	if mode == HeaderNo && named {
		return &columnsError{fmt.Errorf("columns are named but the file has no header: %w", ErrBadColumns)}
	}
	var head []string
	if mode != HeaderNo {
		rec, err := s.r.Read()
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				// Without the first record the columns are unknown.
				return d.lineErr(pe.StartLine, "", fmt.Errorf("parse first CSV record: %w: %w", ErrMalformedCSV, pe))
			}
			return err
		}
		line, _ := s.r.FieldPos(0)
		if mode == HeaderYes || looksLikeHeader(rec) {
			head = append([]string(nil), rec...)
			d.stats.Lines = line
		} else {
			// The first record is data: resolve the mapping without a
			// header and process it.
			if err := s.resolve(nil); err != nil {
				return err
			}
			s.record(line, rec)
			return nil
		}
	}
	return s.resolve(head)
}

// columnsError is a column mapping that cannot be resolved; Decoder.fatal makes it fatal.
type columnsError struct{ err error }

func (e *columnsError) Error() string { return "resolve CSV columns: " + e.err.Error() }
func (e *columnsError) Unwrap() error { return e.err }

// resolve fills s.cols from the mapping and the header (nil without one).
func (s *csvState) resolve(head []string) error {
	c := s.d.opts.Columns
	fields := []struct {
		spec string
		key  string
		dst  *int
	}{
		{c.Value, "value", &s.cols.value},
		{c.Type, "type", &s.cols.typ},
		{c.Comment, "comment", &s.cols.comment},
		{c.FirstSeen, "first_seen", &s.cols.first},
		{c.LastSeen, "last_seen", &s.cols.last},
		{c.Tags, "tags", &s.cols.tags},
		{c.TLP, "tlp", &s.cols.tlp},
		{c.Source, "source", &s.cols.source},
	}
	used := map[int]bool{}
	for _, f := range fields {
		if f.spec == "" {
			continue
		}
		if isNumber(f.spec) {
			n, _ := strconv.Atoi(f.spec)
			if n < 1 {
				return &columnsError{fmt.Errorf("%s column %q: numbers start at 1: %w", f.key, f.spec, ErrBadColumns)}
			}
			*f.dst = n - 1
			used[n-1] = true
			continue
		}
		i := indexHeader(head, f.spec)
		if i < 0 {
			return &columnsError{fmt.Errorf("%s column %q is not in the header %q: %w", f.key, f.spec, head, ErrBadColumns)}
		}
		*f.dst = i
		used[i] = true
	}
	for i, h := range head {
		key, ok := headerNames[normHeader(h)]
		if !ok || used[i] {
			continue
		}
		for _, f := range fields {
			if f.key == key && f.spec == "" && *f.dst < 0 {
				*f.dst = i
				used[i] = true
				break
			}
		}
	}
	if s.cols.value < 0 {
		if head != nil {
			return &columnsError{fmt.Errorf("no value column in the header %q (name one with Columns.Value): %w", head, ErrBadColumns)}
		}
		s.cols.value = 0
	}
	return nil
}

// indexHeader finds a header field by normalised name.
func indexHeader(head []string, name string) int {
	n := normHeader(name)
	for i, h := range head {
		if normHeader(h) == n {
			return i
		}
	}
	return -1
}

// looksLikeHeader reports whether a first record is a header: no field is
// an indicator value and some field is a known column name.
func looksLikeHeader(rec []string) bool {
	known := false
	for _, f := range rec {
		if _, err := Classify(f); err == nil {
			return false
		}
		if _, ok := headerNames[normHeader(f)]; ok {
			known = true
		}
	}
	return known
}

func isNumber(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

// record processes one data record that starts on line.
func (s *csvState) record(line int, rec []string) {
	d := s.d
	for i, f := range rec {
		if !utf8.ValidString(f) {
			d.push(item{err: d.lineErr(line, s.colName(i), fmt.Errorf("field %d: %w", i+1, ErrInvalidUTF8))})
			return
		}
	}
	if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
		return // a line of blanks
	}
	field := func(i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	if s.cols.value >= len(rec) {
		d.push(item{err: d.lineErr(line, "value", fmt.Errorf("record has %d fields, the value is in column %d: %w", len(rec), s.cols.value+1, ErrBadColumns))})
		return
	}
	raw := field(s.cols.value)
	if raw == "" {
		d.push(item{err: d.lineErr(line, "value", fmt.Errorf("classify: %w", ErrEmptyValue))})
		return
	}
	var v Value
	var err error
	if t := field(s.cols.typ); t != "" {
		v, err = ClassifyAs(t, raw)
	} else {
		v, err = Classify(raw)
	}
	if err != nil {
		d.push(item{err: d.lineErr(line, "value", err)})
		return
	}
	m := rowMeta{comment: field(s.cols.comment), source: field(s.cols.source)}
	if t := field(s.cols.tags); t != "" {
		m.tags = dedupe(strings.FieldsFunc(t, func(r rune) bool { return r == ',' || r == ';' || r == '|' }))
	}
	if t := field(s.cols.first); t != "" {
		if m.firstSeen, err = ParseTime(t); err != nil {
			d.push(item{err: d.lineErr(line, "first_seen", err)})
			return
		}
	}
	if t := field(s.cols.last); t != "" {
		if m.lastSeen, err = ParseTime(t); err != nil {
			d.push(item{err: d.lineErr(line, "last_seen", err)})
			return
		}
	}
	if !m.firstSeen.IsZero() && !m.lastSeen.IsZero() && m.lastSeen.Before(m.firstSeen) {
		d.push(item{err: d.lineErr(line, "last_seen", fmt.Errorf("last_seen %s before first_seen %s: %w",
			formatTime(m.lastSeen), formatTime(m.firstSeen), ErrBadTime))})
		return
	}
	if t := field(s.cols.tlp); t != "" {
		if m.tlp, err = schema.ParseTLP(t); err != nil {
			d.push(item{err: d.lineErr(line, "tlp", fmt.Errorf("%w: %w", ErrBadTLP, err))})
			return
		}
	}
	if err := d.entry(line, v, m); err != nil {
		d.push(item{err: err})
	}
}

// colName names column i for an error.
func (s *csvState) colName(i int) string {
	switch i {
	case s.cols.value:
		return "value"
	case s.cols.typ:
		return "type"
	case s.cols.comment:
		return "comment"
	case s.cols.first:
		return "first_seen"
	case s.cols.last:
		return "last_seen"
	case s.cols.tags:
		return "tags"
	case s.cols.tlp:
		return "tlp"
	case s.cols.source:
		return "source"
	}
	return "column " + strconv.Itoa(i+1)
}
