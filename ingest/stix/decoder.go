package stix

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/schema"
)

// Defaults for Options.
const (
	// DefaultMaxObjectBytes is the default size limit of one object: 64 MiB.
	DefaultMaxObjectBytes = 64 << 20
	// DefaultMaxDepth is the default nesting limit inside one object.
	DefaultMaxDepth = 64
)

// Options tune a Decoder. Start from DefaultOptions.
type Options struct {
	// MaxObjectBytes limits the size of one object as it appears in the
	// (decompressed) input, whitespace included. A larger object yields an
	// error wrapping ingest.ErrTooLarge and is skipped. Zero means
	// DefaultMaxObjectBytes.
	MaxObjectBytes int
	// MaxDepth limits the nesting of arrays and objects inside one object;
	// the object itself is at depth 1. A deeper object yields an error
	// wrapping ingest.ErrTooDeep and is skipped. Zero means DefaultMaxDepth;
	// values above 10000 count as 10000.
	MaxDepth int
	// Upgrade20 upgrades STIX 2.0 objects to 2.1 as the package
	// documentation describes. It is on in DefaultOptions and off in the
	// zero Options.
	Upgrade20 bool
}

// DefaultOptions returns safe defaults: 64 MiB per object, nesting depth 64,
// STIX 2.0 upgrade on.
func DefaultOptions() Options {
	return Options{MaxObjectBytes: DefaultMaxObjectBytes, MaxDepth: DefaultMaxDepth, Upgrade20: true}
}

// Decoder states.
const (
	stStart     = iota // nothing read yet
	stHeader           // inside the top-level object, between members
	stElemFirst        // after the '[' of "objects" or of a top-level array
	stElem             // after an element of such an array
	stEnd              // after the top-level value
	stDone             // io.EOF or a fatal error returned; see err
)

// maxInterned and maxInternedLen bound the decoder's table of property
// names.
const (
	maxInterned    = 4096
	maxInternedLen = 64
)

// Decoder reads STIX objects one at a time from a bundle, a single object,
// or a top-level array of objects. It holds at most one object in memory.
// A Decoder is not safe for concurrent use.
type Decoder struct {
	name string
	opts Options
	s    scanner

	state int
	err   error // returned by every Next once state is stDone
	index int   // index of the next element

	// The top-level object, member by member.
	topStart  int64
	hdrFirst  bool                // no member read yet
	hdrBuf    []byte              // buffered values, while it may be a single object
	hdrSpans  []hdrSpan           // buffered members, spans of hdrBuf
	hdrSeen   map[string]bool     // which of type, id, spec_version and objects were read
	hdrErr    *ingest.ObjectError // first problem with a member
	typ       string              // the "type" member, when it is a string
	typSeen   bool                // a "type" member was read
	streamed  bool                // an "objects" array was streamed
	inBundle  bool                // elements come from a bundle's "objects"
	topID     string              // the "id" member, when it is a string
	specVer   string              // the "spec_version" member, when it is a string
	objNotArr bool                // "objects" was not an array

	unversioned int // objects that missed the 2.0 upgrade, see upgrade
	pending     error

	keys map[string]string // interned property names
}

// hdrSpan is one buffered member of the top-level object.
type hdrSpan struct {
	key    string
	vs, ve int
}

// NewDecoder returns a decoder reading r, which may be gzip-compressed
// (detected by its magic bytes, whatever the name). The name is used in
// errors only. NewDecoder reads the first bytes of r; it fails when they
// cannot be read or the gzip header is bad, with an *ingest.ObjectError, or
// when opts hold negative limits.
func NewDecoder(r io.Reader, name string, opts Options) (*Decoder, error) {
	if opts.MaxObjectBytes < 0 || opts.MaxDepth < 0 {
		return nil, fmt.Errorf("new STIX decoder: negative limit in options %+v", opts)
	}
	if opts.MaxObjectBytes == 0 {
		opts.MaxObjectBytes = DefaultMaxObjectBytes
	}
	if opts.MaxDepth == 0 {
		opts.MaxDepth = DefaultMaxDepth
	}
	opts.MaxDepth = min(opts.MaxDepth, hardMaxDepth)
	d := &Decoder{name: name, opts: opts, index: 0, keys: make(map[string]string)}
	br := bufio.NewReaderSize(r, readBufSize)
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, d.errAt(-1, "", 0, true, fmt.Errorf("read: %w", err))
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
			return nil, d.errAt(-1, "", 0, true, err)
		}
		src = gunzipReader{zr}
	}
	d.s.src = src
	d.s.buf = make([]byte, readBufSize)
	d.s.limit = -1
	return d, nil
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

// OpenFile opens a file for decoding; the closer closes it. The path is the
// name used in errors.
func OpenFile(path string, opts Options) (*Decoder, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open STIX file: %w", err)
	}
	d, err := NewDecoder(f, path, opts)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return d, f, nil
}

// Bundle returns the bundle's id and spec_version once they have been
// read, which is before the first object unless the bundle puts them after
// "objects". Both are empty for a single object or a top-level array.
func (d *Decoder) Bundle() (id, specVersion string) {
	if d.typ == "bundle" || d.streamed {
		return d.topID, d.specVer
	}
	return "", ""
}

// Next returns the next object, or io.EOF after the last one. On bad input
// it returns an *ingest.ObjectError. When ingest.IsFatal reports false, the
// error is about one object, which is skipped (or, with Index -1, it is the
// ingest.ErrNotUpgraded warning about the bundle), and the caller may call
// Next again; otherwise every further call returns the same error.
func (d *Decoder) Next() (*schema.Object, error) {
	for {
		switch d.state {
		case stStart:
			if err := d.start(); err != nil {
				return nil, err
			}
		case stHeader:
			obj, err, done := d.header()
			if done {
				return obj, err
			}
		case stElemFirst, stElem:
			obj, err, done := d.element()
			if done {
				return obj, err
			}
		case stEnd:
			return nil, d.end()
		default:
			return nil, d.err
		}
	}
}

// start reads the first byte of the top-level value.
func (d *Decoder) start() error {
	s := &d.s
	// Skip a UTF-8 byte order mark.
	if s.ensure(3) && string(s.buf[s.r:s.r+3]) == "\xef\xbb\xbf" {
		s.r += 3
	}
	c, ok := s.skipSpace()
	switch {
	case !ok && s.readErr(false) == nil:
		return d.fatal(-1, "", s.offset(), ingest.ErrEmpty)
	case !ok:
		return d.fatal(-1, "", s.offset(), s.readErr(false))
	case c == '{':
		d.topStart = s.offset()
		s.r++
		d.state, d.hdrFirst = stHeader, true
		d.hdrSeen = make(map[string]bool)
	case c == '[':
		s.r++
		d.state = stElemFirst
	default:
		return d.fatal(-1, "", s.offset(), fmt.Errorf("%w: it starts with %s", ingest.ErrBadTopLevel, quoteChar(c)))
	}
	return nil
}

// header reads members of the top-level object until it finds the
// "objects" array of a bundle, or the end of the object. done reports that
// Next should return obj and err.
func (d *Decoder) header() (obj *schema.Object, err error, done bool) {
	s := &d.s
	for {
		c, ok := s.skipSpace()
		if !ok {
			return nil, d.fatal(-1, "", s.offset(), s.endErr()), true
		}
		if !d.hdrFirst {
			if c == '}' {
				s.r++
				return d.finishTop()
			}
			if c != ',' {
				return nil, d.fatalSyntax(-1, "", s.syntaxErr("invalid character %s after top-level object key:value pair", quoteChar(c))), true
			}
			s.r++
			if c, ok = s.skipSpace(); !ok {
				return nil, d.fatal(-1, "", s.offset(), s.endErr()), true
			}
		} else if c == '}' {
			s.r++
			return d.finishTop()
		}
		d.hdrFirst = false
		if c != '"' {
			return nil, d.fatalSyntax(-1, "", s.syntaxErr("invalid character %s looking for beginning of object key string", quoteChar(c))), true
		}
		key, err := d.readKey()
		if err != nil {
			return nil, err, true
		}
		if c, ok = s.skipSpace(); !ok {
			return nil, d.fatal(-1, key, s.offset(), s.endErr()), true
		}
		if c != ':' {
			return nil, d.fatalSyntax(-1, key, s.syntaxErr("invalid character %s after object key", quoteChar(c))), true
		}
		s.r++
		if c, ok = s.skipSpace(); !ok {
			return nil, d.fatal(-1, key, s.offset(), s.endErr()), true
		}
		var dup bool
		switch key {
		case "type", "id", "spec_version", "objects":
			dup = d.hdrSeen[key]
			d.hdrSeen[key] = true
		}
		bundleLike := !d.typSeen || d.typ == "bundle"
		if key == "objects" && c == '[' && bundleLike {
			if dup {
				return nil, d.bundleErr(d.errAt(-1, key, s.offset(), true, ingest.ErrDuplicateKey)), true
			}
			if d.hdrErr != nil && d.hdrErr.Err != ingest.ErrTooLarge {
				return nil, d.bundleErr(d.hdrErr), true
			}
			s.r++
			d.streamed, d.inBundle = true, true
			d.hdrBuf, d.hdrSpans = nil, nil
			d.state = stElemFirst
			return nil, nil, false
		}
		if err := d.headerValue(key, dup); err != nil {
			return nil, err, true
		}
	}
}

// headerValue reads the value of one member of the top-level object. Until
// the object is known to be a bundle every value is buffered, within
// MaxObjectBytes, in case the object is a single STIX object; of a bundle,
// only type, id and spec_version are kept.
func (d *Decoder) headerValue(key string, dup bool) error {
	s := &d.s
	wanted := key == "type" || key == "id" || key == "spec_version"
	bundle := d.typ == "bundle"
	if bundle && key == "objects" {
		return d.bundleErr(d.errAt(-1, key, s.offset(), true, fmt.Errorf("%w: \"objects\" is not an array", ingest.ErrBadTopLevel)))
	}
	if dup {
		if bundle || d.streamed {
			return d.bundleErr(d.errAt(-1, key, s.offset(), true, ingest.ErrDuplicateKey))
		}
		return d.fatalFrom(&ingest.ObjectError{File: d.name, Index: 0, ID: d.topID, Field: key, Offset: s.offset(), Err: ingest.ErrDuplicateKey})
	}
	// While the object may be a single STIX object, its members are
	// buffered, and its size counts from its opening brace. The members a
	// bundle needs are read in any case, each within MaxObjectBytes.
	overflow := d.hdrErr != nil && d.hdrErr.Err == ingest.ErrTooLarge
	buffer := !bundle && !d.streamed && !overflow
	switch {
	case wanted:
		s.begin(false, false, d.opts.MaxDepth-1, int64(d.opts.MaxObjectBytes))
	case buffer:
		s.begin(false, false, d.opts.MaxDepth-1, int64(d.opts.MaxObjectBytes))
		s.start = d.topStart
	default:
		s.begin(true, false, d.opts.MaxDepth-1, -1)
	}
	if err := s.scanValue(); err != nil {
		return d.fatalSyntax(-1, key, err)
	}
	if s.problem != nil {
		if d.hdrErr == nil {
			d.hdrErr = d.errAt(0, key, s.problemOff, false, s.problem)
		}
		return nil
	}
	if buffer && wanted && s.offset()-d.topStart > int64(d.opts.MaxObjectBytes) && d.hdrErr == nil {
		d.hdrErr = d.errAt(0, key, d.topStart+int64(d.opts.MaxObjectBytes), false, ingest.ErrTooLarge)
	}
	raw := s.out
	if buffer {
		vs := len(d.hdrBuf)
		d.hdrBuf = append(d.hdrBuf, raw...)
		d.hdrSpans = append(d.hdrSpans, hdrSpan{key: key, vs: vs, ve: len(d.hdrBuf)})
	}
	if !wanted && key != "objects" {
		return nil
	}
	var str string
	isStr := len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &str) == nil
	switch key {
	case "type":
		d.typSeen = true
		d.typ = ""
		if isStr {
			d.typ = str
		}
		if d.typ == "bundle" {
			// The buffered members are not needed any more.
			d.hdrBuf, d.hdrSpans = nil, nil
		}
	case "id":
		d.topID = str
	case "spec_version":
		d.specVer = str
	case "objects":
		d.objNotArr = true
	}
	return nil
}

// readKey reads a member name of the top-level object.
func (d *Decoder) readKey() (string, error) {
	s := &d.s
	s.begin(false, false, 1, int64(d.opts.MaxObjectBytes))
	err := s.scanString()
	s.checkSize()
	s.endLimit()
	if err != nil {
		return "", d.fatalSyntax(-1, "", err)
	}
	if s.problem != nil {
		// Invalid UTF-8, or a name larger than MaxObjectBytes.
		if d.hdrErr == nil {
			d.hdrErr = d.errAt(0, "", s.problemOff, false, s.problem)
		}
		if s.discard {
			return "", nil
		}
	}
	key, err := decodeKey(s.out)
	if err != nil {
		return "", d.fatal(-1, "", s.offset(), fmt.Errorf("%w: top-level member name: %w", ingest.ErrMalformedJSON, err))
	}
	return key, nil
}

// finishTop handles the end of the top-level object: the end of a bundle,
// or a single object.
func (d *Decoder) finishTop() (*schema.Object, error, bool) {
	d.state = stEnd
	if d.streamed || d.typ == "bundle" {
		switch {
		case d.typ != "bundle":
			return nil, d.bundleErr(d.errAt(-1, "type", d.topStart, true, fmt.Errorf("%w: an object with an \"objects\" array has type %q, not \"bundle\"", ingest.ErrBadTopLevel, d.typ))), true
		case d.objNotArr:
			return nil, d.bundleErr(d.errAt(-1, "objects", d.topStart, true, fmt.Errorf("%w: \"objects\" is not an array", ingest.ErrBadTopLevel))), true
		case d.hdrErr != nil && d.hdrErr.Err != ingest.ErrTooLarge:
			return nil, d.bundleErr(d.hdrErr), true
		}
		if d.opts.Upgrade20 && d.specVer == "2.0" && d.unversioned > 0 {
			d.pending = &ingest.ObjectError{File: d.name, Index: -1, ID: d.topID, Field: "spec_version", Offset: -1,
				Err: fmt.Errorf("%w: %d object(s)", ingest.ErrNotUpgraded, d.unversioned)}
		}
		return nil, nil, false
	}
	// A single object.
	d.index = 1
	if d.hdrErr != nil {
		e := *d.hdrErr
		e.ID = d.topID
		return nil, &e, true
	}
	props := make(map[string]json.RawMessage, len(d.hdrSpans))
	for _, m := range d.hdrSpans {
		if _, dup := props[m.key]; dup {
			return nil, &ingest.ObjectError{File: d.name, Index: 0, ID: d.topID, Field: m.key, Offset: d.topStart, Err: ingest.ErrDuplicateKey}, true
		}
		props[m.key] = d.hdrBuf[m.vs:m.ve:m.ve]
	}
	d.hdrBuf, d.hdrSpans = nil, nil
	obj, err := d.object(props, 0, d.topStart)
	return obj, err, true
}

// element reads the next element of the "objects" array or of the
// top-level array.
func (d *Decoder) element() (*schema.Object, error, bool) {
	s := &d.s
	c, ok := s.skipSpace()
	if !ok {
		return nil, d.fatal(-1, "", s.offset(), s.endErr()), true
	}
	if d.state == stElem || c == ']' {
		switch {
		case c == ']':
			s.r++
			if d.inBundle {
				d.state = stHeader
			} else {
				d.state = stEnd
			}
			return nil, nil, false
		case c != ',':
			return nil, d.fatalSyntax(-1, "", s.syntaxErr("invalid character %s after array element", quoteChar(c))), true
		}
		s.r++
		if c, ok = s.skipSpace(); !ok {
			return nil, d.fatal(-1, "", s.offset(), s.endErr()), true
		}
	}
	d.state = stElem
	idx := d.index
	d.index++
	start := s.offset()
	isObj := c == '{'
	s.begin(!isObj, true, d.opts.MaxDepth, int64(d.opts.MaxObjectBytes))
	if err := s.scanValue(); err != nil {
		return nil, d.fatalSyntax(idx, "", err), true
	}
	if !isObj {
		return nil, d.errAt(idx, "", start, false, fmt.Errorf("%w: an array element is not a JSON object", ingest.ErrNotObject)), true
	}
	if s.problem != nil && (s.problem != ingest.ErrInvalidUTF8 || s.discard) {
		e := d.errAt(idx, s.problemKey, start, false, s.problem)
		e.ID = s.problemID
		d.shrink()
		return nil, e, true
	}
	// Copy the object out of the scratch buffer, which the next one reuses.
	data := make([]byte, len(s.out))
	copy(data, s.out)
	d.shrink()
	props := make(map[string]json.RawMessage, len(s.members))
	var dupKey string
	for _, m := range s.members {
		key := d.intern(data[m.ks:m.ke])
		if _, dup := props[key]; dup && dupKey == "" {
			dupKey = key
		}
		props[key] = data[m.vs:m.ve:m.ve]
	}
	if s.problem != nil || dupKey != "" {
		id := ""
		if raw, ok := props["id"]; ok {
			json.Unmarshal(raw, &id)
		}
		if s.problem != nil {
			e := d.errAt(idx, s.problemKey, start, false, s.problem)
			e.ID = id
			return nil, e, true
		}
		e := d.errAt(idx, dupKey, start, false, ingest.ErrDuplicateKey)
		e.ID = id
		return nil, e, true
	}
	obj, err := d.object(props, idx, start)
	return obj, err, true
}

// shrink drops a scratch buffer that a large object has grown, so that
// the decoder does not keep holding it.
func (d *Decoder) shrink() {
	if cap(d.s.out) > 4<<20 {
		d.s.out = nil
	}
	if cap(d.s.members) > 1<<14 {
		d.s.members = nil
	}
}

// intern returns a property name as a string, sharing the strings of
// names seen before.
func (d *Decoder) intern(quoted []byte) string {
	if k, ok := d.keys[string(quoted)]; ok {
		return k
	}
	k, err := decodeKey(quoted)
	if err != nil {
		// The scanner has checked the syntax; this cannot happen.
		k = string(quoted)
	}
	if len(d.keys) < maxInterned && len(quoted) <= maxInternedLen {
		d.keys[string(quoted)] = k
	}
	return k
}

// object turns the properties of one object into a schema.Object and
// upgrades it.
func (d *Decoder) object(props map[string]json.RawMessage, idx int, start int64) (*schema.Object, error) {
	obj, err := schema.NewObject(props)
	if err != nil {
		e := d.errAt(idx, "", start, false, err)
		var ve *schema.ValidationError
		if errors.As(err, &ve) {
			e.Field = ve.Property
			e.ID = ve.ObjectID
		}
		if e.ID == "" {
			if raw, ok := props["id"]; ok {
				json.Unmarshal(raw, &e.ID)
			}
		}
		return nil, e
	}
	if obj.Type == "bundle" {
		return nil, &ingest.ObjectError{File: d.name, Index: idx, ID: obj.ID, Field: "type", Offset: start,
			Err: fmt.Errorf("%w: a bundle inside a bundle or array", ingest.ErrNotObject)}
	}
	if d.opts.Upgrade20 {
		d.upgrade(obj)
	}
	return obj, nil
}

// end checks that nothing but whitespace follows the top-level value, and
// that the input ends cleanly (for gzip, with a good checksum).
func (d *Decoder) end() error {
	s := &d.s
	c, ok := s.skipSpace()
	if ok {
		return d.fatal(-1, "", s.offset(), fmt.Errorf("%w: %s", ingest.ErrTrailingData, quoteChar(c)))
	}
	if err := s.readErr(false); err != nil {
		return d.fatal(-1, "", s.offset(), err)
	}
	if d.pending != nil {
		err := d.pending
		d.pending = nil
		return err
	}
	d.state, d.err = stDone, io.EOF
	return io.EOF
}

// errAt builds an error about the object at idx (or -1).
func (d *Decoder) errAt(idx int, field string, off int64, fatal bool, err error) *ingest.ObjectError {
	return &ingest.ObjectError{File: d.name, Index: idx, Field: field, Offset: off, Fatal: fatal, Err: err}
}

// fatal ends the stream with an error.
func (d *Decoder) fatal(idx int, field string, off int64, err error) error {
	return d.fatalFrom(d.errAt(idx, field, off, true, err))
}

// fatalSyntax ends the stream with a scanner error at the scanner's error
// offset.
func (d *Decoder) fatalSyntax(idx int, field string, err error) error {
	return d.fatal(idx, field, d.s.errOff, err)
}

// fatalFrom ends the stream with e, marked fatal.
func (d *Decoder) fatalFrom(e *ingest.ObjectError) error {
	c := *e
	c.Fatal = true
	d.state, d.err = stDone, &c
	return &c
}

// bundleErr ends the stream with an error about the bundle itself.
func (d *Decoder) bundleErr(e *ingest.ObjectError) error {
	c := *e
	c.Index, c.ID = -1, d.topID
	return d.fatalFrom(&c)
}

// Name returns the name the decoder was given, which errors use; with Next
// it makes a Decoder an ingest.Source.
func (d *Decoder) Name() string { return d.name }
