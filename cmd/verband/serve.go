package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/correlate"
	"github.com/verband-cti/verband/internal/clusterjob"
	"github.com/verband-cti/verband/query"
	taxiiserver "github.com/verband-cti/verband/query/taxii"
	"github.com/verband-cti/verband/ui"
)

func newServeCmd(a *app) *cobra.Command {
	var opts query.ServerOptions
	lim := query.DefaultLimits()
	var corr correlationFlags
	var clusters clusterFlags
	var schedule string
	var auditFlush time.Duration
	var auditRetention age
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP server (GraphQL API) on the store",
		Long: `Serve opens the store and runs Verband's HTTP server until it is stopped
(Ctrl-C or SIGTERM), then shuts down gracefully.

Endpoints:
  /graphql   the GraphQL API (POST, and GET for queries); needs a token
  /playground  GraphiQL playground (works offline; open /playground#token=SECRET
             to fill in the token)
  /taxii2/   TAXII 2.1 server (read-only, filtered by the token's viewer)
  /metrics   Prometheus metrics
  /healthz   status, search index lag and object counts; 503 when failing
  /readyz    200 once the search index has caught up

Every request to /graphql and /taxii2/ is recorded in the audit log before it
is answered ("verband audit verify", "verband audit export"; admins read
their organization's entries with the auditLog query).

Every GraphQL request needs "Authorization: Bearer <token>"; create the first
token with "verband admin token create" (with the server stopped). Requests
are bounded by the --max-* limits and --timeout; a request over a limit fails
at once with an error of code LIMIT.

Query.correlations ranks the containers related to a case, incident, report or
grouping by the values they share. Values on the MISP warninglists named by
--warninglists, and values held by more than --correlate-max-df containers,
link nothing (they stay searchable). Registered domains stop below shared
parent domains, under which a provider hands out subdomains to anyone
(dynamic DNS such as linkpc.net, tunnels, free hosting): c2.linkpc.net and
files.linkpc.net do not link through linkpc.net. Verband has a built-in list
of them (--builtin-shared-parents=false leaves it out); --shared-parents adds
files of your own, one domain per line.

With --cluster-schedule (cron syntax: "minute hour day-of-month month
day-of-week", or "@daily", "@every 6h"), the server also runs the cluster
report of "verband cluster run" on that schedule, with the --cluster-* flags
as that command's flags and the correlation settings above. A run never
starts while the previous one is still going, and shutdown waits for the run
under way to stop.

The default address is loopback only; give --addr 0.0.0.0:8443 with --tls-cert
and --tls-key to serve others.`,
		Example: `  verband admin token create --user alice --org cert-a --role admin
  verband serve
  curl -H "Authorization: Bearer $TOKEN" -d '{"query":"{ viewer { user } }"}' http://127.0.0.1:8080/graphql
  verband serve --addr 0.0.0.0:8443 --tls-cert server.pem --tls-key server-key.pem --timeout 30s
  verband serve --warninglists misp-warninglists/lists --correlate-max-df 100
  verband serve --cluster-schedule "0 6 * * *" --cluster-out /var/lib/verband/reports`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			useServerProcs()
			log, err := a.logger(slog.LevelInfo)
			if err != nil {
				return err
			}
			if schedule != "" {
				// Refuse a bad schedule before opening the store or the port.
				if err := clusterjob.CheckSchedule(schedule); err != nil {
					return usageError{fmt.Errorf("serve: --cluster-schedule: %w", err)}
				}
			}
			sopts, err := a.openOptions()
			if err != nil {
				return err
			}
			sopts.AuditFlushInterval = auditFlush
			sopts.AuditRetention = time.Duration(auditRetention)
			store, err := a.openStoreWith(false, sopts)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			opts.Logger = log
			opts.Limits = lim
			if err := corr.apply("serve", &opts.Correlation); err != nil {
				return err
			}
			var job *clusterjob.Job
			if schedule != "" {
				if job, err = clusters.job("cluster-", opts.Correlation, log, graph.AuditViewer{User: "verband serve", Role: "scheduler"}); err != nil {
					return err
				}
				job.Store = store
			}
			srv := query.NewServer(store, opts)
			feeds, err := taxiiserver.New(store, taxiiserver.Options{Authenticate: srv.Authenticated})
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			srv.Handle(taxiiserver.Prefix, feeds, false)
			ui.Mount(srv)
			if err := srv.Listen(); err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			if !a.json {
				fmt.Fprintf(a.stdout, "Serving %s at %s (Ctrl-C to stop).\n", store.Dir(), srv.URL())
				if tokens, err := store.Tokens(graph.TokenFilter{}); err == nil && len(tokens) == 0 {
					fmt.Fprintln(a.stdout, `No API tokens yet: stop the server and create the operator organization, its first admin and a token ("verband admin --help" shows how).`)
				}
			}
			ctx, stop := context.WithCancel(cmd.Context())
			defer stop()
			if job != nil {
				sched, err := clusterjob.Schedule(ctx, schedule, job, log)
				if errors.Is(err, clusterjob.ErrConfig) {
					return usageError{fmt.Errorf("serve: --cluster-schedule: %w", err)}
				}
				if err != nil {
					return fmt.Errorf("serve: %w", err)
				}
				// Stop the schedule and wait for its run before the
				// store closes.
				defer func() { stop(); <-sched.Done() }()
				log.Info("cluster reports scheduled", "schedule", schedule, "next", sched.Next(), "out", job.Out)
			}
			if err := srv.Run(ctx); err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Addr, "addr", query.DefaultAddr, "address to listen on")
	f.Var(&auditRetention, "audit-retention", "remove audit log entries older than this age every hour, such as 365d (default: keep them; see verband audit prune)")
	f.DurationVar(&auditFlush, "audit-flush-interval", graph.DefaultOptions().AuditFlushInterval, "how often the audit log is written to disk; 0 makes every request wait for a flush of its entry (a power failure then loses no entry; requests that wait together share a flush)")
	f.StringVar(&opts.TLSCertFile, "tls-cert", "", "TLS certificate file (PEM); serve HTTPS with --tls-key")
	f.StringVar(&opts.TLSKeyFile, "tls-key", "", "TLS private key file (PEM)")
	f.DurationVar(&opts.ShutdownGrace, "shutdown-grace", 0, "how long to wait for requests in flight when stopping (default 10s)")
	f.DurationVar(&lim.Timeout, "timeout", lim.Timeout, "time limit of one GraphQL request")
	f.IntVar(&lim.MaxDepth, "max-depth", lim.MaxDepth, "deepest field nesting of a GraphQL query")
	f.IntVar(&lim.MaxQueryLength, "max-query-length", lim.MaxQueryLength, "longest GraphQL query document, in bytes")
	f.IntVar(&lim.MaxSelections, "max-selections", lim.MaxSelections, "most field selections of an operation once fragments are spread")
	f.IntVar(&lim.MaxPageSize, "max-page-size", lim.MaxPageSize, "largest first on any connection")
	f.IntVar(&lim.MaxNodes, "max-nodes", lim.MaxNodes, "most objects one request may load")
	f.IntVar(&lim.MaxNeighbourDepth, "max-neighbour-depth", lim.MaxNeighbourDepth, "largest depth of the neighbours query")
	f.IntVar(&lim.MaxPathDepth, "max-path-depth", lim.MaxPathDepth, "largest maxDepth of the paths query")
	f.IntVar(&lim.MaxPaths, "max-paths", lim.MaxPaths, "largest k of the paths query")
	f.IntVar(&lim.MaxPathVisits, "max-path-visits", lim.MaxPathVisits, "most edges one paths query may examine")
	f.IntVar(&lim.MaxScan, "max-scan", lim.MaxScan, "most objects a filtered listing or count may examine")
	corr.add(f)
	f.IntVar(&opts.Correlation.MaxDF, "correlate-max-df", correlate.DefaultMaxDF, "in correlations, values held by more containers than this link none of them")
	f.StringVar(&schedule, "cluster-schedule", "", `run the cluster report on this cron schedule, such as "0 6 * * *" (see verband cluster run)`)
	clusters.add(f, "cluster-")
	f.Int64Var(&lim.MaxBodyBytes, "max-body-bytes", lim.MaxBodyBytes, "largest request body (the ingest mutation's data), in bytes")
	return cmd
}
