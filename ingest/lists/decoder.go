package lists

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/schema"
)

// Stats count what a Decoder read.
type Stats struct {
	// Lines is the number of lines read (for CSV: physical lines up to the
	// last record).
	Lines int
	// Comments counts comment lines.
	Comments int
	// Entries counts the values accepted, Duplicates those among them that
	// an earlier line of the same file already gave, and Rejected the lines
	// or records reported as errors.
	Entries, Duplicates, Rejected int
	// Kinds counts accepted values by kind; PathOnly counts maltrail trails
	// that are a bare URL path.
	Kinds    [KindSHA512 + 1]int
	PathOnly int
	// Objects counts the objects returned.
	Objects int
}

// item is one queued result of Next: an object with its TLP hint, or an
// error.
type item struct {
	o   *schema.Object
	tlp schema.TLP
	err error
}

// decoder states.
const (
	stateReading = iota
	stateEnd     // input read; the closing objects are still to come
	stateDone    // everything returned
	stateFailed  // a fatal error was returned
)

// Decoder reads one list file and returns STIX objects: the observables,
// indicators and relationships of its entries, then its container. It
// implements ingest.Source and ingest.Hinter. A Decoder is not safe for
// concurrent use.
type Decoder struct {
	name   string // as given, for errors
	file   string // base name, for ids and names
	opts   Options
	format Format
	c      common

	lines *lineReader
	csv   *csvState
	mt    *maltrail

	queue []item
	qi    int
	hint  schema.TLP

	members []string
	emitted map[string]struct{}
	stats   Stats
	state   int
	err     error
	closer  io.Closer
}

// NewDecoder returns a decoder reading r, named name (a file name or any
// label; its base name goes into the container's id and name, so give the
// same name on every load of the same list). With FormatAuto the format
// comes from DetectFormat on name and the first bytes of r. A zero
// Options.Time means the Unix epoch.
func NewDecoder(r io.Reader, name string, opts Options) (*Decoder, error) {
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	if opts.MaxContainerRefs <= 0 {
		opts.MaxContainerRefs = DefaultMaxContainerRefs
	}
	if opts.Time.IsZero() {
		opts.Time = time.Unix(0, 0)
	}
	br := bufio.NewReaderSize(r, opts.MaxLineBytes+2)
	format := opts.Format
	if format == FormatAuto {
		head, _ := br.Peek(512)
		format = DetectFormat(name, head)
	}
	if opts.Source == "" {
		opts.Source = DefaultSource
		if format == FormatMaltrail {
			opts.Source = DefaultMaltrailSource
		}
	}
	if format == FormatMaltrail && opts.IndicatorTypes == nil {
		opts.IndicatorTypes = []string{"malicious-activity"}
	}
	d := &Decoder{
		name:    name,
		file:    listFile(name),
		opts:    opts,
		format:  format,
		c:       newCommon(opts),
		emitted: make(map[string]struct{}, 1024),
		hint:    opts.TLP,
	}
	switch format {
	case FormatMaltrail:
		if err := d.startMaltrail(br); err != nil {
			return nil, err
		}
	case FormatCSV:
		d.lines = newLineReader(br, opts.MaxLineBytes)
		d.csv = newCSVState(d)
	default:
		d.lines = newLineReader(br, opts.MaxLineBytes)
	}
	return d, nil
}

// Open opens a list file and returns its decoder; Close closes the file.
// When opts.Time is zero it becomes the file's modification time, so that
// loading an unchanged file again changes nothing.
func Open(path string, opts Options) (*Decoder, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open list: %w", err)
	}
	if opts.Time.IsZero() {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("open list: %w", err)
		}
		opts.Time = st.ModTime()
	}
	d, err := NewDecoder(f, path, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	d.closer = f
	return d, nil
}

// Close closes the file that Open opened; it does nothing for NewDecoder.
func (d *Decoder) Close() error {
	if d.closer == nil {
		return nil
	}
	c := d.closer
	d.closer = nil
	return c.Close()
}

// Name returns the name the decoder was given.
func (d *Decoder) Name() string { return d.name }

// Format returns the format being read.
func (d *Decoder) Format() Format { return d.format }

// Stats returns what the decoder has read so far.
func (d *Decoder) Stats() Stats { return d.stats }

// Hints returns the TLP of the object last returned: the row's TLP column
// when it has one, else Options.TLP. The pipeline applies it to objects
// without a TLP marking of their own, which covers the observables.
func (d *Decoder) Hints() ingest.Hints { return ingest.Hints{TLP: d.hint} }

// ContainerID returns the id of the container the decoder makes (or would
// make) for its file, whether or not Options.Container is ContainerNone.
func (d *Decoder) ContainerID() string {
	typ := "grouping"
	if d.opts.Container == ContainerReport {
		typ = "report"
	}
	return DeterministicID(typ, d.opts.Source, d.file)
}

// Next returns the next object, or io.EOF after the last. Errors are
// *ingest.ObjectError values whose Index is the 0-based line number (the
// line number minus one) and whose message names the line; a bad line or
// record is not fatal, so the caller may go on. A read error, a missing
// CSV header column and a list without a single entry (ingest.ErrEmpty)
// are fatal.
func (d *Decoder) Next() (*schema.Object, error) {
	for {
		if d.qi < len(d.queue) {
			it := d.queue[d.qi]
			d.queue[d.qi] = item{}
			d.qi++
			if it.err != nil {
				if ingest.IsFatal(it.err) {
					d.state, d.err = stateFailed, it.err
					d.queue, d.qi = d.queue[:0], 0
				}
				return nil, it.err
			}
			d.hint = it.tlp
			d.stats.Objects++
			return it.o, nil
		}
		d.queue, d.qi = d.queue[:0], 0
		switch d.state {
		case stateDone:
			return nil, io.EOF
		case stateFailed:
			return nil, d.err
		case stateEnd:
			d.state = stateDone
			d.finish()
			continue
		}
		var err error
		switch d.format {
		case FormatCSV:
			err = d.csv.step()
		case FormatMaltrail:
			err = d.maltrailStep()
		default:
			err = d.plainStep()
		}
		if err == io.EOF {
			d.state = stateEnd
		} else if err != nil {
			d.push(item{err: d.fatal(err)})
		}
	}
}

// push queues an item.
func (d *Decoder) push(it item) { d.queue = append(d.queue, it) }

// emit queues an object unless an object with its id was emitted before,
// and reports whether it was new. Members go into the container.
func (d *Decoder) emit(o *schema.Object, tlp schema.TLP, member bool) bool {
	if _, dup := d.emitted[o.ID]; dup {
		return false
	}
	d.emitted[o.ID] = struct{}{}
	d.push(item{o: o, tlp: tlp})
	if member {
		d.members = append(d.members, o.ID)
	}
	return true
}

// lineErr returns the error about one line.
func (d *Decoder) lineErr(line int, field string, err error) error {
	d.stats.Rejected++
	return &ingest.ObjectError{File: d.name, Index: line - 1, Field: field, Offset: -1,
		Err: fmt.Errorf("line %d: %w", line, err)}
}

// fatal wraps an error that ends the input.
func (d *Decoder) fatal(err error) error {
	var oe *ingest.ObjectError
	if errors.As(err, &oe) {
		oe.Fatal = true
		return oe
	}
	var ie *columnsError
	if errors.As(err, &ie) {
		return &ingest.ObjectError{File: d.name, Index: -1, Offset: -1, Fatal: true, Err: ie}
	}
	return &ingest.ObjectError{File: d.name, Index: -1, Offset: -1, Fatal: true, Err: fmt.Errorf("read list: %w", err)}
}

// finish queues the closing objects: the container, or ErrEmpty for a list
// without entries.
func (d *Decoder) finish() {
	if d.stats.Entries == 0 {
		if d.stats.Rejected == 0 {
			d.push(item{err: &ingest.ObjectError{File: d.name, Index: -1, Offset: -1, Fatal: true,
				Err: fmt.Errorf("no entries, only blank lines and comments: %w", ingest.ErrEmpty)}})
		}
		return
	}
	if d.opts.Container == ContainerNone || len(d.members) == 0 {
		return
	}
	desc := "The entries of list file " + d.file + " from source " + d.opts.Source + "."
	var refs []extRef
	var lead []string
	if d.mt != nil {
		desc = "The trails of malware family " + d.mt.family + " in Maltrail file " + d.file + "."
		refs = []extRef{{SourceName: "maltrail", URL: MaltrailURL + d.file, ExternalID: d.mt.family}}
		lead = []string{d.mt.malware.ID}
	}
	for _, o := range d.c.containers(d.opts.Container, d.opts.Source, d.file, desc, d.members, lead, refs, d.opts.MaxContainerRefs) {
		d.push(item{o: o, tlp: d.opts.TLP})
	}
}

// rowMeta is what a line or record says about its value besides the value.
type rowMeta struct {
	comment   string
	tags      []string
	firstSeen time.Time
	lastSeen  time.Time
	tlp       schema.TLP
	source    string
}

func (m rowMeta) empty() bool {
	return m.comment == "" && len(m.tags) == 0 && m.firstSeen.IsZero() && m.lastSeen.IsZero() &&
		m.tlp == schema.TLPUnmarked && m.source == ""
}

// entry emits the objects of one accepted value of a plain or CSV list.
func (d *Decoder) entry(line int, v Value, m rowMeta) error {
	sco, err := observable(v)
	if err != nil {
		return d.lineErr(line, "value", fmt.Errorf("make observable: %w", err))
	}
	d.count(v, sco.ID)
	tlp := d.opts.TLP
	if m.tlp != schema.TLPUnmarked {
		tlp = m.tlp
	}
	d.emit(sco, tlp, true)
	if d.opts.Indicators || !m.empty() {
		ind := d.c.indicator(indicatorSpec{
			scope:     d.opts.Source + "\x1f" + d.file,
			name:      v.String(),
			desc:      m.comment,
			pattern:   Pattern(v),
			types:     d.opts.IndicatorTypes,
			labels:    m.tags,
			firstSeen: m.firstSeen,
			lastSeen:  m.lastSeen,
			source:    m.source,
			tlp:       m.tlp,
		})
		d.emit(ind, tlp, true)
	}
	return nil
}

// count records an accepted value.
func (d *Decoder) count(v Value, id string) {
	d.stats.Entries++
	d.stats.Kinds[v.Kind]++
	if _, dup := d.emitted[id]; dup {
		d.stats.Duplicates++
	}
}

// nextLine reads up to the next line that is not blank and returns it
// trimmed, with its number. A line over the length limit is pushed as an
// error and returned as nil, and the caller's step ends there.
func (d *Decoder) nextLine() (line []byte, n int, err error) {
	for {
		raw, long, err := d.lines.next()
		if err != nil {
			return nil, 0, err
		}
		d.stats.Lines++
		n := d.lines.n
		if long {
			d.push(item{err: d.lineErr(n, "", fmt.Errorf("longer than %d bytes: %w", d.opts.MaxLineBytes, ErrLineTooLong))})
			return nil, n, nil
		}
		if line := bytes.TrimSpace(raw); len(line) > 0 {
			return line, n, nil
		}
	}
}

// plainStep reads lines up to the next entry or error.
func (d *Decoder) plainStep() error {
	for {
		line, n, err := d.nextLine()
		if err != nil || line == nil {
			return err
		}
		if isComment(line) {
			d.stats.Comments++
			continue
		}
		if !utf8.Valid(line) {
			d.push(item{err: d.lineErr(n, "", fmt.Errorf("read line: %w", ErrInvalidUTF8))})
			return nil
		}
		value, comment := cutComment(string(line))
		v, err := Classify(value)
		if err != nil {
			d.push(item{err: d.lineErr(n, "", err)})
			return nil
		}
		if err := d.entry(n, v, rowMeta{comment: comment}); err != nil {
			d.push(item{err: err})
		}
		return nil
	}
}

// isComment reports a comment line: "#" or "//" first.
func isComment(line []byte) bool {
	return line[0] == '#' || bytes.HasPrefix(line, []byte("//"))
}

// cutComment splits "value   # comment" at a "#" that follows white space.
// A "#" without space before it (a URL fragment) belongs to the value.
func cutComment(s string) (value, comment string) {
	for i := 1; i < len(s); i++ {
		if s[i] == '#' && (s[i-1] == ' ' || s[i-1] == '\t') {
			return trimSpace(s[:i]), trimSpace(s[i+1:])
		}
	}
	return s, ""
}

func trimSpace(s string) string { return strings.TrimSpace(s) }

// listFile is the name of the list a file holds: its base name, less a
// ".gz" ending, so that a list compressed for transfer makes the same
// container (with the same id and reference URL) as the list itself.
func listFile(name string) string {
	base := filepath.Base(name)
	if n := len(base) - len(".gz"); n > 0 && strings.EqualFold(base[n:], ".gz") {
		return base[:n]
	}
	return base
}
