package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/internal/bench"
)

// newBenchCmd returns `verband bench`: it loads a seeded synthetic CTI graph
// (or an edge list) into a fresh store, measures ingest, neighbourhood
// queries, search, memory and disk, and writes the figures as JSON.
func newBenchCmd(a *app) *cobra.Command {
	var (
		opts  bench.Options
		out   string
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure ingest, neighbourhood and search speed on a synthetic graph",
		Long: `Bench builds a store in a fresh data directory, bulk-loads a seeded synthetic
CTI graph (containers sharing evidence with a skewed overlap, domain objects
with text, observables, relationships) or an edge list in the "a b" format of
cluster_peers.py, and measures: ingest objects/s until committed and until
searchable, 1-hop and 2-hop neighbourhood latency, keyword and free-text search
latency, peak RSS and bytes on disk. The load runs as "verband ingest" runs
it: chunks are committed without a disk flush each and the store is made
durable when it closes (not included in the figures); --sync-every-chunk
flushes every chunk before the next one commits, as interactive writes do
("sync_every_chunk" in the JSON says which). It then measures the cost of access
enforcement: the same 2-hop neighbourhoods, searches and degrees, interleaved
in rounds, as the system viewer (which sees everything and checks nothing: the
baseline without enforcement, since an organization's admin reads through the
same checks as its analysts) and as an analyst of an organization that sees
about half of the graph, with their ratios and the visible fraction counted
both ways ("enforcement" in the JSON, and a summary on stderr). The JSON result
includes the targets for one million objects and whether each was met.
Progress goes to stderr.`,
		Example: `  verband bench --objects 1000000 --out /tmp/bench-1m.json
  verband bench api --objects 1000000 --duration 30s --out /tmp/api-1m.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			so, err := a.openOptions()
			if err != nil {
				return err
			}
			so.SyncWrites = opts.SyncEveryChunk
			opts.Store = &so
			if !quiet {
				opts.Progress = progressPrinter(cmd.ErrOrStderr())
			}
			res, err := bench.Run(cmd.Context(), opts)
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			if err := writeResult(cmd.OutOrStdout(), out, res); err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			if !quiet {
				fmt.Fprintf(cmd.ErrOrStderr(), "bench: %s\nbench: %d of %d targets met\n", res.Enforcement.Summary(), targetsMet(res.Targets), len(res.Targets))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Objects, "objects", 1_000_000, "number of objects in the synthetic graph")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed of the graph and of the query samples")
	f.StringVar(&opts.EdgesFile, "edges-file", "", `load this edge list ("a b" lines, as cluster_peers.py gen writes) instead of a synthetic graph`)
	f.StringVar(&opts.EdgeNodeType, "edges-node-type", "ipv4-addr", "STIX type of edge-list nodes: ipv4-addr or infrastructure")
	f.StringVar(&out, "out", "", "write the JSON result to this file (default stdout)")
	f.StringVar(&opts.Dir, "dir", "", "data directory, empty or absent (default a temporary directory, removed afterwards)")
	f.IntVar(&opts.Queries, "queries", 1000, "queries of each kind to time")
	f.IntVar(&opts.ExpandLimit, "limit", 100, "node limit of a neighbourhood query")
	f.BoolVar(&opts.Check, "check", false, "run the store's consistency check after measuring")
	f.BoolVar(&opts.SyncEveryChunk, "sync-every-chunk", false, "make every chunk durable on disk before the next one commits (by default the load runs as ingest runs it, durable when the store closes)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress on stderr")
	cmd.AddCommand(newBenchAPICmd(a), newBenchClusterCmd())
	return cmd
}

// newBenchAPICmd returns `verband bench api`: it builds (or reuses) a store
// of the synthetic graph, serves it with the real HTTP server on a loopback
// port and runs a GraphQL request mix against it from concurrent clients.
func newBenchAPICmd(a *app) *cobra.Command {
	var (
		opts  bench.APIOptions
		out   string
		quiet bool
		mix   map[string]int
		prof  string
	)
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Measure GraphQL request rate and latency over HTTP with concurrent clients",
		Long: `Bench api builds a store of the seeded synthetic CTI graph (or reuses one built
before in --dir with the same --objects and --seed), starts the query server on
127.0.0.1 with an analyst token, and runs a mix of GraphQL requests over HTTP
from concurrent keep-alive clients: keyword and free-text search, an object by
id, 2-hop neighbourhoods (first 100) and the 3 shortest paths of at most 4
edges between two sampled objects. Every response must be HTTP 200 without
GraphQL errors; failures are counted apart.

It runs twice. First in a closed loop, each client sending its next request
as soon as it has an answer: its request rate is the throughput, the most
the server answers with these clients (in a closed loop the mean latency is
just the clients over that rate). Then, unless --rate is 0, in an open loop
for the same duration: the clients together offer --rate requests per second
on a fixed schedule, whatever the answers take, and every latency counts from
the moment its request was due, so queueing behind slow answers is measured,
not hidden ("open_loop" in the JSON; the latency targets are judged on it).
Its "seconds" give the latency second by second of when requests fell due,
so a stall of a few seconds shows where it happened, and "gc_cycles" the Go
runtime's garbage collections meanwhile.
Before measuring, it merges the search index into one segment, as "verband
optimize" does after a large load (--no-optimize measures it as loading left
it; "optimize" in the JSON says what was merged).
The JSON result holds, for each run, the request rate, latency percentiles
per operation and overall and the errors, then the mix and the targets with
the figure each was judged on and pass or fail. Client and server share one
process and its processors, two more than the CPUs as with serve (GOMAXPROCS
in the environment overrides; "gomaxprocs" in the JSON says how many). So that
the clients take little of them, each client keeps one connection and writes
its requests and reads the answers itself, without http.Transport's
goroutines. Progress goes to stderr.`,
		Example: `  verband bench api --objects 1000000 --duration 30s --out /tmp/api-1m.json
  verband bench api --dir /var/tmp/bench-1m --objects 1000000 --mix neighbours=1 --clients 1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(mix) > 0 {
				opts.Mix = make(map[string]float64, len(mix))
				for op, w := range mix {
					opts.Mix[op] = float64(w)
				}
			}
			useServerProcs()
			stderr := cmd.ErrOrStderr()
			so, err := a.openOptions()
			if err != nil {
				return err
			}
			opts.Logger, opts.Store = so.Logger, &so
			if !quiet {
				show := progressPrinter(stderr)
				opts.Progress = func(p bench.Progress) {
					switch p.Phase {
					case "warmup":
						p.Phase = "warming up"
					case "requests", "open loop":
						p.Phase = fmt.Sprintf("%s: %d in %.0fs", p.Phase, p.Done, p.Elapsed.Seconds())
					}
					show(p)
				}
			}
			if prof != "" {
				f, err := os.Create(prof)
				if err != nil {
					return fmt.Errorf("bench api: %w", err)
				}
				defer f.Close()
				opts.CPUProfile = f
			}
			res, err := bench.RunAPI(cmd.Context(), opts)
			if err != nil {
				return fmt.Errorf("bench api: %w", err)
			}
			if err := writeResult(cmd.OutOrStdout(), out, res); err != nil {
				return fmt.Errorf("bench api: %w", err)
			}
			if !quiet {
				fmt.Fprintf(stderr, "bench api: %.0f requests/s, %d errors, %d of %d targets met\n", res.RequestsPerSec, res.Errors, targetsMet(res.Targets), len(res.Targets))
				if ol := res.OpenLoop; ol != nil && len(ol.Seconds) > 0 {
					worst := slices.MaxFunc(ol.Seconds, func(a, b bench.APISecond) int { return cmp.Compare(a.P99Ms, b.P99Ms) })
					fmt.Fprintf(stderr, "bench api: open loop at %.0f/s: p99 %.1f ms overall, %.1f ms in its slowest second (second %d)\n",
						ol.OfferedPerSec, ol.Overall.P99Ms, worst.P99Ms, worst.Second)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Objects, "objects", 1_000_000, "number of objects in the synthetic graph")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed of the graph, the samples and the clients")
	f.StringVar(&opts.Dir, "dir", "", "data directory: empty or absent to build a store there and keep it, or one built before to reuse (default a temporary directory, removed afterwards)")
	f.IntVar(&opts.Clients, "clients", 32, "concurrent HTTP clients")
	f.DurationVar(&opts.Duration, "duration", 30*time.Second, "how long to run the timed requests")
	f.IntVar(&opts.Requests, "requests", 0, "run this many timed closed-loop requests instead of for --duration")
	f.Float64Var(&opts.Rate, "rate", bench.TargetAPIMixPerSec, "requests per second the clients offer together in the open-loop run that measures latency; 0 for no open loop")
	f.DurationVar(&opts.Warmup, "warmup", 5*time.Second, "untimed requests before the measurement")
	f.StringToIntVar(&mix, "mix", nil, "weight of each operation (search_keyword, search_text, node, neighbours, paths), such as neighbours=1; absent ones get none (default 15,15,25,30,15)")
	f.StringVar(&out, "out", "", "write the JSON result to this file (default stdout)")
	f.BoolVar(&opts.NoOptimize, "no-optimize", false, "measure the search index as loading left it, without merging it first as verband optimize does")
	f.StringVar(&prof, "requests-cpuprofile", "", "write a CPU profile of the closed-loop requests alone (not the load) to this file")
	f.StringVar(&opts.SecondProfiles, "second-profiles", "", "write a CPU profile of each second of the open loop into this directory (open-NNN.pprof), to read a slow second apart from the rest")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress on stderr")
	return cmd
}

// progressPrinter rewrites one status line on w.
func progressPrinter(w io.Writer) func(bench.Progress) {
	width := 0
	return func(p bench.Progress) {
		line := "bench: " + p.String()
		pad := max(0, width-len(line))
		width = len(line)
		if p.Phase == "done" {
			fmt.Fprintf(w, "\r%s\r", strings.Repeat(" ", pad+len(line)))
			return
		}
		fmt.Fprintf(w, "\r%s%s", line, strings.Repeat(" ", pad))
	}
}

// writeResult writes a benchmark result as indented JSON to the file out,
// or to stdout when out is empty or "-".
func writeResult(stdout io.Writer, out string, res any) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	b = append(b, '\n')
	if out == "" || out == "-" {
		_, err = stdout.Write(b)
	} else {
		err = os.WriteFile(out, b, 0o644)
	}
	if err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// targetsMet counts the targets a result met.
func targetsMet(ts []bench.Target) int {
	met := 0
	for _, t := range ts {
		if t.Pass {
			met++
		}
	}
	return met
}
