// Package lists decodes plain indicator lists, CSV files and Maltrail trail
// files into STIX 2.1 objects. A Decoder is an ingest.Source: the pipeline
// canonicalises, validates and stores what it returns like any other
// format's objects.
//
// The main types:
//
//   - Decoder reads one file (NewDecoder for a reader, Open for a path) and
//     returns its objects one at a time; Stats counts what it read.
//   - Options choose the format, the source name, the default TLP, labels,
//     indicators, the container and the CSV column mapping (Columns).
//   - Value and Kind are one classified list value; Classify detects the
//     kind, ClassifyAs checks a value against a type column, Refang undoes
//     defanging.
//
// # Values
//
// Classify recognises IPv4 and IPv6 addresses, CIDR blocks, domain names,
// URLs, e-mail addresses, and MD5, SHA-1, SHA-256 and SHA-512 digests, after
// refanging ("hxxp", "[.]", "(.)", "[dot]", "[:]", "[@]" and more, see
// Refang). It also reads "host:port" (the value is the host; the port goes
// into the indicator) and "host/path" fragments, which become the URL
// "http://host/path" (with an indicator pattern that accepts https as
// well, since the fragment does not say). Anything else is reported with
// ErrUnknownType, never guessed.
//
// Each value becomes its STIX observable with the deterministic id of STIX
// 2.1 section 2.9, computed after canonicalisation (schema.SCOID), so the same
// IP from a list, a MISP event and a STIX bundle is one node. A CIDR block is
// an ipv4-addr or ipv6-addr whose value is the block, as STIX allows; its
// indicator uses ISSUBSET. Hashes become file objects with one hash.
//
// Observables carry nothing but their value: no marking, no label, no custom
// property. An observable is shared by every source that names the value,
// and a second source adding different properties to the same id would
// replace the first's version on every reload, so that re-ingesting two
// sources in turn would never settle. What a source says about a value (its
// TLP, tags, comment, first and last seen) goes into the source's own
// indicator and container; the default TLP reaches the observables through
// ingest.Hints, which the pipeline turns into the node's policy.
//
// # Indicators and containers
//
// With Options.Indicators every value also gets an indicator whose pattern
// names it (see Pattern); without it only values that need one do (a CSV row
// with a comment, tags, times, TLP or source; a maltrail trail with a port or
// without a host). Indicator ids derive from the source, the file name and
// the pattern.
//
// The file as a whole becomes a grouping (or a report, Options.Container)
// with context "suspicious-activity" and every observable and indicator in
// object_refs, so that the list links to other containers through the
// values they share. Its id derives from the source and the file's base
// name. Lists with more than Options.MaxContainerRefs members get several
// containers (see DefaultMaxContainerRefs for why).
//
// Every object's id is deterministic and its timestamps come from
// Options.Time (the file's modification time with Open), so loading the same
// file again changes nothing.
//
// # Maltrail
//
// A Maltrail trail file describes one malware family. The decoder makes:
//
//   - a malware object (is_family true) named after the file (FamilyName),
//     with aliases from "# Aliases:", "# CERT-UA:" and "# MSTIC:" lines, a
//     description from "# Note:" lines, and external references to the
//     upstream file, to "# MITRE:" and to every "# Reference:" URL;
//   - for each trail with a host (a domain, an address, "host:port", a
//     "host/path" fragment or a URL), its observable and the relationship
//     malware communicates-with observable, which STIX 2.1 lists among the
//     malware relationships for exactly these targets (ipv4-addr, ipv6-addr,
//     domain-name, url): the family is one hop from each observable;
//   - for a trail with a port, or a bare path ("/panel/gate.php", which
//     matches that path on any host, see PathPattern), an indicator that
//     indicates the malware (also one hop), since no observable can hold
//     the port or a host-less path; with Options.Indicators every trail gets
//     one. The indicator cites the "# Reference" lines above the trail;
//   - a grouping holding the family, the observables and the indicators.
//
// An "indicates" relationship from an observable would not be valid STIX
// (its source must be an indicator), and an x_ reference on the malware
// would put tens of thousands of ids into one object, so the relationship
// objects carry the link.
//
// # Errors
//
// Errors are *ingest.ObjectError values. Their Index is the 0-based line
// number (the line number minus one; for CSV the line where the record
// starts), and the message names the line, such as
// "iocs.txt: object 11: line 12: classify "foo": … unknown indicator type".
// A bad line or record is not fatal. Lines longer than Options.MaxLineBytes
// (64 KiB by default) are skipped with ErrLineTooLong without being held in
// memory; invalid UTF-8 is reported, never replaced. Fatal are: read errors,
// a CSV mapping that names a column the header lacks, a first CSV record
// that cannot be parsed, a maltrail file over Options.MaxFileBytes, and a
// file without a single entry (ingest.ErrEmpty).
//
// # Lifetime
//
// A Decoder is not safe for concurrent use; run one per goroutine. Plain
// and CSV lists are read as a stream, holding only the ids of the
// container's members; a maltrail file is read whole first, so its family
// can be returned before its trails.
package lists
