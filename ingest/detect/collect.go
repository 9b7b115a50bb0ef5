package detect

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/schema"
)

// Entry is one value fit for detection, with what the exports say about
// it.
type Entry struct {
	// Kind and Value are the value's type and canonical form (see
	// lists.Value); Port is a destination port, or 0.
	Kind  lists.Kind
	Value string
	Port  int
	// ID is the STIX id of the indicator or observable the value came
	// from, and Indicator says which of the two it is.
	ID        string
	Indicator bool
	// Name and Description come from the indicator.
	Name, Description string
	// Reference is the URL of the object's first external reference that
	// has one.
	Reference string
	// Labels are the object's labels.
	Labels []string
	// FirstSeen and LastSeen come from x_verband_first_seen and
	// x_verband_last_seen (as the lists decoder writes them); Modified is
	// the object's modified time. Zero when unknown.
	FirstSeen, LastSeen, Modified time.Time
	// TLP is the stricter of the object's TLP marking and its Origin.TLP.
	TLP schema.TLP
	// Source is Origin.Source, or the indicator's x_verband_source.
	Source string
}

// Origin is what the store knows about an object beyond its STIX content:
// the node's first provenance source and its policy's TLP.
type Origin struct {
	Source string
	TLP    schema.TLP
}

// Skip is one value or object left out of an export, and why.
type Skip struct {
	// ID is the object's STIX id; Value the value, when the reason is
	// about one value of the object.
	ID, Value string
	// Reason wraps one of the Err sentinels of this package.
	Reason error
}

// String renders the skip as "indicator--…: value: reason".
func (s Skip) String() string {
	if s.Value != "" {
		return s.ID + ": " + s.Value + ": " + s.Reason.Error()
	}
	return s.ID + ": " + s.Reason.Error()
}

// Options tune a Collector.
type Options struct {
	// Now is the time against which valid_from and valid_until are
	// checked. Default time.Now() when the Collector is made.
	Now time.Time
	// Observables takes cyber observables (domain-name, ipv4-addr,
	// ipv6-addr, url, email-addr and file hashes) as well as indicators.
	// Default: indicators only.
	Observables bool
	// Warninglisted, when set, reports values to leave out: its arguments
	// are the STIX observable type ("ipv4-addr", "domain-name", "url",
	// "email-addr", "file") and the canonical value (a hex digest for
	// files). refdata.Warninglists.Matches has this signature.
	Warninglisted func(typ, value string) bool
	// AllowPrivate keeps private, loopback, link-local, documentation and
	// other reserved addresses and names, which are left out by default.
	AllowPrivate bool
	// MaxTLP is the most restrictive TLP exported; stricter objects are
	// left out. Default schema.TLPAmber (TLP:AMBER+STRICT may not be
	// re-exported, TLP:RED is for named people only).
	MaxTLP schema.TLP
}

// Collector gathers detection entries from STIX objects and remembers what
// it left out. It keeps one entry per kind, value and port; an indicator's
// entry wins over an observable's, and among equals the smallest id, so the
// result does not depend on the order objects arrive in. A Collector is not
// safe for concurrent use.
type Collector struct {
	opts    Options
	entries map[entryKey]*Entry
	skipped []Skip
}

type entryKey struct {
	kind  lists.Kind
	value string
	port  int
}

// NewCollector returns an empty collector.
func NewCollector(opts Options) *Collector {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.MaxTLP == schema.TLPUnmarked {
		opts.MaxTLP = schema.TLPAmber
	}
	return &Collector{opts: opts, entries: map[entryKey]*Entry{}}
}

// Add takes the detectable values of one object: an indicator with a simple
// STIX pattern, or (with Options.Observables) an observable. Other objects
// are ignored silently; indicators and observables that are not fit for
// detection are recorded in Skipped.
func (c *Collector) Add(o *schema.Object, origin Origin) {
	switch o.Type {
	case "indicator":
		c.addIndicator(o, origin)
	case "domain-name", "ipv4-addr", "ipv6-addr", "url", "email-addr", "file":
		if c.opts.Observables {
			c.addObservable(o, origin)
		}
	}
}

// Entries returns the collected entries sorted by kind, value and port.
func (c *Collector) Entries() []Entry {
	out := make([]Entry, 0, len(c.entries))
	for _, e := range c.entries {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), strings.Compare(a.Value, b.Value), cmp.Compare(a.Port, b.Port))
	})
	return out
}

// Skipped returns what was left out, in the order it was met.
func (c *Collector) Skipped() []Skip { return c.skipped }

func (c *Collector) skip(id, value string, reason error) {
	c.skipped = append(c.skipped, Skip{ID: id, Value: value, Reason: reason})
}

// base fills what an entry takes from its object, and checks the object's
// TLP; it returns false when the object is left out.
func (c *Collector) base(o *schema.Object, origin Origin) (Entry, bool) {
	e := Entry{ID: o.ID, Source: origin.Source, Labels: o.Strings("labels"), Modified: o.Modified}
	e.TLP = max(schema.TLPOf(o), origin.TLP)
	if e.TLP > c.opts.MaxTLP {
		c.skip(o.ID, "", fmt.Errorf("%s: %w", e.TLP, ErrTLP))
		return e, false
	}
	if e.Source == "" {
		e.Source, _ = o.String("x_verband_source")
	}
	e.Reference = firstReference(o)
	if s, ok := o.String("x_verband_first_seen"); ok {
		e.FirstSeen, _ = schema.ParseTimestamp(s)
	}
	if s, ok := o.String("x_verband_last_seen"); ok {
		e.LastSeen, _ = schema.ParseTimestamp(s)
	}
	return e, true
}

// firstReference returns the first external reference URL.
func firstReference(o *schema.Object) string {
	raw, ok := o.Props["external_references"]
	if !ok {
		return ""
	}
	var refs []struct {
		URL string `json:"url"`
	}
	if json.Unmarshal(raw, &refs) != nil {
		return ""
	}
	for _, r := range refs {
		if r.URL != "" {
			return r.URL
		}
	}
	return ""
}

func (c *Collector) addIndicator(o *schema.Object, origin Origin) {
	if rev, _ := o.Props["revoked"]; string(rev) == "true" {
		c.skip(o.ID, "", ErrRevoked)
		return
	}
	if pt, _ := o.String("pattern_type"); pt != "stix" {
		c.skip(o.ID, "", fmt.Errorf("pattern_type %q: %w", pt, ErrNotSimple))
		return
	}
	if s, ok := o.String("valid_until"); ok {
		if t, err := schema.ParseTimestamp(s); err == nil && !t.After(c.opts.Now) {
			c.skip(o.ID, "", fmt.Errorf("valid_until %s: %w", s, ErrExpired))
			return
		}
	}
	if s, ok := o.String("valid_from"); ok {
		if t, err := schema.ParseTimestamp(s); err == nil && t.After(c.opts.Now) {
			c.skip(o.ID, "", fmt.Errorf("valid_from %s: %w", s, ErrNotYetValid))
			return
		}
	}
	if slices.Contains(o.Strings("indicator_types"), "benign") {
		c.skip(o.ID, "", fmt.Errorf("indicator_types has benign: %w", ErrNotForDetection))
		return
	}
	e, ok := c.base(o, origin)
	if !ok {
		return
	}
	e.Indicator = true
	e.Name, _ = o.String("name")
	e.Description, _ = o.String("description")
	pattern, _ := o.String("pattern")
	obs, err := parsePattern(pattern)
	if err != nil {
		c.skip(o.ID, "", fmt.Errorf("pattern: %w", err))
		return
	}
	var vals []lists.Value
	for _, ob := range obs {
		vs, err := observationValues(ob)
		if err != nil {
			c.skip(o.ID, "", fmt.Errorf("pattern: %w", err))
			return
		}
		vals = append(vals, vs...)
	}
	for _, v := range vals {
		c.put(e, v)
	}
}

// observationValues turns one observation into values: each comparison of
// an OR observation, or the network-traffic destination of an AND one.
func observationValues(ob observation) ([]lists.Value, error) {
	if ob.and {
		return trafficValue(ob)
	}
	var out []lists.Value
	for _, cmp := range ob.comps {
		v, err := comparisonValue(cmp)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// stixTypeName maps the object types a comparison may name to the type
// name lists.ClassifyAs takes.
var stixTypeName = map[string]string{
	"ipv4-addr": "ipv4", "ipv6-addr": "ipv6", "domain-name": "domain", "url": "url", "email-addr": "email",
}

// comparisonValue reads the value of one comparison.
func comparisonValue(c comparison) (lists.Value, error) {
	path := strings.Join(c.path, ".")
	if c.isNum {
		return lists.Value{}, fmt.Errorf("%s:%s compared with a number: %w", c.objType, path, ErrNotSimple)
	}
	typeName := ""
	switch {
	case c.objType == "file" && len(c.path) == 2 && c.path[0] == "hashes":
		typeName = c.path[1]
		switch strings.ToUpper(strings.ReplaceAll(typeName, "-", "")) {
		case "MD5", "SHA1", "SHA256", "SHA512":
		default:
			return lists.Value{}, fmt.Errorf("hash %s: %w", typeName, ErrUnsupported)
		}
	case path == "value" && stixTypeName[c.objType] != "":
		typeName = stixTypeName[c.objType]
	case c.objType == "email-message" && len(c.path) == 2 && (c.path[0] == "from_ref" || c.path[0] == "sender_ref") && c.path[1] == "value":
		typeName = "email"
	default:
		return lists.Value{}, fmt.Errorf("%s:%s: %w", c.objType, path, ErrUnsupported)
	}
	if c.op == "ISSUBSET" && c.objType != "ipv4-addr" && c.objType != "ipv6-addr" {
		return lists.Value{}, fmt.Errorf("ISSUBSET on %s: %w", c.objType, ErrNotSimple)
	}
	v, err := lists.ClassifyAs(typeName, c.str)
	if err != nil {
		return lists.Value{}, fmt.Errorf("%s:%s value: %w: %w", c.objType, path, ErrBadValue, err)
	}
	if v.Port != 0 {
		return lists.Value{}, fmt.Errorf("%s:%s value %q has a port: %w", c.objType, path, c.str, ErrBadValue)
	}
	return v, nil
}

// trafficValue reads "network-traffic:dst_ref.value = … AND
// network-traffic:dst_port = …" (with an optional dst_ref.type).
func trafficValue(ob observation) ([]lists.Value, error) {
	var v lists.Value
	var typ string
	found := false
	for _, c := range ob.comps {
		if c.objType != "network-traffic" || c.op != "=" {
			return nil, fmt.Errorf("AND of %s comparisons: %w", c.objType, ErrNotSimple)
		}
		switch strings.Join(c.path, ".") {
		case "dst_ref.type":
			typ = c.str
		case "dst_ref.value":
			got, err := lists.Classify(c.str)
			if err != nil || got.Port != 0 || (got.Kind != lists.KindIPv4 && got.Kind != lists.KindIPv6 && got.Kind != lists.KindDomain) {
				return nil, fmt.Errorf("network-traffic:dst_ref.value %q: %w", c.str, ErrBadValue)
			}
			v.Kind, v.Value, found = got.Kind, got.Value, true
		case "dst_port":
			if !c.isNum || c.num < 1 || c.num > 65535 {
				return nil, fmt.Errorf("network-traffic:dst_port: %w", ErrBadValue)
			}
			v.Port = c.num
		default:
			return nil, fmt.Errorf("network-traffic:%s: %w", strings.Join(c.path, "."), ErrUnsupported)
		}
	}
	if !found {
		return nil, fmt.Errorf("network-traffic without dst_ref.value: %w", ErrUnsupported)
	}
	if typ != "" && typ != v.Kind.STIXType() {
		return nil, fmt.Errorf("dst_ref.type %q but the value is %s: %w", typ, v.Kind.STIXType(), ErrBadValue)
	}
	return []lists.Value{v}, nil
}

func (c *Collector) addObservable(o *schema.Object, origin Origin) {
	e, ok := c.base(o, origin)
	if !ok {
		return
	}
	if o.Type == "file" {
		var hashes map[string]string
		if json.Unmarshal(o.Props["hashes"], &hashes) != nil {
			return
		}
		algos := make([]string, 0, len(hashes))
		for a := range hashes {
			algos = append(algos, a)
		}
		slices.Sort(algos)
		for _, a := range algos {
			v, err := lists.ClassifyAs(a, hashes[a])
			if err != nil {
				continue // SSDEEP, TLSH and other algorithms have no detection rule
			}
			c.put(e, v)
		}
		return
	}
	raw, _ := o.String("value")
	v, err := lists.ClassifyAs(stixTypeName[o.Type], raw)
	if err != nil || v.Port != 0 {
		c.skip(o.ID, raw, fmt.Errorf("%w: %v", ErrBadValue, err))
		return
	}
	c.put(e, v)
}

// put checks a value and keeps its entry.
func (c *Collector) put(e Entry, v lists.Value) {
	if err := c.check(v); err != nil {
		c.skip(e.ID, v.String(), err)
		return
	}
	e.Kind, e.Value, e.Port = v.Kind, v.Value, v.Port
	k := entryKey{v.Kind, v.Value, v.Port}
	if old, ok := c.entries[k]; ok {
		if old.Indicator && !e.Indicator || old.Indicator == e.Indicator && old.ID <= e.ID {
			return
		}
	}
	c.entries[k] = &e
}

// check reports why a value is not fit for detection, or nil.
func (c *Collector) check(v lists.Value) error {
	if !c.opts.AllowPrivate {
		if err := reserved(v); err != nil {
			return err
		}
	}
	if c.opts.Warninglisted != nil {
		val := v.Value
		if c.opts.Warninglisted(v.Kind.STIXType(), val) {
			return ErrWarninglisted
		}
	}
	return nil
}

// reservedNames are the special-use domain names of RFC 2606 and RFC 6761
// (and the .local and .internal names of RFC 6762 and ICANN), which never
// reach a public resolver.
var reservedNames = []string{"example", "test", "invalid", "localhost", "local", "internal", "arpa", "home.arpa",
	"example.com", "example.net", "example.org"}

// reserved reports a private or reserved address, block or name.
func reserved(v lists.Value) error {
	switch v.Kind {
	case lists.KindIPv4, lists.KindIPv6:
		a, err := netip.ParseAddr(v.Value)
		if err == nil && !publicAddr(a) {
			return ErrReserved
		}
	case lists.KindIPv4Net, lists.KindIPv6Net:
		p, err := netip.ParsePrefix(v.Value)
		if err != nil {
			return fmt.Errorf("%s: %w", v.Value, ErrBadValue)
		}
		if p.Addr().Is4() && p.Bits() < 8 || p.Addr().Is6() && p.Bits() < 16 {
			return fmt.Errorf("too broad: %w", ErrReserved)
		}
		for _, r := range reservedPrefixes {
			if r.Overlaps(p) {
				return fmt.Errorf("overlaps %s: %w", r, ErrReserved)
			}
		}
	case lists.KindDomain:
		return reservedName(v.Value)
	case lists.KindEmail:
		return reservedName(v.Value[strings.LastIndexByte(v.Value, '@')+1:])
	case lists.KindURL:
		h := urlHost(v.Value)
		if a, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
			if !publicAddr(a) {
				return fmt.Errorf("host %s: %w", h, ErrReserved)
			}
			return nil
		}
		return reservedName(h)
	}
	return nil
}

func reservedName(h string) error {
	for _, r := range reservedNames {
		if h == r || strings.HasSuffix(h, "."+r) {
			return fmt.Errorf("special-use name %s: %w", h, ErrReserved)
		}
	}
	return nil
}

// urlHost returns the host of a canonical URL, without port.
func urlHost(u string) string {
	_, rest, _ := strings.Cut(u, "://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if strings.HasPrefix(rest, "[") {
		if i := strings.IndexByte(rest, ']'); i >= 0 {
			return rest[:i+1]
		}
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// reservedPrefixes are the IANA special-purpose blocks (RFC 6890 and its
// updates) that are not globally reachable, plus multicast.
var reservedPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
		"::/128", "::1/128", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
		"3fff::/20", "fc00::/7", "fe80::/10", "ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// publicAddr reports an address outside every reserved block.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range reservedPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// IsReserved reports whether a value (as lists.Classify returns it) is a
// private or reserved address, block or name, which the exports leave out
// unless Options.AllowPrivate.
func IsReserved(v lists.Value) bool { return reserved(v) != nil }
