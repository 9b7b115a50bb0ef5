// Package query serves Verband over HTTP: the GraphQL API, with its
// resolvers, limits and request-scoped loaders, and the server that mounts
// it beside health checks and metrics. The schema is SDL in
// schema/*.graphql (schema.GraphQL); this package binds resolvers to it.
//
// The main types:
//
//   - API: the parsed schema bound to resolvers over one *graph.Store, with
//     its Limits. NewAPI builds it; Exec runs one Request as a viewer; it
//     is also the http.Handler of /graphql. Root resolvers (Query and
//     Mutation) hold no per-request state: each request gets a context
//     value with its viewer, its principal and its loaders.
//   - Limits: MaxDepth, MaxQueryLength and MaxSelections (enforced by
//     graphql-go before anything runs), a per-request Timeout, a page size
//     cap, a cap on the objects one request loads, depth caps on neighbours
//     and paths, and scan budgets. DefaultLimits documents the defaults. A
//     request over a limit fails at once with an error of code LIMIT.
//   - Server: the HTTP server. NewServer builds it; Listen binds; Run serves
//     until its context ends and then shuts down gracefully; Handle mounts
//     further handlers (the playground, the explorer, TAXII), with or
//     without authentication; Registry is the Prometheus registry of
//     /metrics.
//   - Authenticator: turns a bearer token into a viewer and a principal;
//     *graph.Store implements it with its hashed API tokens. PrincipalFrom
//     reads them back from a request's context.
//   - AuditRecord: what the audit entry of one request says; the
//     authentication middleware (Server.Authenticated) creates it, the
//     handlers add the operation, arguments and the objects they return
//     (AuditRecordFrom), and the entry is appended before the answer goes
//     out.
//   - Error: an API error with a Code (VALIDATION, NOT_FOUND, FORBIDDEN,
//     LIMIT, UNAUTHENTICATED, BAD_QUERY, METHOD_NOT_ALLOWED, INTERNAL), sent
//     as extensions.code with the field and object at fault. Every error of
//     a response has a code.
//
// Correlations. Query.correlations asks the API's correlate.Engine, which
// keeps one projection per recent viewer until the next commit; a request
// that times out while its projection is built leaves the build running
// for the next one. API.Close stops such builds (Server.Run calls it).
// Query.correlationPaths runs graph/cluster's k cheapest evidence paths on
// the same projection.
//
// Clusters. Query.clusters, cluster and clusterReports read the snapshots
// that cluster runs (internal/clusterjob) stored for the caller's
// organization, or for the instance when the viewer is the System viewer;
// no request reads another audience's. The containers an answer names are
// recorded in its audit entry even where the caller asks only for their ids.
//
// Access. Resolvers never decide visibility: every read goes through a
// graph.Tx or Store.Search bound to the request's viewer, so hidden objects
// read as missing everywhere. Resolvers add two owner-only rules the store
// does not yet apply: provenance and the sharing list are shown to the
// owning organization only. Mutations need a role that writes (analyst,
// reviewer, admin, service) and, to change an existing object, its owning
// organization. An admin reads and writes like any member of its
// organization; what it adds is the account administration of admin.go
// (admins of their organization's users and tokens; instance admins, of
// the operator organization, also of organizations).
//
// Audit. Every request to an authenticated endpoint, a failed login
// included, is appended to the store's audit log (graph.Store.AppendAudit):
// the viewer, the operation ("graphql:Name", "taxii", or "http" for a
// request that failed before it was read), the arguments (for GraphQL the
// document, operation name and variables), the STIX id of every object the
// answer returns (every object resolver is made by request.resolver, which
// notes it), and the error codes. The answer is held back until the entry
// is committed; when it cannot be, the client gets 500 instead. Query.auditLog
// shows an admin the entries that concern the admin's organization.
//
// Batching. Each request has dataloaders (graph-gophers/dataloader) for
// nodes by internal id, nodes by STIX id and the edges at a node. Objects of
// one page or list form a group; when one of them needs its edges or a
// reference, the loads of the whole group are made in one batch, and the
// objects at the far ends of those edges in one more. Listing N objects with
// their neighbours therefore opens a fixed number of store snapshots,
// whatever N.
//
// Endpoints:
//
//   - /graphql: POST (application/json or application/graphql) and GET
//     (queries only). Needs "Authorization: Bearer <token>"; without a
//     valid one the answer is 401 with a JSON error body.
//   - GET /metrics: Prometheus metrics: request latency by operation,
//     requests by operation and status, errors by code, objects ingested
//     by outcome, search index lag, documents and segments, Go and process metrics.
//   - GET /healthz: 200 and {"status":"ok","index_lag":N,"nodes":N,
//     "index_docs":N} while the store works, 503 with "status":"failing"
//     when the search indexer has stopped or the store cannot be read.
//   - GET /readyz: 200 once the server is serving and the search index has
//     caught up with every commit made before the server started, 503 before
//     that and while shutting down.
//
// Every request is logged as one structured line (log/slog); GraphQL
// requests add one with the operation, the duration, the user and the
// status.
//
// Concurrency. API and Server are safe for concurrent use; Run may be called
// once, and handlers must be mounted before it.
package query
