package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/graph"
)

// errCheckFailed is returned when the store breaks an invariant.
var errCheckFailed = errors.New("check failed")

func newCheckCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Verify every storage invariant of the store",
		Long: `Check verifies the store: both directions of every edge, edges exactly as
the stored objects imply them, the STIX id, type, time and value indexes,
degree and type counters, and the search index against the store (after
waiting for it to catch up). It prints a report and exits with status 1 when
any invariant fails. Writers may keep running; check reads a snapshot.`,
		Example: `  verband check
  verband check --json --data-dir /srv/verband`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			store, err := a.openStore(true)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			start := time.Now()
			rep, err := store.Check(cmd.Context())
			if err != nil {
				return fmt.Errorf("check: %w", err)
			}
			took := time.Since(start)
			if a.json {
				if err := a.printJSON(struct {
					OK bool `json:"ok"`
					*graph.CheckReport
					Seconds float64 `json:"seconds"`
				}{rep.OK(), rep, took.Seconds()}); err != nil {
					return err
				}
			} else {
				printCheck(a, store, rep, took)
			}
			if !rep.OK() {
				return fmt.Errorf("%w: %d %s broken", errCheckFailed, rep.ProblemCount, plural(rep.ProblemCount, "invariant"))
			}
			return nil
		},
	}
}

func printCheck(a *app, store *graph.Store, rep *graph.CheckReport, took time.Duration) {
	fmt.Fprintf(a.stdout, "Checked %s in %s.\n", store.Dir(), took.Round(time.Millisecond))
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  nodes\t%d\n", rep.Nodes)
	fmt.Fprintf(tw, "  edges\t%d\n", rep.Edges)
	fmt.Fprintf(tw, "  dangling references\t%d (referred-to objects that have not arrived)\n", rep.Stubs)
	fmt.Fprintf(tw, "  aliases\t%d\n", rep.Aliases)
	fmt.Fprintf(tw, "  search documents\t%d of %d expected\n", rep.SearchDocs, rep.SearchExpected)
	tw.Flush()
	if rep.OK() {
		fmt.Fprintln(a.stdout, "OK: every invariant holds.")
		return
	}
	fmt.Fprintf(a.stdout, "FAILED: %d %s broken:\n", rep.ProblemCount, plural(rep.ProblemCount, "invariant"))
	for _, p := range rep.Problems {
		fmt.Fprintf(a.stdout, "  - %s\n", p)
	}
	if more := rep.ProblemCount - len(rep.Problems); more > 0 {
		fmt.Fprintf(a.stdout, "  … and %d more\n", more)
	}
}
