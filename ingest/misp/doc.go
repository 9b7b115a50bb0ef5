// Package misp decodes MISP events into STIX 2.1 objects and encodes STIX
// objects as a MISP event.
//
// The main types:
//
//   - Source (NewSource, OpenFile, OpenFeed) is an ingest.Source and
//     ingest.Hinter over MISP JSON: a bare {"Event": …}, an event without
//     the wrapper (PyMISP style), a REST search response
//     {"response": [{"Event": …}, …]}, an array of any of these or of
//     sharing groups, plain or gzip-compressed, or a feed folder
//     (manifest.json and <uuid>.json). Detect tells MISP JSON from STIX by
//     its first bytes.
//   - Encode writes one MISP event from a set of STIX objects, typically a
//     report or case and its members; EncodeStats lists what MISP cannot
//     hold.
//   - Options tune a Source: size and depth limits, trust in the creator
//     organisation, galaxies for resolving galaxy tags.
//
// # Mapping
//
// An event becomes a report with id report--<event uuid> (a uuid derived
// from the event's content when it has none), so that loading it again
// changes nothing; its object_refs hold every member. Org and Orgc become
// identities (class organization), Orgc the created_by_ref of everything
// made for the event. tlp:* tags become TLP 2.0 object_marking_refs (the
// marking definitions are returned once per source); other tags, PAP tags
// included, become labels.
//
// An attribute becomes its cyber observables, with deterministic ids from
// canonical values (ip-src/ip-dst → ipv4-addr/ipv6-addr, domain/hostname →
// domain-name, url → url, email-* → email-addr, md5/sha1/sha256/… and
// filename|<hash> → file with hashes, domain|ip → domain-name, address and
// a resolves-to relationship, AS → autonomous-system, mutex, regkey,
// mac-address, x509-fingerprint-*, attachment → artifact, …) and a carrier
// that keeps every MISP field as x_misp_* properties: an indicator with
// its STIX pattern when to_ids is set (detection rules such as yara keep
// their own pattern_type), an observed-data otherwise, or an
// x-misp-attribute for types with no STIX counterpart (text, comment,
// other, link, port, pdb, …), for URLs filed under "External analysis"
// without to_ids (links to write-ups, such as the publisher's own blog
// post, which would otherwise link every event that cites it), and for
// values that cannot be made into an observable (the reason is in
// x_misp_unmapped). Nothing is dropped.
//
// A MISP object becomes an observed-data (or an x-misp-object when none of
// its attributes is an observable) holding its attributes in
// x_misp_attributes and its observables in object_refs; the hashes of a
// file object make one file. Its to_ids attributes get their own
// indicators; ObjectReferences become relationships between carriers.
// Galaxy clusters become threat-actor, intrusion-set, malware, tool,
// attack-pattern or course-of-action nodes (see refdata.ClusterObject);
// attribute galaxies also become relationships from the attribute's
// carrier. Sightings become sightings of the carrier, event reports notes,
// related events related-to relationships between reports.
//
// Distribution and sharing groups become Hints: distribution 0 gives
// TLP:AMBER+STRICT (owner only), 4 TLP:AMBER shared with the sharing
// group's organisations by name, 1 to 3 TLP:GREEN when there is no TLP
// tag. A distribution of 0 or 4 also makes the marking at least that
// strict; the TLP tags as spelt stay in x_misp_tlp_tags.
//
// # Errors
//
// Errors are *ingest.ObjectError values naming the file, the event's index
// in it, the uuid of the event or attribute, and the field by its path
// (such as "Object[2].Attribute[0].value"). Per-event and per-attribute
// problems (a wrong field type, a missing type or value, invalid UTF-8,
// duplicate keys, nesting deeper than Options.MaxDepth) skip what is bad
// and let the source go on. Stream problems are fatal: malformed JSON, a
// truncated file or gzip stream, trailing data, a top level that is not
// MISP, an event larger than Options.MaxEventBytes. In a feed, a problem
// with one event file is not fatal; the source goes on with the next file.
//
// # Memory and concurrency
//
// The top level is streamed: one event at a time is held in memory, with
// the objects made from it. A Source is not safe for concurrent use;
// objects it returns share no memory with it and may be kept and changed.
package misp
