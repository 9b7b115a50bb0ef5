package bench

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

// Options configure Run.
type Options struct {
	// Objects is the size of the synthetic graph. Default 1,000,000.
	// Ignored when EdgesFile is set.
	Objects int
	// Seed seeds the generator and every sample. Default 0 is a seed like
	// any other.
	Seed uint64
	// EdgesFile, when set, loads that edge list (see EdgeList) instead of
	// generating a graph.
	EdgesFile string
	// EdgeNodeType is EdgeListOptions.NodeType.
	EdgeNodeType string
	// Dir is the data directory, which must be empty or absent. Default: a
	// temporary directory, removed afterwards.
	Dir string
	// Queries is how many queries of each kind are timed. Default 1000.
	Queries int
	// ExpandLimit caps the nodes one neighbourhood query returns, as the
	// graph explorer does. Default 100, the neighbourhood size the targets
	// are set for.
	ExpandLimit int
	// ChunkObjects is the bulk chunk size; 0 means the store's default.
	ChunkObjects int
	// SyncEveryChunk makes every chunk durable on disk before the next one
	// commits (graph.Options.SyncWrites), as interactive writes are.
	// Default false: the load runs as `verband ingest` runs it, without a
	// disk flush per chunk, and the store is made durable when it closes.
	// Ignored when Store is set.
	SyncEveryChunk bool
	// Store overrides the store options; nil means graph.DefaultOptions()
	// with SyncWrites set to SyncEveryChunk.
	Store *graph.Options
	// Check runs Store.Check after the measurements and records the
	// problem count.
	Check bool
	// Progress, when set, receives progress reports.
	Progress func(Progress)
}

// Progress is one progress report of Run.
type Progress struct {
	// Phase is "ingest", "index", "neighbours", "search", "enforcement",
	// "check" or "done".
	Phase string
	// Done and Total count the phase's work: objects or queries.
	Done, Total int
	// Elapsed is the time since the phase began.
	Elapsed time.Duration
	// IndexLag is how many commits the search index is behind.
	IndexLag uint64
}

// Result is what Run measured. Rates are objects per second, latencies
// milliseconds, sizes bytes.
type Result struct {
	// StartedAt and FinishedAt bracket the run (RFC 3339, UTC).
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// GoVersion, GOOS, GOARCH, GOMAXPROCS and NumCPU describe the runtime.
	GoVersion  string `json:"go_version"`
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	NumCPU     int    `json:"num_cpu"`
	// Seed is the seed of the graph and of every sample.
	Seed uint64 `json:"seed"`
	// Source is "synthetic" or "edges:<file>".
	Source string `json:"source"`
	// Objects is the number of objects loaded; Edges the number of graph
	// edges they imply (relationships and embedded references); Types the
	// objects per STIX type (synthetic graphs only).
	Objects int            `json:"objects"`
	Edges   int            `json:"edges"`
	Types   map[string]int `json:"types,omitempty"`
	// Ingest is the bulk load.
	Ingest Ingest `json:"ingest"`
	// OneHop and TwoHop are neighbourhood queries (Tx.Expand at depth 1
	// and 2) from Neighbourhood.StartNodes, one read transaction each.
	OneHop Latency `json:"one_hop"`
	TwoHop Latency `json:"two_hop"`
	// TwoHopByKind splits TwoHop by the kind of start node: "observable",
	// "domain-object" (indicators, malware, identities, …) and "container"
	// (reports, incidents, cases, groupings).
	TwoHopByKind map[string]Latency `json:"two_hop_by_kind"`
	// Neighbourhood says how the neighbourhood queries were drawn.
	Neighbourhood Neighbourhood `json:"neighbourhood"`
	// SearchKeyword are searches for exact values (an address, domain,
	// URL, e-mail address, hash, ATT&CK or CVE id); SearchText are
	// free-text searches (a name, or two adjacent words of a description).
	// Both ask for 20 hits as an organization viewer.
	SearchKeyword Latency `json:"search_keyword"`
	SearchText    Latency `json:"search_text"`
	// Enforcement compares the same reads as the system viewer (no
	// enforcement) and as a viewer who sees about half of the graph.
	Enforcement Enforcement `json:"enforcement"`
	// PeakRSSBytes is the process's peak resident set (VmHWM) after the
	// measurements (before the optional check, which reads everything);
	// PeakRSSIngestBytes the same right after the load.
	PeakRSSBytes       int64 `json:"peak_rss_bytes"`
	PeakRSSIngestBytes int64 `json:"peak_rss_ingest_bytes"`
	// DiskBytes is the space the data directory takes on disk (allocated
	// blocks) after the store is closed; DiskBadgerBytes and
	// DiskSearchBytes split it by part.
	DiskBytes       int64 `json:"disk_bytes"`
	DiskBadgerBytes int64 `json:"disk_badger_bytes"`
	DiskSearchBytes int64 `json:"disk_search_bytes"`
	// CheckProblems is the number of invariant failures Store.Check found,
	// or -1 when the check did not run.
	CheckProblems int     `json:"check_problems"`
	CheckSeconds  float64 `json:"check_seconds,omitempty"`
	// Targets compares the figures with the targets, which are set for
	// one million objects on a two-core machine; Pass is true when every
	// target is met.
	Targets []Target `json:"targets"`
	Pass    bool     `json:"pass"`
}

// Ingest holds the load figures. Both rates count from the start of the
// load: committed until the last chunk was committed, searchable until the
// search index had caught up too. Unless SyncEveryChunk is set, chunks are
// committed as `verband ingest` commits them: without a disk flush each, so
// that a committed chunk survives a crash of the process but not yet one
// of the machine; the store is made durable when it closes, which the
// figures do not include.
type Ingest struct {
	// SyncEveryChunk is Options.SyncEveryChunk: whether every chunk was
	// flushed to disk before the next one committed.
	SyncEveryChunk          bool    `json:"sync_every_chunk"`
	CommittedSeconds        float64 `json:"committed_seconds"`
	CommittedObjectsPerSec  float64 `json:"committed_objects_per_s"`
	SearchableSeconds       float64 `json:"searchable_seconds"`
	SearchableObjectsPerSec float64 `json:"searchable_objects_per_s"`
	// GenerateSeconds is the part of CommittedSeconds spent producing the
	// objects.
	GenerateSeconds float64 `json:"generate_seconds"`
	// CPUSeconds is the processor time the whole process used (all
	// goroutines: loader, Badger, indexer, garbage collector) until the
	// index caught up, and ObjectsPerCPUSec the objects per CPU second: on
	// a shared, noisy machine it varies less than the wall-clock rates.
	CPUSeconds       float64 `json:"cpu_seconds"`
	ObjectsPerCPUSec float64 `json:"objects_per_cpu_s"`
	// Created is the number of objects the store created (all of them,
	// unless the source repeats objects); Chunks the committed chunks.
	Created int `json:"created"`
	Chunks  int `json:"chunks"`
}

// Latency summarises one kind of query. Latencies are in milliseconds.
type Latency struct {
	Queries int     `json:"queries"`
	P50Ms   float64 `json:"p50_ms"`
	P90Ms   float64 `json:"p90_ms"`
	P99Ms   float64 `json:"p99_ms"`
	MaxMs   float64 `json:"max_ms"`
	MeanMs  float64 `json:"mean_ms"`
	// MeanNodes and MeanEdges are the mean size of a neighbourhood; Limited
	// is the share of neighbourhoods cut at the node limit.
	MeanNodes float64 `json:"mean_nodes,omitempty"`
	MeanEdges float64 `json:"mean_edges,omitempty"`
	Limited   float64 `json:"limited,omitempty"`
	// MeanHits and MeanTotal are the mean hits returned and matches found;
	// Empty is the share of searches that found nothing.
	MeanHits  float64 `json:"mean_hits,omitempty"`
	MeanTotal float64 `json:"mean_total,omitempty"`
	Empty     float64 `json:"empty,omitempty"`
}

// Neighbourhood describes the neighbourhood queries.
type Neighbourhood struct {
	// StartNodes says how start nodes were drawn.
	StartNodes string `json:"start_nodes"`
	// Limit is the Expand node limit; Viewer the organization reading.
	Limit  int    `json:"limit"`
	Viewer string `json:"viewer"`
}

// Target is one target and whether it was met.
type Target struct {
	Figure string  `json:"figure"`
	Op     string  `json:"op"`
	Target float64 `json:"target"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Pass   bool    `json:"pass"`
}

// viewer is the organization the read measurements run as: reads are
// access-checked like any analyst's.
var viewer = graph.Viewer{Org: orgName(0)}

// QueryViewer returns the viewer the measurements read as: an analyst of
// the first organization of the generated graph.
func QueryViewer() graph.Viewer { return viewer }

// DefaultExpandLimit is the default node limit of neighbourhood queries:
// the size of neighbourhood the targets are set for.
const DefaultExpandLimit = 100

// Run builds a store, loads the graph, measures it and returns the result.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Objects <= 0 {
		opts.Objects = 1_000_000
	}
	if opts.Queries <= 0 {
		opts.Queries = 1000
	}
	if opts.ExpandLimit <= 0 {
		opts.ExpandLimit = DefaultExpandLimit
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(Progress) {}
	}
	res := &Result{
		StartedAt:     time.Now().UTC(),
		GoVersion:     runtime.Version(),
		GOOS:          runtime.GOOS,
		GOARCH:        runtime.GOARCH,
		GOMAXPROCS:    runtime.GOMAXPROCS(0),
		NumCPU:        runtime.NumCPU(),
		Seed:          opts.Seed,
		CheckProblems: -1,
	}

	var src Source
	var gen *Generator
	if opts.EdgesFile != "" {
		el, err := OpenEdgeList(opts.EdgesFile, EdgeListOptions{NodeType: opts.EdgeNodeType, Seed: opts.Seed})
		if err != nil {
			return nil, err
		}
		defer el.Close()
		src = el
		res.Source = "edges:" + opts.EdgesFile
		res.Edges = el.Edges()
	} else {
		gen = NewGenerator(Config{Objects: opts.Objects, Seed: opts.Seed})
		src = gen
		res.Source = "synthetic"
	}

	dir := opts.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "verband-bench-")
		if err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("data dir %s is not empty", dir)
	}
	sopts := graph.DefaultOptions()
	sopts.SyncWrites = opts.SyncEveryChunk
	if opts.Store != nil {
		sopts = *opts.Store
	}
	s, err := graph.Open(dir, sopts)
	if err != nil {
		return nil, err
	}
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()

	// Ingest.
	total := src.Len()
	cpu0 := cpuTime()
	began := time.Now()
	last := began
	ls, samples, err := Load(ctx, s, src, LoadOptions{
		ChunkObjects: opts.ChunkObjects,
		Samples:      2 * opts.Queries,
		Seed:         opts.Seed,
		Viewer:       viewer,
		Compare:      &halfViewer,
		OnCommit: func(n int) {
			if now := time.Now(); now.Sub(last) >= 250*time.Millisecond || n == total {
				last = now
				progress(Progress{Phase: "ingest", Done: n, Total: total, Elapsed: now.Sub(began), IndexLag: s.IndexStatus().Lag})
			}
		},
	})
	if err != nil {
		return nil, err
	}
	cpu := cpuTime() - cpu0
	res.Objects = ls.Objects
	if gen != nil {
		st := gen.Stats()
		res.Edges, res.Types = st.Edges, st.ByType
	}
	res.Ingest = Ingest{
		SyncEveryChunk:          sopts.SyncWrites,
		CommittedSeconds:        ls.Committed.Seconds(),
		CommittedObjectsPerSec:  rate(ls.Objects, ls.Committed),
		SearchableSeconds:       ls.Searchable.Seconds(),
		SearchableObjectsPerSec: rate(ls.Objects, ls.Searchable),
		GenerateSeconds:         ls.Generate.Seconds(),
		CPUSeconds:              cpu.Seconds(),
		ObjectsPerCPUSec:        rate(ls.Objects, cpu),
		Created:                 ls.Created,
		Chunks:                  ls.Chunks,
	}
	progress(Progress{Phase: "index", Done: ls.Objects, Total: total, Elapsed: ls.Searchable})

	// Reads. The first half of each sample warms the caches, the second
	// half is timed; garbage from the load is collected first.
	res.PeakRSSIngestBytes = peakRSS()
	runtime.GC()
	starts, err := resolve(s, viewer, samples.Starts)
	if err != nil {
		return nil, err
	}
	res.Neighbourhood = Neighbourhood{
		StartNodes: "uniform seeded sample of the objects the viewer may see, except relationships (edges, without neighbours of their own)",
		Limit:      opts.ExpandLimit,
		Viewer:     viewer.Org,
	}
	warm, timed := halves(starts)
	for _, depth := range []int{1, 2} {
		if _, _, err := expand(ctx, s, warm, depth, opts.ExpandLimit, nil); err != nil {
			return nil, err
		}
		lat, byKind, err := expand(ctx, s, timed, depth, opts.ExpandLimit, func(done int) {
			progress(Progress{Phase: "neighbours", Done: (depth-1)*len(timed) + done, Total: 2 * len(timed)})
		})
		if err != nil {
			return nil, err
		}
		if depth == 1 {
			res.OneHop = lat
		} else {
			res.TwoHop, res.TwoHopByKind = lat, byKind
		}
	}
	for i, qs := range [][]string{samples.Keywords, samples.Texts} {
		warm, timed := halves(qs)
		if _, err := search(ctx, s, warm, nil); err != nil {
			return nil, err
		}
		lat, err := search(ctx, s, timed, func(done int) {
			progress(Progress{Phase: "search", Done: i*len(timed) + done, Total: 2 * len(timed)})
		})
		if err != nil {
			return nil, err
		}
		if i == 0 {
			res.SearchKeyword = lat
		} else {
			res.SearchText = lat
		}
	}

	res.Enforcement, err = measureEnforcement(ctx, s, samples.Compare, opts.Queries, opts.ExpandLimit, progress)
	if err != nil {
		return nil, err
	}

	res.PeakRSSBytes = peakRSS()
	if opts.Check {
		progress(Progress{Phase: "check"})
		t0 := time.Now()
		rep, err := s.Check(ctx)
		if err != nil {
			return nil, fmt.Errorf("check store: %w", err)
		}
		res.CheckProblems = rep.ProblemCount
		res.CheckSeconds = time.Since(t0).Seconds()
	}

	closed = true
	if err := s.Close(); err != nil {
		return nil, fmt.Errorf("close store: %w", err)
	}
	res.DiskBytes = diskUsage(dir)
	res.DiskBadgerBytes = diskUsage(filepath.Join(dir, "badger"))
	res.DiskSearchBytes = diskUsage(filepath.Join(dir, "search"))
	res.Targets = targets(res)
	res.Pass = true
	for _, t := range res.Targets {
		res.Pass = res.Pass && t.Pass
	}
	res.FinishedAt = time.Now().UTC()
	progress(Progress{Phase: "done"})
	return res, nil
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func halves[T any](xs []T) (warm, timed []T) {
	h := len(xs) / 2
	return xs[:h], xs[h:]
}

// start is a start node of a neighbourhood query.
type start struct {
	id   graph.ID
	kind string // see Result.TwoHopByKind
}

// startKind classifies a STIX id by its type.
func startKind(stixID string) string {
	typ, _, _ := strings.Cut(stixID, "--")
	switch {
	case schema.KindOf(typ) == schema.KindSCO:
		return "observable"
	case typ == "report" || typ == "incident" || typ == "grouping" || typ == schema.TypeCase:
		return "container"
	}
	return "domain-object"
}

// resolve maps sampled STIX ids to node ids as v sees them, dropping nodes
// v may not see.
func resolve(s *graph.Store, v graph.Viewer, stixIDs []string) ([]start, error) {
	var ids []start
	err := s.View(v, func(tx *graph.Tx) error {
		for _, sid := range stixIDs {
			id, err := tx.Lookup(sid)
			if errors.Is(err, graph.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			ids = append(ids, start{id, startKind(sid)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("resolve start nodes: %w", err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("resolve start nodes: %w", errNoSamples)
	}
	return ids, nil
}

// expand times one Expand per start node, each in its own read
// transaction as an analyst's request would run, and also returns the
// figures split by kind of start node.
func expand(ctx context.Context, s *graph.Store, starts []start, depth, limit int, done func(int)) (Latency, map[string]Latency, error) {
	times := make([]time.Duration, 0, len(starts))
	byKind := map[string][]time.Duration{}
	var nodes, edges, limited int
	for i, st := range starts {
		if ctx.Err() != nil {
			return Latency{}, nil, ctx.Err()
		}
		id := st.id
		var hood graph.Neighbourhood
		t0 := time.Now()
		err := s.View(viewer, func(tx *graph.Tx) error {
			var err error
			hood, err = tx.Walk(ctx, id, graph.WalkOptions{Depth: depth, Limit: limit})
			return err
		})
		times = append(times, time.Since(t0))
		byKind[st.kind] = append(byKind[st.kind], times[len(times)-1])
		if err != nil {
			return Latency{}, nil, fmt.Errorf("expand node %d to depth %d: %w", id, depth, err)
		}
		nodes += len(hood.Nodes)
		edges += len(hood.Edges)
		if hood.Truncated {
			limited++
		}
		if done != nil && (i+1)%100 == 0 {
			done(i + 1)
		}
	}
	lat := summarize(times)
	if len(starts) > 0 {
		lat.MeanNodes = round(float64(nodes)/float64(len(starts)), 1)
		lat.MeanEdges = round(float64(edges)/float64(len(starts)), 1)
		lat.Limited = round(float64(limited)/float64(len(starts)), 3)
	}
	kinds := make(map[string]Latency, len(byKind))
	for k, ts := range byKind {
		kinds[k] = summarize(ts)
	}
	return lat, kinds, nil
}

// search times one search per query.
func search(ctx context.Context, s *graph.Store, queries []string, done func(int)) (Latency, error) {
	times := make([]time.Duration, 0, len(queries))
	var hits, total uint64
	empty := 0
	for i, q := range queries {
		t0 := time.Now()
		r, err := s.Search(ctx, viewer, graph.SearchQuery{Text: q, Size: 20})
		times = append(times, time.Since(t0))
		if err != nil {
			return Latency{}, fmt.Errorf("search %q: %w", q, err)
		}
		hits += uint64(len(r.Hits))
		total += r.Total
		if r.Total == 0 {
			empty++
		}
		if done != nil && (i+1)%100 == 0 {
			done(i + 1)
		}
	}
	lat := summarize(times)
	if len(queries) > 0 {
		lat.MeanHits = round(float64(hits)/float64(len(queries)), 1)
		lat.MeanTotal = round(float64(total)/float64(len(queries)), 1)
		lat.Empty = round(float64(empty)/float64(len(queries)), 3)
	}
	return lat, nil
}

// summarize computes nearest-rank percentiles.
func summarize(ts []time.Duration) Latency {
	if len(ts) == 0 {
		return Latency{}
	}
	slices.Sort(ts)
	pct := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(ts)))) - 1
		return ms(ts[max(0, min(i, len(ts)-1))])
	}
	var sum time.Duration
	for _, t := range ts {
		sum += t
	}
	return Latency{
		Queries: len(ts),
		P50Ms:   pct(0.50),
		P90Ms:   pct(0.90),
		P99Ms:   pct(0.99),
		MaxMs:   ms(ts[len(ts)-1]),
		MeanMs:  round(ms(sum)/float64(len(ts)), 4),
	}
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 4) }

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// Targets at one million objects on the two-core reference machine.
const (
	TargetCommittedPerSec  = 50_000
	TargetSearchablePerSec = 20_000
	TargetTwoHopP50Ms      = 0.2
	TargetTwoHopP99Ms      = 1.0
	TargetPeakRSSBytes     = 1536 << 20
)

func targets(r *Result) []Target {
	t := func(fig, op string, target, value float64, unit string) Target {
		pass := value >= target
		if op == "<=" {
			pass = value <= target
		}
		return Target{Figure: fig, Op: op, Target: target, Value: round(value, 4), Unit: unit, Pass: pass}
	}
	return []Target{
		t("ingest.committed_objects_per_s", ">=", TargetCommittedPerSec, r.Ingest.CommittedObjectsPerSec, "objects/s"),
		t("ingest.searchable_objects_per_s", ">=", TargetSearchablePerSec, r.Ingest.SearchableObjectsPerSec, "objects/s"),
		t("two_hop.p50_ms", "<=", TargetTwoHopP50Ms, r.TwoHop.P50Ms, "ms"),
		t("two_hop.p99_ms", "<=", TargetTwoHopP99Ms, r.TwoHop.P99Ms, "ms"),
		t("peak_rss_bytes", "<=", TargetPeakRSSBytes, float64(r.PeakRSSBytes), "bytes"),
		t("enforcement.overhead", "<=", TargetEnforcementOverhead, r.Enforcement.Overhead, "ratio"),
	}
}

// cpuTime returns the user and system time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS returns VmHWM of this process in bytes, or 0 where /proc is
// missing.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// diskUsage returns the bytes allocated on disk to the files under dir
// (sparse, preallocated files count what they occupy, not their length).
func diskUsage(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		} else {
			n += info.Size()
		}
		return nil
	})
	return n
}

// String formats p as a one-line progress report.
func (p Progress) String() string {
	switch p.Phase {
	case "ingest":
		s := fmt.Sprintf("ingest %d/%d objects", p.Done, p.Total)
		if p.Elapsed > 0 {
			s += fmt.Sprintf(", %.0f objects/s", rate(p.Done, p.Elapsed))
		}
		return s + fmt.Sprintf(", search index %d commits behind", p.IndexLag)
	case "index":
		return fmt.Sprintf("searchable: %d objects in %.1fs", p.Done, p.Elapsed.Seconds())
	case "neighbours", "search", "enforcement":
		return fmt.Sprintf("%s queries %d/%d", p.Phase, p.Done, p.Total)
	}
	return p.Phase
}
