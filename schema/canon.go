package schema

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// The canonicalisers in this file turn one observable value into the single
// spelling Verband stores, so that the same IP, domain, URL, e-mail address,
// hash or MAC address coming from different sources becomes one node. Each
// is idempotent: feeding its output back in returns the same string. Errors
// name the value kind and quote the input, such as
// `domain: empty label in "a..b"`.

// ErrInvalidValue is wrapped by every canonicaliser error.
var ErrInvalidValue = errors.New("invalid observable value")

func valueErr(kind, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", kind, fmt.Sprintf(format, args...), ErrInvalidValue)
}

// domainProfile is the idna Lookup profile (UTS #46 mapping for lookup,
// non-transitional processing, the Bidi and CONTEXTJ rules, punycode label
// validation) without two of its checks: the STD3 ASCII rules, because
// underscores occur in real malicious host names (48 of the 222,340 maltrail
// entries), and the hyphen-position rules, because sub-domains such as
// "-x.example.com" exist. CanonicalDomain checks the ASCII result itself.
var domainProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.StrictDomainName(false),
	idna.CheckHyphens(false),
)

// CanonicalDomain returns the canonical form of a domain name: surrounding
// space trimmed, one trailing dot removed, mapped and lower-cased per UTS #46
// and converted to ASCII (punycode "xn--" labels for non-ASCII labels). The
// result has labels of 1 to 63 characters from a-z, 0-9, hyphen and
// underscore, at most 253 characters in all, and a last label that is not
// all digits (so IPv4 addresses are rejected).
func CanonicalDomain(s string) (string, error) {
	in := s
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", valueErr("domain", "empty name %q", in)
	}
	if strings.Contains(s, "..") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return "", valueErr("domain", "empty label in %q", in)
	}
	if !utf8.ValidString(s) {
		return "", valueErr("domain", "%q is not UTF-8", in)
	}
	out := asciiLower(s)
	for _, label := range strings.Split(out, ".") {
		if label == "xn--" {
			// An empty punycode label: IDNA would drop it silently.
			return "", valueErr("domain", "empty punycode label in %q", in)
		}
	}
	if !isASCII(out) || strings.Contains(out, "xn--") {
		var err error
		out, err = domainProfile.ToASCII(s)
		if err != nil {
			return "", fmt.Errorf("domain: %q: %w: %w", in, err, ErrInvalidValue)
		}
		if !strings.HasSuffix(strings.TrimSpace(in), ".") {
			// A full stop that UTS #46 maps to "." (such as U+3002) ends
			// the name like an ASCII trailing dot.
			out = strings.TrimSuffix(out, ".")
		}
		// The result must itself be accepted unchanged; the idna package
		// can produce punycode labels that its own validation refuses.
		if again, err := domainProfile.ToASCII(out); err != nil || again != out {
			return "", valueErr("domain", "%q has no stable IDNA form", in)
		}
	}
	if err := checkDomainASCII(out); err != nil {
		return "", fmt.Errorf("domain: %q: %w", in, err)
	}
	return out, nil
}

// checkDomainASCII checks the shape of an ASCII, lower-case domain name.
func checkDomainASCII(s string) error {
	if len(s) > 253 {
		return fmt.Errorf("longer than 253 characters: %w", ErrInvalidValue)
	}
	allDigits := true
	labelLen := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if labelLen == 0 {
				return fmt.Errorf("empty label: %w", ErrInvalidValue)
			}
			if labelLen > 63 {
				return fmt.Errorf("label longer than 63 characters: %w", ErrInvalidValue)
			}
			if i == len(s) && allDigits {
				return fmt.Errorf("last label is numeric (an IP address is not a domain): %w", ErrInvalidValue)
			}
			labelLen, allDigits = 0, true
			continue
		}
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z', c == '-', c == '_':
			allDigits = false
		default:
			return fmt.Errorf("character %q not allowed: %w", c, ErrInvalidValue)
		}
		labelLen++
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// CanonicalIP returns the canonical form of an IPv4 or IPv6 address or CIDR
// block. IPv4 is dotted decimal without leading zeros; IPv6 is RFC 5952 text
// (lower case, zeros compressed). An IPv4-mapped IPv6 address
// (::ffff:192.0.2.1) is the IPv4 address it maps, and a mapped block of /96
// or longer becomes the IPv4 block. A CIDR block keeps its address bits as
// given (host bits are not cleared) with a decimal prefix length; /32 on
// IPv4 and /128 on IPv6 give the bare address. Zones ("%eth0") are rejected.
func CanonicalIP(s string) (string, error) {
	in := s
	s = strings.TrimSpace(s)
	if s == "" {
		return "", valueErr("ip", "empty address")
	}
	addrPart, bitsPart, hasBits := strings.Cut(s, "/")
	if strings.Contains(addrPart, "%") {
		return "", valueErr("ip", "zone not allowed in %q", in)
	}
	a, err := netip.ParseAddr(addrPart)
	if err != nil {
		return "", valueErr("ip", "%q is not an IP address", in)
	}
	bits := a.BitLen()
	if hasBits {
		if bitsPart == "" || len(bitsPart) > 3 || strings.TrimLeft(bitsPart, "0123456789") != "" {
			return "", valueErr("ip", "bad prefix length in %q", in)
		}
		bits, _ = strconv.Atoi(bitsPart)
		if bits > a.BitLen() {
			return "", valueErr("ip", "prefix length %d too long in %q", bits, in)
		}
	}
	if a.Is4In6() && bits >= 96 {
		a, bits = a.Unmap(), bits-96
	}
	if bits == a.BitLen() {
		return a.String(), nil
	}
	return a.String() + "/" + strconv.Itoa(bits), nil
}

// defaultPorts lists the ports CanonicalURL drops for each scheme.
var defaultPorts = map[string]string{
	"http": "80", "https": "443", "ftp": "21", "ws": "80", "wss": "443",
}

// CanonicalURL returns the canonical form of an absolute URL: scheme and host
// in lower case, the host canonicalised by CanonicalDomain or CanonicalIP
// (IPv6 in brackets), the default port of http, https, ftp, ws and wss
// removed (and an empty port), an empty path written "/" when the URL has an
// authority, and the hex digits of percent-escapes in upper case. Userinfo,
// path, query and fragment are otherwise kept as given, including non-ASCII
// characters and invalid escapes; nothing is decoded. Whitespace and control
// characters are rejected, as are URLs without a scheme.
func CanonicalURL(s string) (string, error) {
	in := s
	s = strings.TrimSpace(s)
	if s == "" {
		return "", valueErr("url", "empty URL")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return "", valueErr("url", "whitespace or control character at offset %d in %q", i, truncate(in, 200))
		}
	}
	colon := strings.IndexByte(s, ':')
	if colon <= 0 || !isScheme(s[:colon]) {
		return "", valueErr("url", "missing or bad scheme in %q", truncate(in, 200))
	}
	scheme := asciiLower(s[:colon])
	rest := s[colon+1:]
	var b strings.Builder
	b.Grow(len(s) + 1)
	b.WriteString(scheme)
	b.WriteByte(':')
	if !strings.HasPrefix(rest, "//") {
		if _, hier := defaultPorts[scheme]; hier {
			return "", valueErr("url", "%s URL without //host in %q", scheme, truncate(in, 200))
		}
		b.WriteString(normPercent(rest))
		return b.String(), nil
	}
	rest = rest[2:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	b.WriteString("//")
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		b.WriteString(normPercent(authority[:at+1]))
		authority = authority[at+1:]
	}
	host, port, err := splitHostPort(authority)
	if err != nil {
		return "", fmt.Errorf("url: %q: %w", truncate(in, 200), err)
	}
	if host == "" {
		if scheme != "file" || port != "" {
			return "", valueErr("url", "empty host in %q", truncate(in, 200))
		}
	} else {
		h, err := canonicalURLHost(host)
		if err != nil {
			return "", fmt.Errorf("url: %q: %w", truncate(in, 200), err)
		}
		b.WriteString(h)
	}
	if port != "" && defaultPorts[scheme] != port {
		b.WriteByte(':')
		b.WriteString(port)
	}
	if tail == "" || tail[0] != '/' {
		b.WriteByte('/')
	}
	b.WriteString(normPercent(tail))
	return b.String(), nil
}

// isScheme reports whether s is an RFC 3986 scheme. Dots, which RFC 3986
// allows but no common scheme uses, are refused, so that "example.com:8080/x"
// is reported as a URL without scheme rather than read as scheme
// "example.com".
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-'):
		default:
			return false
		}
	}
	return s != ""
}

// splitHostPort splits an authority without userinfo. The port comes back
// as a decimal number without leading zeros, or "" when absent or empty.
func splitHostPort(a string) (host, port string, err error) {
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", "", fmt.Errorf("unclosed '[' in host: %w", ErrInvalidValue)
		}
		rest := a[end+1:]
		host = a[:end+1]
		if rest == "" {
			return host, "", nil
		}
		if rest[0] != ':' {
			return "", "", fmt.Errorf("junk after ']' in host: %w", ErrInvalidValue)
		}
		port = rest[1:]
	} else if i := strings.LastIndexByte(a, ':'); i >= 0 {
		host, port = a[:i], a[i+1:]
		if strings.IndexByte(host, ':') >= 0 {
			return "", "", fmt.Errorf("IPv6 host must be in brackets: %w", ErrInvalidValue)
		}
	} else {
		return a, "", nil
	}
	if port == "" {
		return host, "", nil
	}
	if len(port) > 5 || strings.TrimLeft(port, "0123456789") != "" {
		return "", "", fmt.Errorf("bad port %q: %w", port, ErrInvalidValue)
	}
	n, _ := strconv.Atoi(port)
	if n > 65535 {
		return "", "", fmt.Errorf("port %d out of range: %w", n, ErrInvalidValue)
	}
	return host, strconv.Itoa(n), nil
}

// canonicalURLHost canonicalises a URL host: "[v6]", an IPv4 address, or a
// domain name (percent-escapes in it decoded first).
func canonicalURLHost(h string) (string, error) {
	if strings.HasPrefix(h, "[") {
		inner := h[1 : len(h)-1]
		if strings.Contains(inner, "/") {
			return "", fmt.Errorf("prefix length in host: %w", ErrInvalidValue)
		}
		ip, err := CanonicalIP(inner)
		if err != nil {
			return "", err
		}
		if strings.Contains(ip, ":") {
			return "[" + ip + "]", nil
		}
		return ip, nil // an IPv4-mapped address is written as IPv4
	}
	if strings.Contains(h, "%") {
		dec, err := percentDecode(h)
		if err != nil {
			return "", err
		}
		h = dec
	}
	if looksNumericHost(h) {
		if strings.Contains(h, "/") {
			return "", fmt.Errorf("prefix length in host: %w", ErrInvalidValue)
		}
		return CanonicalIP(h)
	}
	return CanonicalDomain(h)
}

// looksNumericHost reports whether the last label of h is all digits, which
// makes h an IPv4 address or nothing valid.
func looksNumericHost(h string) bool {
	h = strings.TrimSuffix(h, ".")
	last := h[strings.LastIndexByte(h, '.')+1:]
	return last != "" && strings.TrimLeft(last, "0123456789") == ""
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func percentDecode(s string) (string, error) {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("truncated percent-escape in host: %w", ErrInvalidValue)
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("bad percent-escape in host: %w", ErrInvalidValue)
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), nil
}

// normPercent upper-cases the hex digits of every well-formed percent-escape
// and leaves everything else alone.
func normPercent(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	b := []byte(s)
	for ; i+2 < len(b); i++ {
		if b[i] != '%' {
			continue
		}
		if _, ok := unhex(b[i+1]); !ok {
			continue
		}
		if _, ok := unhex(b[i+2]); !ok {
			continue
		}
		b[i+1] = upperHex(b[i+1])
		b[i+2] = upperHex(b[i+2])
		i += 2
	}
	return string(b)
}

func upperHex(c byte) byte {
	if c >= 'a' && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// CanonicalEmail returns the canonical form of an e-mail address (an RFC 5322
// addr-spec, without display name): trimmed, the local part lower-cased, and
// the domain canonicalised by CanonicalDomain, or by CanonicalIP when it is
// an address literal in brackets. The split is at the last "@". A local part
// may hold "@", space or angle brackets only inside quotes.
func CanonicalEmail(s string) (string, error) {
	in := s
	s = strings.TrimSpace(s)
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "", valueErr("email", "no @ in %q", truncate(in, 200))
	}
	local, domain := s[:at], s[at+1:]
	if !utf8.ValidString(local) {
		return "", valueErr("email", "local part of %q is not UTF-8", truncate(in, 200))
	}
	local = strings.ToLower(local)
	if local == "" {
		return "", valueErr("email", "empty local part in %q", truncate(in, 200))
	}
	if len(local) > 64 {
		return "", valueErr("email", "local part longer than 64 characters in %q", truncate(in, 200))
	}
	quoted := len(local) >= 2 && local[0] == '"' && local[len(local)-1] == '"'
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c < 0x20 || c == 0x7f {
			return "", valueErr("email", "control character in local part of %q", truncate(in, 200))
		}
		if !quoted && (c == ' ' || c == '@' || c == '<' || c == '>' || c == '"') {
			return "", valueErr("email", "%q not allowed in unquoted local part of %q", c, truncate(in, 200))
		}
	}
	var d string
	var err error
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		lit := strings.TrimPrefix(domain[1:len(domain)-1], "IPv6:")
		if strings.Contains(lit, "/") {
			return "", valueErr("email", "prefix length in address literal of %q", truncate(in, 200))
		}
		d, err = CanonicalIP(lit)
		if err == nil && strings.Contains(d, ":") {
			d = "[IPv6:" + d + "]"
		} else {
			d = "[" + d + "]"
		}
	} else {
		d, err = CanonicalDomain(domain)
	}
	if err != nil {
		return "", fmt.Errorf("email: %q: %w", truncate(in, 200), err)
	}
	return local + "@" + d, nil
}

// hashAlgo describes one hash algorithm of the STIX hash-algorithm-ov
// vocabulary (and the older STIX 2.0 names).
type hashAlgo struct {
	name   string // the vocabulary spelling
	hexLen int    // the fixed length in hex digits, 0 when variable
}

// hashAlgos maps a squeezed algorithm name (lower case, without '-', '_' and
// spaces) to its vocabulary entry.
var hashAlgos = map[string]hashAlgo{
	"md5":       {"MD5", 32},
	"sha1":      {"SHA-1", 40},
	"sha224":    {"SHA-224", 56},
	"sha256":    {"SHA-256", 64},
	"sha384":    {"SHA-384", 96},
	"sha512":    {"SHA-512", 128},
	"sha3224":   {"SHA3-224", 56},
	"sha3256":   {"SHA3-256", 64},
	"sha3384":   {"SHA3-384", 96},
	"sha3512":   {"SHA3-512", 128},
	"ripemd160": {"RIPEMD-160", 40},
	"whirlpool": {"WHIRLPOOL", 128},
	"ssdeep":    {"SSDEEP", 0},
	"tlsh":      {"TLSH", 0},
}

func squeezeAlgo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == '_' || c == ' ':
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// CanonicalHash returns the vocabulary spelling of a hash algorithm name and
// the canonical form of its value. Known names are matched without regard to
// case, hyphens, underscores and spaces ("sha256", "SHA_256" and "SHA-256"
// are all "SHA-256"); fixed-length hex digests are lower-cased and their
// length checked; SSDEEP keeps its case (it is base64) and must look like
// "blocksize:hash:hash"; TLSH is written in upper case with its optional "T1"
// prefix, as its reference implementation prints it. An unknown algorithm
// name (a custom hash such as "x_foo_hash") is returned trimmed, with its
// value trimmed but otherwise unchanged.
func CanonicalHash(algo, value string) (algoName, val string, err error) {
	algo = strings.TrimSpace(algo)
	value = strings.TrimSpace(value)
	if algo == "" {
		return "", "", valueErr("hash", "empty algorithm name")
	}
	if value == "" {
		return "", "", valueErr("hash", "empty %s value", algo)
	}
	ha, ok := hashAlgos[squeezeAlgo(algo)]
	if !ok {
		return algo, value, nil
	}
	switch ha.name {
	case "SSDEEP":
		if err := checkSSDEEP(value); err != nil {
			return "", "", err
		}
		return ha.name, value, nil
	case "TLSH":
		v := strings.ToUpper(value)
		body := strings.TrimPrefix(v, "T1")
		if len(body) != 70 || !allHex(body) {
			return "", "", valueErr("hash", "TLSH value must be 70 hex digits with an optional T1 prefix, got %q", truncate(value, 80))
		}
		return ha.name, v, nil
	}
	v := strings.ToLower(value)
	if !allHex(v) {
		return "", "", valueErr("hash", "%s value is not hex: %q", ha.name, truncate(value, 140))
	}
	if ha.hexLen != 0 && len(v) != ha.hexLen {
		return "", "", valueErr("hash", "%s value has %d hex digits, want %d", ha.name, len(v), ha.hexLen)
	}
	return ha.name, v, nil
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// checkSSDEEP checks the "blocksize:hash:hash" shape of an ssdeep digest.
func checkSSDEEP(v string) error {
	parts := strings.Split(v, ":")
	if len(parts) != 3 || parts[0] == "" || strings.TrimLeft(parts[0], "0123456789") != "" {
		return valueErr("hash", "SSDEEP value must be blocksize:hash:hash, got %q", truncate(v, 140))
	}
	for _, p := range parts[1:] {
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
				return valueErr("hash", "SSDEEP value has %q outside base64, in %q", c, truncate(v, 140))
			}
		}
	}
	return nil
}

// CanonicalMAC returns a MAC-48 address in the form STIX requires: six
// colon-separated lower-case octets with leading zeros ("00:00:ab:cd:ef:01").
// It accepts colon- or hyphen-separated octets of one or two hex digits,
// Cisco-style dotted groups of four ("0000.abcd.ef01") and twelve bare hex
// digits.
func CanonicalMAC(s string) (string, error) {
	in := s
	s = strings.ToLower(strings.TrimSpace(s))
	var octets []string
	switch {
	case strings.ContainsAny(s, ":-"):
		sep := ":"
		if !strings.Contains(s, ":") {
			sep = "-"
		}
		octets = strings.Split(s, sep)
		if len(octets) != 6 {
			return "", valueErr("mac", "want 6 octets in %q", in)
		}
		for i, o := range octets {
			if len(o) == 1 {
				octets[i] = "0" + o
			}
		}
	case strings.Count(s, ".") == 2:
		groups := strings.Split(s, ".")
		for _, g := range groups {
			if len(g) != 4 {
				return "", valueErr("mac", "want three groups of 4 hex digits in %q", in)
			}
			octets = append(octets, g[:2], g[2:])
		}
	case len(s) == 12:
		for i := 0; i < 12; i += 2 {
			octets = append(octets, s[i:i+2])
		}
	default:
		return "", valueErr("mac", "%q is not a MAC-48 address", in)
	}
	for _, o := range octets {
		if len(o) != 2 || !allHex(o) {
			return "", valueErr("mac", "bad octet %q in %q", o, in)
		}
	}
	return strings.Join(octets, ":"), nil
}

// Refang undoes the usual defanging of indicators in reports: "hxxp" and
// "hxxps" schemes, "[.]", "(.)", "{.}", "[dot]", "[:]", "[@]", "[at]" and
// "[://]". It changes nothing else and is not a canonicaliser: apply it
// before one, to values known to be defanged.
func Refang(s string) string {
	if !strings.ContainsAny(s, "[({xX") {
		return s
	}
	r := refanger.Replace(s)
	lower := asciiLower(r)
	for _, p := range []string{"hxxps://", "hxxp://"} {
		if strings.HasPrefix(lower, p) {
			return strings.Replace(p, "xx", "tt", 1) + r[len(p):]
		}
	}
	return r
}

var refanger = strings.NewReplacer(
	"[.]", ".", "(.)", ".", "{.}", ".", "[dot]", ".", "[DOT]", ".",
	"[:]//", "://", "[://]", "://", "[@]", "@", "[at]", "@", "[AT]", "@",
)
