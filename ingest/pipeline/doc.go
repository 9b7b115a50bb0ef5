// Package pipeline loads threat intelligence into a graph store: it reads
// files or any ingest.Source, finds each input's format from its content,
// makes cyber observables canonical, validates every object, and writes the
// objects through the store's bulk path in atomic chunks.
//
// The main types:
//
//   - Loader runs loads with fixed Options. LoadFiles loads files (see Files
//     for walking directories, and for the files a walk passes over),
//     LoadReader one stream, LoadSource any ingest.Source (a TAXII page, a
//     decoder of another format). A list file whose source and file name
//     are those of another list of the same load is refused (ErrSameList):
//     both would make one container.
//   - Format and Detect tell STIX (a bundle, an object or an array of
//     objects) from MISP ({"Event"…}, {"response"…}, a feed manifest) and
//     from CSV and plain lists (by extension, or by content that is not
//     JSON); gzip is recognised by its magic bytes. Supported says which
//     formats this build decodes.
//   - Options say where the data comes from (Source), who owns it (Owner),
//     the policy of objects without a TLP marking (TLP, Sharing), what to do
//     with bad objects (OnError) and how to report progress.
//   - Stats counts what a load did: objects read, created, updated,
//     unchanged, older and rejected, with every rejected object's error.
//
// For each object the loader runs, in order:
//
//   - For a cyber observable (SCO): references to SCOs this load has
//     already made canonical are rewritten to their canonical ids
//     (schema.RewriteRefs); then schema.Canonicalize gives canonical values
//     and the deterministic STIX id. When anything changed, the provenance
//     records the source's id (Provenance.OriginalID, which the store keeps
//     as an alias so references to it still land on the node) and, in
//     Provenance.Original, every property that changed, as the source gave
//     it (null for one the source did not have), so that package
//     ingest/export can give the object back exactly as received.
//   - Every other object is stored exactly as received, references
//     included: the store resolves them through the aliases.
//   - schema.Validate, then Bulk.Put with a graph.Meta naming the source,
//     the file, the owner and the object's policy. An object's TLP comes
//     from its object_marking_refs (the standard TLP 1.0 and 2.0 marking
//     definitions, and the producer's own definitions that state a TLP level
//     and came earlier in the same load), else from the source's hint
//     (ingest.Hints), else from Options.TLP.
//
// Ordering of SCOs. The ids of email-message, file and network-traffic
// objects depend on references (from_ref, parent_directory_ref and archive
// contains_refs, src_ref and dst_ref), so these must be rewritten to the
// canonical ids of their targets before the id is computed. An SCO of such a
// type that references an SCO this load has not canonicalised yet is held
// back until the end of its input; then the held SCOs are stored, each after
// the held SCOs it references, with references to SCOs of earlier loads
// looked up in the store. What remains approximate: references to SCOs that
// are never loaded stay as given (so are hashed as given); members of a
// reference cycle are stored in input order; and past MaxDeferred held
// SCOs per input, later ones are stored at once with the references they
// have (a warning says so). Other SCOs (a domain's resolves_to_refs) keep
// forward references as given; the store resolves them through aliases and
// the canonical export rewrites them.
//
// Errors. Every error about input names the file, the object's position and
// STIX id, and the property at fault (an *ingest.ObjectError). With OnError
// Skip a bad object is left out, its error is kept in Stats.Errors, and the
// load goes on; a file that cannot be read further (malformed JSON, a
// truncated gzip stream, an unsupported format) is reported the same way and
// the load goes on with the next file; an object too large for one
// transaction is rejected and the objects around it are stored. With
// OnError Stop the load ends at the first bad object: the open chunk, which
// holds at most ChunkObjects objects read before it, is discarded, and every
// chunk committed before stays stored. Nothing stored by earlier loads is
// ever lost. Since loads are idempotent (the same object from the same
// source and file is left unchanged), running the load again after fixing
// the input is always safe.
//
// Concurrency. A Loader may be shared, but each call holds the store's
// writer while a chunk is open, so concurrent loads into one store run their
// chunks one at a time. Progress callbacks run on the loading goroutine.
package pipeline
