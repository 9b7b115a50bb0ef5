// Package taxii is Verband's read-only TAXII 2.1 server, mounted at
// /taxii2/ on the query server.
//
// It serves the discovery endpoint (/taxii2/), one API root
// (/taxii2/api/), and that root's collections:
//
//   - one collection per case (x-verband-case) the viewer may see, whose id
//     is the UUID part of the case's STIX id; it holds what an export of the
//     case holds: the case, its members, the relationships between members
//     and the sightings of members, with what they need (creators,
//     markings);
//   - one collection per configured feed (Feed): by default "all objects the
//     viewer may see", and optionally one per STIX type or set of types.
//
// Every answer is computed as the request's viewer, found in the request
// context where the bearer-token middleware of package query puts it
// (query.PrincipalFrom), so a viewer who may not see a case gets 404 for its
// collection. Objects go out in the canonical export form of package
// ingest/export, so a TAXII client receives exactly what an export would
// give the same viewer (TLP:AMBER+STRICT objects of other owners withheld).
//
// The objects endpoint supports added_after, match[type], match[id],
// match[version]=last, limit and next. "date_added" is when Verband stored
// the object (its newest provenance entry), so added_after serves
// incremental pulls; envelopes are ordered by date added, then id, and
// next is an opaque cursor naming the last envelope sent. Every list is
// computed per request, which is simple and exact but costs a walk of the
// whole collection per page.
//
// Every request is recorded in the store's audit log when the server is
// mounted behind query.Server.Authenticated (Options.Authenticate), with
// operation "taxii" and the STIX ids of the objects, manifest records,
// versions and case collections it returns.
//
// The server is read-only: collections say can_write false and POST
// answers 405. Answers use the media type application/taxii+json;
// version=2.1; an Accept header that allows neither it nor
// application/stix+json;version=2.1 gets 406. Errors carry TAXII error
// bodies (title, description, http_status), including the 401 of the
// authentication middleware when Options.Authenticate is set.
package taxii
