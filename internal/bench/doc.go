// Package bench measures a Verband store end to end: bulk ingest,
// neighbourhood queries, search, memory and disk, on a seeded synthetic CTI
// graph or on an edge list shared with other systems. It backs
// `verband bench` and the Go benchmarks of package graph.
//
// The main types:
//
//   - Generator: a seeded synthetic CTI graph of an exact object count,
//     streamed one object at a time. Half the objects are observables
//     (ipv4-addr, domain-name, url, file with hashes, email-addr) with
//     canonical values and deterministic ids; a quarter are relationships
//     (indicates, based-on, resolves-to, uses, attributed-to,
//     communicates-with, targets, consists-of); 15% are domain objects with
//     names and descriptions (indicators with matching patterns, malware,
//     attack patterns, intrusion sets, campaigns, …); 10% are containers
//     (reports, incidents, cases, groupings) whose object_refs hold their
//     own evidence plus popular values drawn by a Zipf law, so most
//     observables are in one container and a few in thousands. Every
//     domain object names its creating organization (created_by_ref), as
//     real STIX does, so the organizations' identities are hubs. Access
//     policies are drawn so that QueryViewer sees about 88% of the graph
//     and HalfViewer, an organization outside the AMBER sharing community,
//     about half, with the hidden half spread through the whole graph. The
//     same Config always yields byte-identical objects
//     (Generator.WriteNDJSON).
//   - EdgeList: the "a b" edge-list format of shared/tools/cluster_peers.py,
//     as objects (nodes, then one relationship per line), so one graph can
//     be measured here and in other systems.
//   - Load: bulk-loads a Source into a store, timing the commit and the
//     search index catching up, and draws seeded samples (start nodes,
//     keyword and free-text queries) on the way.
//   - Run and Result: the whole benchmark and its JSON report, with the
//     targets and whether each was met.
//   - Enforcement: the cost of access enforcement, the same reads as
//     graph.System() and as HalfViewer, interleaved, with their ratios.
//
// Lifetime and concurrency: a Generator or EdgeList is used by one
// goroutine; Run owns the store it opens and closes it (and removes a
// temporary data directory) before returning.
package bench
