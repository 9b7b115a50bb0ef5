// Package detect exports the indicators that are valid and meant for
// detection as Suricata rules, a Zeek intel file and CSV.
//
// The main types and functions:
//
//   - Collector takes STIX objects (Add), keeps the values fit for
//     detection as Entry values (Entries), and records what it left out and
//     why (Skipped).
//   - WriteSuricata, WriteZeek and WriteCSV write entries in each format.
//   - Options say what is fit: the time to check validity against, whether
//     observables count besides indicators, a warninglist matcher, whether
//     private addresses may pass, and the strictest TLP to export.
//
// A typical export, with objects from ingest/export (which applies the
// viewer's access and strips protected properties):
//
//	c := detect.NewCollector(detect.Options{Warninglisted: wl.Matches})
//	export.Objects(ctx, store, viewer, ids, eopts, func(o *schema.Object, n *graph.Node) error {
//		c.Add(o, detect.Origin{TLP: n.Policy.TLP})
//		return nil
//	})
//	res, err := detect.WriteSuricata(rulesFile, c.Entries(), detect.SuricataOptions{})
//	// write res.Lists next to the rules, report c.Skipped() and res.Skipped
//
// # What is exported
//
// An indicator is taken when it is not revoked, its valid_until has not
// passed and its valid_from has come, its pattern_type is "stix", its
// indicator_types do not say "benign", its TLP is not stricter than
// Options.MaxTLP, and its pattern is simple: observation expressions
// joined by OR, each a single comparison or comparisons joined by OR, with
// = (or ISSUBSET for address blocks) on ipv4-addr:value, ipv6-addr:value,
// domain-name:value, url:value, email-addr:value,
// email-message:from_ref.value or sender_ref.value, and
// file:hashes.MD5/'SHA-1'/'SHA-256'/'SHA-512'; or one observation joining
// network-traffic:dst_ref.value, dst_ref.type and dst_port by AND (an
// address or domain with a port, as the lists decoder writes them). Every
// value is checked and canonicalised (lists.ClassifyAs); private, loopback,
// link-local, documentation and other reserved addresses, blocks broader
// than /8 (IPv4) or /16 (IPv6), special-use names (example.com, .test,
// .local, …) and values the warninglist matcher holds are left out. With
// Options.Observables, domain-name, ipv4-addr, ipv6-addr, url, email-addr
// and file objects count as well.
//
// # Suricata
//
// One rule per entry (Suricata 7 keywords):
//
//	address      alert ip $HOME_NET any -> 203.0.113.9 any (… threshold:type limit, track by_src, count 1, seconds 3600; …)
//	address:port alert tcp $HOME_NET any -> 203.0.113.9 8080 (… flow:to_server; …)
//	block        alert ip $HOME_NET any -> 198.18.0.0/15 any (…)
//	domain       alert dns $HOME_NET any -> any any (… dns.query; dotprefix; content:".evil.example"; nocase; endswith; …)
//	URL          alert http $HOME_NET any -> $EXTERNAL_NET any (… flow:established,to_server; http.host; content:"evil.example"; bsize:12; http.uri; content:"/gate.php"; startswith; …)
//
// (a URI with percent-escapes is matched in http.uri.raw, since http.uri is
// decoded). The domain rule matches the domain and its sub-domains. File
// hashes go into hash lists (verband-md5.list, verband-sha1.list,
// verband-sha256.list) with one filemd5/filesha1/filesha256 rule per list
// and file protocol. Every rule has msg (escaped), an optional
// reference:url, classtype, a sid, rev (the object's modified date as
// YYYYMMDD, or 1) and metadata (stix_id, tlp, source, updated_at). The sid
// is SuricataOptions.SIDBase plus a hash of the entry's STIX id and value,
// so it is stable across exports. E-mail addresses and SHA-512 digests get
// no rule.
//
// # Zeek
//
// An intel file for the Zeek intelligence framework: the header
// "#fields indicator indicator_type meta.source meta.desc meta.url", then one
// tab-separated line per entry, "-" for an empty field. URLs are written
// without scheme, as Zeek's seen scripts report them; ports are dropped.
// Types: Intel::ADDR, Intel::SUBNET, Intel::DOMAIN, Intel::URL,
// Intel::EMAIL and Intel::FILE_HASH (MD5, SHA-1, SHA-256).
//
// # CSV
//
// "value,type,first_seen,last_seen,labels,tlp,source", which the lists
// decoder reads back (see WriteCSV).
//
// Access and protected properties are the caller's business: give the
// Collector only what the viewer may see, and leave Origin.Source empty when
// the source is protected for the viewer.
//
// A Collector is not safe for concurrent use; the writers are pure
// functions of their arguments and write their output in one pass.
package detect
