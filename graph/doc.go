// Package graph is Verband's property graph of STIX objects on Badger, with
// a bleve full-text index kept beside it as a derived view.
//
// The main types:
//
//   - Store: the open data directory. Open(dir, DefaultOptions()) creates or
//     opens it; Close flushes the search index and releases the id lease.
//   - Tx: a transaction bound to a Viewer. Store.View runs a read-only
//     snapshot; Store.Update runs a read-write transaction that commits
//     atomically. Badger never leaks out of this package.
//   - Viewer: who reads. Every read path takes one, and every answer (a node,
//     a neighbour list, a degree, a count, a search hit or facet) covers only
//     what the viewer may see; a hidden node is reported as not found.
//   - Bulk: the fast load path, committing objects in atomic chunks.
//   - Node and Edge: what reads return. Nodes are STIX objects (SDOs, SCOs,
//     SROs, marking definitions and custom types alike); edges are STIX
//     relationships (typed by relationship_type, with Via naming the
//     relationship object) and embedded references (typed by the property
//     name, such as created_by_ref or object_refs). A Ref names a node (its
//     ids and type) without its properties; the store remembers Refs, which
//     never change, and checks visibility on every read as for a Node.
//
// Storage layout. All keys are built and parsed in keys.go, with a persisted
// FormatVersion. Nodes live under fixed-width big-endian ids from a leased
// sequence; both directions of every edge are written in the transaction
// that writes the object implying it; a STIX id index, a type index (whose
// values hold each node's access class), a time index, a canonical value
// index, degree counters and per-type counters are maintained in the same
// transaction, together with an outbox entry listing the changed ids.
// References to objects that have not arrived are stored against stub
// records and resolve when the object arrives. Records longer than
// Options.ValueThreshold live in Badger's value log, so that compactions
// move the small index keys and pointers rather than whole objects; a
// collector rewrites value log files that are mostly garbage every
// Options.ValueLogGCInterval (CollectValueLog runs it at once).
//
// Access. Each node has a Policy (owner, TLP, sharing list, named users),
// interned as a Class. An in-memory id → class array lets reads decide
// visibility of neighbours and hits without reading their records. An edge
// is visible when both ends and the relationship object behind it are.
//
// Accounts. Organizations, their users (each in one organization, with a
// role) and the users' API tokens (only a hash of each secret is stored)
// live beside the graph; Authenticate turns a token secret into the Viewer
// of its user and organization, whatever the role, and into a Principal
// that says what the token may administer.
//
// Search. One indexer goroutine reads the outbox past the index's high-water
// mark and applies each batch of documents together with the new mark, so a
// crash never leaves the index ahead of or inconsistent with its mark (while
// someone waits for a backlog, a second goroutine builds the next batch's
// documents, never applying them); on
// start it replays the outbox, or rebuilds from the records when the outbox
// no longer covers the gap. Store.Search keeps, inside the index, only the
// matches whose node's current class the viewer may see (checked in memory
// as the index reaches each match), so totals and facets are exact.
// Documents hold no STIX ids; a search for one finds its node through the
// id index, and the same visibility check applies to that hit.
//
// Audit. Store.AppendAudit appends an entry (who asked, what, which STIX
// ids came back, how it ended, which organizations it concerns) to an
// append-only log in the store. Entries are RFC 8785 canonical JSON,
// each hashed with SHA-256 over its contents and the previous entry's hash;
// a head file records the last one flushed. Store.AuditVerify finds
// entries altered, removed, moved or cut from the tail, and
// Store.AuditEntries reads them, by organization and time. audit.go
// documents the format and the hash recipe an oversight body follows. The
// log is kept in segment files of its own under <dir>/auditlog (package
// internal/auditseg), not in Badger, whose work on it stalled the API
// (auditstore.go says why): an append returns once its entry is written
// to the operating system, and the log is flushed to disk every
// Options.AuditFlushInterval, so that a request does not wait for a disk
// flush (an interval of 0 restores that wait). Stores of formats 1 to 3,
// which kept it in Badger, are converted on their first writable open
// (auditmigrate.go). Store.PruneAudit removes the oldest entries, and
// Options.AuditRetention does so hourly; the entries kept chain to the
// last one removed, the log's base, from which AuditVerify checks them
// (auditprune.go).
//
// Concurrency. A Store is safe for concurrent use. Reads run in parallel on
// snapshots. Writes are serialized by the store (one writer at a time), which
// keeps counter updates free of conflicts. A Tx must not outlive its closure
// or be shared between goroutines.
//
// Runs. Store.PutRun, Runs, LatestRun and PruneRuns keep the results of
// scheduled jobs (the cluster snapshots of each audience) as opaque bytes
// under a kind, an audience and a time-ordered run id, append-only; the job
// owns their encoding and gives each audience only its own runs (runs.go).
//
// Consistency. Store.Check verifies every invariant and reports each one
// that fails; the test helper in graphtest runs it after every test.
package graph
