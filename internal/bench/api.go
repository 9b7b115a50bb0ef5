package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/query"
)

// The operations of the API benchmark's request mix.
const (
	OpSearchKeyword = "search_keyword"
	OpSearchText    = "search_text"
	OpNode          = "node"
	OpNeighbours    = "neighbours"
	OpPaths         = "paths"
)

// apiOps lists the operations in a fixed order, so that seeded draws are
// reproducible.
var apiOps = []string{OpSearchKeyword, OpSearchText, OpNode, OpNeighbours, OpPaths}

// DefaultAPIMix is the default share of each operation in the request mix:
// neighbourhoods and single objects dominate, as in the graph explorer.
var DefaultAPIMix = map[string]float64{
	OpSearchKeyword: 0.15,
	OpSearchText:    0.15,
	OpNode:          0.25,
	OpNeighbours:    0.30,
	OpPaths:         0.15,
}

// The GraphQL documents of the mix. Neighbourhoods are 2 hops deep and
// capped at 100 objects; paths are the 3 shortest of at most 4 edges.
const (
	gqlSearch = `query($q: String!) { search(query: $q, first: 20) { totalCount edges { score node { id stixId type } } } }`
	gqlNode   = `query($id: ID!) { node(id: $id) { id stixId type created modified labels owner confidence properties } }`
	gqlNeigh  = `query($id: ID!) { neighbours(id: $id, depth: 2, first: 100) { root { id stixId type }
  nodes { pageInfo { hasNextPage } edges { node { id stixId type } } }
  links { edges { node { type from { id } to { id } } } } } }`
	gqlPaths = `query($from: ID!, $to: ID!) { paths(from: $from, to: $to, maxDepth: 4, k: 3) { totalCount
  edges { node { length nodes { id stixId type } links { type } } } } }`
)

// Targets of the API benchmark at one million objects on the two-core
// reference machine, client and server in one process.
const (
	TargetAPINeighboursP50Ms = 2.0
	TargetAPINeighboursP99Ms = 20.0
	TargetAPIMixPerSec       = 3000.0
)

// APIOptions configure RunAPI.
type APIOptions struct {
	// Objects is the size of the synthetic graph. Default 1,000,000.
	Objects int
	// Seed seeds the generator, the samples and every client's draws.
	Seed uint64
	// Dir is the data directory. Empty means a temporary directory, removed
	// afterwards. An empty or absent directory is filled with a new graph
	// and kept; a directory that already holds a store built with the same
	// Objects and Seed is reused without loading.
	Dir string
	// Clients is the number of concurrent HTTP clients. Default 32.
	Clients int
	// Duration is how long the timed requests run. Default 30 s. Ignored
	// when Requests is set.
	Duration time.Duration
	// Requests, when positive, is the number of timed requests to make
	// instead of running for Duration.
	Requests int
	// Rate, when positive, adds an open-loop run after the closed-loop
	// one: for Duration the clients together send Rate requests per second
	// on a fixed schedule, whatever the answers take, and each latency
	// counts from the moment its request was due, so that time spent
	// queueing behind slow answers is measured rather than hidden. The
	// latency targets are judged on this run. Zero means none, and the
	// latency targets are judged on the closed loop.
	Rate float64
	// Warmup is how long requests run, untimed, before the measurement.
	// Zero means none.
	Warmup time.Duration
	// Mix is the share of each operation (see the Op constants); the
	// shares are normalised. Nil means DefaultAPIMix.
	Mix map[string]float64
	// Samples is the size of each sample of start nodes and search terms.
	// Default 2000.
	Samples int
	// Store overrides the store options; nil means graph.DefaultOptions().
	Store *graph.Options
	// NoOptimize leaves the search index as loading left it; by default
	// RunAPI merges it (Store.OptimizeSearch) before measuring, as the
	// README tells operators to after a large load.
	NoOptimize bool
	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger
	// CPUProfile, when set, receives a CPU profile of the closed-loop
	// requests (client and server alike).
	CPUProfile io.Writer
	// SecondProfiles, when set, is a directory that receives a CPU profile
	// of each second of the open-loop run (open-NNN.pprof, NNN the second
	// as in APIOpenLoop.Seconds), so that a slow second can be read apart
	// from the rest: CPU samples in a compaction show work, an almost
	// empty profile shows waiting. It cannot be combined with another CPU
	// profile of the process.
	SecondProfiles string
	// Progress, when set, receives progress reports: the phases of Load,
	// then "warmup" and "requests" with Done requests so far.
	Progress func(Progress)
}

// APIResult is what RunAPI measured. Latencies are milliseconds, measured
// by the client until the whole response body was read and decoded: in the
// closed loop from sending the request, in the open loop from the moment
// it was due.
type APIResult struct {
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	GoVersion  string    `json:"go_version"`
	GOOS       string    `json:"goos"`
	GOARCH     string    `json:"goarch"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	NumCPU     int       `json:"num_cpu"`
	// Setup says how client and server share the machine.
	Setup string `json:"setup"`
	// Seed seeds the graph, the samples and the clients' draws.
	Seed uint64 `json:"seed"`
	// Objects is the size of the synthetic graph asked for; StoreObjects
	// the objects the store holds; Reused whether an existing store was
	// queried instead of a new one.
	Objects      int   `json:"objects"`
	StoreObjects int64 `json:"store_objects"`
	Reused       bool  `json:"reused"`
	// LoadSeconds is the time to build the store (0 when reused).
	LoadSeconds float64 `json:"load_seconds"`
	// Optimize says how the search index was merged before measuring
	// (see APIOptions.NoOptimize); nil when it was not.
	Optimize *APIOptimize `json:"optimize,omitempty"`
	// Viewer is the organization of the analyst token the clients use.
	Viewer string `json:"viewer"`
	// Clients is the number of concurrent clients, each with a keep-alive
	// connection of its own.
	Clients int `json:"clients"`
	// WarmupSeconds is the untimed warm-up.
	WarmupSeconds float64 `json:"warmup_seconds"`
	// Mix is the configured share of each operation.
	Mix map[string]float64 `json:"mix"`
	// APIRun holds the figures of the closed-loop run: each client sends
	// its next request as soon as the previous one is answered, so its
	// request rate is the most the server answers with these clients.
	APIRun
	// OpenLoop holds the figures of the open-loop run at a fixed offered
	// rate (see APIOptions.Rate); nil when there was none.
	OpenLoop *APIOpenLoop `json:"open_loop,omitempty"`
	// Queries holds the GraphQL documents of the mix.
	Queries map[string]string `json:"queries"`
	// Targets compares the figures with the targets, each naming the
	// figure it was judged on; Pass is true when every target is met and
	// no request failed.
	Targets []Target `json:"targets"`
	Pass    bool     `json:"pass"`
}

// APIRun holds the figures of one timed run.
type APIRun struct {
	// DurationSeconds is the time the run took.
	DurationSeconds float64 `json:"duration_seconds"`
	// MixObserved is the share of the timed requests each operation took.
	MixObserved map[string]float64 `json:"mix_observed"`
	// Requests counts every timed request; OK those answered with HTTP 200
	// and no GraphQL errors; Errors the others.
	Requests int `json:"requests"`
	OK       int `json:"ok"`
	Errors   int `json:"errors"`
	// RequestsPerSec is OK per second of the timed run: failed requests do
	// not count.
	RequestsPerSec float64 `json:"requests_per_s"`
	// Overall is the latency of every successful request; Ops the latency
	// and errors by operation.
	Overall Latency          `json:"overall"`
	Ops     map[string]APIOp `json:"ops"`
}

// APIOpenLoop holds the figures of the open-loop run.
type APIOpenLoop struct {
	// OfferedPerSec is the rate the clients offered together; each client
	// sends every Clients/OfferedPerSec seconds, the clients' schedules
	// evenly staggered.
	OfferedPerSec float64 `json:"offered_per_s"`
	// Unsent counts the requests that fell due before the end but were
	// not sent, because their client still waited for an earlier answer
	// when the run ended: more than a few mean the server did not keep up
	// with the offered rate.
	Unsent int `json:"unsent"`
	// WakeLag is how late the clients' timers woke to send the requests
	// they waited for (those sent at once, behind an earlier answer, do
	// not count): a lag of the load generator, which the latencies
	// include. While the process idles, Go's runtime sleeps in whole
	// milliseconds, so at low rates it is about half a millisecond at the
	// median; under load it also holds the clients' wait for a processor.
	WakeLag Latency `json:"wake_lag"`
	APIRun
	// Seconds is the run second by second, by when each successful
	// request fell due: a stall of a few seconds (a compaction of the
	// store under the load, say) shows here as slow seconds, where the
	// percentiles of the whole run only say that the tail is long.
	Seconds []APISecond `json:"seconds"`
	// GCCycles counts the Go runtime's garbage collections during the run;
	// each briefly takes a quarter of the processors.
	GCCycles uint64 `json:"gc_cycles"`
}

// APISecond is the latency of the successful requests that fell due in
// one second of the open loop, all operations together.
type APISecond struct {
	// Second counts from the start of the run.
	Second   int     `json:"second"`
	Requests int     `json:"requests"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
}

// APIOp holds the figures of one operation.
type APIOp struct {
	Latency
	// Requests counts the timed requests of the operation, OK the
	// successful ones.
	Requests int `json:"requests"`
	OK       int `json:"ok"`
	// Errors counts failures by kind: "transport" (no response), "http"
	// (a status other than 200), "decode" (not a GraphQL response) and
	// "graphql" (a response with errors). FirstError is one example.
	Errors     map[string]int `json:"errors"`
	FirstError string         `json:"first_error,omitempty"`
	// Empty is the share of successful requests that found nothing: no
	// search hit, a null node, a lone start object or no path.
	EmptyShare float64 `json:"empty_share"`
	// MeanItems is the mean number of search hits, neighbourhood objects
	// or paths in a successful response.
	MeanItems float64 `json:"mean_items"`
	// MeanBytes is the mean size of a response body.
	MeanBytes float64 `json:"mean_bytes"`
}

// gqlResponse is a GraphQL response as the clients decode it.
type gqlResponse struct {
	Data struct {
		Search *struct {
			TotalCount int               `json:"totalCount"`
			Edges      []json.RawMessage `json:"edges"`
		} `json:"search"`
		Node       json.RawMessage `json:"node"`
		Neighbours *struct {
			Nodes struct {
				Edges []json.RawMessage `json:"edges"`
			} `json:"nodes"`
		} `json:"neighbours"`
		Paths *struct {
			TotalCount int `json:"totalCount"`
		} `json:"paths"`
	} `json:"data"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

// outcome is the result of one request.
type outcome struct {
	op      int
	latency time.Duration
	errKind string // "" on success
	errMsg  string
	items   int
	bytes   int
}

// opStats accumulates one client's outcomes of one operation.
type opStats struct {
	times    []time.Duration
	requests int
	errors   map[string]int
	firstErr string
	empty    int
	items    int
	bytes    int
}

func (st *opStats) add(o outcome) {
	st.requests++
	st.bytes += o.bytes
	if o.errKind != "" {
		if st.errors == nil {
			st.errors = map[string]int{}
		}
		st.errors[o.errKind]++
		if st.firstErr == "" {
			st.firstErr = o.errMsg
		}
		return
	}
	st.times = append(st.times, o.latency)
	st.items += o.items
	if o.items == 0 {
		st.empty++
	}
}

// RunAPI builds (or reuses) a store, serves it with the real HTTP server
// on a loopback port, runs the request mix against it from concurrent
// clients and returns the figures.
func RunAPI(ctx context.Context, opts APIOptions) (*APIResult, error) {
	if opts.Objects <= 0 {
		opts.Objects = 1_000_000
	}
	if opts.Clients <= 0 {
		opts.Clients = 32
	}
	if opts.Duration <= 0 {
		opts.Duration = 30 * time.Second
	}
	if opts.Samples <= 0 {
		opts.Samples = 2000
	}
	mix, err := normaliseMix(opts.Mix)
	if err != nil {
		return nil, err
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(Progress) {}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	res := &APIResult{
		StartedAt:  time.Now().UTC(),
		GoVersion:  runtime.Version(),
		GOOS:       runtime.GOOS,
		GOARCH:     runtime.GOARCH,
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		NumCPU:     runtime.NumCPU(),
		Setup: fmt.Sprintf("client and server in one process sharing GOMAXPROCS=%d (%d CPUs): "+
			"the real query.Server on a loopback port, GraphQL over HTTP/1.1, one keep-alive connection per client", runtime.GOMAXPROCS(0), runtime.NumCPU()),
		Seed:    opts.Seed,
		Objects: opts.Objects,
		Viewer:  viewer.Org,
		Clients: opts.Clients,
		Mix:     mix,
		Queries: map[string]string{
			OpSearchKeyword: gqlSearch, OpSearchText: gqlSearch, OpNode: gqlNode, OpNeighbours: gqlNeigh, OpPaths: gqlPaths,
		},
	}

	s, samples, cleanup, err := openAPIStore(ctx, opts, res, progress)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if len(samples.Starts) < 2 || len(samples.Keywords) == 0 || len(samples.Texts) == 0 {
		return nil, fmt.Errorf("api bench: %w", errNoSamples)
	}
	err = s.View(graph.System(), func(tx *graph.Tx) error {
		types, err := tx.Types()
		for _, t := range types {
			res.StoreObjects += t.Count
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("api bench: count objects: %w", err)
	}
	if res.Reused && res.StoreObjects != int64(opts.Objects) {
		return nil, fmt.Errorf("api bench: the store in %s holds %d objects, not the %d of the graph asked for", opts.Dir, res.StoreObjects, opts.Objects)
	}
	_, err = s.EnsureUser(ctx, graph.UserSpec{Name: "bench", Org: viewer.Org, Role: graph.RoleAnalyst})
	if err != nil {
		return nil, fmt.Errorf("api bench: %w", err)
	}
	_, secret, err := s.CreateToken(ctx, graph.TokenSpec{User: "bench", Description: "verband bench api"})
	if err != nil {
		return nil, fmt.Errorf("api bench: %w", err)
	}

	srv := query.NewServer(s, query.ServerOptions{Addr: "127.0.0.1:0", Logger: logger, ShutdownGrace: 5 * time.Second})
	if err := srv.Listen(); err != nil {
		return nil, fmt.Errorf("api bench: %w", err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Run(sctx) }()
	serving := true
	defer func() {
		stop()
		if serving {
			<-served
		}
	}()

	lg := &loadGen{
		host:    srv.Addr().String(),
		url:     srv.URL() + "/graphql",
		auth:    "Bearer " + secret,
		samples: samples,
		mix:     mix,
	}

	if opts.Warmup > 0 {
		progress(Progress{Phase: "warmup"})
		_, err := lg.run(ctx, opts.Clients, opts.Seed^0x7761726d, 0, time.Now().Add(opts.Warmup), 0, nil) // "warm"
		if err != nil {
			return nil, err
		}
		res.WarmupSeconds = opts.Warmup.Seconds()
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("api bench: %w", ctx.Err())
	}

	runtime.GC()
	// The closed loop: the most requests per second the clients get
	// answered.
	if opts.CPUProfile != nil {
		if err := pprof.StartCPUProfile(opts.CPUProfile); err != nil {
			return nil, fmt.Errorf("api bench: %w", err)
		}
	}
	began := time.Now()
	var deadline time.Time
	if opts.Requests <= 0 {
		deadline = began.Add(opts.Duration)
	}
	closed, err := lg.run(ctx, opts.Clients, opts.Seed, opts.Requests, deadline, 0, func(done int) {
		progress(Progress{Phase: "requests", Done: done, Total: opts.Requests, Elapsed: time.Since(began)})
	})
	if opts.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("api bench: %w", ctx.Err())
	}
	select {
	case err := <-served:
		// The server stopped under load: the figures would be meaningless.
		serving = false
		return nil, fmt.Errorf("api bench: server stopped: %w", err)
	default:
	}
	res.APIRun = summarizeAPI(closed.stats, closed.elapsed)

	if opts.Rate > 0 {
		// The open loop: latency at a fixed offered rate, queueing
		// included.
		runtime.GC()
		interval := time.Duration(float64(opts.Clients) / opts.Rate * float64(time.Second))
		var stopProfiles func() error
		if opts.SecondProfiles != "" {
			if stopProfiles, err = profileSeconds(opts.SecondProfiles); err != nil {
				return nil, fmt.Errorf("api bench: %w", err)
			}
		}
		began := time.Now()
		gcBefore := gcCycles()
		open, err := lg.run(ctx, opts.Clients, opts.Seed^0x6f70656e, 0, began.Add(opts.Duration), interval, func(done int) { // "open"
			progress(Progress{Phase: "open loop", Done: done, Elapsed: time.Since(began)})
		})
		if stopProfiles != nil {
			if perr := stopProfiles(); perr != nil && err == nil {
				err = fmt.Errorf("api bench: %w", perr)
			}
		}
		if err != nil {
			return nil, err
		}
		res.OpenLoop = &APIOpenLoop{OfferedPerSec: opts.Rate, Unsent: open.unsent, WakeLag: summarize(open.lags),
			APIRun: summarizeAPI(open.stats, open.elapsed), Seconds: bySecond(open.due), GCCycles: gcCycles() - gcBefore}
	}
	res.Targets = apiTargets(res)
	res.Pass = res.Errors == 0 && (res.OpenLoop == nil || res.OpenLoop.Errors == 0)
	for _, t := range res.Targets {
		res.Pass = res.Pass && t.Pass
	}
	res.FinishedAt = time.Now().UTC()
	progress(Progress{Phase: "done"})
	return res, nil
}

// profileSeconds writes a CPU profile of each second into dir, from now
// until the returned function is called, which stops the profiling and
// reports the first error.
func profileSeconds(dir string) (func() error, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("profiles per second: %w", err)
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	start := func(sec int) (*os.File, error) {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("open-%03d.pprof", sec)))
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("start CPU profile (is another one running, such as --cpuprofile?): %w", err)
		}
		return f, nil
	}
	f, err := start(0)
	if err != nil {
		return nil, fmt.Errorf("profiles per second: %w", err)
	}
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		var first error
		for sec := 1; ; sec++ {
			select {
			case <-stop:
				pprof.StopCPUProfile()
				if err := f.Close(); err != nil && first == nil {
					first = err
				}
				done <- first
				return
			case <-tick.C:
			}
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil && first == nil {
				first = err
			}
			if f, err = start(sec); err != nil {
				done <- errors.Join(first, err)
				<-stop
				return
			}
		}
	}()
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() {
			close(stop)
			err = <-done
		})
		if err != nil {
			return fmt.Errorf("profiles per second: %w", err)
		}
		return nil
	}, nil
}

// normaliseMix checks the shares of mix and scales them to sum to 1.
func normaliseMix(mix map[string]float64) (map[string]float64, error) {
	if mix == nil {
		mix = DefaultAPIMix
	}
	sum := 0.0
	for op, w := range mix {
		known := false
		for _, o := range apiOps {
			known = known || o == op
		}
		if !known {
			return nil, fmt.Errorf("api bench: unknown operation %q in the mix", op)
		}
		if w < 0 {
			return nil, fmt.Errorf("api bench: negative share %g of %s", w, op)
		}
		sum += w
	}
	if sum <= 0 {
		return nil, errors.New("api bench: the mix is empty")
	}
	out := make(map[string]float64, len(apiOps))
	for _, op := range apiOps {
		out[op] = round(mix[op]/sum, 4)
	}
	return out, nil
}

// openAPIStore opens the store RunAPI queries: a new one loaded with the
// synthetic graph, or an existing one in opts.Dir, whose samples are drawn
// by replaying the generator. The cleanup closes the store and removes a
// temporary directory.
func openAPIStore(ctx context.Context, opts APIOptions, res *APIResult, progress func(Progress)) (*graph.Store, *Samples, func(), error) {
	sopts := graph.DefaultOptions()
	if opts.Store != nil {
		sopts = *opts.Store
	}
	dir, reuse := opts.Dir, false
	removeDir := func() {}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "verband-bench-api-")
		if err != nil {
			return nil, nil, nil, fmt.Errorf("api bench: create data dir: %w", err)
		}
		dir = tmp
		removeDir = func() { os.RemoveAll(tmp) }
	} else if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		reuse = true
	}
	s, err := graph.Open(dir, sopts)
	if err != nil {
		removeDir()
		return nil, nil, nil, fmt.Errorf("api bench: open store: %w", err)
	}
	cleanup := func() {
		s.Close()
		removeDir()
	}
	gen := NewGenerator(Config{Objects: opts.Objects, Seed: opts.Seed})
	var samples *Samples
	if reuse {
		res.Reused = true
		samples, err = replaySamples(ctx, gen, opts.Samples, opts.Seed)
		if err == nil {
			err = s.WaitIndexed(ctx)
		}
	} else {
		total := gen.Len()
		began := time.Now()
		last := began
		var ls LoadStats
		ls, samples, err = Load(ctx, s, gen, LoadOptions{
			Samples: opts.Samples,
			Seed:    opts.Seed,
			Viewer:  viewer,
			OnCommit: func(n int) {
				if now := time.Now(); now.Sub(last) >= 250*time.Millisecond || n == total {
					last = now
					progress(Progress{Phase: "ingest", Done: n, Total: total, Elapsed: now.Sub(began), IndexLag: s.IndexStatus().Lag})
				}
			},
		})
		res.LoadSeconds = round(ls.Searchable.Seconds(), 3)
		progress(Progress{Phase: "index", Done: ls.Objects, Total: total, Elapsed: ls.Searchable})
	}
	if err == nil && !opts.NoOptimize {
		progress(Progress{Phase: "optimize"})
		began := time.Now()
		var seg graph.SearchSegments
		seg, err = s.OptimizeSearch(ctx)
		res.Optimize = &APIOptimize{SearchSegments: seg, Seconds: round(time.Since(began).Seconds(), 3)}
	}
	if err != nil {
		cleanup()
		return nil, nil, nil, fmt.Errorf("api bench: %w", err)
	}
	return s, samples, cleanup, nil
}

// APIOptimize says how the search index was merged before measuring.
type APIOptimize struct {
	graph.SearchSegments
	Seconds float64 `json:"seconds"`
}

// replaySamples draws the samples Load would draw from src, without
// storing anything, for a store loaded from the same source before.
func replaySamples(ctx context.Context, src Source, size int, seed uint64) (*Samples, error) {
	ss := samplers(viewer, nil, size, seed) // as in Load
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("replay samples: %w", ctx.Err())
		}
		it, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("replay samples: %w", err)
		}
		offer(ss, it)
	}
	return collect(ss), nil
}

// loadGen sends the request mix.
type loadGen struct {
	host    string // the server's host:port
	url     string
	auth    string
	samples *Samples
	mix     map[string]float64
}

// run sends requests from clients goroutines until, when limit is
// positive, limit requests were sent, or else until deadline. Requests in
// flight at the deadline complete and count, so none is cut off half
// answered; the time the run took includes them. Each client draws from its
// own generator, seeded by seed and its number.
//
// With interval zero the loop is closed: a client sends its next request
// as soon as it has the answer to the last one. With a positive interval it
// is open: client c's request i is due at c·interval/clients + i·interval
// after the start, and is sent then, or at once when the client is still
// waiting for an earlier answer; its latency counts from when it was due,
// so a server that falls behind shows it in the latencies instead of
// slowing the clients down. No request is sent after the deadline; those
// due before it but not sent by then are counted as unsent.
func (lg *loadGen) run(ctx context.Context, clients int, seed uint64, limit int, deadline time.Time, interval time.Duration, done func(int)) (loopResult, error) {
	cum := make([]float64, len(apiOps))
	acc := 0.0
	for i, op := range apiOps {
		acc += lg.mix[op]
		cum[i] = acc
	}
	stats := make([][]opStats, clients)
	lags := make([][]time.Duration, clients)
	dues := make([][]dueLatency, clients)
	var sent, finished, unsent atomic.Int64
	var wg sync.WaitGroup
	began := time.Now()
	stopTicker := make(chan struct{})
	if done != nil {
		go func() {
			t := time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					done(int(finished.Load()))
				case <-stopTicker:
					return
				}
			}
		}()
	}
	for c := range clients {
		stats[c] = make([]opStats, len(apiOps))
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(c)+1))
			var buf bytes.Buffer
			conn := newAPIConn(lg.host, requestTimeout)
			defer conn.Close()
			due := began.Add(interval * time.Duration(c) / time.Duration(clients))
			for ctx.Err() == nil {
				var start time.Time // the closed loop times from sending
				if interval > 0 {
					if now := time.Now(); !due.Before(deadline) || !now.Before(deadline) {
						if due.Before(deadline) {
							unsent.Add(int64((deadline.Sub(due) + interval - 1) / interval))
						}
						return
					}
					if wait := time.Until(due); wait > 0 {
						t := time.NewTimer(wait)
						select {
						case <-t.C:
							lags[c] = append(lags[c], time.Since(due))
						case <-ctx.Done():
							t.Stop()
							return
						}
					}
					start, due = due, due.Add(interval)
				} else if limit > 0 && sent.Add(1) > int64(limit) || limit <= 0 && !time.Now().Before(deadline) {
					return
				}
				op := len(apiOps) - 1
				x := rng.Float64()
				for i, cu := range cum {
					if x < cu {
						op = i
						break
					}
				}
				o := lg.do(ctx, conn, op, rng, &buf, start)
				if ctx.Err() != nil {
					// Interrupted: the request is neither a success nor a
					// failure of the server.
					return
				}
				stats[c][op].add(o)
				if interval > 0 && o.errKind == "" {
					dues[c] = append(dues[c], dueLatency{at: start.Sub(began), latency: o.latency})
				}
				finished.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	close(stopTicker)
	if ctx.Err() != nil {
		return loopResult{}, fmt.Errorf("api bench: %w", ctx.Err())
	}
	return loopResult{stats: stats, elapsed: elapsed, unsent: int(unsent.Load()), lags: slices.Concat(lags...), due: slices.Concat(dues...)}, nil
}

// loopResult is what a run of the clients measured.
type loopResult struct {
	stats   [][]opStats // the outcomes by client and operation
	elapsed time.Duration
	// In the open loop: the unsent requests; the wake lag of each request
	// a client sent on its timer, how long after it fell due the client
	// woke to send it; and when each successful request fell due, with
	// its latency.
	unsent int
	lags   []time.Duration
	due    []dueLatency
}

// dueLatency is a successful request of the open loop: when it fell due,
// from the start of the run, and its latency.
type dueLatency struct{ at, latency time.Duration }

// bySecond summarizes the requests second by second of when they fell due.
func bySecond(due []dueLatency) []APISecond {
	var secs [][]time.Duration
	for _, d := range due {
		i := int(d.at / time.Second)
		for len(secs) <= i {
			secs = append(secs, nil)
		}
		secs[i] = append(secs[i], d.latency)
	}
	out := make([]APISecond, 0, len(secs))
	for i, ls := range secs {
		l := summarize(ls)
		out = append(out, APISecond{Second: i, Requests: len(ls), P50Ms: l.P50Ms, P99Ms: l.P99Ms, MaxMs: l.MaxMs})
	}
	return out
}

// gcCycles returns how many garbage collections the Go runtime has
// completed.
func gcCycles() uint64 {
	m := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(m)
	if m[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return m[0].Value.Uint64()
}

// requestTimeout is how long a request of the load generator may take,
// from sending it to the last byte of its answer.
const requestTimeout = 30 * time.Second

// do sends one request of operation op with arguments drawn by rng over
// conn. Its latency counts from start, or from sending it when start is
// zero.
func (lg *loadGen) do(ctx context.Context, conn *apiConn, op int, rng *rand.Rand, buf *bytes.Buffer, start time.Time) outcome {
	sm := lg.samples
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	var doc string
	var vars map[string]any
	switch apiOps[op] {
	case OpSearchKeyword:
		doc, vars = gqlSearch, map[string]any{"q": pick(sm.Keywords)}
	case OpSearchText:
		doc, vars = gqlSearch, map[string]any{"q": pick(sm.Texts)}
	case OpNode:
		doc, vars = gqlNode, map[string]any{"id": pick(sm.Starts)}
	case OpNeighbours:
		doc, vars = gqlNeigh, map[string]any{"id": pick(sm.Starts)}
	case OpPaths:
		from := rng.IntN(len(sm.Starts))
		to := (from + 1 + rng.IntN(len(sm.Starts)-1)) % len(sm.Starts)
		doc, vars = gqlPaths, map[string]any{"from": sm.Starts[from], "to": sm.Starts[to]}
	}
	o := outcome{op: op}
	body, err := json.Marshal(map[string]any{"query": doc, "variables": vars})
	if err != nil {
		o.errKind, o.errMsg = "transport", err.Error()
		return o
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, lg.url, bytes.NewReader(body))
	if err != nil {
		o.errKind, o.errMsg = "transport", err.Error()
		return o
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", lg.auth)

	t0 := start
	if t0.IsZero() {
		t0 = time.Now()
	}
	buf.Reset()
	status, statusLine, err := conn.roundTrip(ctx, req, buf)
	// The latency ends with the last byte of the answer; decoding it is
	// the client's work.
	o.latency = time.Since(t0)
	if err != nil {
		o.errKind, o.errMsg = "transport", err.Error()
		return o
	}
	var r gqlResponse
	if status == http.StatusOK {
		err = json.Unmarshal(buf.Bytes(), &r)
	}
	o.bytes = buf.Len()
	switch {
	case status != http.StatusOK:
		o.errKind, o.errMsg = "http", fmt.Sprintf("%s: %.200s", statusLine, buf.Bytes())
	case err != nil:
		o.errKind, o.errMsg = "decode", err.Error()
	case len(r.Errors) > 0:
		o.errKind, o.errMsg = "graphql", r.Errors[0].Message
	default:
		o.items, o.errKind, o.errMsg = responseItems(apiOps[op], &r)
	}
	return o
}

// responseItems counts what a successful response holds, and reports a
// response without the data asked for as a decode error.
func responseItems(op string, r *gqlResponse) (int, string, string) {
	d := &r.Data
	switch op {
	case OpSearchKeyword, OpSearchText:
		if d.Search != nil {
			return len(d.Search.Edges), "", ""
		}
	case OpNode:
		if len(d.Node) > 0 {
			if string(d.Node) == "null" {
				return 0, "", ""
			}
			return 1, "", ""
		}
	case OpNeighbours:
		if d.Neighbours != nil {
			// The start object is always there; count what was reached.
			return max(0, len(d.Neighbours.Nodes.Edges)-1), "", ""
		}
	case OpPaths:
		if d.Paths != nil {
			return d.Paths.TotalCount, "", ""
		}
	}
	return 0, "decode", "response without data for " + op
}

// summarizeAPI merges the clients' outcomes of one run.
func summarizeAPI(stats [][]opStats, elapsed time.Duration) APIRun {
	res := APIRun{DurationSeconds: round(elapsed.Seconds(), 3)}
	var all []time.Duration
	res.Ops = make(map[string]APIOp, len(apiOps))
	res.MixObserved = make(map[string]float64, len(apiOps))
	for i, name := range apiOps {
		var m opStats
		for _, cs := range stats {
			st := cs[i]
			m.times = append(m.times, st.times...)
			m.requests += st.requests
			m.empty += st.empty
			m.items += st.items
			m.bytes += st.bytes
			for k, v := range st.errors {
				if m.errors == nil {
					m.errors = map[string]int{}
				}
				m.errors[k] += v
			}
			if m.firstErr == "" {
				m.firstErr = st.firstErr
			}
		}
		all = append(all, m.times...)
		op := APIOp{Latency: summarize(m.times), Requests: m.requests, OK: len(m.times), Errors: m.errors, FirstError: m.firstErr}
		if op.Errors == nil {
			op.Errors = map[string]int{}
		}
		if op.OK > 0 {
			op.EmptyShare = round(float64(m.empty)/float64(op.OK), 4)
			op.MeanItems = round(float64(m.items)/float64(op.OK), 2)
		}
		if op.Requests > 0 {
			op.MeanBytes = round(float64(m.bytes)/float64(op.Requests), 1)
		}
		res.Ops[name] = op
		res.Requests += op.Requests
		res.OK += op.OK
	}
	res.Errors = res.Requests - res.OK
	for _, name := range apiOps {
		if res.Requests > 0 {
			res.MixObserved[name] = round(float64(res.Ops[name].Requests)/float64(res.Requests), 4)
		}
	}
	res.Overall = summarize(all)
	if elapsed > 0 {
		res.RequestsPerSec = round(float64(res.OK)/elapsed.Seconds(), 1)
	}
	return res
}

func apiTargets(r *APIResult) []Target {
	t := func(fig, op string, target, value float64, unit string) Target {
		pass := value >= target
		if op == "<=" {
			pass = value <= target
		}
		return Target{Figure: fig, Op: op, Target: target, Value: round(value, 4), Unit: unit, Pass: pass}
	}
	// Latency is judged at the offered rate of the open loop when there
	// was one: in the closed loop, by Little's law, the mean latency is the
	// clients over the rate, whatever the server does.
	nb, at := r.Ops[OpNeighbours], "ops.neighbours."
	if r.OpenLoop != nil {
		nb, at = r.OpenLoop.Ops[OpNeighbours], "open_loop.ops.neighbours."
	}
	ts := []Target{
		t(at+"p50_ms", "<=", TargetAPINeighboursP50Ms, nb.P50Ms, "ms"),
		t(at+"p99_ms", "<=", TargetAPINeighboursP99Ms, nb.P99Ms, "ms"),
		t("requests_per_s", ">=", TargetAPIMixPerSec, r.RequestsPerSec, "requests/s"),
	}
	if nb.OK == 0 {
		// Without a successful neighbourhood its latency targets are not met.
		ts[0].Pass, ts[1].Pass = false, false
	}
	return ts
}
