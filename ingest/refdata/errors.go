package refdata

import "errors"

// Sentinel errors, wrapped by the loaders' errors and tested with errors.Is.
var (
	// ErrBadField reports a property of the wrong JSON type, such as a
	// "version" that is not a number or a "list" that is not an array.
	ErrBadField = errors.New("property has the wrong type")

	// ErrNotGalaxy reports JSON that is not a misp-galaxy clusters or
	// galaxy definition file (it has no "type").
	ErrNotGalaxy = errors.New("not a MISP galaxy")

	// ErrNotCluster reports a galaxy value that is not a JSON object.
	ErrNotCluster = errors.New("not a MISP galaxy cluster")

	// ErrNotWarninglist reports JSON that is not a MISP warninglist (it
	// lacks "name", "type" or "list").
	ErrNotWarninglist = errors.New("not a MISP warninglist")

	// ErrBadEntry reports a list entry that its list cannot use: in a
	// warninglist, a cidr entry that is not an IP address or prefix, a regex
	// that does not compile, a hostname that is not a domain name; in a list
	// of shared parent domains, a line that is no domain name or is a
	// top-level domain.
	ErrBadEntry = errors.New("bad list entry")

	// ErrNotTaxonomy reports JSON that is not a MISP taxonomy (it has no
	// "namespace").
	ErrNotTaxonomy = errors.New("not a MISP taxonomy")

	// ErrUnknownTag reports a tag whose namespace, predicate or value no
	// loaded taxonomy defines.
	ErrUnknownTag = errors.New("tag not in any loaded taxonomy")
)
