package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/query"
)

func newServeCmd(a *app) *cobra.Command {
	var opts query.ServerOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP server on the store",
		Long: `Serve opens the store and runs Verband's HTTP server until it is stopped
(Ctrl-C or SIGTERM), then shuts down gracefully.

For now the server answers health checks only: GET /healthz (status, search
index lag and number of indexed objects; 503 when the indexer has failed) and
GET /readyz. The GraphQL API, the playground and the TAXII server come in
later releases. The default address is loopback only; give --addr
0.0.0.0:8080 (ideally with --tls-cert and --tls-key) to serve others.`,
		Example: `  verband serve
  verband serve --addr 0.0.0.0:8443 --tls-cert server.pem --tls-key server-key.pem`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			log, err := a.logger(slog.LevelInfo)
			if err != nil {
				return err
			}
			store, err := a.openStore(false)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			opts.Logger = log
			srv := query.NewServer(store, opts)
			if err := srv.Listen(); err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			if !a.json {
				fmt.Fprintf(a.stdout, "Serving %s at %s (Ctrl-C to stop).\n", store.Dir(), srv.URL())
			}
			if err := srv.Run(cmd.Context()); err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Addr, "addr", query.DefaultAddr, "address to listen on")
	f.StringVar(&opts.TLSCertFile, "tls-cert", "", "TLS certificate file (PEM); serve HTTPS with --tls-key")
	f.StringVar(&opts.TLSKeyFile, "tls-key", "", "TLS private key file (PEM)")
	return cmd
}
