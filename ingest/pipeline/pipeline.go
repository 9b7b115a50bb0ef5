package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/ingest/misp"
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
	// own. When it is schema.TLPUnmarked and ExplicitTLP is false, the
	// default marking configured for Source (graph.Store.SourceMarking)
	// applies, with its sharing list; without one, objects stay unmarked,
	// which every organization may see.
	TLP schema.TLP
	// ExplicitTLP keeps TLP as given, unmarked included, instead of the
	// source's configured default.
	ExplicitTLP bool
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
	// MISP tunes the MISP decoder.
	MISP misp.Options
	// Lists tunes the decoder of plain lists, CSV and Maltrail files. Its
	// Source defaults to Options.Source (unless that is DefaultSource), its
	// Time to the file's modification time (so that loading an unchanged
	// file again changes nothing), its Format to what lists.DetectFormat
	// finds.
	Lists lists.Options
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
	// Hits lists the canonical values of loaded observables that other
	// organizations hold too and made discoverable (hit/no-hit): only the
	// value and the holders' names, each recorded in the audit log of both
	// sides. It is filled when the load has an owner organization.
	Hits []ValueHits `json:"hits,omitempty"`
	// Errors holds the error of every rejected object or unreadable file, in
	// the order they were met (Skip mode).
	Errors []error `json:"-"`
	// Warnings holds problems that did not cost an object, such as STIX 2.0
	// objects that could not be upgraded.
	Warnings []error `json:"-"`
}

// Committed returns the number of objects committed in any outcome.
func (s Stats) Committed() int { return s.Created + s.Updated + s.Unchanged + s.Older }

// Loader loads inputs of every supported format into a store.
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
	if opts.TLP == schema.TLPUnmarked && !opts.ExplicitTLP {
		if m, ok := store.SourceMarking(opts.Source); ok {
			opts.TLP = m.TLP
			opts.Sharing = append(slices.Clone(opts.Sharing), m.Sharing...)
			if opts.Lists.TLP == schema.TLPUnmarked {
				opts.Lists.TLP = m.TLP
			}
		}
	}
	return &Loader{store: store, opts: opts}
}

// LoadFiles loads each file in turn and returns what it did. Each file's
// format is found from its content (see Detect): a STIX bundle, object or
// array of objects, a MISP event, or a plain or CSV list of indicators,
// plain or gzip-compressed. The error is the first bad object's in Stop
// mode, or a failure of the store or of ctx in either mode; Stats then count
// what was committed before it.
func (l *Loader) LoadFiles(ctx context.Context, paths []string) (Stats, error) {
	r := l.newRun(ctx)
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			r.bytesTotal += st.Size()
		}
	}
	return r.each(len(paths), func(i int) error { return r.loadFile(paths[i]) })
}

// LoadReader loads one stream named name (used in errors and provenance) of
// size bytes (0 when unknown), in any format LoadFiles reads.
func (l *Loader) LoadReader(ctx context.Context, rd io.Reader, name string, size int64) (Stats, error) {
	return l.LoadStreams(ctx, []Stream{{Name: name, R: rd, Size: size}})
}

// Stream is an input that is no file of its own, such as a file embedded
// in the binary.
type Stream struct {
	// Name is used in errors and as the provenance file; its ending tells
	// a gzip-compressed stream (".gz") and a CSV list (".csv", ".tsv").
	Name string
	R    io.Reader
	// Size is the stream's length in bytes, for progress; 0 when unknown.
	Size int64
	// ModTime stands for a file's modification time where a format uses
	// it (the time of a list's objects); zero when there is none.
	ModTime time.Time
}

// LoadStreams loads each stream in turn, as one load, the way LoadFiles
// loads files.
func (l *Loader) LoadStreams(ctx context.Context, streams []Stream) (Stats, error) {
	r := l.newRun(ctx)
	for _, st := range streams {
		r.bytesTotal += st.Size
	}
	return r.each(len(streams), func(i int) error {
		st := streams[i]
		defer func() { r.bytesBefore += st.Size; r.counter = nil }()
		return r.loadStream(st.R, input{name: st.Name, modTime: st.ModTime})
	})
}

// each loads inputs 0 to n-1 in turn with load, as one load, and returns
// what the load did.
func (r *run) each(n int, load func(i int) error) (Stats, error) {
	r.files = n
	for i := range n {
		r.fileIndex = i
		if err := load(i); err != nil {
			return r.fail(err)
		}
	}
	return r.finish()
}

// ProvenanceFiler is implemented by sources that name the provenance file
// of their objects themselves, such as the pages of a TAXII collection,
// which all record the collection, whatever page they came in.
type ProvenanceFiler interface {
	ProvenanceFile() string
}

// LoadSource loads every object src yields, such as a page of a TAXII
// collection or a decoder of another format. The source's Name is used in
// errors and, without its directory, as the provenance file (unless src is
// a ProvenanceFiler). Hints the source gives (see ingest.Hinter) apply to
// each object.
func (l *Loader) LoadSource(ctx context.Context, src ingest.Source) (Stats, error) {
	r := l.newRun(ctx)
	r.files = 1
	r.stats.Files++
	r.file = src.Name()
	if err := r.loadObjects(src, src.Name()); err != nil {
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
	// pending holds the objects put since the last acknowledged commit, so
	// that a chunk lost to an oversized object can be replayed without it.
	pending []item
	stats   Stats
	// markings maps producer-minted marking definitions to the TLP level
	// they state.
	markings map[string]schema.TLP
	// scoIDs maps the ids sources gave SCOs in this load to their
	// canonical ids when they differ, scoSeen holds hashes of every id
	// seen, and deferred holds the SCOs whose ids depend on references to
	// SCOs not seen yet (see canon.go).
	scoIDs      map[string]string
	scoSeen     map[uint64]struct{}
	deferred    []deferredItem
	deferWarned bool
	// values collects the canonical values of the observables loaded, for
	// the hit/no-hit lookup at the end (nil when there is nobody to ask
	// for: no owner, or nothing discoverable in the store).
	values map[string]struct{}

	// lists maps the container id of each list loaded so far to its
	// input's name.
	lists map[string]string

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
	w where
}

// ValueHits names the organizations that hold a discoverable match for a
// value.
type ValueHits struct {
	Value         string   `json:"value"`
	Organizations []string `json:"organizations"`
}

// maxHitValues bounds how many distinct values one load looks up for hits.
const maxHitValues = 1_000_000

// where names an object's place in the input, for errors and provenance.
type where struct {
	name     string // the input as given, for errors
	fileName string // its base name, for provenance
	index    int    // 0-based position in the input
}

func (l *Loader) newRun(ctx context.Context) *run {
	r := &run{l: l, ctx: ctx, start: time.Now(), markings: map[string]schema.TLP{}, scoIDs: map[string]string{}, scoSeen: map[uint64]struct{}{}, lists: map[string]string{}}
	if l.opts.Owner != "" && l.store.AnyDiscoverable() {
		r.values = map[string]struct{}{}
	}
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
	// Move the rest to the front: a queue that only reslices forward
	// reallocates its array every few chunks (480 MB of garbage in the
	// whole-data ingest).
	rest := copy(r.pending, r.pending[n:])
	clear(r.pending[rest:])
	r.pending = r.pending[:rest]
}

func (r *run) loadFile(path string) error {
	openErr := func(err error) error {
		if r.l.opts.OnError == Skip {
			r.reject(&ingest.ObjectError{File: path, Index: -1, Offset: -1, Fatal: true, Err: fmt.Errorf("open: %w", err)})
			return nil
		}
		return fmt.Errorf("load %s: open: %w", path, err)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		// A MISP feed folder (see Files).
		r.file = path
		r.stats.Files++
		src, err := openFeed(path, r.l.opts)
		if err != nil {
			return r.badInput(err)
		}
		return r.loadObjects(src, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return openErr(err)
	}
	defer f.Close()
	in := input{name: path}
	if st, err := f.Stat(); err == nil {
		in.modTime = st.ModTime()
		defer func() { r.bytesBefore += st.Size(); r.counter = nil }()
	}
	return r.loadStream(f, in)
}

// loadStream decodes one input, in the format its content shows, and puts
// its objects into the bulk.
func (r *run) loadStream(rd io.Reader, in input) error {
	r.file = in.name
	r.stats.Files++
	r.counter = &countingReader{r: rd}
	defer func() { r.stats.Bytes += r.counter.n }()
	src, err := open(r.counter, in, r.l.opts)
	if errors.Is(err, ErrReferenceData) {
		r.stats.Warnings = append(r.stats.Warnings, err)
		return nil
	}
	if err != nil {
		return r.badInput(err)
	}
	if c, ok := src.(io.Closer); ok {
		defer c.Close()
	}
	if d, ok := src.(*lists.Decoder); ok {
		id := d.ContainerID()
		if first, seen := r.lists[id]; seen && first != in.name {
			return r.badInput(&ingest.ObjectError{File: in.name, Index: -1, Offset: -1, Fatal: true, ID: id,
				Err: fmt.Errorf("%w: %s was loaded as the same list (same source, same file name), and this file's container and indicators would replace that one's; give one of them another source or file name", ErrSameList, first)})
		}
		r.lists[id] = in.name
	}
	return r.loadObjects(src, in.name)
}

// loadObjects puts every object of src into the bulk, then the SCOs it
// deferred.
func (r *run) loadObjects(src ingest.Source, name string) error {
	hinter, _ := src.(ingest.Hinter)
	w := where{name: name, fileName: filepath.Base(name)}
	if pf, ok := src.(ProvenanceFiler); ok {
		w.fileName = pf.ProvenanceFile()
	}
	next := 0 // position of the next object in the input
	for {
		if err := r.ctx.Err(); err != nil {
			return fmt.Errorf("load %s: %w", name, err)
		}
		o, err := src.Next()
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
				// Nothing more can be read from this input; in Skip mode
				// what was read stands, deferred SCOs included.
				if err := r.badInput(err); err != nil {
					return err
				}
				return r.flushDeferred()
			}
			r.stats.Objects++
			if err := r.badInput(err); err != nil {
				return err
			}
			continue
		}
		w.index = next
		next++
		r.stats.Objects++
		var h ingest.Hints
		if hinter != nil {
			h = hinter.Hints()
		}
		if err := r.put(o, w, h); err != nil {
			return err
		}
		r.report(false)
	}
	return r.flushDeferred()
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

// objErr wraps an error about the object at w.
func objErr(w where, id string, err error) error {
	oe := &ingest.ObjectError{File: w.name, Index: w.index, ID: id, Offset: -1, Err: err}
	var ve *schema.ValidationError
	if errors.As(err, &ve) {
		oe.Field = ve.Property
	}
	return oe
}

// put prepares one decoded object and adds it to the bulk: SCOs are made
// canonical (or deferred, see canon.go); every object is validated.
func (r *run) put(o *schema.Object, w where, h ingest.Hints) error {
	if schema.KindOf(o.Type) == schema.KindSCO {
		if r.mustDefer(o) {
			r.deferred = append(r.deferred, deferredItem{o: o, w: w, h: h})
			return nil
		}
		return r.putSCO(o, w, h)
	}
	if err := schema.Validate(o); err != nil {
		return r.badInput(objErr(w, o.ID, err))
	}
	return r.store(o, w, h, graph.Provenance{})
}

// store adds a prepared object to the bulk. prov carries OriginalID and
// Original when canonicalisation changed the object.
func (r *run) store(o *schema.Object, w where, h ingest.Hints, prov graph.Provenance) error {
	prov.Source, prov.File = r.l.opts.Source, w.fileName
	owner := r.l.opts.Owner
	if h.Owner != "" {
		owner = h.Owner
	}
	sharing := r.l.opts.Sharing
	if len(h.Sharing) > 0 {
		sharing = append(slices.Clone(sharing), h.Sharing...)
	}
	m := graph.Meta{
		Policy:     graph.Policy{Owner: owner, TLP: r.tlpOf(o, h), Sharing: sharing},
		Provenance: prov,
	}
	if o.Type == "marking-definition" {
		if _, std := schema.TLPOfMarking(o.ID); !std {
			if t, ok := schema.TLPFromDefinition(o); ok {
				r.markings[o.ID] = t
			}
		}
	}
	if r.values != nil && owner == r.l.opts.Owner && schema.KindOf(o.Type) == schema.KindSCO && len(r.values) < maxHitValues {
		for _, v := range schema.IndexValues(o) {
			r.values[v] = struct{}{}
		}
	}
	r.pending = append(r.pending, item{o, m, w})
	if err := r.bulk.Put(o, m); err != nil {
		return r.storeFailed(err)
	}
	return nil
}

// storeFailed handles an error of the bulk. An object too large for one
// transaction fails the bulk's chunk, which may hold other objects; in Skip
// mode the objects not committed yet are put again one at a time, the
// oversized ones are rejected, and the load goes on.
func (r *run) storeFailed(err error) error {
	if !errors.Is(err, graph.ErrTooLarge) || r.l.opts.OnError != Skip {
		return fmt.Errorf("load %s: %w", r.file, err)
	}
	items := r.pending
	r.pending = nil
	r.bulk.Abort()
	for _, it := range items {
		r.newBulk()
		r.pending = append(r.pending, it)
		err := r.bulk.Put(it.o, it.m)
		if err == nil {
			err = r.bulk.Flush()
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, graph.ErrTooLarge) {
			return fmt.Errorf("load %s: store object %d (%s) again: %w", it.w.name, it.w.index, it.o.ID, err)
		}
		r.pending = nil
		r.bulk.Abort()
		id := it.o.ID
		if it.m.Provenance.OriginalID != "" {
			id = it.m.Provenance.OriginalID
		}
		r.reject(objErr(it.w, id, err))
	}
	r.newBulk()
	return nil
}

// tlpOf returns the object's TLP level from its markings, or else the
// source's hint, or else the load's default.
func (r *run) tlpOf(o *schema.Object, h ingest.Hints) schema.TLP {
	t := schema.TLPOf(o)
	if len(r.markings) > 0 {
		for _, ref := range o.Strings("object_marking_refs") {
			if mt, ok := r.markings[ref]; ok && mt > t {
				t = mt
			}
		}
	}
	switch {
	case t != schema.TLPUnmarked:
		return t
	case h.TLP != schema.TLPUnmarked:
		return h.TLP
	}
	return r.l.opts.TLP
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
		if err := r.storeFailed(err); err != nil {
			return r.fail(fmt.Errorf("load: commit last chunk: %w", err))
		}
		if _, err := r.bulk.Close(); err != nil {
			return r.fail(fmt.Errorf("load: commit last chunk: %w", err))
		}
	}
	r.pending = nil
	if err := r.hits(); err != nil {
		return r.fail(fmt.Errorf("load: %w", err))
	}
	r.stats.Duration = time.Since(r.start)
	r.report(true)
	return r.stats, nil
}

// hits looks up, as the owner organization, which other organizations hold
// a discoverable match for the values loaded, and records each hit in the
// audit log concerning both sides.
func (r *run) hits() error {
	if len(r.values) == 0 {
		return nil
	}
	owner := r.l.opts.Owner
	values := make([]string, 0, len(r.values))
	for v := range r.values {
		values = append(values, v)
	}
	slices.Sort(values)
	err := r.l.store.View(graph.Viewer{Org: owner}, func(tx *graph.Tx) error {
		for i, v := range values {
			if i%4096 == 0 {
				if err := r.ctx.Err(); err != nil {
					return err
				}
			}
			orgs, err := tx.Hits(v)
			if err != nil {
				return err
			}
			if len(orgs) > 0 {
				r.stats.Hits = append(r.stats.Hits, ValueHits{Value: v, Organizations: orgs})
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("hit lookup: %w", err)
	}
	for _, h := range r.stats.Hits {
		if err := r.l.store.RecordHit(r.ctx, graph.AuditViewer{Org: owner, Role: "ingest"}, "hit (ingest "+r.l.opts.Source+")", h.Value, h.Organizations); err != nil {
			return err
		}
	}
	return nil
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
