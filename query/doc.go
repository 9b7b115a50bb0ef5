// Package query serves Verband over HTTP. For now it holds only the server
// skeleton: health and readiness endpoints, structured request logs and
// graceful shutdown. The GraphQL API, the playground, the graph explorer and
// the TAXII 2.1 server come in later issues and will be mounted on the same
// Server.
//
// The main types:
//
//   - Server: an HTTP server bound to one *graph.Store. NewServer builds it;
//     Listen binds the address (so that Addr reports the real port when the
//     address was ":0"); Run serves until its context ends and then shuts
//     down gracefully.
//   - ServerOptions: the listen address, the logger, TLS certificate and key
//     files, and the shutdown grace period. Timeouts are fixed and sane
//     (read header 10 s, read 30 s, write 60 s, idle 2 min).
//
// Endpoints:
//
//   - GET /healthz: 200 and {"status":"ok","index_lag":N,"nodes":N,
//     "index_docs":N} while the store works (index_lag counts commits not
//     yet searchable, nodes the stored objects, index_docs the searchable
//     ones), and 503 with "status":"failing" and the error when the search
//     indexer has stopped or the store cannot be read.
//   - GET /readyz: 200 once the server is serving and the search index has
//     caught up with every commit made before the server started, 503 before
//     that and while shutting down.
//
// A Server is safe for concurrent use; Run may be called once.
package query
