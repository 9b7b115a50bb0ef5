package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/ingest/stix"
	"github.com/verband-cti/verband/schema"
)

// DefaultSource is the source name used when Options.Source is empty.
const DefaultSource = "stix"

// ErrorMode says what a load does with an object it cannot store.
type ErrorMode uint8

// Error modes.
const (
	// Stop ends the load at the first bad object. The open chunk is
	// discarded; chunks committed before stay stored.
	Stop ErrorMode = iota
	// Skip leaves bad objects out, collects their errors in Stats.Errors and
	// goes on.
	Skip
)

// String returns "stop" or "skip".
func (m ErrorMode) String() string {
	if m == Skip {
		return "skip"
	}
	return "stop"
}

// ParseErrorMode parses "stop" or "skip".
func ParseErrorMode(s string) (ErrorMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "stop":
		return Stop, nil
	case "skip":
		return Skip, nil
	}
	return Stop, fmt.Errorf("parse error mode %q: want stop or skip", s)
}

// Options configure a Loader. The zero value is usable: source "stix", no
// owner, unmarked objects stay unmarked, stop at the first error, chunks of
// 2,000 objects, no progress reports.
type Options struct {
	// Source names where the data comes from, such as "mitre-attack"; it is
	// recorded in each object's provenance. Default DefaultSource.
	Source string
	// Owner is the organization that owns the loaded objects. Default empty
	// (reference data without an owner).
	Owner string
	// TLP is the level given to objects that carry no TLP marking of their
	// own. Default schema.TLPUnmarked, which every organization may see.
	TLP schema.TLP
	// Sharing lists the organizations that may see the loaded AMBER objects
	// besides the owner.
	Sharing []string
	// Viewer is who writes. Default graph.System().
	Viewer *graph.Viewer
	// OnError is Stop (the default) or Skip.
	OnError ErrorMode
	// ChunkObjects is the number of objects committed atomically together.
	// Default 2,000 (graph.BulkOptions).
	ChunkObjects int
	// Decoder tunes the STIX decoder. The zero value means
	// stix.DefaultOptions().
	Decoder stix.Options
	// Progress, when set, is called on the loading goroutine at most every
	// ProgressInterval while a load runs, and once more at its end (with
	// Done set).
	Progress func(Progress)
	// ProgressInterval is the least time between two progress reports.
	// Default 200 ms.
	ProgressInterval time.Duration
}

// Progress reports how far a load has come.
type Progress struct {
	// File is the file being read, and FileIndex its 0-based position among
	// Files files.
	File             string
	FileIndex, Files int
	// BytesRead counts the bytes read from the files so far (compressed
	// bytes for gzip files), of BytesTotal in all; BytesTotal is 0 when
	// unknown.
	BytesRead, BytesTotal int64
	// Objects counts the objects read, Committed those durably stored (in
	// any outcome), Rejected those left out.
	Objects, Committed, Rejected int
	// Elapsed is the time since the load started.
	Elapsed time.Duration
	// Done is set on the last report of a load.
	Done bool
}

// Stats counts what a load did.
type Stats struct {
	// Files is the number of files read, Bytes their size.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Objects is the number of objects read, good and bad.
	Objects int `json:"objects"`
	// Created, Updated, Unchanged and Older count the committed objects by
	// what the store did with them (see graph.Outcome).
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Older     int `json:"older"`
	// Rejected counts the objects left out, and, in Skip mode, files that
	// could not be read to their end.
	Rejected int `json:"rejected"`
	// Chunks is the number of committed chunks.
	Chunks int `json:"chunks"`
	// Duration is the wall time of the load.
	Duration time.Duration `json:"duration_ns"`
	// Errors holds the error of every rejected object or unreadable file, in
	// the order they were met (Skip mode).
	Errors []error `json:"-"`
	// Warnings holds problems that did not cost an object, such as STIX 2.0
	// objects that could not be upgraded.
	Warnings []error `json:"-"`
}

// Committed returns the number of objects committed in any outcome.
func (s Stats) Committed() int { return s.Created + s.Updated + s.Unchanged + s.Older }

// Loader loads STIX bundles into a store.
type Loader struct {
	store *graph.Store
	opts  Options
}

// New returns a loader writing into store with opts.
func New(store *graph.Store, opts Options) *Loader {
	if opts.Source == "" {
		opts.Source = DefaultSource
	}
	if opts.Decoder == (stix.Options{}) {
		opts.Decoder = stix.DefaultOptions()
	}
	if opts.ProgressInterval <= 0 {
		opts.ProgressInterval = 200 * time.Millisecond
	}
	return &Loader{store: store, opts: opts}
}

// LoadFiles loads each file in turn (a bundle, a single object or an array
// of objects, plain or gzip-compressed) and returns what it did. The error
// is the first bad object's in Stop mode, or a failure of the store or of
// ctx in either mode; Stats then count what was committed before it.
func (l *Loader) LoadFiles(ctx context.Context, paths []string) (Stats, error) {
	r := l.newRun(ctx)
	r.files = len(paths)
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			r.bytesTotal += st.Size()
		}
	}
	for i, p := range paths {
		r.fileIndex = i
		if err := r.loadFile(p); err != nil {
			return r.fail(err)
		}
	}
	return r.finish()
}

// LoadReader loads one stream named name (used in errors and provenance) of
// size bytes (0 when unknown).
func (l *Loader) LoadReader(ctx context.Context, rd io.Reader, name string, size int64) (Stats, error) {
	r := l.newRun(ctx)
	r.files, r.bytesTotal = 1, size
	if err := r.loadStream(rd, name); err != nil {
		return r.fail(err)
	}
	return r.finish()
}

// run is the state of one load.
type run struct {
	l     *Loader
	ctx   context.Context
	start time.Time
	bulk  *graph.Bulk
	// pending holds the objects put since the last commit, so that a chunk
	// lost to one oversized object can be replayed without it.
	pending []item
	stats   Stats
	// markings maps producer-minted marking definitions to the TLP level
	// they state.
	markings map[string]schema.TLP

	files, fileIndex int
	file             string
	bytesBefore      int64 // bytes of the files finished
	counter          *countingReader
	bytesTotal       int64
	lastReport       time.Time
}

type item struct {
	o *schema.Object
	m graph.Meta
}

func (l *Loader) newRun(ctx context.Context) *run {
	r := &run{l: l, ctx: ctx, start: time.Now(), markings: map[string]schema.TLP{}}
	r.newBulk()
	return r
}

func (r *run) newBulk() {
	v := graph.System()
	if r.l.opts.Viewer != nil {
		v = *r.l.opts.Viewer
	}
	r.bulk = r.l.store.NewBulk(v, graph.BulkOptions{ChunkObjects: r.l.opts.ChunkObjects, OnCommit: r.committed})
}

// committed is the bulk's OnCommit: it counts the chunk and drops its
// objects from pending (they are the oldest ones).
func (r *run) committed(c graph.BulkStats) {
	r.stats.Created += c.Created
	r.stats.Updated += c.Updated
	r.stats.Unchanged += c.Unchanged
	r.stats.Older += c.Older
	r.stats.Chunks += c.Chunks
	n := min(c.Objects, len(r.pending))
	clear(r.pending[:n])
	r.pending = r.pending[n:]
}

func (r *run) loadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		if r.l.opts.OnError == Skip {
			r.reject(&ingest.ObjectError{File: path, Index: -1, Offset: -1, Fatal: true, Err: fmt.Errorf("open: %w", err)})
			return nil
		}
		return fmt.Errorf("load %s: open: %w", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		defer func() { r.bytesBefore += st.Size(); r.counter = nil }()
	}
	return r.loadStream(f, path)
}

// loadStream decodes one input and puts its objects into the bulk.
func (r *run) loadStream(rd io.Reader, name string) error {
	r.file = name
	r.stats.Files++
	r.counter = &countingReader{r: rd}
	defer func() { r.stats.Bytes += r.counter.n }()
	dec, err := stix.NewDecoder(r.counter, name, r.l.opts.Decoder)
	if err != nil {
		return r.badInput(err)
	}
	fileName := filepath.Base(name)
	next := 0 // position of the next object in the input
	for {
		if err := r.ctx.Err(); err != nil {
			return fmt.Errorf("load %s: %w", name, err)
		}
		o, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var oe *ingest.ObjectError
			if errors.As(err, &oe) && oe.Index >= 0 {
				next = oe.Index + 1
			}
			if errors.Is(err, ingest.ErrNotUpgraded) {
				r.stats.Warnings = append(r.stats.Warnings, err)
				continue
			}
			if ingest.IsFatal(err) {
				// Nothing more can be read from this input.
				return r.badInput(err)
			}
			r.stats.Objects++
			if err := r.badInput(err); err != nil {
				return err
			}
			continue
		}
		index := next
		next++
		r.stats.Objects++
		if err := r.put(o, name, fileName, index); err != nil {
			return err
		}
		r.report(false)
	}
	return nil
}

// badInput handles an error about the input: in Skip mode it is recorded
// and the load goes on (nil); in Stop mode it is returned.
func (r *run) badInput(err error) error {
	if r.l.opts.OnError == Skip {
		r.reject(err)
		return nil
	}
	return err
}

func (r *run) reject(err error) {
	r.stats.Rejected++
	r.stats.Errors = append(r.stats.Errors, err)
}

// put prepares one decoded object and adds it to the bulk.
func (r *run) put(o *schema.Object, name, fileName string, index int) error {
	origID := o.ID
	objErr := func(err error) error {
		oe := &ingest.ObjectError{File: name, Index: index, ID: origID, Offset: -1, Err: err}
		var ve *schema.ValidationError
		if errors.As(err, &ve) {
			oe.Field = ve.Property
		}
		return oe
	}
	if _, err := schema.Canonicalize(o); err != nil {
		return r.badInput(objErr(err))
	}
	if err := schema.Validate(o); err != nil {
		return r.badInput(objErr(err))
	}
	m := graph.Meta{
		Policy:     graph.Policy{Owner: r.l.opts.Owner, TLP: r.tlpOf(o), Sharing: r.l.opts.Sharing},
		Provenance: graph.Provenance{Source: r.l.opts.Source, File: fileName},
	}
	if o.ID != origID {
		m.Provenance.OriginalID = origID
	}
	if o.Type == "marking-definition" {
		if _, std := schema.TLPOfMarking(o.ID); !std {
			if t, ok := schema.TLPFromDefinition(o); ok {
				r.markings[o.ID] = t
			}
		}
	}
	r.pending = append(r.pending, item{o, m})
	err := r.bulk.Put(o, m)
	if err == nil {
		return nil
	}
	if !errors.Is(err, graph.ErrTooLarge) {
		return fmt.Errorf("load %s: store object %d (%s): %w", name, index, o.ID, err)
	}
	// The object alone is too large for one transaction. The bulk has
	// discarded its open chunk; the object is the last pending one.
	r.pending = r.pending[:len(r.pending)-1]
	if err := r.badInput(objErr(err)); err != nil {
		return err
	}
	return r.replay()
}

// replay starts a new bulk and puts the pending objects into it again.
func (r *run) replay() error {
	items := r.pending
	r.pending = nil
	r.newBulk()
	for _, it := range items {
		r.pending = append(r.pending, it)
		if err := r.bulk.Put(it.o, it.m); err != nil {
			return fmt.Errorf("load: store object %s again after a rejected one: %w", it.o.ID, err)
		}
	}
	return nil
}

// tlpOf returns the object's TLP level from its markings, or the default.
func (r *run) tlpOf(o *schema.Object) schema.TLP {
	t := schema.TLPOf(o)
	if len(r.markings) > 0 {
		for _, ref := range o.Strings("object_marking_refs") {
			if mt, ok := r.markings[ref]; ok && mt > t {
				t = mt
			}
		}
	}
	if t == schema.TLPUnmarked {
		return r.l.opts.TLP
	}
	return t
}

func (r *run) progress(done bool) Progress {
	p := Progress{
		File: r.file, FileIndex: r.fileIndex, Files: r.files,
		BytesRead: r.bytesBefore, BytesTotal: r.bytesTotal,
		Objects: r.stats.Objects, Committed: r.stats.Committed(), Rejected: r.stats.Rejected,
		Elapsed: time.Since(r.start), Done: done,
	}
	if r.counter != nil {
		p.BytesRead += r.counter.n
	}
	return p
}

func (r *run) report(done bool) {
	if r.l.opts.Progress == nil {
		return
	}
	now := time.Now()
	if !done && now.Sub(r.lastReport) < r.l.opts.ProgressInterval {
		return
	}
	r.lastReport = now
	r.l.opts.Progress(r.progress(done))
}

// fail ends a load after err: the open chunk is discarded.
func (r *run) fail(err error) (Stats, error) {
	r.bulk.Abort()
	r.pending = nil
	r.stats.Duration = time.Since(r.start)
	r.report(true)
	return r.stats, err
}

// finish commits the open chunk.
func (r *run) finish() (Stats, error) {
	if _, err := r.bulk.Close(); err != nil {
		return r.fail(fmt.Errorf("load: commit last chunk: %w", err))
	}
	r.pending = nil
	r.stats.Duration = time.Since(r.start)
	r.report(true)
	return r.stats, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
