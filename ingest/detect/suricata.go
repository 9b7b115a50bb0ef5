package detect

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/schema"
)

// SuricataOptions tune WriteSuricata. The zero value gives sids from
// 1,000,000,000 to 1,999,999,999, hash lists named verband-md5.list,
// verband-sha1.list and verband-sha256.list, and file rules for http,
// smtp, ftp-data and smb.
type SuricataOptions struct {
	// SIDBase is the first sid; SIDRange how many sids the export may use.
	// Each rule's sid is SIDBase plus a hash of its entry's STIX id and
	// value modulo SIDRange (moved to the next free sid on a collision), so
	// a rule keeps its sid from one export to the next. Keep the range well
	// above the number of rules: collisions make sids depend on which other
	// rules are exported. Defaults 1,000,000,000 and 1,000,000,000 (sids
	// stay below 2^31).
	SIDBase, SIDRange uint32
	// ListPrefix starts the names of the hash list files. Default
	// "verband".
	ListPrefix string
	// FileProtocols are the application protocols that get a file-hash
	// rule per hash list. Default http, smtp, ftp-data and smb.
	FileProtocols []string
	// Classtype is the classtype of every rule. Default "trojan-activity"
	// (in Suricata's default classification.config).
	Classtype string
	// MsgPrefix starts every msg. Default "VERBAND".
	MsgPrefix string
}

func (o *SuricataOptions) defaults() {
	if o.SIDBase == 0 {
		o.SIDBase = 1_000_000_000
	}
	if o.SIDRange == 0 {
		o.SIDRange = 1_000_000_000
	}
	if o.ListPrefix == "" {
		o.ListPrefix = "verband"
	}
	if o.FileProtocols == nil {
		o.FileProtocols = []string{"http", "smtp", "ftp-data", "smb"}
	}
	if o.Classtype == "" {
		o.Classtype = "trojan-activity"
	}
	if o.MsgPrefix == "" {
		o.MsgPrefix = "VERBAND"
	}
}

// SuricataOutput is what WriteSuricata wrote.
type SuricataOutput struct {
	// Rules counts the rules written.
	Rules int
	// Lists maps the name of each hash list file the rules load (one hash
	// per line, sorted) to its content. Write them into Suricata's rule
	// directory next to the rules file.
	Lists map[string][]byte
	// Skipped holds the entries without a rule (e-mail addresses, SHA-512
	// digests).
	Skipped []Skip
}

// rule is one rule before its sid is known.
type rule struct {
	key    string // hashed into the sid
	header string // "alert dns $HOME_NET any -> any any"
	body   []string
	e      *Entry
}

// WriteSuricata writes one Suricata rule per entry (see the package
// documentation for the rule of each kind), then one rule per hash list
// and file protocol, and returns the hash lists. Entries whose rule would
// repeat an earlier one (a domain with two ports) are written once.
func WriteSuricata(w io.Writer, entries []Entry, opts SuricataOptions) (SuricataOutput, error) {
	opts.defaults()
	out := SuricataOutput{Lists: map[string][]byte{}}
	var rules []rule
	seen := map[string]bool{}
	hashes := map[lists.Kind][]string{}
	for i := range entries {
		e := &entries[i]
		var r rule
		switch {
		case e.Kind.IsIP():
			r = ipRule(e)
		case e.Kind == lists.KindDomain:
			r = domainRule(e)
		case e.Kind == lists.KindURL:
			r = urlRule(e)
		case e.Kind == lists.KindMD5 || e.Kind == lists.KindSHA1 || e.Kind == lists.KindSHA256:
			hashes[e.Kind] = append(hashes[e.Kind], e.Value)
			continue
		default:
			out.Skipped = append(out.Skipped, Skip{ID: e.ID, Value: e.Value, Reason: fmt.Errorf("Suricata, %s: %w", e.Kind, ErrNoRule)})
			continue
		}
		if seen[r.header+strings.Join(r.body, "")] {
			continue
		}
		seen[r.header+strings.Join(r.body, "")] = true
		r.e = e
		r.key = e.ID + "\x00" + e.Kind.String() + "\x00" + e.Value + "\x00" + strconv.Itoa(e.Port)
		rules = append(rules, r)
	}
	for _, k := range []lists.Kind{lists.KindMD5, lists.KindSHA1, lists.KindSHA256} {
		hs := hashes[k]
		if len(hs) == 0 {
			continue
		}
		slices.Sort(hs)
		hs = slices.Compact(hs)
		name := opts.ListPrefix + "-" + k.String() + ".list"
		out.Lists[name] = []byte(strings.Join(hs, "\n") + "\n")
		keyword := map[lists.Kind]string{lists.KindMD5: "filemd5", lists.KindSHA1: "filesha1", lists.KindSHA256: "filesha256"}[k]
		for _, proto := range opts.FileProtocols {
			rules = append(rules, rule{
				key:    "file\x00" + k.String() + "\x00" + proto,
				header: "alert " + proto + " any any -> any any",
				body: []string{
					`msg:"` + escapeMsg(fmt.Sprintf("%s file %s on list %s (%d hashes, %s)", opts.MsgPrefix, strings.ToUpper(k.String()), name, len(hs), proto)) + `"`,
					keyword + ":" + name,
				},
			})
		}
	}
	sids := assignSIDs(rules, opts.SIDBase, opts.SIDRange)
	bw := bufio.NewWriter(w)
	for i, r := range rules {
		bw.WriteString(r.header)
		bw.WriteString(" (")
		if r.e != nil {
			bw.WriteString(`msg:"` + escapeMsg(ruleMsg(opts.MsgPrefix, r.e)) + `"; `)
		}
		for _, b := range r.body {
			bw.WriteString(b)
			bw.WriteString("; ")
		}
		if r.e != nil {
			if ref := referenceOption(r.e.Reference); ref != "" {
				bw.WriteString(ref + "; ")
			}
		}
		bw.WriteString("classtype:" + opts.Classtype + "; ")
		bw.WriteString("sid:" + strconv.FormatUint(uint64(sids[i]), 10) + "; ")
		bw.WriteString("rev:" + strconv.Itoa(ruleRev(r.e)) + "; ")
		if md := metadataOption(r.e); md != "" {
			bw.WriteString(md + ";")
		}
		bw.WriteString(")\n")
	}
	out.Rules = len(rules)
	if err := bw.Flush(); err != nil {
		return out, fmt.Errorf("write Suricata rules: %w", err)
	}
	return out, nil
}

// assignSIDs gives each rule base + hash(key) mod size, moving on to the
// next free sid on a collision, in rule order.
func assignSIDs(rules []rule, base, size uint32) []uint32 {
	used := make(map[uint32]bool, len(rules))
	sids := make([]uint32, len(rules))
	for i, r := range rules {
		h := fnv.New64a()
		h.Write([]byte(r.key))
		off := uint32(h.Sum64() % uint64(size))
		for used[off] {
			off = (off + 1) % size
		}
		used[off] = true
		sids[i] = base + off
	}
	return sids
}

// ipRule matches traffic from the home network to an address or block; with
// a port, TCP to that port.
func ipRule(e *Entry) rule {
	addr := e.Value
	if e.Kind == lists.KindIPv6 || e.Kind == lists.KindIPv6Net {
		addr = "[" + addr + "]"
	}
	if e.Port != 0 {
		return rule{header: "alert tcp $HOME_NET any -> " + addr + " " + strconv.Itoa(e.Port),
			body: []string{"flow:to_server"}}
	}
	return rule{header: "alert ip $HOME_NET any -> " + addr + " any",
		body: []string{"threshold:type limit, track by_src, count 1, seconds 3600"}}
}

// domainRule matches DNS queries for the domain and its sub-domains.
func domainRule(e *Entry) rule {
	return rule{header: "alert dns $HOME_NET any -> any any",
		body: []string{"dns.query", "dotprefix", `content:"` + escapeContent("."+e.Value) + `"`, "nocase", "endswith"}}
}

// urlRule matches HTTP requests to the URL's host whose URI starts with the
// URL's path and query. A URI with percent-escapes is matched raw, since
// http.uri holds the decoded form.
func urlRule(e *Entry) rule {
	host, uri := splitURL(e.Value)
	body := []string{"flow:established,to_server", "http.host", `content:"` + escapeContent(host) + `"`, "bsize:" + strconv.Itoa(len(host))}
	if uri != "" && uri != "/" {
		buf := "http.uri"
		if strings.Contains(uri, "%") {
			buf = "http.uri.raw"
		}
		body = append(body, buf, `content:"`+escapeContent(uri)+`"`, "startswith")
	}
	return rule{header: "alert http $HOME_NET any -> $EXTERNAL_NET any", body: body}
}

// splitURL returns a canonical URL's host (without port) and its path and
// query (without fragment).
func splitURL(u string) (host, uri string) {
	host = urlHost(u)
	_, rest, _ := strings.Cut(u, "://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		uri = rest[i:]
	} else {
		uri = "/"
	}
	if i := strings.IndexByte(uri, '#'); i >= 0 {
		uri = uri[:i]
	}
	return host, uri
}

// ruleMsg describes an entry: "VERBAND domain evil.example - <description>".
func ruleMsg(prefix string, e *Entry) string {
	label := map[lists.Kind]string{
		lists.KindIPv4: "IP", lists.KindIPv6: "IP", lists.KindIPv4Net: "network", lists.KindIPv6Net: "network",
		lists.KindDomain: "domain", lists.KindURL: "URL",
	}[e.Kind]
	v := lists.Value{Kind: e.Kind, Value: e.Value, Port: e.Port}.String()
	msg := prefix + " " + label + " " + v
	desc := e.Description
	if desc == "" && e.Name != v {
		desc = e.Name
	}
	if desc != "" {
		desc, _, _ = strings.Cut(desc, "\n")
		msg += " - " + desc
	}
	return clipASCII(msg, 240)
}

// escapeMsg escapes a msg for the inside of its quotes: backslash, quote
// and semicolon get a backslash; other bytes outside printable ASCII become
// '?'.
func escapeMsg(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' || c == '"' || c == ';':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// escapeContent writes s as the inside of a content string: printable ASCII
// as it is, except '"', ';', '\' and '|', which (like every other byte)
// go in hex between pipes.
func escapeContent(s string) string {
	var b strings.Builder
	inHex := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		plain := c >= 0x20 && c < 0x7f && c != '"' && c != ';' && c != '\\' && c != '|'
		switch {
		case plain && inHex:
			b.WriteByte('|')
			inHex = false
		case !plain && !inHex:
			b.WriteByte('|')
			inHex = true
		case !plain:
			b.WriteByte(' ')
		}
		if plain {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%02X", c)
		}
	}
	if inHex {
		b.WriteByte('|')
	}
	return b.String()
}

// referenceOption returns "reference:url,host/path" for a reference URL
// that needs no escaping, or "".
func referenceOption(u string) string {
	if u == "" || len(u) > 300 || strings.ContainsAny(u, "\";\\ \t,") {
		return ""
	}
	_, rest, ok := strings.Cut(u, "://")
	if !ok || rest == "" {
		return ""
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < 0x21 || rest[i] >= 0x7f {
			return ""
		}
	}
	return "reference:url," + rest
}

// ruleRev is the entry's modified date as YYYYMMDD, so that a changed
// indicator gets a higher rev; 1 when unknown.
func ruleRev(e *Entry) int {
	if e == nil || e.Modified.IsZero() || e.Modified.Year() < 1990 {
		return 1
	}
	t := e.Modified.UTC()
	return t.Year()*10000 + int(t.Month())*100 + t.Day()
}

// metadataOption returns "metadata:stix_id …, tlp …, source …" for an
// entry, with values reduced to characters that need no escaping.
func metadataOption(e *Entry) string {
	if e == nil {
		return "metadata:generator verband"
	}
	md := []string{"stix_id " + metaValue(e.ID)}
	if e.TLP != schema.TLPUnmarked {
		md = append(md, "tlp "+metaValue(strings.TrimPrefix(strings.ToLower(e.TLP.String()), "tlp:")))
	}
	if e.Source != "" {
		md = append(md, "source "+metaValue(e.Source))
	}
	if !e.Modified.IsZero() && e.Modified.Year() >= 1990 {
		md = append(md, "updated_at "+e.Modified.UTC().Format("2006_01_02"))
	}
	return "metadata:" + strings.Join(md, ", ")
}

// metaValue keeps letters, digits and "_.:+-", and writes '_' for the rest.
func metaValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.:+-", c) >= 0) {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return clipASCII(string(b), 100)
}

// clipASCII shortens s to at most n bytes, on a UTF-8 boundary.
func clipASCII(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
