// Package refdata loads reference data: MISP warninglists, galaxies and
// taxonomies, and lists of shared parent domains. It owns no storage;
// callers decide what to keep and where.
//
// The main types:
//
//   - Warninglists indexes MISP warninglists (LoadWarninglists, one
//     Warninglist per list.json) and answers Match(type, value): which
//     lists hold an observable. Hostname lists match subdomains, cidr lists
//     the addresses and blocks inside them, string lists exact values,
//     substring and regex lists as MISP documents them. A lookup is a few
//     map probes and allocates only on a hit; the correlation engine uses it
//     to let noise (8.8.8.8, google.com) link nothing.
//   - Galaxies holds MISP galaxy clusters (LoadGalaxies) indexed by uuid and
//     by tag. ClusterObject turns a Cluster into a STIX threat-actor,
//     intrusion-set, malware, tool, attack-pattern, course-of-action or
//     vulnerability (STIXType), keeping the cluster's own uuid as its id, so
//     a MITRE ATT&CK cluster lands on MITRE's own object; Galaxies.Source
//     yields every cluster and their relations for the ingest pipeline.
//   - SharedParents holds domains under which a provider hands out
//     subdomains to anyone (dynamic DNS, tunnels, free hosting), which the
//     correlation engine treats as public suffixes: BuiltinSharedParents,
//     Verband's own list (sharedparents.txt, whose header says how it was
//     made), and LoadSharedParents for the operator's.
//   - Vocabulary holds MISP taxonomies (LoadTaxonomies) as the tags they
//     define, with descriptions, for validating tags and describing labels.
//
// Identifiers that MISP does not give (a cluster known only by its tag, a
// relationship) are UUIDv5 in Namespace (DerivedUUID), so they are the same
// on every run and installation.
//
// Everything returned by the loaders is read-only afterwards and safe for
// concurrent use; a GalaxySource, like every ingest.Source, is not.
package refdata
