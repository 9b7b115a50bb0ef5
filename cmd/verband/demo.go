package main

import (
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/internal/demo"
	"github.com/verband-cti/verband/query"
)

func newDemoCmd(a *app) *cobra.Command {
	var (
		addr       string
		keep, mini bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a server on a temporary store preloaded with ATT&CK, ESET and Maltrail data",
		Long: `Demo creates a temporary data directory, loads real threat intelligence into
it and runs the HTTP server on it, so that you see a real graph at once.

The data is MITRE ATT&CK Enterprise, ESET's campaigns (MISP events) and
Maltrail's lists of APT28, APT29 and Turla when the shared data folder
(../shared/data beside the repository, or $VERBAND_SHARED_DATA) is present,
and otherwise a sample built into Verband: about a thousand ATT&CK objects
around four intrusion sets, ESET's events on those sets and the same lists.
The containers that share evidence are clustered once, so the playground's
correlation, path and cluster examples have something to show.
Stop it with Ctrl-C; the temporary directory is then removed, unless --keep
is given. --data-dir is ignored: the demo never touches your store.`,
		Example: `  verband demo
  verband demo --keep --addr 127.0.0.1:9000`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			useServerProcs()
			log, err := a.logger(slog.LevelInfo)
			if err != nil {
				return err
			}
			sopts := a.storeOptions(log)
			prog := newLoadProgress(a.stderr, "load")
			return demo.Run(cmd.Context(), demo.Options{
				Addr: addr, Keep: keep, NoSharedData: mini, Store: &sopts,
				Out: a.stdout, Logger: log, Progress: prog.update, Command: selfCommand(),
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", query.DefaultAddr, "address to listen on")
	f.BoolVar(&keep, "keep", false, "keep the temporary data directory when the demo stops")
	f.BoolVar(&mini, "sample", false, "load the built-in sample even when the shared data folder is present")
	return cmd
}

// selfCommand returns how the user ran Verband, for hints: "go run
// ./cmd/verband" when the binary was built by go run, else "verband".
func selfCommand() string {
	if strings.Contains(os.Args[0], "go-build") {
		return "go run ./cmd/verband"
	}
	return "verband"
}
