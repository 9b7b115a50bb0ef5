package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/internal/bench"
)

// newBenchCmd returns `verband bench`: it loads a seeded synthetic CTI graph
// (or an edge list) into a fresh store, measures ingest, neighbourhood
// queries, search, memory and disk, and writes the figures as JSON.
func newBenchCmd() *cobra.Command {
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
latency, peak RSS and bytes on disk. The JSON result includes the targets for
one million objects and whether each was met. Progress goes to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !quiet {
				opts.Progress = progressPrinter(cmd.ErrOrStderr())
			}
			res, err := bench.Run(cmd.Context(), opts)
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			b, err := json.MarshalIndent(res, "", "  ")
			if err != nil {
				return fmt.Errorf("bench: encode result: %w", err)
			}
			b = append(b, '\n')
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(b)
			} else {
				err = os.WriteFile(out, b, 0o644)
			}
			if err != nil {
				return fmt.Errorf("bench: write result: %w", err)
			}
			if !quiet {
				met := 0
				for _, t := range res.Targets {
					if t.Pass {
						met++
					}
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "bench: %d of %d targets met\n", met, len(res.Targets))
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
