// Package stix decodes STIX 2.0 and 2.1 JSON into *schema.Object values, one
// object at a time, from a stream of any size, and writes STIX 2.1 bundles
// the same way.
//
// The main types are Decoder, which NewDecoder and OpenFile return (it is an
// ingest.Source), Options, whose DefaultOptions are safe for untrusted
// input, and BundleWriter, which streams objects out as a bundle. Errors are
// *ingest.ObjectError values; ingest.IsFatal tells whether the stream can go
// on after one.
//
// # Input
//
// A Decoder accepts a bundle {"type":"bundle","id":…,"objects":[…]} with its
// members in any order, a single STIX object, or a top-level JSON array of
// objects, plain or gzip-compressed (recognised by its magic bytes, whatever
// the file is called; concatenated gzip members are read as one stream). A
// UTF-8 byte order mark at the start is skipped. Only one object is held in
// memory at a time: the elements of "objects" are read as they come, and a
// top-level object is buffered (within MaxObjectBytes) only until it turns
// out to be a bundle. A top-level object whose "objects" array comes before
// its "type" is taken for a bundle; if its type then turns out not to be
// "bundle", the decoder fails, after having returned its elements.
//
// Every string must be valid UTF-8, and escaped UTF-16 surrogates must come
// in pairs; bad strings are rejected, never replaced. Objects that repeat a
// property are rejected as well. Property values are kept as compact raw
// JSON; nothing else about them is checked here beyond what
// schema.NewObject checks (string type and id, RFC 3339 created and
// modified): full validation is schema.Validate's job.
//
// # Errors
//
// Per-object errors leave the stream readable: an element that is not a JSON
// object, a missing or non-string type or id, a bad timestamp, invalid UTF-8,
// a repeated property, nesting deeper than MaxDepth, an object larger than
// MaxObjectBytes, a bundle nested in a bundle. Stream errors are fatal:
// malformed JSON, an input that ends early (a truncated file or gzip stream,
// wrapping io.ErrUnexpectedEOF), a bad gzip checksum, trailing data after
// the top-level value, an empty input, a top-level value of the wrong kind,
// and problems with the bundle's own members (a repeated type, id,
// spec_version or objects; an "objects" that is not an array; a member that
// holds invalid UTF-8 or nests deeper than MaxDepth). Trailing data
// and gzip checksums are checked when the last object has been returned, so
// the error comes in place of io.EOF. Errors name the file, the 0-based
// index of the object, its id when it was read, and the property at fault;
// byte offsets count bytes of the decompressed input.
//
// # STIX 2.0
//
// With Options.Upgrade20, an object is taken for STIX 2.0 when its own
// spec_version is "2.0", or when it has none and comes from a bundle whose
// spec_version "2.0" was read before it. Such objects, except cyber
// observables (which 2.0 bundles do not hold at the top level), change as
// follows, and in no other way:
//
//   - spec_version is set to "2.1";
//   - malware gets "is_family": true when it has no is_family; its labels
//     stay;
//   - indicator gets "pattern_type": "stix" when it has no pattern_type, and
//     a valid_from equal to its created when it has no valid_from; its labels
//     stay and no indicator_types are added;
//   - observed-data keeps its 2.0 "objects" dictionary of embedded cyber
//     observables exactly as it is;
//   - every other property, including labels on any type, is kept as is.
//
// Objects in 2.1 bundles, and objects that say spec_version "2.1", are not
// touched; canonicalisation of cyber observables happens later in the
// pipeline. If a bundle's spec_version "2.0" comes after its "objects", the
// objects were returned before it was known; the decoder then reports an
// error wrapping ingest.ErrNotUpgraded, not fatal, after the last object and
// before io.EOF.
//
// # Concurrency
//
// A Decoder is not safe for concurrent use. Objects it returns share no
// memory with the decoder or with each other and may be kept and changed.
package stix
