package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/graph/community"
	"github.com/verband-cti/verband/internal/bench"
)

// clusterOptions are the flags of `verband bench cluster`.
type clusterOptions struct {
	edgesFile  string
	peersFile  string
	seed       uint64
	resolution float64
	minWeight  float64
}

// clusterResult is the JSON that `verband bench cluster` writes. Times are
// wall-clock seconds; CPU seconds are the whole process's user and system
// time over the same span, which varies less on a shared machine.
type clusterResult struct {
	StartedAt  time.Time `json:"started_at"`
	GoVersion  string    `json:"go_version"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	NumCPU     int       `json:"num_cpu"`
	EdgesFile  string    `json:"edges_file"`
	Seed       uint64    `json:"seed"`
	Resolution float64   `json:"resolution"`
	MinWeight  float64   `json:"min_weight"`
	Nodes      int       `json:"nodes"`
	Edges      int       `json:"edges"`

	LoadSeconds       float64 `json:"load_s"`
	ComponentsSeconds float64 `json:"cc_s"`
	LouvainSeconds    float64 `json:"louvain_s"`
	LouvainCPUSeconds float64 `json:"louvain_cpu_s"`
	// ClusterSeconds is components plus Louvain, the work igraph's
	// connected_components and community_multilevel do.
	ClusterSeconds   float64 `json:"cluster_s"`
	Components       int     `json:"components"`
	LargestComponent int     `json:"largest_component"`
	Communities      int     `json:"communities"`
	// Modularity is Louvain's modularity, rounded to 4 digits as
	// cluster_peers.py rounds it.
	Modularity float64             `json:"modularity"`
	Levels     []community.Level   `json:"levels"`
	PeakRSS    int64               `json:"peak_rss_bytes"`
	PeakRSSMiB float64             `json:"peak_rss_mib"`
	Peers      []clusterPeerResult `json:"peers,omitempty"`
	Targets    []bench.Target      `json:"targets"`
	Pass       bool                `json:"pass"`
}

// clusterPeerResult is one library's result from cluster_peers.py bench,
// with our time divided by its.
type clusterPeerResult struct {
	Lib               string  `json:"lib"`
	Version           string  `json:"version,omitempty"`
	LoadSeconds       float64 `json:"load_s,omitempty"`
	BuildSeconds      float64 `json:"build_s,omitempty"`
	ComponentsSeconds float64 `json:"cc_s,omitempty"`
	LouvainSeconds    float64 `json:"louvain_s,omitempty"`
	Components        int     `json:"components,omitempty"`
	Communities       int     `json:"communities,omitempty"`
	Modularity        float64 `json:"modularity,omitempty"`
	PeakRSSMiB        float64 `json:"peak_rss_mib,omitempty"`
	TimeoutSeconds    float64 `json:"timeout_s,omitempty"`
	Error             string  `json:"error,omitempty"`
	// LouvainTimeRatio is our Louvain time over the library's (below 1:
	// we are faster); 0 when the library did not finish Louvain.
	LouvainTimeRatio float64 `json:"ours_over_theirs_louvain_time,omitempty"`
}

// Targets of issue 6 for community detection.
const (
	clusterMaxPeakRSS      = 1536 << 20 // bytes, the whole process
	clusterModularitySlack = 0.01       // below igraph's modularity at most
)

// newBenchClusterCmd returns `verband bench cluster`: connected components
// and Louvain communities on an edge list, with figures to set beside
// igraph's and networkx's from cluster_peers.py.
func newBenchClusterCmd() *cobra.Command {
	var (
		opts  clusterOptions
		out   string
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Measure connected components and Louvain communities on an edge list",
		Long: `Bench cluster loads an edge list in the "a b" format of cluster_peers.py into
a compact graph, finds its connected components and its Louvain communities
(seeded), and writes JSON: load, components and Louvain times, the number of
components and communities, the modularity, and the process's peak RSS
(getrusage). With --peers, the output of "cluster_peers.py bench" on the same
file is read, and the targets compare with igraph: Louvain no slower,
modularity at most 0.01 lower; the peak RSS target is 1.5 GiB in any case.`,
		Example: `  /usr/bin/python3 shared/tools/cluster_peers.py gen --nodes 1000000 --edges 5000000 --seed 42 --out /tmp/g1m.txt
  /usr/bin/python3 shared/tools/cluster_peers.py bench --edges-file /tmp/g1m.txt --libs igraph --cap 600 > /tmp/peers.json
  verband bench cluster --edges-file /tmp/g1m.txt --peers /tmp/peers.json --out /tmp/cluster-1m.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var progress io.Writer = io.Discard
			if !quiet {
				progress = cmd.ErrOrStderr()
			}
			res, err := runClusterBench(cmd.Context(), opts, progress)
			if err != nil {
				return fmt.Errorf("bench cluster: %w", err)
			}
			if err := writeResult(cmd.OutOrStdout(), out, res); err != nil {
				return fmt.Errorf("bench cluster: %w", err)
			}
			if !quiet {
				fmt.Fprintf(cmd.ErrOrStderr(), "bench cluster: %d of %d targets met\n", targetsMet(res.Targets), len(res.Targets))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.edgesFile, "edges-file", "", `edge list ("a b" lines, as cluster_peers.py gen writes) (required)`)
	f.StringVar(&opts.peersFile, "peers", "", "output of cluster_peers.py bench on the same file, to compare with")
	f.Uint64Var(&opts.seed, "seed", 42, "Louvain seed")
	f.Float64Var(&opts.resolution, "resolution", 1, "Louvain resolution γ")
	f.Float64Var(&opts.minWeight, "min-weight", 0, "count only edges of at least this weight for the components")
	f.StringVar(&out, "out", "", "write the JSON result to this file (default stdout)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress on stderr")
	_ = cmd.MarkFlagRequired("edges-file")
	return cmd
}

// runClusterBench loads the edge list, runs components and Louvain, and
// compares with the peers' figures.
func runClusterBench(ctx context.Context, opts clusterOptions, progress io.Writer) (*clusterResult, error) {
	var peers []clusterPeerResult
	if opts.peersFile != "" {
		var err error
		if peers, err = readClusterPeers(opts.peersFile, opts.edgesFile); err != nil {
			return nil, err
		}
	}
	res := &clusterResult{
		StartedAt:  time.Now().UTC().Truncate(time.Second),
		GoVersion:  runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		NumCPU:     runtime.NumCPU(),
		EdgesFile:  opts.edgesFile,
		Seed:       opts.seed,
		Resolution: opts.resolution,
		MinWeight:  opts.minWeight,
	}

	fmt.Fprintf(progress, "bench cluster: loading %s\n", opts.edgesFile)
	start := time.Now()
	g, err := community.LoadEdgeList(opts.edgesFile)
	if err != nil {
		return nil, err
	}
	res.LoadSeconds = roundTo(time.Since(start).Seconds(), 3)
	res.Nodes, res.Edges = g.Nodes(), g.Edges()

	fmt.Fprintf(progress, "bench cluster: %d nodes, %d edges loaded in %.2fs; components\n", res.Nodes, res.Edges, res.LoadSeconds)
	start = time.Now()
	cc, err := community.Components(g, opts.minWeight)
	if err != nil {
		return nil, err
	}
	res.ComponentsSeconds = roundTo(time.Since(start).Seconds(), 3)
	res.Components = cc.Count
	for _, s := range cc.Sizes() {
		res.LargestComponent = max(res.LargestComponent, s)
	}

	fmt.Fprintf(progress, "bench cluster: %d components in %.3fs; Louvain\n", res.Components, res.ComponentsSeconds)
	cpu0 := processCPU()
	start = time.Now()
	lv, err := community.Louvain(ctx, g, community.LouvainOptions{Seed: opts.seed, Resolution: opts.resolution})
	if err != nil {
		return nil, err
	}
	res.LouvainSeconds = roundTo(time.Since(start).Seconds(), 3)
	res.LouvainCPUSeconds = roundTo((processCPU() - cpu0).Seconds(), 3)
	res.ClusterSeconds = roundTo(res.ComponentsSeconds+res.LouvainSeconds, 3)
	res.Communities, res.Modularity, res.Levels = lv.Count, roundTo(lv.Modularity, 4), lv.Levels

	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return nil, fmt.Errorf("read peak RSS: %w", err)
	}
	res.PeakRSS = ru.Maxrss << 10 // KiB on Linux
	res.PeakRSSMiB = roundTo(float64(res.PeakRSS)/(1<<20), 1)
	fmt.Fprintf(progress, "bench cluster: %d communities, Q %.4f, in %.2fs; peak RSS %.0f MiB\n",
		res.Communities, res.Modularity, res.LouvainSeconds, res.PeakRSSMiB)

	res.Targets = append(res.Targets, clusterTarget("peak_rss_bytes", "<=", clusterMaxPeakRSS, float64(res.PeakRSS), "bytes"))
	for i := range peers {
		p := &peers[i]
		if p.LouvainSeconds > 0 {
			p.LouvainTimeRatio = roundTo(res.LouvainSeconds/p.LouvainSeconds, 3)
		}
		if p.Lib == "igraph" && p.LouvainSeconds > 0 {
			res.Targets = append(res.Targets,
				clusterTarget("louvain_s", "<=", p.LouvainSeconds, res.LouvainSeconds, "s"),
				clusterTarget("modularity", ">=", p.Modularity-clusterModularitySlack, res.Modularity, ""))
		}
	}
	res.Peers = peers
	res.Pass = targetsMet(res.Targets) == len(res.Targets)
	return res, nil
}

// readClusterPeers reads the output of cluster_peers.py bench and checks
// that it measured the same file.
func readClusterPeers(path, edgesFile string) ([]clusterPeerResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read peers: %w", err)
	}
	var doc struct {
		EdgesFile string              `json:"edges_file"`
		Results   []clusterPeerResult `json:"results"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("decode peers %s: %w", path, err)
	}
	if filepath.Clean(doc.EdgesFile) != filepath.Clean(edgesFile) {
		return nil, fmt.Errorf("peers %s measured %s, not %s", path, doc.EdgesFile, edgesFile)
	}
	return doc.Results, nil
}

// clusterTarget compares a figure with its target.
func clusterTarget(fig, op string, target, value float64, unit string) bench.Target {
	pass := value >= target
	if op == "<=" {
		pass = value <= target
	}
	return bench.Target{Figure: fig, Op: op, Target: roundTo(target, 4), Value: roundTo(value, 4), Unit: unit, Pass: pass}
}

// processCPU returns the user and system time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// roundTo rounds x to the given number of decimal digits.
func roundTo(x float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(x*p) / p
}
