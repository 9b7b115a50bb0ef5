package textindex

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
	"github.com/blevesearch/bleve/v2/mapping"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/verband-cti/verband/internal/fsutil"
)

// formatVersion is the on-disk format of this package: the mapping, the
// field names and the document encoding. An index of another version opens
// with ErrCorrupt, so that the caller rebuilds it. Version 3 analyses Name
// and Text with TextAnalyzer, which splits words at underscores.
const formatVersion = 3

// metaFile names the file, written last when an index is created, that
// records the format version and the shard count.
const metaFile = "textindex.json"

// hwmKey is the bleve internal key under which each batch stores the
// high-water mark, as 8 bytes big-endian.
var hwmKey = []byte("verband.hwm")

type meta struct {
	Format       int  `json:"format"`
	Shards       int  `json:"shards"`
	IndexCreated bool `json:"indexCreated"`
}

// Index is a bleve full-text index over graph nodes, possibly split into
// shards. Apply must be called by one goroutine at a time; Search, HWM,
// DurableHWM and DocCount may be called from any number of goroutines.
type Index struct {
	dir    string
	opts   Options
	im     *mapping.IndexMappingImpl
	build  *docBuilder
	shards []bleve.Index
	search bleve.Index // shards[0] or an alias over all shards

	closeMu sync.RWMutex // held shared by every call, exclusively by Close
	closed  bool

	applyMu sync.Mutex // serialises Apply

	stateMu sync.Mutex
	state   []shardState
}

// shardState tracks how far a shard's batches have been persisted.
type shardState struct {
	appliedSeq, durableSeq uint64
	durableHWM             uint64
}

// Open opens the index in dir, creating it when dir is missing or empty.
// A directory that holds a damaged or incompatible index returns an error
// wrapping ErrCorrupt; the caller should Remove it and rebuild.
func Open(dir string, opts Options) (*Index, error) {
	opts = opts.withDefaults()
	m, err := readMeta(dir)
	if errors.Is(err, fs.ErrNotExist) {
		empty, eerr := isEmptyDir(dir)
		if eerr != nil {
			return nil, fmt.Errorf("open text index %s: %w", dir, eerr)
		}
		if !empty {
			return nil, fmt.Errorf("open text index %s: %s missing in non-empty directory: %w", dir, metaFile, ErrCorrupt)
		}
		if m, err = create(dir, opts); err != nil {
			return nil, fmt.Errorf("create text index %s: %w", dir, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("open text index %s: %w", dir, err)
	}
	if m.Format != formatVersion || m.Shards < 1 {
		return nil, fmt.Errorf("open text index %s: format %d with %d shards, want format %d: %w",
			dir, m.Format, m.Shards, formatVersion, ErrCorrupt)
	}

	opts.IndexCreated = m.IndexCreated
	ix := &Index{dir: dir, opts: opts, state: make([]shardState, m.Shards)}
	if ix.im, err = newMapping(opts.Analyzer); err != nil {
		return nil, fmt.Errorf("open text index %s: %w", dir, err)
	}
	for s := 0; s < m.Shards; s++ {
		shard, err := openShard(shardDir(dir, s), opts)
		if err != nil {
			_ = ix.closeShards()
			return nil, fmt.Errorf("open text index %s: shard %d: %w", dir, s, err)
		}
		ix.shards = append(ix.shards, shard)
		hwm, err := shardHWM(shard)
		if err != nil {
			_ = ix.closeShards()
			return nil, fmt.Errorf("open text index %s: shard %d: %w", dir, s, err)
		}
		ix.state[s].durableHWM = hwm
	}
	// Query-side analysis follows the mapping stored in the index, so that
	// an index created with another analyzer keeps being searched with it.
	if stored, ok := ix.shards[0].Mapping().(*mapping.IndexMappingImpl); ok {
		ix.im = stored
	}
	if ix.build, err = newDocBuilder(ix.im, opts.IndexCreated); err != nil {
		_ = ix.closeShards()
		return nil, fmt.Errorf("open text index %s: %w", dir, err)
	}
	if len(ix.shards) == 1 {
		ix.search = ix.shards[0]
	} else {
		ix.search = bleve.NewIndexAlias(ix.shards...)
	}
	return ix, nil
}

// Remove deletes the index in dir. It refuses to delete a directory that
// holds anything this package did not write.
func Remove(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove text index %s: %w", dir, err)
	}
	for _, e := range entries {
		n := e.Name()
		if n != metaFile && n != metaFile+".tmp" && !strings.HasPrefix(n, "shard-") {
			return fmt.Errorf("remove text index %s: refusing, %q is not part of a text index", dir, n)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove text index %s: %w", dir, err)
	}
	return nil
}

func shardDir(dir string, s int) string {
	return filepath.Join(dir, fmt.Sprintf("shard-%d", s))
}

// create makes a new index in dir. The shards are created first with
// synchronous persistence, so their stored mapping is durable, and the meta
// file is written last, atomically: a crash during creation leaves a
// directory without meta file, which Open reports as corrupt.
func create(dir string, opts Options) (meta, error) {
	m := meta{Format: formatVersion, Shards: opts.Shards, IndexCreated: opts.IndexCreated}
	im, err := newMapping(opts.Analyzer)
	if err != nil {
		return m, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return m, fmt.Errorf("make directory: %w", err)
	}
	for s := 0; s < m.Shards; s++ {
		idx, err := bleve.NewUsing(shardDir(dir, s), im, scorch.Name, scorch.Name, nil)
		if err != nil {
			return m, fmt.Errorf("create shard %d: %w", s, err)
		}
		if err := idx.Close(); err != nil {
			return m, fmt.Errorf("close new shard %d: %w", s, err)
		}
	}
	if err := writeMeta(dir, m); err != nil {
		return m, err
	}
	return m, nil
}

// openShard opens one bleve index with the runtime configuration of opts.
// bleve may panic on some damaged segment files; that is reported as
// ErrCorrupt too.
func openShard(path string, opts Options) (idx bleve.Index, err error) {
	defer func() {
		if r := recover(); r != nil {
			idx, err = nil, fmt.Errorf("open bleve index: panic %v: %w", r, ErrCorrupt)
		}
	}()
	idx, err = bleve.OpenUsing(path, runtimeConfig(opts))
	if err == nil {
		return idx, nil
	}
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open bleve index: locked by another process: %w", err)
	}
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("open bleve index: %w", err)
	}
	return nil, fmt.Errorf("open bleve index: %v: %w", err, ErrCorrupt)
}

// runtimeConfig is the scorch configuration passed on every open.
func runtimeConfig(opts Options) map[string]interface{} {
	cfg := map[string]interface{}{
		"unsafe_batch": !opts.SyncApply,
		"bolt_timeout": "1s",
	}
	if !opts.SyncApply {
		cfg["scorchPersisterOptions"] = map[string]interface{}{
			"PersisterNapTimeMSec": int(opts.PersisterNap / time.Millisecond),
		}
	}
	for k, v := range opts.scorchConfig {
		cfg[k] = v
	}
	return cfg
}

func readMeta(dir string) (meta, error) {
	var m meta
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return m, fmt.Errorf("read %s: %w", metaFile, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("decode %s: %v: %w", metaFile, err, ErrCorrupt)
	}
	return m, nil
}

// writeMeta replaces the meta file durably (see fsutil.WriteFileSynced).
func writeMeta(dir string, m meta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s: %w", metaFile, err)
	}
	if err := fsutil.WriteFileSynced(filepath.Join(dir, metaFile), b); err != nil {
		return fmt.Errorf("write %s: %w", metaFile, err)
	}
	return nil
}

func isEmptyDir(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read directory: %w", err)
	}
	return len(entries) == 0, nil
}

func shardHWM(idx bleve.Index) (uint64, error) {
	v, err := idx.GetInternal(hwmKey)
	if err != nil {
		return 0, fmt.Errorf("read high-water mark: %w", err)
	}
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(v), nil
	default:
		return 0, fmt.Errorf("read high-water mark: %d bytes: %w", len(v), ErrCorrupt)
	}
}

// Apply indexes docs, deletes the ids in deletes and records hwm as the
// high-water mark, all in one bleve batch per shard (one batch in total
// with the default single shard), so that any persisted state of the index
// holds a high-water mark that matches its documents. An id both in docs
// and in deletes ends up deleted. A Doc without Name, Text, Keywords and
// IPs is applied as a delete unless Options.IndexBare is set.
//
// Apply returns once the batch is searchable; with Options.SyncApply it also
// waits until the batch is on disk. Call it from one goroutine at a time,
// with a non-decreasing hwm.
func (ix *Index) Apply(docs []Doc, deletes []uint64, hwm uint64) error {
	ix.closeMu.RLock()
	defer ix.closeMu.RUnlock()
	if ix.closed {
		return fmt.Errorf("apply: %w", ErrClosed)
	}
	ix.applyMu.Lock()
	defer ix.applyMu.Unlock()

	n := len(ix.shards)
	batches := make([]*bleve.Batch, n)
	for s, shard := range ix.shards {
		batches[s] = shard.NewBatch()
	}
	for i := range docs {
		d := &docs[i]
		b := batches[d.ID%uint64(n)]
		if !ix.opts.IndexBare && d.bare() {
			b.Delete(DocID(d.ID))
			continue
		}
		if err := b.IndexAdvanced(ix.build.build(d)); err != nil {
			return fmt.Errorf("apply: add document %d: %w", d.ID, err)
		}
	}
	for _, id := range deletes {
		batches[id%uint64(n)].Delete(DocID(id))
	}
	var hwmBytes [8]byte
	binary.BigEndian.PutUint64(hwmBytes[:], hwm)

	ix.stateMu.Lock()
	for s, b := range batches {
		b.SetInternal(hwmKey, hwmBytes[:])
		ix.state[s].appliedSeq++
		seq := ix.state[s].appliedSeq
		b.SetPersistedCallback(func(err error) {
			if err != nil {
				return
			}
			ix.stateMu.Lock()
			if st := &ix.state[s]; seq > st.durableSeq {
				st.durableSeq, st.durableHWM = seq, hwm
			}
			ix.stateMu.Unlock()
		})
	}
	ix.stateMu.Unlock()

	if n == 1 {
		if err := ix.shards[0].Batch(batches[0]); err != nil {
			return fmt.Errorf("apply: index batch: %w", err)
		}
		return nil
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for s := range ix.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ix.shards[s].Batch(batches[s]); err != nil {
				errs[s] = fmt.Errorf("apply: index batch in shard %d: %w", s, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// HWM returns the high-water mark of the last Apply that is searchable: the
// smallest over the shards, 0 for a new index. After a crash it is the mark
// of the last persisted batch, from which the caller replays its outbox.
func (ix *Index) HWM() (uint64, error) {
	ix.closeMu.RLock()
	defer ix.closeMu.RUnlock()
	if ix.closed {
		return 0, fmt.Errorf("high-water mark: %w", ErrClosed)
	}
	var low uint64
	for s, shard := range ix.shards {
		h, err := shardHWM(shard)
		if err != nil {
			return 0, fmt.Errorf("shard %d: %w", s, err)
		}
		if s == 0 || h < low {
			low = h
		}
	}
	return low, nil
}

// DurableHWM returns the high-water mark that is known to be on disk: the
// index reopens at this mark or a later one after a crash. The caller may
// prune its outbox up to it. Without Options.SyncApply it lags HWM by the
// persister's nap and write time.
func (ix *Index) DurableHWM() uint64 {
	ix.stateMu.Lock()
	defer ix.stateMu.Unlock()
	var low uint64
	for s, st := range ix.state {
		if s == 0 || st.durableHWM < low {
			low = st.durableHWM
		}
	}
	return low
}

// pending reports whether some applied batch is not yet persisted.
func (ix *Index) pending() bool {
	ix.stateMu.Lock()
	defer ix.stateMu.Unlock()
	for _, st := range ix.state {
		if st.durableSeq < st.appliedSeq {
			return true
		}
	}
	return false
}

// DocCount returns the number of documents in the index.
func (ix *Index) DocCount() (uint64, error) {
	ix.closeMu.RLock()
	defer ix.closeMu.RUnlock()
	if ix.closed {
		return 0, fmt.Errorf("count documents: %w", ErrClosed)
	}
	var n uint64
	for s, shard := range ix.shards {
		c, err := shard.DocCount()
		if err != nil {
			return 0, fmt.Errorf("count documents in shard %d: %w", s, err)
		}
		n += c
	}
	return n, nil
}

// flush waits until every applied batch is on disk or timeout has passed.
// It reports whether everything was persisted.
func (ix *Index) flush(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for ix.pending() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// Close waits for running calls to return and for applied batches to be
// persisted (at once, without the persister's nap, and at most
// Options.CloseTimeout), then closes the index. Later calls return
// ErrClosed; closing twice returns nil.
func (ix *Index) Close() error {
	ix.closeMu.Lock()
	defer ix.closeMu.Unlock()
	if ix.closed {
		return nil
	}
	ix.closed = true
	ix.wakePersisters()
	var errs []error
	if !ix.flush(ix.opts.CloseTimeout) {
		errs = append(errs, fmt.Errorf("close text index %s: persisting took longer than %v; the index reopens at an older high-water mark", ix.dir, ix.opts.CloseTimeout))
	}
	if err := ix.closeShards(); err != nil {
		errs = append(errs, fmt.Errorf("close text index %s: %w", ix.dir, err))
	}
	return errors.Join(errs...)
}

// noMerge is a merge plan that selects no segment: only segments smaller
// than half of MaxSegmentSize, here 0, are eligible.
var noMerge mergeplan.MergePlanOptions

// wakePersisters ends the persisters' naps, so that Close waits only for
// the writing of what Apply returned, not for up to PersisterNap more.
// Scorch has no call for that; but a forced merge, here of nothing, makes
// its merger hand the persister a new epoch to watch, which ends the nap.
// The merger may first finish a merge it is running, so each request runs
// on its own goroutine, which Close's closing of the shard releases at the
// latest.
func (ix *Index) wakePersisters() {
	for _, shard := range ix.shards {
		if sc, err := shardScorch(shard); err == nil {
			go func() { _ = sc.ForceMerge(context.Background(), &noMerge) }()
		}
	}
}

func (ix *Index) closeShards() error {
	var errs []error
	for s, shard := range ix.shards {
		if err := shard.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close shard %d: %w", s, err))
		}
	}
	return errors.Join(errs...)
}

// Segments returns how many segments the index's shards hold in all. Each
// search looks every query term up in every segment, so fewer is faster.
func (ix *Index) Segments() (int, error) {
	n := 0
	for s, shard := range ix.shards {
		sc, err := shardScorch(shard)
		if err != nil {
			return 0, fmt.Errorf("count segments of shard %d: %w", s, err)
		}
		n += scorchSegments(sc)
	}
	return n, nil
}

// Optimize merges the segments of each shard into one. Scorch's merger
// keeps up to ten segments in each tier of sizes, so a million documents
// end up in a score of segments; one segment makes each search term one
// dictionary lookup instead of twenty. The merge rewrites the whole index
// (7 to 12 s for the documents of a million objects on two cores);
// searches and updates go on meanwhile, against the segments as they were.
// Scorch merges only segments on disk, so Optimize first waits until what
// was applied is persisted (a persister nap, Options.PersisterNap, at
// most); documents applied meanwhile stay in segments of their own.
func (ix *Index) Optimize(ctx context.Context) error {
	if !ix.flush(time.Minute) {
		return fmt.Errorf("optimize: the index did not finish writing applied documents to disk within a minute")
	}
	for s, shard := range ix.shards {
		sc, err := shardScorch(shard)
		if err != nil {
			return fmt.Errorf("optimize shard %d: %w", s, err)
		}
		// A force merge merges ten segments at a time and may return
		// before the last merge is in the index's root; it goes round
		// until one segment is left.
		for round := 0; round < maxOptimizeRounds && scorchSegments(sc) > 1; round++ {
			if err := sc.ForceMerge(ctx, &mergeplan.SingleSegmentMergePlanOptions); err != nil {
				return fmt.Errorf("optimize shard %d: %w", s, err)
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("optimize shard %d: %w", s, err)
			}
		}
	}
	return nil
}

// maxOptimizeRounds bounds the force merges Optimize asks of one shard.
const maxOptimizeRounds = 10

// scorchSegments returns the number of segments in the root of sc, read
// from the root snapshot itself (a read lock and a reference count):
// IndexStatus asks on every health check, and StatsMap would list the
// index's files each time. Scorch's counters of memory and file segments
// at the root are not read: they are stored one after the other, so while
// a segment is persisted a reader can see it in neither.
func scorchSegments(sc *scorch.Scorch) int {
	r, err := sc.Reader()
	if err != nil {
		return 0
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok || snap == nil {
		return 0
	}
	return len(snap.Segments())
}

// shardScorch returns the scorch index under a shard.
func shardScorch(shard bleve.Index) (*scorch.Scorch, error) {
	adv, err := shard.Advanced()
	if err != nil {
		return nil, err
	}
	sc, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil, fmt.Errorf("the index is a %T, not scorch", adv)
	}
	return sc, nil
}
