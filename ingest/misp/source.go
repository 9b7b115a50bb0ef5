package misp

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/ingest/refdata"
	"github.com/verband-cti/verband/schema"
)

// Defaults for Options.
const (
	// DefaultMaxEventBytes is the default size limit of one event as it
	// appears in the (decompressed) input: 256 MiB.
	DefaultMaxEventBytes = 256 << 20
	// DefaultMaxDepth is the default nesting limit inside one event.
	DefaultMaxDepth = 64
)

// Options tune a Source. The zero value means the defaults.
type Options struct {
	// MaxEventBytes limits the size of one event. A larger event ends the
	// input with an error wrapping ingest.ErrTooLarge, since the decoder
	// cannot skip it without reading it. Zero means DefaultMaxEventBytes.
	MaxEventBytes int64
	// MaxDepth limits the nesting of arrays and objects inside one event;
	// the event itself is at depth 1. A deeper event is skipped with an
	// error wrapping ingest.ErrTooDeep. Zero means DefaultMaxDepth.
	MaxDepth int
	// TrustCreatorOrg makes Hints().Owner the name of the event's creator
	// organisation (Orgc), for loads from a MISP instance whose
	// organisations are Verband organisations.
	TrustCreatorOrg bool
	// IgnoreDistribution disregards MISP distribution levels and sharing
	// groups, for public dumps of events (such as ESET's malware-ioc
	// repository) whose distribution describes the producer's own MISP
	// instance; TLP tags still apply.
	IgnoreDistribution bool
	// Galaxies, when set, resolves misp-galaxy tags that come without a
	// Galaxy entry to the loaded clusters, so they get the cluster's own
	// id; otherwise such a tag gets a cluster with an id derived from the
	// tag.
	Galaxies *refdata.Galaxies
}

func (o Options) withDefaults() (Options, error) {
	if o.MaxEventBytes < 0 || o.MaxDepth < 0 {
		return o, fmt.Errorf("misp options: negative limit in %+v", o)
	}
	if o.MaxEventBytes == 0 {
		o.MaxEventBytes = DefaultMaxEventBytes
	}
	if o.MaxDepth == 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	return o, nil
}

// Source decodes MISP JSON into STIX objects, one event at a time. It
// implements ingest.Source and ingest.Hinter. A Source is not safe for
// concurrent use.
type Source struct {
	opts  Options
	name  string   // the input being read
	feed  []string // feed files still to read
	feedN int      // number of feed files
	rd    *reader
	close func() error

	queue []entry
	errs  []error
	hints ingest.Hints
	sent  map[string]bool // marking definitions already returned
	fatal error           // returned by every Next once set
	done  bool
}

var (
	_ ingest.Source = (*Source)(nil)
	_ ingest.Hinter = (*Source)(nil)
)

// NewSource returns a source reading one MISP JSON document from r: a bare
// {"Event": …}, a REST search response {"response": [{"Event": …}, …]}, an
// event without the "Event" wrapper, or an array of any of these (or of
// sharing groups), plain or gzip-compressed. name names the input in
// errors and provenance.
func NewSource(r io.Reader, name string, opts Options) (*Source, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Source{opts: o, name: name, sent: map[string]bool{}}
	if err := s.start(r, name); err != nil {
		return nil, err
	}
	return s, nil
}

// OpenFile opens a MISP JSON file (plain or .gz) as a source; the closer
// closes the file.
func OpenFile(path string, opts Options) (*Source, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open MISP file: %w", err)
	}
	s, err := NewSource(f, path, opts)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return s, f, nil
}

// OpenFeed opens a MISP feed folder: a manifest.json keyed by event uuid
// and one <uuid>.json (or <uuid>.json.gz) per event, read in uuid order.
// Other files (hashes.csv, …) are ignored. A problem with one event file
// (missing, malformed, truncated) yields an *ingest.ObjectError that is not
// fatal, naming that file, and the source goes on with the next one. The
// closer closes the file being read.
func OpenFeed(dir string, opts Options) (*Source, io.Closer, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	mpath := filepath.Join(dir, "manifest.json")
	data, err := os.ReadFile(mpath)
	if err != nil {
		return nil, nil, fmt.Errorf("open MISP feed: %w", err)
	}
	var manifest map[string]json.RawMessage
	if err := json.Unmarshal(data, &manifest); err != nil || manifest == nil {
		if err == nil {
			err = errors.New("not an object")
		}
		return nil, nil, &ingest.ObjectError{File: mpath, Index: -1, Offset: -1, Fatal: true,
			Err: fmt.Errorf("%w: %w", ErrBadManifest, err)}
	}
	uuids := make([]string, 0, len(manifest))
	for u := range manifest {
		uuids = append(uuids, u)
	}
	sort.Strings(uuids)
	s := &Source{opts: o, name: mpath, sent: map[string]bool{}, feedN: len(uuids)}
	for _, u := range uuids {
		if filepath.Base(u) != u || u == "" || u == "." || u == ".." {
			return nil, nil, &ingest.ObjectError{File: mpath, Index: -1, ID: u, Offset: -1, Fatal: true,
				Err: fmt.Errorf("%w: key %q is not an event uuid", ErrBadManifest, clip(u))}
		}
		s.feed = append(s.feed, filepath.Join(dir, u+".json"))
	}
	if len(s.feed) == 0 {
		s.done = true
	}
	return s, closerFunc(func() error {
		if s.close != nil {
			return s.close()
		}
		return nil
	}), nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// nextFeedFile opens the next file of a feed. It returns false when there
// is none left.
func (s *Source) nextFeedFile() bool {
	for len(s.feed) > 0 {
		p := s.feed[0]
		s.feed = s.feed[1:]
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			if g, gerr := os.Open(p + ".gz"); gerr == nil {
				f, err, p = g, nil, p+".gz"
			}
		}
		if err != nil {
			s.errs = append(s.errs, &ingest.ObjectError{File: p, Index: -1, Offset: -1, Err: fmt.Errorf("open feed event: %w", err)})
			continue
		}
		s.close = f.Close
		if err := s.start(f, p); err != nil {
			f.Close()
			s.close = nil
			var oe *ingest.ObjectError
			if errors.As(err, &oe) {
				oe.Fatal = false
			}
			s.errs = append(s.errs, err)
			continue
		}
		return true
	}
	return false
}

// Name names the input being read: the file given to OpenFile or
// NewSource, or the feed file being read.
func (s *Source) Name() string { return s.name }

// Hints returns what MISP says about the object last returned by Next:
// the sharing list of a sharing-group distribution, the TLP level of its
// tags or distribution, and, with Options.TrustCreatorOrg, the owner.
func (s *Source) Hints() ingest.Hints { return s.hints }

// Next returns the next STIX object, or io.EOF after the last. Errors are
// *ingest.ObjectError values; see the package documentation for which are
// fatal.
func (s *Source) Next() (*schema.Object, error) {
	for {
		if len(s.errs) > 0 {
			err := s.errs[0]
			s.errs = s.errs[1:]
			return nil, err
		}
		if len(s.queue) > 0 {
			e := s.queue[0]
			s.queue[0] = entry{}
			s.queue = s.queue[1:]
			s.hints = e.hints
			return e.obj, nil
		}
		s.hints = ingest.Hints{}
		if s.fatal != nil {
			return nil, s.fatal
		}
		if s.done {
			return nil, io.EOF
		}
		if s.rd == nil {
			if !s.nextFeedFile() {
				s.done = true
			}
			continue
		}
		if err := s.rd.step(s); err != nil {
			s.endInput(err)
		}
	}
}

// endInput finishes the input being read: at io.EOF, or after a fatal
// error, which is fatal for the whole source unless more feed files
// follow.
func (s *Source) endInput(err error) {
	s.rd = nil
	if s.close != nil {
		s.close()
		s.close = nil
	}
	if err == io.EOF {
		if s.feedN == 0 {
			s.done = true
		}
		return
	}
	var oe *ingest.ObjectError
	if s.feedN > 0 && errors.As(err, &oe) {
		oe.Fatal = false
		s.errs = append(s.errs, err)
		return
	}
	s.fatal = err
}

// start prepares reading one input.
func (s *Source) start(r io.Reader, name string) error {
	s.name = name
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return &ingest.ObjectError{File: name, Index: -1, Offset: 0, Fatal: true, Err: fmt.Errorf("read: %w", err)}
	}
	var src io.Reader = br
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				err = fmt.Errorf("%w: gunzip header: %w", ingest.ErrTruncated, io.ErrUnexpectedEOF)
			} else {
				err = fmt.Errorf("gunzip header: %w", err)
			}
			return &ingest.ObjectError{File: name, Index: -1, Offset: 0, Fatal: true, Err: err}
		}
		src = bufio.NewReaderSize(gunzipReader{zr}, 64<<10)
	}
	bsrc, ok := src.(*bufio.Reader)
	if !ok {
		bsrc = bufio.NewReader(src)
	}
	if bom, _ := bsrc.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		bsrc.Discard(3)
	}
	lim := &limitReader{r: bsrc, n: s.opts.MaxEventBytes}
	dec := json.NewDecoder(lim)
	dec.UseNumber()
	s.rd = &reader{dec: dec, lim: lim, name: name}
	return nil
}

// gunzipReader names the step in decompression errors.
type gunzipReader struct{ zr *gzip.Reader }

func (g gunzipReader) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("gunzip: %w", err)
	}
	return n, err
}

// errEventTooLarge is what limitReader returns once an event exceeds its
// budget.
var errEventTooLarge = errors.New("size limit reached")

// limitReader lets at most n more bytes through before failing.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errEventTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// Reader states.
const (
	rsStart    = iota // before the top-level value
	rsObject          // between members of a top-level object
	rsResponse        // inside "response": [ … ]
	rsArray           // inside a top-level array
	rsEnd             // after the top-level value
)

// reader walks the top level of one input with a json.Decoder and hands
// each event to the converter.
type reader struct {
	dec   *json.Decoder
	lim   *limitReader
	name  string
	state int
	index int // index of the next event
	// wrapped is set once "Event" or "response" was read at the top level;
	// bare collects the members of a top-level event without wrapper.
	wrapped bool
	bare    record
	bareOff int64
}

// step reads the next unit of the input (one event, or a structural
// token) and queues what it yields in s. It returns io.EOF at the end of
// the input and a fatal *ingest.ObjectError when the input cannot be read
// further.
func (r *reader) step(s *Source) error {
	switch r.state {
	case rsStart:
		r.resetBudget(s)
		tok, err := r.dec.Token()
		if err == io.EOF {
			return r.fatal(-1, "", fmt.Errorf("%w", ingest.ErrEmpty))
		}
		if err != nil {
			return r.readErr(err)
		}
		switch tok {
		case json.Delim('{'):
			r.state = rsObject
			r.bareOff = r.dec.InputOffset()
		case json.Delim('['):
			r.state = rsArray
		default:
			return r.fatal(-1, "", fmt.Errorf("%w: MISP input must be a JSON object or array, got %v", ingest.ErrBadTopLevel, tok))
		}
		return nil
	case rsObject:
		if !r.dec.More() {
			if _, err := r.dec.Token(); err != nil {
				return r.readErr(err)
			}
			r.state = rsEnd
			if r.bare != nil {
				s.event(r.index, r.bare, r.bareOff)
				r.index++
				return nil
			}
			if !r.wrapped {
				return r.fatal(-1, "", fmt.Errorf("%w: empty object", ingest.ErrBadTopLevel))
			}
			return nil
		}
		tok, err := r.dec.Token()
		if err != nil {
			return r.readErr(err)
		}
		key, _ := tok.(string)
		switch {
		case key == "response" && r.bare == nil:
			r.wrapped = true
			tok, err := r.dec.Token()
			if err != nil {
				return r.readErr(err)
			}
			switch tok {
			case json.Delim('['):
				r.state = rsResponse
			case json.Delim('{'):
				// A response holding one element instead of a list.
				off := r.dec.InputOffset()
				rec, err := r.members(s)
				if err != nil {
					return err
				}
				if rec != nil {
					s.element(r.index, rec, off)
				}
				r.index++
			default:
				return r.fatal(-1, "response", fmt.Errorf("%w: \"response\" must be an array, got %v", ingest.ErrBadTopLevel, tok))
			}
			return nil
		case key == "Event" && r.bare == nil:
			r.wrapped = true
			r.resetBudget(s)
			raw, off, err := r.value()
			if err != nil {
				return err
			}
			if ev, ok := s.check(r.index, raw, off, 2); ok {
				s.event(r.index, ev, off)
			}
			r.index++
			return nil
		case r.wrapped:
			return r.fatal(-1, key, fmt.Errorf("%w: unexpected member %q next to \"Event\" or \"response\"", ingest.ErrBadTopLevel, clip(key)))
		default:
			// A bare event: collect its members.
			raw, off, err := r.value()
			if err != nil {
				return err
			}
			if !s.checkRaw(r.index, raw, off, 2) {
				r.bare = nil
				r.state = rsEnd
				return r.skipRest()
			}
			if r.bare == nil {
				r.bare = record{}
			}
			if _, dup := r.bare[key]; dup {
				s.errs = append(s.errs, &ingest.ObjectError{File: r.name, Index: r.index, Field: key, Offset: off,
					Err: fmt.Errorf("%w %q", ingest.ErrDuplicateKey, clip(key))})
				r.state = rsEnd
				r.bare = nil
				return r.skipRest()
			}
			r.bare[key] = raw
			return nil
		}
	case rsResponse, rsArray:
		if !r.dec.More() {
			if _, err := r.dec.Token(); err != nil {
				return r.readErr(err)
			}
			if r.state == rsResponse {
				r.state = rsObject
			} else {
				r.state = rsEnd
			}
			return nil
		}
		r.resetBudget(s)
		raw, off, err := r.value()
		if err != nil {
			return err
		}
		depth := 1
		if r.state == rsResponse {
			depth = 2
		}
		if rec, ok := s.check(r.index, raw, off, depth); ok {
			s.element(r.index, rec, off)
		}
		r.index++
		return nil
	case rsEnd:
		r.lim.n = 1 << 20
		tok, err := r.dec.Token()
		if err == io.EOF {
			return io.EOF
		}
		if err != nil && !errors.Is(err, errEventTooLarge) {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return r.fatal(-1, "", fmt.Errorf("%w: %w", ingest.ErrTrailingData, err))
			}
			return r.readErr(err)
		}
		return r.fatal(-1, "", fmt.Errorf("%w: %v", ingest.ErrTrailingData, tok))
	}
	return io.EOF
}

// skipRest reads the rest of the top-level object after a bad bare event,
// so that a broken stream is still reported as such.
func (r *reader) skipRest() error {
	for r.dec.More() {
		if _, err := r.dec.Token(); err != nil {
			return r.readErr(err)
		}
		var skip json.RawMessage
		if err := r.dec.Decode(&skip); err != nil {
			return r.readErr(err)
		}
	}
	if _, err := r.dec.Token(); err != nil {
		return r.readErr(err)
	}
	return nil
}

// members reads the members of an object whose '{' was just read.
func (r *reader) members(s *Source) (record, error) {
	rec := record{}
	for r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			return nil, r.readErr(err)
		}
		key, _ := tok.(string)
		raw, off, err := r.value()
		if err != nil {
			return nil, err
		}
		if !s.checkRaw(r.index, raw, off, 3) {
			return nil, nil
		}
		rec[key] = raw
	}
	if _, err := r.dec.Token(); err != nil {
		return nil, r.readErr(err)
	}
	return rec, nil
}

// resetBudget gives the next event its size budget, counting the bytes
// the decoder has buffered already.
func (r *reader) resetBudget(s *Source) {
	buffered := int64(0)
	if b, ok := r.dec.Buffered().(interface{ Len() int }); ok {
		buffered = int64(b.Len())
	}
	r.lim.n = s.opts.MaxEventBytes - buffered
	if r.lim.n < 1 {
		r.lim.n = 1
	}
}

// value reads one JSON value.
func (r *reader) value() (json.RawMessage, int64, error) {
	off := r.dec.InputOffset()
	var raw json.RawMessage
	if err := r.dec.Decode(&raw); err != nil {
		return nil, off, r.readErrAt(err, off)
	}
	return raw, off, nil
}

func (r *reader) readErr(err error) error { return r.readErrAt(err, r.dec.InputOffset()) }

// readErrAt classifies an error of the JSON decoder or the input.
func (r *reader) readErrAt(err error, off int64) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, errEventTooLarge):
		return &ingest.ObjectError{File: r.name, Index: r.index, Offset: off, Fatal: true,
			Err: fmt.Errorf("%w: event %d is larger than the limit", ingest.ErrTooLarge, r.index)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &ingest.ObjectError{File: r.name, Index: r.index, Offset: off, Fatal: true,
			Err: fmt.Errorf("%w: %w", ingest.ErrTruncated, err)}
	case errors.As(err, &se):
		return &ingest.ObjectError{File: r.name, Index: r.index, Offset: se.Offset, Fatal: true,
			Err: fmt.Errorf("%w: %w", ingest.ErrMalformedJSON, err)}
	}
	return &ingest.ObjectError{File: r.name, Index: r.index, Offset: off, Fatal: true, Err: fmt.Errorf("read: %w", err)}
}

func (r *reader) fatal(index int, field string, err error) error {
	return &ingest.ObjectError{File: r.name, Index: index, Field: field, Offset: r.dec.InputOffset(), Fatal: true, Err: err}
}

// check runs checkJSON on one element and decodes it; on failure it queues
// an error and reports false.
func (s *Source) check(index int, raw json.RawMessage, off int64, depth int) (record, bool) {
	if !s.checkRaw(index, raw, off, depth) {
		return nil, false
	}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '{' {
		s.errs = append(s.errs, &ingest.ObjectError{File: s.name, Index: index, Offset: off,
			Err: fmt.Errorf("%w: element is %s, not a JSON object", ErrNotEvent, clipRaw(raw))})
		return nil, false
	}
	rec, ok := splitObject(raw)
	if !ok {
		s.errs = append(s.errs, &ingest.ObjectError{File: s.name, Index: index, Offset: off, Err: fmt.Errorf("%w: malformed JSON object", ErrNotEvent)})
		return nil, false
	}
	return rec, true
}

// checkRaw runs checkJSON on a value found at the given depth of the
// input (1 for the top level), queueing an error when it fails.
func (s *Source) checkRaw(index int, raw json.RawMessage, off int64, depth int) bool {
	if at, err := checkJSON(raw, depth-1, s.opts.MaxDepth+depth-1); err != nil {
		s.errs = append(s.errs, &ingest.ObjectError{File: s.name, Index: index, Offset: off + int64(at), Err: err})
		return false
	}
	return true
}

// eventMarkers are fields only a MISP event has at its top.
var eventMarkers = []string{"info", "Attribute", "Object", "Orgc", "threat_level_id", "analysis", "Galaxy", "publish_timestamp", "attribute_count", "EventReport"}

// element handles one element of a response or top-level array.
func (s *Source) element(index int, rec record, off int64) {
	if raw, ok := rec["Event"]; ok {
		if len(rec) > 1 {
			for k := range rec {
				if k != "Event" {
					s.errs = append(s.errs, &ingest.ObjectError{File: s.name, Index: index, Field: k, Offset: off,
						Err: fmt.Errorf("%w: unexpected member %q next to \"Event\"", ErrNotEvent, clip(k))})
					return
				}
			}
		}
		ev, err := decodeRecord(raw, "Event")
		if err != nil {
			s.errs = append(s.errs, &ingest.ObjectError{File: s.name, Index: index, Field: "Event", Offset: off, Err: err})
			return
		}
		s.event(index, ev, off)
		return
	}
	if _, ok := rec["SharingGroup"]; ok {
		s.sharingGroup(index, rec, off)
		return
	}
	s.event(index, rec, off)
}

// event converts one event and queues its objects and errors.
func (s *Source) event(index int, ev record, off int64) {
	marked := false
	for _, k := range eventMarkers {
		if _, ok := ev[k]; ok {
			marked = true
			break
		}
	}
	if !marked {
		s.errs = append(s.errs, &ingest.ObjectError{File: s.name, Index: index, Offset: off,
			Err: fmt.Errorf("%w: none of the fields info, Attribute, Object, Orgc, …", ErrNotEvent)})
		return
	}
	out, errs := s.convertEvent(index, ev)
	s.errs = append(s.errs, errs...)
	s.queue = append(s.queue, out...)
}

// marking queues the TLP 2.0 marking definition ref the first time the
// source uses it.
func (s *Source) marking(e *eventConv, ref string) {
	if s.sent[ref] {
		return
	}
	t, ok := schema.TLPOfMarking(ref)
	if !ok {
		return
	}
	s.sent[ref] = true
	if md := TLPMarking(t); md != nil {
		// The standard TLP definitions are public.
		e.add(md, ingest.Hints{TLP: schema.TLPClear}, false)
	}
}

// TLPMarking returns the TLP 2.0 marking-definition object of a level as
// OASIS publishes it, or nil for schema.TLPUnmarked.
func TLPMarking(t schema.TLP) *schema.Object {
	id := t.MarkingID()
	if id == "" {
		return nil
	}
	level := t.String()[len("TLP:"):]
	o, err := build(map[string]any{
		"type": "marking-definition", "spec_version": "2.1", "id": id,
		"created": "2022-10-01T00:00:00.000Z", "name": t.String(),
		"extensions": map[string]any{
			schema.TLP2ExtensionID: map[string]any{"extension_type": "property-extension", "tlp_2_0": lowerASCII(level)},
		},
	})
	if err != nil {
		return nil
	}
	return o
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// sharingGroup converts a sharing group record ({"SharingGroup": …,
// "Organisation": …, "SharingGroupOrg": […], …}, as MISP's sharing group
// API returns it) into identities and an x-misp-sharing-group.
func (s *Source) sharingGroup(index int, rec record, off int64) {
	e := &eventConv{s: s, index: index, byID: map[string]int{}, isMember: map[string]bool{}}
	sg, err := decodeRecord(rec["SharingGroup"], "SharingGroup")
	if err != nil {
		e.fail("SharingGroup", "", err)
		s.errs = append(s.errs, e.errs...)
		return
	}
	name, _ := sg.str("name", "SharingGroup.")
	uuid, _ := sg.str("uuid", "SharingGroup.")
	var orgs []string
	creator, err := e.identity(rec, "Organisation", "")
	if err != nil {
		e.fail("Organisation", uuid, err)
	}
	if creator != nil {
		orgs = append(orgs, creator.ID)
	}
	members, err := record(rec).list("SharingGroupOrg", "")
	if err != nil {
		e.fail("SharingGroupOrg", uuid, err)
	}
	for i, m := range members {
		p := "SharingGroupOrg[" + strconv.Itoa(i) + "]"
		mr, err := decodeRecord(m, p)
		if err != nil {
			e.fail(p, uuid, err)
			continue
		}
		o, err := e.identity(mr, "Organisation", p+".")
		if err != nil {
			e.fail(p, uuid, err)
			continue
		}
		if o != nil && !contains(orgs, o.ID) {
			orgs = append(orgs, o.ID)
		}
	}
	created, ok, _ := sg.isoTime("created", "SharingGroup.")
	if !ok {
		created = refdata.Epoch
	}
	modified, ok, _ := sg.isoTime("modified", "SharingGroup.")
	if !ok || modified.Before(created) {
		modified = created
	}
	creatorName := ""
	if creator != nil {
		creatorName, _ = creator.String("name")
	}
	p := map[string]any{
		"type": TypeSharingGroup, "id": refdata.STIXID(TypeSharingGroup, uuid, "misp-sharing-group", name, creatorName),
		"spec_version": "2.1", "created": stamp(created), "modified": stamp(modified), "name": name,
	}
	if creator != nil {
		p["created_by_ref"] = creator.ID
	}
	if len(orgs) > 0 {
		p["organization_refs"] = orgs
	}
	keepFields(p, sg, sharingGroupKeys)
	for k, v := range rec {
		if k != "SharingGroup" && !isNull(v) && !isEmptyList(v) {
			p[propName(k)] = v
		}
	}
	o, err := build(p)
	if err != nil {
		e.fail("SharingGroup", uuid, fmt.Errorf("build sharing group: %w", err))
	} else {
		e.add(o, ingest.Hints{}, false)
	}
	s.errs = append(s.errs, e.errs...)
	s.queue = append(s.queue, e.out...)
}

var sharingGroupKeys = keySet("id", "uuid", "name", "description", "releasability", "local", "active",
	"roaming", "created", "modified", "org_id", "sync_user_id")

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
