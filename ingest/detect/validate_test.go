package detect_test

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/verband-cti/verband/schema"
)

// This file checks output lines against the formats the tools document:
// the Suricata rule format (docs.suricata.io, "Rules Format": action,
// header, options "keyword: settings;" with '"', ';' and '\' escaped in
// msg, content with |hex| for bytes) and the Zeek intel file format
// (docs.zeek.org, "Intelligence Framework": a #fields header and
// tab-separated lines, "-" for an unset field).

var (
	suricataActions = map[string]bool{"alert": true, "pass": true, "drop": true, "reject": true, "rejectsrc": true, "rejectdst": true, "rejectboth": true}
	suricataProtos  = map[string]bool{"ip": true, "tcp": true, "udp": true, "icmp": true, "dns": true, "http": true, "http2": true,
		"tls": true, "smtp": true, "ftp": true, "ftp-data": true, "smb": true, "nfs": true}
	// suricataKeywords maps the keywords the exports use to what their
	// value must look like ("" for none).
	suricataKeywords = map[string]string{
		"msg": "quoted", "content": "quoted", "sid": "uint32", "rev": "uint32", "classtype": `^[a-z][a-z0-9-]*$`,
		"metadata": "metadata", "reference": `^url,[!-~]+$`, "flow": `^(established|to_server|to_client|from_server|from_client|stateless)(,(established|to_server|to_client|from_server|from_client))*$`,
		"threshold": `^type (limit|threshold|both), track (by_src|by_dst|by_both), count \d+, seconds \d+$`,
		"dns.query": "", "http.host": "", "http.uri": "", "http.uri.raw": "", "dotprefix": "", "nocase": "", "startswith": "", "endswith": "",
		"bsize":   `^\d+$`,
		"filemd5": `^[A-Za-z0-9._-]+$`, "filesha1": `^[A-Za-z0-9._-]+$`, "filesha256": `^[A-Za-z0-9._-]+$`,
	}
	stickyBuffers = map[string]bool{"dns.query": true, "http.host": true, "http.uri": true, "http.uri.raw": true}
	metadataEntry = regexp.MustCompile(`^[A-Za-z0-9_.-]+ [A-Za-z0-9_.:+-]+$`)
)

// suricataOption is one "keyword[:value];" of a rule.
type suricataOption struct{ key, value string }

// validateSuricataRule checks one rule line and returns its options.
func validateSuricataRule(line string) ([]suricataOption, error) {
	open := strings.IndexByte(line, '(')
	if open < 0 || !strings.HasSuffix(line, ")") {
		return nil, fmt.Errorf("no (options)")
	}
	head := strings.Fields(line[:open])
	if len(head) != 7 {
		return nil, fmt.Errorf("header %q has %d parts, want 7", line[:open], len(head))
	}
	if !suricataActions[head[0]] {
		return nil, fmt.Errorf("action %q", head[0])
	}
	if !suricataProtos[head[1]] {
		return nil, fmt.Errorf("protocol %q", head[1])
	}
	if head[4] != "->" && head[4] != "<>" {
		return nil, fmt.Errorf("direction %q", head[4])
	}
	for _, a := range []string{head[2], head[5]} {
		if err := checkAddress(a); err != nil {
			return nil, err
		}
	}
	for _, p := range []string{head[3], head[6]} {
		if err := checkPort(p); err != nil {
			return nil, err
		}
	}
	opts, err := splitOptions(line[open+1 : len(line)-1])
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	sticky := ""
	for i, o := range opts {
		want, known := suricataKeywords[o.key]
		if !known {
			return nil, fmt.Errorf("unknown keyword %q", o.key)
		}
		switch want {
		case "":
			if o.value != "" {
				return nil, fmt.Errorf("%s takes no value, got %q", o.key, o.value)
			}
		case "quoted":
			if err := checkQuoted(o.key, o.value); err != nil {
				return nil, err
			}
		case "uint32":
			if _, err := strconv.ParseUint(o.value, 10, 32); err != nil {
				return nil, fmt.Errorf("%s %q is not a uint32", o.key, o.value)
			}
		case "metadata":
			for _, m := range strings.Split(o.value, ",") {
				if !metadataEntry.MatchString(strings.TrimSpace(m)) {
					return nil, fmt.Errorf("metadata entry %q is not 'key value'", m)
				}
			}
		default:
			if !regexp.MustCompile(want).MatchString(o.value) {
				return nil, fmt.Errorf("%s value %q does not match %s", o.key, o.value, want)
			}
		}
		if stickyBuffers[o.key] {
			if sticky != "" {
				return nil, fmt.Errorf("sticky buffer %s without content", sticky)
			}
			sticky = o.key
		}
		if o.key == "content" {
			sticky = ""
			if i+1 < len(opts) && opts[i+1].key == "nocase" && (i > 0 && opts[i-1].key == "http.host" || i > 1 && opts[i-2].key == "http.host") {
				return nil, fmt.Errorf("nocase is not allowed on http.host")
			}
		}
		if o.key == "msg" || o.key == "sid" || o.key == "rev" || o.key == "classtype" || o.key == "metadata" {
			if seen[o.key] {
				return nil, fmt.Errorf("%s twice", o.key)
			}
		}
		seen[o.key] = true
	}
	if sticky != "" {
		return nil, fmt.Errorf("sticky buffer %s without content", sticky)
	}
	for _, k := range []string{"msg", "sid", "rev"} {
		if !seen[k] {
			return nil, fmt.Errorf("no %s", k)
		}
	}
	return opts, nil
}

// splitOptions splits "k:v; k; …" at the semicolons that no backslash
// escapes (Suricata's own rule: inside msg and content too).
func splitOptions(s string) ([]suricataOption, error) {
	var out []suricataOption
	var cur strings.Builder
	escaped := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			cur.WriteByte(c)
			escaped = false
		case c == '\\':
			cur.WriteByte(c)
			escaped = true
		case c == ';':
			opt := strings.TrimSpace(cur.String())
			cur.Reset()
			if opt == "" {
				return nil, fmt.Errorf("empty option")
			}
			k, v, _ := strings.Cut(opt, ":")
			out = append(out, suricataOption{strings.TrimSpace(k), strings.TrimSpace(v)})
		default:
			cur.WriteByte(c)
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		return nil, fmt.Errorf("option %q does not end with ';'", cur.String())
	}
	return out, nil
}

// checkQuoted checks a msg or content value: in double quotes, inner '"',
// ';' and '\' escaped with a backslash (msg) or absent (content, which
// writes them in hex), hex segments well formed, printable ASCII only.
func checkQuoted(key, v string) error {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return fmt.Errorf("%s %q is not quoted", key, v)
	}
	inner := v[1 : len(v)-1]
	if key == "content" && inner == "" {
		return fmt.Errorf("empty content")
	}
	inHex := false
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		if c < 0x20 || c >= 0x7f {
			return fmt.Errorf("%s has byte %#x", key, c)
		}
		switch {
		case key == "msg" && c == '\\':
			if i+1 >= len(inner) || !strings.ContainsRune(`\";`, rune(inner[i+1])) {
				return fmt.Errorf("msg has a bad escape at %d", i)
			}
			i++
		case c == '"' || c == ';' || c == '\\':
			return fmt.Errorf("%s has an unescaped %q", key, c)
		case key == "content" && c == '|':
			inHex = !inHex
		case inHex:
			if c != ' ' && !strings.ContainsRune("0123456789ABCDEFabcdef", rune(c)) {
				return fmt.Errorf("content hex segment has %q", c)
			}
		}
	}
	if inHex {
		return fmt.Errorf("content has an unclosed |hex| segment")
	}
	if key == "content" {
		for _, seg := range regexp.MustCompile(`\|[^|]*\|`).FindAllString(inner, -1) {
			for _, h := range strings.Fields(strings.Trim(seg, "|")) {
				if len(h) != 2 {
					return fmt.Errorf("content hex byte %q", h)
				}
			}
		}
	}
	return nil
}

func checkAddress(a string) error {
	a = strings.TrimPrefix(a, "!")
	if a == "any" || regexp.MustCompile(`^\$[A-Z_]+$`).MatchString(a) {
		return nil
	}
	if strings.HasPrefix(a, "[") && strings.HasSuffix(a, "]") {
		for _, p := range strings.Split(a[1:len(a)-1], ",") {
			if err := checkAddress(p); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := netip.ParsePrefix(a); err == nil {
		return nil
	}
	if _, err := netip.ParseAddr(a); err == nil {
		return nil
	}
	return fmt.Errorf("address %q", a)
}

func checkPort(p string) error {
	if p == "any" || regexp.MustCompile(`^\$[A-Z_]+$`).MatchString(p) {
		return nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q", p)
	}
	return nil
}

// Zeek intel types and the check of their indicators.
var zeekTypes = map[string]func(string) bool{
	"Intel::ADDR": func(s string) bool { _, err := netip.ParseAddr(s); return err == nil },
	"Intel::SUBNET": func(s string) bool {
		p, err := netip.ParsePrefix(s)
		return err == nil && p.Bits() < p.Addr().BitLen()
	},
	"Intel::DOMAIN": func(s string) bool { d, err := schema.CanonicalDomain(s); return err == nil && d == s },
	"Intel::URL": func(s string) bool {
		host, _, _ := strings.Cut(s, "/")
		return !strings.Contains(s, "://") && host != "" && !strings.ContainsAny(s, " #")
	},
	"Intel::EMAIL":     func(s string) bool { _, err := schema.CanonicalEmail(s); return err == nil },
	"Intel::FILE_HASH": regexp.MustCompile(`^([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$`).MatchString,
}

// validateZeekLine checks one line of an intel file after the header.
func validateZeekLine(header []string, line string) error {
	fields := strings.Split(line, "\t")
	if len(fields) != len(header) {
		return fmt.Errorf("%d fields, the header names %d", len(fields), len(header))
	}
	for i, f := range fields {
		if f == "" {
			return fmt.Errorf("field %s is empty (Zeek wants '-' for unset)", header[i])
		}
		for j := 0; j < len(f); j++ {
			if f[j] < 0x20 || f[j] == 0x7f {
				return fmt.Errorf("field %s has control byte %#x", header[i], f[j])
			}
		}
		if f != strings.TrimSpace(f) {
			return fmt.Errorf("field %s has surrounding space", header[i])
		}
	}
	check, ok := zeekTypes[fields[1]]
	if !ok {
		return fmt.Errorf("indicator_type %q", fields[1])
	}
	if !check(fields[0]) {
		return fmt.Errorf("indicator %q is not a valid %s", fields[0], fields[1])
	}
	return nil
}

// validateZeekFile checks a whole intel file and returns its line count.
func validateZeekFile(text string) (int, error) {
	if !strings.HasSuffix(text, "\n") || strings.Contains(text, "\r") {
		return 0, fmt.Errorf("lines must end in \\n alone")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "#fields\t") {
		return 0, fmt.Errorf("first line %q is not a #fields header", lines[0])
	}
	header := strings.Split(strings.TrimPrefix(lines[0], "#fields\t"), "\t")
	if strings.Join(header, " ") != "indicator indicator_type meta.source meta.desc meta.url" {
		return 0, fmt.Errorf("header fields %q", header)
	}
	seen := map[string]bool{}
	for i, l := range lines[1:] {
		if err := validateZeekLine(header, l); err != nil {
			return 0, fmt.Errorf("line %d %q: %w", i+2, l, err)
		}
		key := strings.Join(strings.Split(l, "\t")[:2], "\t")
		if seen[key] {
			return 0, fmt.Errorf("line %d repeats %q", i+2, key)
		}
		seen[key] = true
	}
	return len(lines) - 1, nil
}

// validateSuricataFile checks every rule and that sids are unique.
func validateSuricataFile(text string) (int, error) {
	sids := map[string]bool{}
	n := 0
	for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		opts, err := validateSuricataRule(l)
		if err != nil {
			return 0, fmt.Errorf("rule %d %q: %w", i+1, l, err)
		}
		for _, o := range opts {
			if o.key == "sid" {
				if sids[o.value] {
					return 0, fmt.Errorf("rule %d: sid %s repeats", i+1, o.value)
				}
				sids[o.value] = true
			}
		}
		n++
	}
	return n, nil
}
