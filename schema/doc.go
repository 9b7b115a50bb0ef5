// Package schema owns Verband's vocabulary: what a STIX 2.1 object is, which
// types exist, what makes an object valid, how observable values and SCO
// identifiers are made canonical, and what the TLP and PAP markings mean.
// The graph store, ingest and query layers all build on it.
//
// The main types and functions:
//
//   - Object holds one STIX object as raw JSON properties plus its decoded
//     type, id and timestamps. ParseObject and NewObject build one; custom
//     properties and unknown types are kept like any other.
//   - TypeInfo and Kind describe the known types (every SDO, SRO, SCO and
//     meta object of STIX 2.1, and the custom SDO x-verband-case); Lookup,
//     KindOf and Types read the registry.
//   - Validate checks an object and returns a *ValidationError naming the
//     object and the property at fault.
//   - CanonicalDomain, CanonicalIP, CanonicalURL, CanonicalEmail,
//     CanonicalHash and CanonicalMAC normalise observable values;
//     Canonicalize applies them to an SCO and gives it its deterministic id,
//     which SCOID computes (STIX 2.1 section 2.9, with CanonicalJSON as the
//     RFC 8785 serialisation). RewriteRefs moves references to the new ids,
//     and IndexValues lists the values a node is found by.
//   - TLP and PAP are the marking levels; TLPOf reads an object's TLP from
//     its object_marking_refs.
//
// The package is a leaf: it imports nothing from the rest of Verband, does
// no I/O, and keeps no mutable state, so all its functions are safe for
// concurrent use. An *Object is not: Canonicalize and Object.Set modify it
// in place, and callers that share one must not do so concurrently.
package schema
