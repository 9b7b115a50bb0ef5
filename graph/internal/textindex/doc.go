// Package textindex is the full-text side of the graph store: a bleve index
// over graph nodes, fed from the store's outbox and searched on behalf of
// viewers who may see only some access classes.
//
// It owns the bleve mapping, the on-disk layout of the index directory, the
// high-water mark that ties the index to the outbox, and the translation of
// what an analyst types into a bounded bleve query. It knows nothing of the
// graph, STIX or access rules beyond the opaque Type and Class of each
// document; the caller decides which classes a viewer may see.
//
// The main types:
//
//   - Index: an open index directory. Open creates it when missing; Remove
//     deletes it.
//   - Doc: one node as indexed: analysed Name and Text, exact Keywords, IPs
//     for CIDR queries, Type and Class for restriction and facets, and the
//     Created and Modified dates.
//   - Query and Result: one search with its type, class and time
//     restriction, paging and facets, and its hits, exact total and per-type
//     counts over the restricted set.
//   - Options: tuning with documented defaults (DefaultOptions).
//
// # Mapping
//
// The mapping is static and lean, because indexing speed bounds how soon
// new objects become searchable: nothing is stored, no term vectors (so no
// phrase queries), no _all field, doc values only on the type field for
// facets. Name and Text are analysed with TextAnalyzer, which splits words
// at underscores as well (so "duke" finds Maltrail's apt_duke); Type,
// Class, Keywords, IPs and dates are built as exact terms without going
// through bleve's analyzers or its reflection-based mapper. Dates are a
// five-level trie of exact terms at whole-second precision (see
// dateShifts) rather than bleve date fields, which cost 16 terms per value. A Doc with no Name, Text, Keywords or IPs
// (a relationship, a sighting without description) is applied as a delete
// unless Options.IndexBare is set. Documents need not carry their STIX ids:
// with Options.ResolveID a query that is a STIX id matches the document of
// that id through its bleve id, which saves a unique term per document.
//
// # Consistency
//
// Apply writes documents, deletions and the caller's high-water mark in one
// bleve batch, so every state of the index, in memory or on disk, carries
// the mark of exactly the batches it contains. By default Apply returns when
// the batch is searchable and a background persister writes it shortly
// after; DurableHWM tells how far that got, and so how far the caller may
// prune its outbox. After a crash the index reopens
// at the mark of the last persisted batch (HWM), from which the caller
// replays its outbox, or Open fails with ErrCorrupt and the caller removes
// and rebuilds the index.
//
// # Concurrency and lifetime
//
// Apply is meant to be called by one goroutine (the store's indexer); calls
// are serialised. Search, HWM, DurableHWM and DocCount may be called from
// any number of goroutines, concurrently with Apply; a search sees the
// batches applied before it started. Close waits for running calls and for
// the persister, then releases the directory; later calls return ErrClosed.
//
// Importing the package sets bleve's process-wide
// searcher.DisjunctionMaxClauseCount to 4096 when it is unset, so that no
// wildcard, fuzzy or range query can expand into an unbounded number of
// searchers.
package textindex
