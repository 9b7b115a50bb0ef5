// Package pipeline loads STIX 2.1 bundle files into a graph store: it decodes
// each file as a stream (package ingest/stix), makes cyber observables
// canonical, validates every object, and writes the objects through the
// store's bulk path in atomic chunks.
//
// The main types:
//
//   - Loader runs loads with fixed Options. LoadFiles loads files (plain or
//     gzip-compressed, see Files for walking directories); LoadReader loads
//     one stream.
//   - Options say where the data comes from (Source), who owns it (Owner),
//     the policy of objects without a TLP marking (TLP, Sharing), what to do
//     with bad objects (OnError) and how to report progress.
//   - Stats counts what a load did: objects read, created, updated,
//     unchanged, older and rejected, with every rejected object's error.
//   - Progress is what the progress callback receives.
//
// For each object the loader runs, in order: schema.Canonicalize (for SCOs:
// canonical values and the deterministic STIX id; when the id changed, the
// source's id goes into Provenance.OriginalID, which the store keeps as an
// alias so references to it still land on the node); schema.Validate; and
// Bulk.Put with a graph.Meta naming the source, the file, the owner and the
// object's policy. An object's TLP comes from its object_marking_refs: the
// standard TLP 1.0 and 2.0 marking definitions, and marking definitions of
// the producer's own that state a TLP level and came earlier in the same
// load. Objects without one get Options.TLP.
//
// Errors. Every error about input names the file, the object's position and
// STIX id, and the property at fault (an *ingest.ObjectError). With OnError
// Skip a bad object is left out, its error is kept in Stats.Errors, and the
// load goes on; a file that cannot be read further (malformed JSON, a
// truncated gzip stream) is reported the same way and the load goes on with
// the next file. With OnError Stop the load ends at the first bad object:
// the open chunk, which holds at most ChunkObjects objects read before it, is
// discarded, and every chunk committed before stays stored. Nothing stored by
// earlier loads is ever lost. Since loads are idempotent (the same object from
// the same source and file is left unchanged), running the load again after
// fixing the input is always safe.
//
// Concurrency. A Loader may be shared, but each call holds the store's
// writer while a chunk is open, so concurrent loads into one store run their
// chunks one at a time. Progress callbacks run on the loading goroutine.
package pipeline
