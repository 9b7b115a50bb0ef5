package correlate

// DefaultMaxDF is the default document-frequency cap: a value held by more
// than 50 of the containers a viewer sees links none of them. A value that
// common (a public resolver, a cloud provider's address, a top site) says
// little about any pair; the cap keeps such values from drowning the links
// that matter and bounds the work per value, which grows with the square of
// its document frequency.
const DefaultMaxDF = 50

// DefaultMaxSources is the default number of member objects kept, per
// container and value, as the sources of a piece of evidence.
const DefaultMaxSources = 8

// Options configure the correlation of containers. Start from
// DefaultOptions.
type Options struct {
	// MaxDF is the document-frequency cap: values held by more than MaxDF
	// visible containers link nothing. Zero or less means DefaultMaxDF.
	MaxDF int
	// Warninglisted, when set, names the warninglist that holds a value
	// of a STIX cyber-observable type ("ipv4-addr", "domain-name", "url",
	// "email-addr", "file", …), or returns false. Such values link
	// nothing. The caller loads the lists (package ingest/refdata reads
	// MISP warninglists; its Match answers this question), since this
	// package reads no files.
	Warninglisted func(typ, value string) (list string, ok bool)
	// SharedParent, when set, reports whether a domain name is a shared
	// parent: a domain under which a service hands out subdomains to
	// anyone (dynamic DNS, tunnels, free hosting), as linkpc.net or
	// mooo.com. The registered-domain rule treats shared parents as public
	// suffixes, so subdomains of different customers do not link through
	// the provider ("a.linkpc.net" and "b.linkpc.net" do not;
	// "x.a.linkpc.net" and "y.a.linkpc.net" do, through "a.linkpc.net").
	// The Public Suffix List's private section already covers the
	// providers it lists (duckdns.org, ddns.net, …). Package
	// ingest/refdata loads lists of them (BuiltinSharedParents, whose Has
	// answers this question).
	SharedParent func(domain string) bool
	// MaxSources caps the member objects kept per container and value as
	// evidence sources. Zero or less means DefaultMaxSources.
	MaxSources int
}

// DefaultOptions returns the documented defaults: the document-frequency
// cap DefaultMaxDF, no warninglist and no shared parents beyond the Public
// Suffix List.
func DefaultOptions() Options {
	return Options{MaxDF: DefaultMaxDF, MaxSources: DefaultMaxSources}
}

// withDefaults fills zero fields.
func (o Options) withDefaults() Options {
	if o.MaxDF <= 0 {
		o.MaxDF = DefaultMaxDF
	}
	if o.MaxSources <= 0 {
		o.MaxSources = DefaultMaxSources
	}
	return o
}
