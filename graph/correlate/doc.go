// Package correlate links containers (cases, incidents, reports, groupings,
// campaigns, observed-data) through the evidence they share, and explains
// every link. It reads the graph only through graph.Store.View and graph.Tx,
// so every answer is computed over what one viewer may see: a container,
// member, edge or marking hidden from the viewer takes no part, and changes
// neither the links nor the weights the viewer is shown.
//
// The main types:
//
//   - Projection: the weighted container graph of one viewer. Build makes
//     it in one snapshot. Its nodes are dense int32 indexes (Index, Container)
//     and its edges are Links, each with a score and the full list of
//     Evidence behind it, so graph algorithms (clusters, PageRank, paths)
//     can run on it and every result can still be explained. Correlate
//     ranks the containers related to one container.
//   - Evidence: one shared value (a Key: kind and canonical value), the
//     Rule that made the link, its IDF and weight, and the member objects of
//     each container that gave it.
//   - Engine: keeps the latest projection of each recent viewer, rebuilt
//     when the store has changed, for the API (Correlations).
//   - Options: the document-frequency cap and the warninglist matcher.
//
// # Containers and members
//
// A container is an object of one of ContainerTypes. MISP events are
// imported as reports, and list files (Maltrail families among them) as
// groupings, so both are containers as they stand. Its members are the
// objects it names in object_refs, the objects it uses or is related-to,
// and the indicators that indicate it or are related-to it. Members that
// are evidence (cyber observables, indicators, infrastructure and malware)
// count; others (identities, attack patterns, intrusion sets) do not.
//
// A container named in another's object_refs nests in it. Observed-data
// nested in a container that is not itself observed-data is folded into
// it: its members count as the container's own and it is no projection
// node, because MISP imports wrap every attribute in an observed-data that
// would otherwise repeat the event as hundreds of one-value containers.
// Other nested containers (a report in a case, the later parts of a list
// split in several groupings) stay projection nodes with their own
// members; Correlate asks about a container together with the containers
// it nests, and leaves out both those and the containers nesting it.
//
// A Maltrail family is a malware object that communicates-with its
// observables, in a grouping that holds the family and the observables; the
// grouping is the container and the family one piece of evidence in it. So
// "ESET gamaredon" links "maltrail apt_gamaredon" through the grouping of
// each file, with the shared domains and addresses as evidence; a family's
// parts link each other through the family object. Malware objects are not
// containers themselves: that would count every trail twice.
//
// # Values and rules
//
// Each evidence object stands for values: an observable for its canonical
// value (schema.IndexValues), a file for its hash class (all hashes of the
// file objects that share a hash with it, directly or through one
// more visible file object, represented by the preferred hash), and an
// indicator, infrastructure or malware object for its STIX id. A container
// holds its members' values (RuleShared) and what the rules derive from
// them, each rule with the factor its links keep (Rule.Factor):
//
//	indicator-pattern  an indicator's based-on observables          1
//	infrastructure     an infrastructure's consists-of observables  1
//	malware-sample     a malware object's sample_refs files          1
//	hash-equivalence   a different file object of the same class     1
//	url-domain, url-ip a URL's host                                 0.8
//	resolves-to        a domain's resolves_to_refs / resolves-to    0.8
//	email-domain       an e-mail address's domain                   0.5
//	registered-domain  a subdomain's registered domain (public      0.5
//	                   suffix list, golang.org/x/net/publicsuffix,
//	                   and Options.SharedParent)
//	ip-in-cidr         a CIDR block, named by some container, that   0.5
//	                   holds an address
//
// Shared parents (Options.SharedParent) are domains under which a
// provider hands out subdomains to anyone: dynamic DNS, tunnels, free
// hosting. The registered-domain rule treats them as public suffixes, so
// customers of one provider do not link through its domain. Without them,
// on the shared corpus, domains such as linkpc.net, publicvm.com and
// mooo.com put Lazarus' Maltrail list in one cluster with commodity RAT
// families (LuminosityLink, NanoCore, …), and made half the links.
//
// Rules chain (a URL gives its host and the host's registered domain) and
// a chain keeps the product of its factors. Graph steps (pattern,
// infrastructure, sample, resolves-to) are taken from members only, one
// hop. Of the ways a container holds a value the strongest counts.
//
// # Weights and noise
//
// N is the number of containers the viewer sees (projection nodes) and DF
// of a value the number of them holding it. The IDF of a value is
// ln(1 + N/DF); a piece of evidence weighs IDF times the factor of the
// weaker side, and a link scores the sum of its evidence. Three kinds of
// value link nothing, but stay stored and searchable:
//
//   - values on a loaded warninglist (Options.Warninglisted), a derived
//     value included: an object whose own value is listed gives nothing;
//   - values marked false-positive: the objects named by a visible,
//     unrevoked opinion labelled FalsePositiveLabel, and objects carrying
//     the label themselves. An opinion is an object of its own, with its
//     owner, marking and provenance, so a marking is only as visible as the
//     opinion (an organization's AMBER marking changes its own answers), it
//     survives reloads of the marked value, and revoking the opinion undoes
//     it;
//   - values held by more than Options.MaxDF containers (DefaultMaxDF).
//
// Result.Suppressed lists, for one container, the values it holds that
// link nothing and why.
//
// # Cost and concurrency
//
// Build reads every visible container, its members and their expansion
// edges once, so its time grows with the evidence the viewer sees (about
// 265,000 evidence objects of the shared test corpus take some 10 s of
// CPU); the work per value grows with the square of its DF, which the cap
// bounds. A Projection is read-only once built and safe for concurrent
// use; so is an Engine, whose builds run in their own goroutines until
// Close.
package correlate
