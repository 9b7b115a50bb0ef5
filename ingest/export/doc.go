// Package export chooses what leaves Verband and writes it as a STIX 2.1
// bundle; the encoders of other formats (MISP, CSV, Suricata, Zeek) take the
// same selection through Objects.
//
// The main types and functions:
//
//   - Selection says what to export: a case and its members, the hits of a
//     full-text query, objects of some types, objects modified in a time
//     window, or everything, optionally only what one source or file
//     contributed. Select turns it into node ids, adding what the chosen
//     objects need to be understood (see Select).
//   - Form is Canonical (the default for partners: canonical SCOs, every
//     reference rewritten to the canonical id, so the bundle is consistent
//     in itself) or AsReceived (every object exactly as a source sent it:
//     an SCO's canonicalised properties and id are restored from the
//     provenance's Original).
//   - Objects yields the objects of a selection in a form; WriteBundle
//     streams them as a bundle, optionally gzip-compressed.
//   - Redactor is the seam for protected properties: every object passes
//     through Options.Redact before it is written.
//
// Access. Everything is read as a graph.Viewer, inside one read-only
// snapshot: the store leaves out what the viewer may not see, so a case
// export never holds a member, relationship or marking the viewer could not
// read in the graph. Objects marked TLP:AMBER+STRICT are withheld unless
// the viewer is their owner or the system viewer, since they may not be
// re-exported. Protected properties (source, collection method, handling
// notes) are not modelled by the graph yet; when they are, the default
// Redactor will strip them for every viewer but the owner, and callers need
// not change.
//
// Concurrency. The functions are safe for concurrent use; each runs its own
// snapshot.
package export
