package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/graph"
)

func newReindexCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "reindex",
		Short: "Rebuild the search index from the store",
		Long: `Reindex rebuilds the full-text search index from the objects in the store,
for after a damaged index or a change of the index mapping. The store itself
is not changed.`,
		Example: `  verband reindex
  verband reindex --data-dir /srv/verband --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			store, err := a.openStore(true)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			var total int64
			err = store.View(graph.System(), func(tx *graph.Tx) error {
				types, err := tx.Types()
				for _, t := range types {
					total += t.Count
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("reindex: count objects: %w", err)
			}
			prog := newCountProgress(a.stderr, "reindex", "objects", int(total))
			start := time.Now()
			done := 0
			if err := store.Reindex(cmd.Context(), func(n int) { done = n; prog.update(n) }); err != nil {
				return fmt.Errorf("reindex: %w", err)
			}
			prog.finish()
			took := time.Since(start)
			st := store.IndexStatus()
			if a.json {
				return a.printJSON(struct {
					Objects   int     `json:"objects"`
					Documents uint64  `json:"documents"`
					Seconds   float64 `json:"seconds"`
				}{done, st.Docs, took.Seconds()})
			}
			fmt.Fprintf(a.stdout, "Reindexed %d objects in %s; the index holds %d documents.\n", done, took.Round(time.Millisecond), st.Docs)
			return nil
		},
	}
}
