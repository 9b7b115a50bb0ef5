package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
)

// defaultMemoryLimit is the Go runtime's soft memory limit unless
// GOMEMLIMIT says otherwise. Without one, a bulk load lets the heap grow to
// twice its live size between collections; with it the collector works
// harder as the limit nears. Resident memory is this heap plus the pages of
// Badger's and bleve's memory-mapped files that the process touched (about
// 0.9 GiB after a million-object load: the value log written through its
// mapping, 540 MB, and the tables, 300 MB, sampled from /proc/PID/smaps),
// so 544 MiB keeps such a load under 1.5 GiB of RSS. Measured with verband
// bench at one million objects (peak RSS, CPU seconds of the load): 1.41
// GiB and 120 s at 512 MiB, 1.47 GiB and 111 s at 544 MiB, 1.45 to 1.49
// GiB and 111 s at 560 MiB (three runs), 1.48 GiB and 126 s at 576 MiB in
// a slower hour. Before the tables were left uncompressed
// (graph.Options.CompressTables), 640 MiB gave 1.40 to 1.44 GiB and 125 to
// 136 s, and 800 MiB 1.62 GiB and 114 s.
const defaultMemoryLimit = 544 << 20

// extraProcs is how many Go processors the commands that answer requests
// (serve, demo and bench api) run beyond the runtime's default (the CPUs
// the process may use), unless GOMAXPROCS says otherwise. Badger writes its
// value log, write-ahead log and tables through memory maps and syncs them
// with msync. A goroutine whose write faults on a page of such a mapping
// holds its processor until the kernel has resolved the fault, which the
// scheduler cannot see, so requests could wait while a core sat idle. Two
// extra processors absorb that wait. Badger's FAQ recommends far more
// (128); on two cores verband bench api measured four best: at 3,000
// requests/s the 2-hop median fell from 2.0-2.4 ms to 1.3-1.4 ms (runs
// without a stall) for about 3% of the closed-loop request rate, while
// eight cost 7-9% of that rate. A bulk load is bound by CPU instead:
// verband bench at 300,000 objects ran 3-5% slower with four, so ingest
// keeps the default.
const extraProcs = 2

// procs returns the GOMAXPROCS of a command that answers requests, or 0 to
// leave the runtime's choice: env is the GOMAXPROCS environment variable,
// which wins when set, and def the runtime's default.
func procs(env string, def int) int {
	if env != "" {
		return 0
	}
	return def + extraProcs
}

// serverProcs makes useServerProcs act once per process.
var serverProcs sync.Once

// useServerProcs gives the process extraProcs more processors unless
// GOMAXPROCS was set; later calls do nothing. Setting it turns off the
// runtime's own updates of GOMAXPROCS when a container's CPU limit changes:
// the limit is read here, once.
func useServerProcs() {
	serverProcs.Do(func() {
		if n := procs(os.Getenv("GOMAXPROCS"), runtime.GOMAXPROCS(0)); n > 0 {
			runtime.GOMAXPROCS(n)
		}
	})
}

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit status: 0 on
// success, 2 for usage errors, 1 for every other failure.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root, a := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if perr := a.stopProfile(); perr != nil {
		err = errors.Join(err, perr)
	}
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "verband: %v\n", err)
	if isUsageError(err) {
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return 2
	}
	return 1
}

// newRootCmd builds the command tree writing to stdout and stderr.
func newRootCmd(stdout, stderr io.Writer) (*cobra.Command, *app) {
	a := &app{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "verband",
		Short: "Graph-based threat-intelligence correlation store",
		Long: `Verband pools threat intelligence from several agencies (STIX 2.1 objects:
indicators, observables, malware, campaigns, incidents, cases) in one property
graph with a full-text index, so analysts see fast how a new incident links to
past ones.

Every command works on the data directory given by --data-dir. Add --json for
machine-readable output.`,
		Example: `  verband demo
  verband ingest ./bundles
  verband search "spearphishing"
  verband neighbours --depth 2 intrusion-set--899ce53f-13a0-479b-a0e4-67d46e241542`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Subcommands have no PersistentPreRunE of their own, so this one
		// runs before each of them.
		PersistentPreRunE: func(*cobra.Command, []string) error { return a.startProfile() },
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	a.addGlobalFlags(root)
	root.AddCommand(
		newServeCmd(a),
		newIngestCmd(a),
		newExportCmd(a),
		newPullCmd(a),
		newSearchCmd(a),
		newGetCmd(a),
		newNeighboursCmd(a),
		newCheckCmd(a),
		newReindexCmd(a),
		newOptimizeCmd(a),
		newDemoCmd(a),
		newBenchCmd(a),
		newAdminCmd(a),
		newAuditCmd(a),
		newClusterCmd(a),
	)
	for _, c := range root.Commands() {
		if c.Args != nil {
			// Wrong arguments are usage errors (exit status 2) in every
			// command, whoever wrote its validator.
			c.Args = args(c.Args)
		}
	}
	return root, a
}

// usageError marks a mistake in the command line (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func isUsageError(err error) bool {
	var ue usageError
	// Cobra reports an unknown subcommand with a plain error.
	return errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command ")
}

// oneArg accepts exactly one argument, described by name in the error.
func oneArg(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		switch {
		case len(a) == 0:
			return usagef("%s: missing %s", cmd.Name(), name)
		case len(a) > 1:
			return usagef("%s: want one %s, got %d arguments (quote a value that has spaces)", cmd.Name(), name, len(a))
		}
		return nil
	}
}

// someArgs accepts one or more arguments, described by name in the error.
func someArgs(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if len(a) == 0 {
			return usagef("%s: missing %s", cmd.Name(), name)
		}
		return nil
	}
}

// noArgs accepts no arguments.
func noArgs(cmd *cobra.Command, a []string) error {
	if len(a) > 0 {
		return usagef("%s takes no arguments, got %q", cmd.Name(), a)
	}
	return nil
}

// args wraps an argument validator so that its errors are usage errors.
func args(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := v(cmd, a); err != nil {
			var ue usageError
			if errors.As(err, &ue) {
				return err
			}
			return usageError{err}
		}
		return nil
	}
}
