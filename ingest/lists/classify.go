package lists

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/verband-cti/verband/schema"
)

// Kind is the type of one list value, as Classify detects it.
type Kind uint8

// The kinds of value a list may hold. KindIPv4Net and KindIPv6Net are CIDR
// blocks; they become ipv4-addr and ipv6-addr observables whose value is the
// block, as STIX 2.1 allows.
const (
	KindUnknown Kind = iota
	KindIPv4
	KindIPv6
	KindIPv4Net
	KindIPv6Net
	KindDomain
	KindURL
	KindEmail
	KindMD5
	KindSHA1
	KindSHA256
	KindSHA512
)

var kindNames = [...]string{
	KindUnknown: "unknown",
	KindIPv4:    "ipv4",
	KindIPv6:    "ipv6",
	KindIPv4Net: "ipv4-cidr",
	KindIPv6Net: "ipv6-cidr",
	KindDomain:  "domain",
	KindURL:     "url",
	KindEmail:   "email",
	KindMD5:     "md5",
	KindSHA1:    "sha1",
	KindSHA256:  "sha256",
	KindSHA512:  "sha512",
}

// String returns the kind's name as the CSV type column writes it, such as
// "ipv4", "ipv4-cidr", "domain" or "sha256".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// STIXType returns the STIX observable type that holds a value of kind k:
// ipv4-addr, ipv6-addr, domain-name, url, email-addr or file; "" for
// KindUnknown.
func (k Kind) STIXType() string {
	switch k {
	case KindIPv4, KindIPv4Net:
		return "ipv4-addr"
	case KindIPv6, KindIPv6Net:
		return "ipv6-addr"
	case KindDomain:
		return "domain-name"
	case KindURL:
		return "url"
	case KindEmail:
		return "email-addr"
	case KindMD5, KindSHA1, KindSHA256, KindSHA512:
		return "file"
	}
	return ""
}

// HashAlgorithm returns the STIX hash-algorithm-ov name of a hash kind
// ("MD5", "SHA-1", "SHA-256", "SHA-512"), or "" for other kinds.
func (k Kind) HashAlgorithm() string {
	switch k {
	case KindMD5:
		return "MD5"
	case KindSHA1:
		return "SHA-1"
	case KindSHA256:
		return "SHA-256"
	case KindSHA512:
		return "SHA-512"
	}
	return ""
}

// IsIP reports whether k is an address or a CIDR block.
func (k Kind) IsIP() bool { return k >= KindIPv4 && k <= KindIPv6Net }

// IsHash reports whether k is a file hash.
func (k Kind) IsHash() bool { return k >= KindMD5 && k <= KindSHA512 }

// family groups kinds that a CSV type column cannot tell apart: "ip" covers
// addresses and blocks of both versions, "hash" every algorithm.
func (k Kind) family() Kind {
	switch {
	case k.IsIP():
		return KindIPv4
	case k.IsHash():
		return KindMD5
	}
	return k
}

// kindAliases maps the type names found in CSV type columns (lower case,
// with '_' and ' ' read as '-') to a kind. Generic names map to the first
// kind of their family; ClassifyAs then accepts any kind of the family.
var kindAliases = map[string]Kind{
	"ip": KindIPv4, "ipv4": KindIPv4, "ipv4-addr": KindIPv4, "ip-addr": KindIPv4,
	"ip-address": KindIPv4, "ipaddress": KindIPv4, "ip-src": KindIPv4, "ip-dst": KindIPv4,
	"addr": KindIPv4, "address": KindIPv4,
	"ipv6": KindIPv6, "ipv6-addr": KindIPv6,
	"cidr": KindIPv4Net, "ipv4-cidr": KindIPv4Net, "ipv6-cidr": KindIPv6Net,
	"subnet": KindIPv4Net, "netblock": KindIPv4Net, "ip-range": KindIPv4Net, "network": KindIPv4Net,
	"domain": KindDomain, "domain-name": KindDomain, "hostname": KindDomain, "host": KindDomain,
	"fqdn": KindDomain, "dns": KindDomain,
	"url": KindURL, "uri": KindURL, "link": KindURL,
	"email": KindEmail, "e-mail": KindEmail, "email-addr": KindEmail, "email-src": KindEmail,
	"email-dst": KindEmail, "mail": KindEmail,
	"hash": KindMD5, "filehash": KindMD5, "file-hash": KindMD5, "file": KindMD5,
	"md5": KindMD5, "sha1": KindSHA1, "sha-1": KindSHA1, "sha256": KindSHA256,
	"sha-256": KindSHA256, "sha512": KindSHA512, "sha-512": KindSHA512,
}

// ParseKind reads a type name from a CSV type column: the names Kind.String
// returns, STIX type names (ipv4-addr, domain-name, url, email-addr), MISP
// attribute types (ip-src, ip-dst, hostname, email-src, md5, sha256, …) and
// generic names ("ip", "hash", "cidr"), without regard to case. Generic names
// stand for their family: "ip" accepts addresses and blocks of both
// versions, "hash" any of the four hash lengths.
func ParseKind(name string) (Kind, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.NewReplacer("_", "-", " ", "-").Replace(n)
	if k, ok := kindAliases[n]; ok {
		return k, nil
	}
	return KindUnknown, fmt.Errorf("parse type %q: %w", name, ErrUnknownType)
}

// isGenericAlias reports whether a type name stands for a whole family
// rather than one kind.
func isGenericAlias(name string) bool {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "ip", "ip-addr", "ip_addr", "ip-address", "ip_address", "ipaddress", "ip-src", "ip_src",
		"ip-dst", "ip_dst", "addr", "address", "hash", "filehash", "file-hash", "file_hash", "file",
		"cidr", "subnet", "netblock", "ip-range", "ip_range", "network":
		return true
	}
	return false
}

// Value is one classified list value.
type Value struct {
	// Kind is the detected type.
	Kind Kind
	// Value is the canonical form: an address or block by
	// schema.CanonicalIP, a domain by schema.CanonicalDomain, a URL by
	// schema.CanonicalURL, an e-mail address by schema.CanonicalEmail, a
	// lower-case hex digest.
	Value string
	// Port is the port of a "host:port" entry (the value is then the host),
	// or 0.
	Port int
	// Fragment reports a URL that was given without a scheme ("host/path");
	// Value then starts with "http://".
	Fragment bool
}

// String returns the value as a list would write it: the canonical value,
// with ":port" when it has a port.
func (v Value) String() string {
	if v.Port == 0 {
		return v.Value
	}
	if v.Kind == KindIPv6 {
		return "[" + v.Value + "]:" + strconv.Itoa(v.Port)
	}
	return v.Value + ":" + strconv.Itoa(v.Port)
}

// MaxValueBytes is the longest value Classify accepts, in bytes.
const MaxValueBytes = 8192

// Classify detects the type of one list value and returns its canonical
// form. It refangs the value first (see Refang), then tries, in order:
//
//   - a URL with a scheme ("https://…", after refanging "hxxps://…");
//   - an e-mail address (an "@" and no "/");
//   - an IPv4 or IPv6 address, or a CIDR block "addr/len";
//   - a hex digest of 32, 40, 64 or 128 digits (MD5, SHA-1, SHA-256,
//     SHA-512);
//   - "host:port", where host is an address or a domain name; the value is
//     then the host and Port the port;
//   - a "host/path" fragment, which becomes the URL "http://host/path"
//     (Fragment is set);
//   - a domain name with at least two labels, the last one not numeric.
//
// Anything else, including text with inner spaces, is refused with an
// error wrapping ErrUnknownType (or schema.ErrInvalidValue when the value
// looked like a type but failed its checks): nothing is guessed.
func Classify(s string) (Value, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Value{}, fmt.Errorf("classify: %w", ErrEmptyValue)
	}
	if len(s) > MaxValueBytes {
		return Value{}, fmt.Errorf("classify: value of %d bytes, limit %d: %w", len(s), MaxValueBytes, ErrValueTooLong)
	}
	if !utf8.ValidString(s) {
		return Value{}, fmt.Errorf("classify: %w", ErrInvalidUTF8)
	}
	r := Refang(s)
	if strings.ContainsAny(r, " \t\r\n\v\f") {
		return Value{}, fmt.Errorf("classify %q: contains white space: %w", clip(s), ErrUnknownType)
	}
	if i := strings.Index(r, "://"); i > 0 {
		if strings.ContainsAny(r[:i], ":/@?#") || len(r) == i+3 || r[i+3] == '/' {
			return Value{}, fmt.Errorf("classify %q: not a URL with scheme and host: %w", clip(s), ErrUnknownType)
		}
		u, err := schema.CanonicalURL(r)
		if err != nil {
			return Value{}, fmt.Errorf("classify %q: %w", clip(s), err)
		}
		return Value{Kind: KindURL, Value: u}, nil
	}
	if strings.Contains(r, "@") && !strings.Contains(r, "/") {
		e, err := schema.CanonicalEmail(r)
		if err != nil {
			return Value{}, fmt.Errorf("classify %q: %w", clip(s), err)
		}
		return Value{Kind: KindEmail, Value: e}, nil
	}
	if v, ok := classifyIP(r); ok {
		return v, nil
	}
	if k := hashKind(r); k != KindUnknown {
		return Value{Kind: k, Value: strings.ToLower(r)}, nil
	}
	if slash := strings.IndexByte(r, '/'); slash >= 0 {
		return classifyFragment(s, r, slash)
	}
	if host, port, ok := splitPort(r); ok {
		v, err := classifyHost(s, host)
		if err != nil {
			return Value{}, err
		}
		v.Port = port
		return v, nil
	}
	return classifyHost(s, r)
}

// ClassifyAs checks a value against a type name from a CSV type column (see
// ParseKind). The value must classify to a kind of the named type's family:
// a generic name ("ip", "hash") accepts any address or block, or any digest;
// a specific one ("ipv6", "sha256") only that kind, although an address
// column accepts a block of the same version. A domain given for "url"
// becomes the URL "http://domain/". A mismatch wraps ErrTypeMismatch, an
// unknown type name ErrUnknownType.
func ClassifyAs(typeName, s string) (Value, error) {
	want, err := ParseKind(typeName)
	if err != nil {
		return Value{}, err
	}
	generic := isGenericAlias(typeName)
	v, err := Classify(s)
	if err != nil {
		return Value{}, err
	}
	if want == KindURL && v.Kind == KindDomain && v.Port == 0 {
		v = Value{Kind: KindURL, Value: "http://" + v.Value + "/", Fragment: true}
	}
	mismatch := v.Kind.family() != want.family()
	if !generic {
		switch {
		case want.IsHash():
			mismatch = v.Kind != want
		case want == KindIPv4 || want == KindIPv4Net:
			mismatch = v.Kind != KindIPv4 && v.Kind != KindIPv4Net
		case want == KindIPv6 || want == KindIPv6Net:
			mismatch = v.Kind != KindIPv6 && v.Kind != KindIPv6Net
		}
	}
	if mismatch {
		return Value{}, fmt.Errorf("classify %q as %s: looks like %s: %w", clip(s), typeName, v.Kind, ErrTypeMismatch)
	}
	return v, nil
}

// classifyIP recognises an address or a CIDR block.
func classifyIP(r string) (Value, bool) {
	addr, bits, hasBits := strings.Cut(r, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return Value{}, false
	}
	if hasBits && (bits == "" || len(bits) > 3 || strings.Trim(bits, "0123456789") != "") {
		return Value{}, false
	}
	c, err := schema.CanonicalIP(r)
	if err != nil {
		return Value{}, false
	}
	v6 := strings.Contains(c, ":")
	net := strings.Contains(c, "/")
	switch {
	case v6 && net:
		return Value{Kind: KindIPv6Net, Value: c}, true
	case v6:
		return Value{Kind: KindIPv6, Value: c}, true
	case net:
		return Value{Kind: KindIPv4Net, Value: c}, true
	}
	return Value{Kind: KindIPv4, Value: c}, true
}

// hashKind returns the hash kind of a hex digest, by its length.
func hashKind(s string) Kind {
	var k Kind
	switch len(s) {
	case 32:
		k = KindMD5
	case 40:
		k = KindSHA1
	case 64:
		k = KindSHA256
	case 128:
		k = KindSHA512
	default:
		return KindUnknown
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return KindUnknown
		}
	}
	return k
}

// splitPort splits "host:port" and "[v6]:port" with a decimal port of 1 to
// 65535.
func splitPort(r string) (host string, port int, ok bool) {
	i := strings.LastIndexByte(r, ':')
	if i <= 0 || i == len(r)-1 {
		return "", 0, false
	}
	host, p := r[:i], r[i+1:]
	if len(p) > 5 || strings.Trim(p, "0123456789") != "" {
		return "", 0, false
	}
	n, _ := strconv.Atoi(p)
	if n < 1 || n > 65535 {
		return "", 0, false
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	} else if strings.Contains(host, ":") {
		return "", 0, false
	}
	return host, n, true
}

// classifyHost recognises an address or a domain name with at least two
// labels.
func classifyHost(orig, h string) (Value, error) {
	if v, ok := classifyIP(h); ok && (v.Kind == KindIPv4 || v.Kind == KindIPv6) {
		return v, nil
	}
	if !strings.Contains(strings.TrimSuffix(h, "."), ".") {
		return Value{}, fmt.Errorf("classify %q: not an address, domain, URL, e-mail address or hash: %w", clip(orig), ErrUnknownType)
	}
	if looksNumeric(h) {
		return Value{}, fmt.Errorf("classify %q: numeric but not an IP address: %w", clip(orig), ErrUnknownType)
	}
	d, err := schema.CanonicalDomain(h)
	if err != nil {
		return Value{}, fmt.Errorf("classify %q: %w", clip(orig), err)
	}
	if !strings.Contains(d, ".") {
		// IDNA mapping can drop a label ("a.xn--" becomes "a").
		return Value{}, fmt.Errorf("classify %q: canonical form %q has one label: %w", clip(orig), d, ErrUnknownType)
	}
	return Value{Kind: KindDomain, Value: d}, nil
}

// looksNumeric reports whether the last label of h is all digits.
func looksNumeric(h string) bool {
	h = strings.TrimSuffix(h, ".")
	last := h[strings.LastIndexByte(h, '.')+1:]
	return last != "" && strings.Trim(last, "0123456789") == ""
}

// classifyFragment turns "host/path" (host possibly with a port) into an
// http URL, or "addr/len" into a block.
func classifyFragment(orig, r string, slash int) (Value, error) {
	host := r[:slash]
	if rest := r[slash+1:]; rest != "" && len(rest) <= 3 && strings.Trim(rest, "0123456789") == "" {
		if _, err := netip.ParseAddr(host); err == nil {
			return Value{}, fmt.Errorf("classify %q: bad CIDR prefix length: %w", clip(orig), ErrUnknownType)
		}
	}
	if host == "" {
		return Value{}, fmt.Errorf("classify %q: a path without a host: %w", clip(orig), ErrUnknownType)
	}
	if h, _, ok := splitPort(host); ok {
		host = h
	}
	if _, err := classifyHost(orig, host); err != nil {
		return Value{}, err
	}
	u, err := schema.CanonicalURL("http://" + r)
	if err != nil {
		return Value{}, fmt.Errorf("classify %q: %w", clip(orig), err)
	}
	return Value{Kind: KindURL, Value: u, Fragment: true}, nil
}

// clip shortens a value for an error message.
func clip(s string) string {
	const max = 120
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
