// Package taxii is a TAXII 2.1 client: it finds a server's API roots and
// collections and reads a collection's objects page by page, and Pull loads
// them into the store through the ingest pipeline, remembering per
// collection how far it got so that the next pull resumes there.
//
// The main types:
//
//   - Client speaks TAXII 2.1 over HTTP: the media type
//     application/taxii+json;version=2.1 on every request, HTTP basic or
//     bearer-token authentication (Credentials), and retries with
//     exponential backoff on 429 and 5xx answers and on network errors,
//     honouring Retry-After. Discover, APIRoot, Collections and Objects map
//     the endpoints of the same names; Resolve turns a discovery or API
//     root URL into an API root.
//   - Page is one answer of the objects endpoint: its objects, "more" and
//     "next", and the X-TAXII-Date-Added-First and -Last headers.
//   - Pull reads a collection from its saved Position onwards: it follows
//     "next" while the server gives one, and otherwise asks again with
//     added_after set to the last page's X-TAXII-Date-Added-Last. Each page
//     is loaded (one atomic load per page) before the position moves past
//     it, so an interrupted pull loses nothing and repeats at most one page,
//     and loading is idempotent.
//   - Positions keeps the positions; FilePositions stores them as JSON in
//     one file, by default taxii-positions.json in the store's data
//     directory, written atomically (a temporary file renamed over it).
//
// Objects are decoded with the STIX decoder (package ingest/stix), so a
// page gets the same checks as a file: bad objects are reported by page and
// index and, in skip mode, left out.
//
// Concurrency. A Client is safe for concurrent use. Pull is not meant to
// run twice at once on one collection; FilePositions serialises its own
// reads and writes within a process only.
package taxii
