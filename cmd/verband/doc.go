// Command verband is Verband's command-line interface: it serves the store
// over HTTP (serve), loads STIX bundles (ingest), searches and explores the
// graph (search, get, neighbours), verifies and rebuilds it (check,
// reindex), measures it (bench), runs a demonstration (demo), and verifies
// and exports the audit log (audit). Export and ingest append an entry to
// the audit log, as the operating-system user in role "operator"; when the
// entry cannot be appended, the command fails.
//
// The files here only wire flags and output to the packages that do the
// work: graph (the store), ingest/pipeline (loading), query (the HTTP
// server), internal/demo and internal/bench. main.go builds the command
// tree and maps errors to exit statuses: 0 on success, 1 on failure, 2 for
// a usage error. Every command prints readable text on stdout, or JSON with
// --json; progress and logs go to stderr.
//
// The CLI reads as the store's operator (graph.System): it sees every
// object whatever its policy.
package main
