package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/graph"
)

func newOptimizeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "optimize",
		Short: "Merge the search index into one segment, for faster searches",
		Long: `Optimize merges the full-text search index into one segment. The index grows
in segments, and merges them by tiers of sizes as it goes, so after a large
bulk load it holds a score of them, and every search looks each of its terms
up in each one. After optimize, it looks each up once.

It rewrites the whole index: 7 to 12 s per million objects on two cores.
Run it after a large load, while the server is stopped (it opens the store
directly); a running server merges its index in the background when an
admin of the operator organization sends the GraphQL mutation
optimizeSearchIndex, and ingestStatus.indexOptimize follows the merge. The
store itself is not changed; the documents and the answers of searches stay
the same.`,
		Example: `  verband ingest ./feeds && verband optimize
  verband optimize --data-dir /srv/verband --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			store, err := a.openStore(true)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			if err := store.WaitIndexed(cmd.Context()); err != nil {
				return fmt.Errorf("optimize: wait for the index to catch up: %w", err)
			}
			start := time.Now()
			seg, err := store.OptimizeSearch(cmd.Context())
			if err != nil {
				return fmt.Errorf("optimize: %w", err)
			}
			took := time.Since(start)
			if a.json {
				return a.printJSON(struct {
					graph.SearchSegments
					Seconds float64 `json:"seconds"`
				}{seg, took.Seconds()})
			}
			if seg.Before <= 1 {
				fmt.Fprintf(a.stdout, "The search index holds %d segment; there was nothing to merge.\n", seg.Before)
				return nil
			}
			fmt.Fprintf(a.stdout, "Merged the search index from %d segments into %d in %s.\n", seg.Before, seg.After, took.Round(time.Millisecond))
			return nil
		},
	}
}
