package pipeline

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/ingest/misp"
	"github.com/verband-cti/verband/ingest/refdata"
	"github.com/verband-cti/verband/ingest/stix"
	"github.com/verband-cti/verband/schema"
)

// Format names an input format.
type Format string

// Formats the pipeline tells apart.
const (
	// STIX is a STIX 2.x bundle, a single object or an array of objects.
	STIX Format = "stix"
	// MISP is a MISP event {"Event":…}, a REST search response
	// {"response":[…]}, a list of events, or a feed manifest.
	MISP Format = "misp"
	// CSV is a CSV or TSV file of indicators.
	CSV Format = "csv"
	// List is a plain list of indicators, one a line, or a Maltrail trail
	// file.
	List Format = "list"
	// RefData is MISP reference data: a galaxy (loaded as its clusters), a
	// galaxy definition, a warninglist or a taxonomy (which hold no objects
	// and are skipped with a warning).
	RefData Format = "refdata"
)

// ErrReferenceData reports an input that is reference data without STIX
// objects of its own (a MISP warninglist, taxonomy or galaxy definition);
// loads skip it with a warning.
var ErrReferenceData = errors.New("reference data without objects to load")

// ErrSameList reports a list file whose container is that of another list
// file of the same load: same source and same file name, say two folders'
// "iocs.txt". A list's container is named after its file so that loading a
// newer copy of a list updates it; two different files under one name
// would silently replace each other's members instead.
var ErrSameList = errors.New("another input of this load is the same list")

// ErrUnsupportedFormat reports an input in a format this build cannot
// decode.
var ErrUnsupportedFormat = errors.New("unsupported input format")

// Supported reports whether this build decodes format f.
func Supported(f Format) bool {
	switch f {
	case STIX, MISP, CSV, List, RefData:
		return true
	}
	return false
}

// sniffBytes is how much of an input (after decompression) Detect needs.
const sniffBytes = 4096

// Detect tells an input's format from its name and its first bytes (after
// decompression; sniffBytes are enough). JSON is MISP when its first key is
// a UUID (a MISP feed's manifest.json); MISP reference data when its
// top-level members are those of a galaxy, warninglist or taxonomy; MISP
// when misp.Detect says so (an "Event" or "response" member, or fields only
// MISP events have); and STIX otherwise. Anything that is not JSON
// is CSV when the name (without .gz) ends in .csv or .tsv, and a plain list
// otherwise.
func Detect(name string, head []byte) Format {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) > 0 && (head[0] == '{' || head[0] == '[') {
		if k := firstKey(head); len(k) == 36 && strings.Count(k, "-") == 4 {
			return MISP
		}
		if refKind(head) != "" {
			return RefData
		}
		if misp.Detect(head) {
			return MISP
		}
		return STIX
	}
	n := strings.TrimSuffix(strings.ToLower(name), ".gz")
	if strings.HasSuffix(n, ".csv") || strings.HasSuffix(n, ".tsv") {
		return CSV
	}
	return List
}

// refKind tells MISP reference data by the top-level members the head
// shows: "galaxy" (clusters: authors, category), "galaxy definition"
// (icon), "warninglist" (list, matching_attributes), "taxonomy"
// (predicates), or "" for anything else, such as a STIX object (whose
// "id" is a STIX identifier).
func refKind(head []byte) string {
	dec := json.NewDecoder(bytes.NewReader(head))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	kind := ""
	for {
		tok, err := dec.Token()
		if err != nil {
			return kind // the head ended: decide on what was seen
		}
		key, ok := tok.(string)
		if !ok {
			return kind
		}
		switch key {
		case "id", "spec_version", "objects", "created", "modified":
			return ""
		case "authors", "category":
			if kind == "" {
				kind = "galaxy"
			}
		case "icon":
			kind = "galaxy definition"
		case "matching_attributes", "list":
			kind = "warninglist"
		case "predicates":
			kind = "taxonomy"
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return kind
		}
	}
}

// firstKey returns the first member name of the top-level JSON object, or
// of the first element of a top-level array, or "".
func firstKey(b []byte) string {
	skip := func() {
		b = bytes.TrimLeft(b, " \t\r\n")
	}
	skip()
	if len(b) > 0 && b[0] == '[' {
		b = b[1:]
		skip()
	}
	if len(b) == 0 || b[0] != '{' {
		return ""
	}
	b = b[1:]
	skip()
	if len(b) == 0 || b[0] != '"' {
		return ""
	}
	end := bytes.IndexByte(b[1:], '"')
	if end < 0 || end > 256 {
		return ""
	}
	return string(b[1 : 1+end])
}

// input is what open needs to know about one input.
type input struct {
	name    string
	modTime time.Time // the file's, or zero for a stream
}

// open sniffs an input's format and returns a source of its objects. STIX
// and MISP input goes to its decoder as it is (both handle gzip); lists get
// the decompressed stream.
func open(rd io.Reader, in input, opts Options) (ingest.Source, error) {
	name := in.name
	br := bufio.NewReaderSize(rd, 64<<10)
	head, err := br.Peek(sniffBytes)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, &ingest.ObjectError{File: name, Index: -1, Offset: -1, Fatal: true, Err: fmt.Errorf("read: %w", err)}
	}
	gz := len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b
	plain := head
	if gz {
		plain = gunzipHead(head)
	}
	switch format := Detect(name, plain); format {
	case STIX:
		return stix.NewDecoder(br, name, opts.Decoder)
	case MISP:
		if k := firstKey(plain); len(k) == 36 && filepath.Base(name) == "manifest.json" {
			return openFeed(filepath.Dir(name), opts)
		}
		return misp.NewSource(br, name, opts.MISP)
	case RefData:
		if kind := refKind(bytes.TrimLeft(bytes.TrimPrefix(plain, []byte("\xef\xbb\xbf")), " \t\r\n")); kind != "galaxy" {
			return nil, fmt.Errorf("%s: MISP %s: %w", name, kind, ErrReferenceData)
		}
		var r io.Reader = br
		if gz {
			zr, err := gzip.NewReader(br)
			if err != nil {
				return nil, &ingest.ObjectError{File: name, Index: -1, Offset: -1, Fatal: true, Err: fmt.Errorf("gunzip: %w", err)}
			}
			r = zr
		}
		g, err := refdata.ReadGalaxy(r, name)
		if err != nil {
			return nil, &ingest.ObjectError{File: name, Index: -1, Offset: -1, Fatal: true, Err: err}
		}
		return refdata.NewGalaxies(g).Source(name), nil
	default: // CSV, List
		var r io.Reader = br
		if gz {
			zr, err := gzip.NewReader(br)
			if err != nil {
				return nil, &ingest.ObjectError{File: name, Index: -1, Offset: -1, Fatal: true, Err: fmt.Errorf("gunzip: %w", err)}
			}
			r = gunzipErrors{zr}
		}
		lo := opts.Lists
		if lo.Source == "" && opts.Source != DefaultSource {
			lo.Source = opts.Source
		}
		if lo.Time.IsZero() {
			lo.Time = in.modTime
		}
		if lo.Format == lists.FormatAuto {
			lo.Format = lists.DetectFormat(strings.TrimSuffix(name, filepath.Ext(name)), plain)
			if !strings.EqualFold(filepath.Ext(name), ".gz") {
				lo.Format = lists.DetectFormat(name, plain)
			}
		}
		return lists.NewDecoder(r, name, lo)
	}
}

// openFeed opens a MISP feed folder as one source.
func openFeed(dir string, opts Options) (ingest.Source, error) {
	src, closer, err := misp.OpenFeed(dir, opts.MISP)
	if err != nil {
		return nil, err
	}
	return &closingSource{Source: src, Closer: closer}, nil
}

// closingSource closes its Closer at the end of its objects.
type closingSource struct {
	ingest.Source
	io.Closer
}

// Next returns the source's next object and closes the closer at the end.
func (c *closingSource) Next() (*schema.Object, error) {
	o, err := c.Source.Next()
	if err != nil && (err == io.EOF || ingest.IsFatal(err)) && c.Closer != nil {
		c.Closer.Close()
		c.Closer = nil
	}
	return o, err
}

// Hints passes on the source's hints.
func (c *closingSource) Hints() ingest.Hints {
	if h, ok := c.Source.(ingest.Hinter); ok {
		return h.Hints()
	}
	return ingest.Hints{}
}

// gunzipErrors turns a truncated gzip stream into ingest.ErrTruncated.
type gunzipErrors struct{ zr *gzip.Reader }

func (g gunzipErrors) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("gunzip: %w: %w", ingest.ErrTruncated, err)
		} else {
			err = fmt.Errorf("gunzip: %w", err)
		}
	}
	return n, err
}

// gunzipHead decompresses as much of the start of a gzip stream as head
// holds.
func gunzipHead(head []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(head))
	if err != nil {
		return nil
	}
	out := make([]byte, sniffBytes)
	n, _ := io.ReadFull(zr, out)
	return out[:n]
}
