package lists

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/verband-cti/verband/schema"
)

// This file builds the STIX objects a decoder emits. Property values are
// written as compact JSON directly, so the objects need no further
// compaction; every object passes schema.Validate (the tests check).

// jstr encodes s as a JSON string without HTML escaping.
func jstr(s string) json.RawMessage {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			plain = false
			break
		}
	}
	if plain {
		b := make([]byte, 0, len(s)+2)
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// jstrs encodes a list of strings.
func jstrs(ss []string) json.RawMessage {
	b := []byte{'['}
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, jstr(s)...)
	}
	return append(b, ']')
}

// jraw encodes any value; it is used for the few nested values (external
// references, hashes).
func jraw(v any) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("lists: encode " + err.Error()) // only maps and slices of strings reach here
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

var (
	jSpec21 = json.RawMessage(`"2.1"`)
	jTrue   = json.RawMessage(`true`)
)

// common holds what every SDO and relationship of one decoder shares.
type common struct {
	time      time.Time
	stamp     json.RawMessage // Time as a JSON string
	markings  json.RawMessage // object_marking_refs, or nil
	createdBy json.RawMessage // created_by_ref, or nil
	labels    []string
}

func newCommon(opts Options) common {
	t := opts.Time.UTC().Truncate(time.Millisecond)
	c := common{time: t, stamp: jstr(formatTime(t)), labels: dedupe(opts.Labels)}
	if m := opts.TLP.MarkingID(); m != "" {
		c.markings = jstrs([]string{m})
	}
	if opts.CreatedBy != "" {
		c.createdBy = jstr(opts.CreatedBy)
	}
	return c
}

// sdo starts an SDO or SRO with the common properties.
func (c *common) sdo(typ, id string, nprops int) *schema.Object {
	p := make(map[string]json.RawMessage, nprops+8)
	p["type"] = jstr(typ)
	p["id"] = jstr(id)
	p["spec_version"] = jSpec21
	p["created"] = c.stamp
	p["modified"] = c.stamp
	if c.markings != nil {
		p["object_marking_refs"] = c.markings
	}
	if c.createdBy != nil {
		p["created_by_ref"] = c.createdBy
	}
	return &schema.Object{Type: typ, ID: id, Created: c.time, Modified: c.time, Props: p}
}

// observable returns the SCO for a value, with its deterministic id. The
// SCO holds only its value (or hashes): no marking, no custom property (see
// the package documentation).
func observable(v Value) (*schema.Object, error) {
	typ := v.Kind.STIXType()
	p := make(map[string]json.RawMessage, 4)
	p["type"] = jstr(typ)
	p["spec_version"] = jSpec21
	if v.Kind.IsHash() {
		p["hashes"] = jraw(map[string]string{v.Kind.HashAlgorithm(): v.Value})
	} else {
		p["value"] = jstr(v.Value)
	}
	o := &schema.Object{Type: typ, Props: p}
	id, err := schema.SCOID(o)
	if err != nil {
		return nil, err
	}
	o.ID = id
	p["id"] = jstr(id)
	return o, nil
}

// relationship returns the relationship src -[typ]-> dst, whose id depends
// on the three alone.
func (c *common) relationship(typ, src, dst string) *schema.Object {
	o := c.sdo("relationship", DeterministicID("relationship", typ, src, dst), 3)
	o.Props["relationship_type"] = jstr(typ)
	o.Props["source_ref"] = jstr(src)
	o.Props["target_ref"] = jstr(dst)
	return o
}

// indicatorSpec is what one indicator says.
type indicatorSpec struct {
	scope     string // source and container name, part of the id
	name      string
	desc      string
	pattern   string
	types     []string
	labels    []string
	refs      []extRef
	firstSeen time.Time
	lastSeen  time.Time
	source    string
	tlp       schema.TLP // a row's own TLP, or TLPUnmarked
}

// indicator returns the indicator for spec.
func (c *common) indicator(s indicatorSpec) *schema.Object {
	o := c.sdo("indicator", DeterministicID("indicator", s.scope, s.pattern), 10)
	p := o.Props
	p["name"] = jstr(s.name)
	if s.desc != "" {
		p["description"] = jstr(s.desc)
	}
	p["pattern"] = jstr(s.pattern)
	p["pattern_type"] = jstr("stix")
	p["pattern_version"] = jstr("2.1")
	p["valid_from"] = c.stamp
	if !s.firstSeen.IsZero() {
		p["valid_from"] = jstr(formatTime(s.firstSeen))
		p["x_verband_first_seen"] = p["valid_from"]
	}
	if !s.lastSeen.IsZero() {
		p["x_verband_last_seen"] = jstr(formatTime(s.lastSeen))
	}
	if len(s.types) > 0 {
		p["indicator_types"] = jstrs(s.types)
	}
	if l := mergeLabels(c.labels, s.labels); len(l) > 0 {
		p["labels"] = jstrs(l)
	}
	if len(s.refs) > 0 {
		p["external_references"] = encodeRefs(s.refs)
	}
	if s.source != "" {
		p["x_verband_source"] = jstr(s.source)
	}
	if m := s.tlp.MarkingID(); m != "" {
		p["object_marking_refs"] = jstrs([]string{m})
	}
	return o
}

// containers returns the grouping or report holding refs, or several when
// refs exceed max: part 1 keeps the id DeterministicID(typ, source, file),
// part k > 1 gets DeterministicID(typ, source, file, "part", k) and refers
// to part 1. lead (the maltrail family) opens every part.
func (c *common) containers(kind Container, source, file, desc string, refs, lead []string, ext []extRef, max int) []*schema.Object {
	typ := "grouping"
	if kind == ContainerReport {
		typ = "report"
	}
	first := DeterministicID(typ, source, file)
	per := max - len(lead) - 1
	if per < 1 {
		per = 1
	}
	parts := 1
	if len(refs)+len(lead) > max {
		parts = (len(refs) + per - 1) / per
	}
	out := make([]*schema.Object, 0, parts)
	for k := 1; k <= parts; k++ {
		id, name, members := first, source+": "+file, refs
		if parts > 1 {
			lo, hi := (k-1)*per, min(k*per, len(refs))
			members = refs[lo:hi]
			name += fmt.Sprintf(" (part %d of %d)", k, parts)
			if k > 1 {
				id = DeterministicID(typ, source, file, "part", strconv.Itoa(k))
				members = append([]string{first}, members...)
			}
		}
		all := make([]string, 0, len(lead)+len(members))
		for _, l := range lead {
			if !slices.Contains(members, l) {
				all = append(all, l)
			}
		}
		all = append(all, members...)
		o := c.sdo(typ, id, 6)
		p := o.Props
		p["name"] = jstr(name)
		p["description"] = jstr(desc)
		if typ == "grouping" {
			p["context"] = jstr("suspicious-activity")
		} else {
			p["published"] = c.stamp
			p["report_types"] = jstrs([]string{"indicator"})
		}
		p["object_refs"] = jstrs(all)
		if len(c.labels) > 0 {
			p["labels"] = jstrs(c.labels)
		}
		if len(ext) > 0 {
			p["external_references"] = encodeRefs(ext)
		}
		out = append(out, o)
	}
	return out
}

// extRef is one STIX external reference.
type extRef struct {
	SourceName  string `json:"source_name"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url,omitempty"`
	ExternalID  string `json:"external_id,omitempty"`
}

func encodeRefs(refs []extRef) json.RawMessage { return jraw(refs) }

// mergeLabels returns a followed by the labels of b not in a.
func mergeLabels(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	return dedupe(append(append([]string(nil), a...), b...))
}

// dedupe drops empty and repeated strings (after trimming), keeping order.
func dedupe(ss []string) []string {
	var out []string
	seen := make(map[string]bool, len(ss))
	for _, s := range ss {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

// Pattern returns the STIX pattern of an indicator for v:
//
//	domain        [domain-name:value = 'example.com']
//	address       [ipv4-addr:value = '192.0.2.1']
//	block         [ipv4-addr:value ISSUBSET '192.0.2.0/24']
//	URL           [url:value = 'https://example.com/x']
//	fragment      [url:value = 'http://example.com/x' OR url:value = 'https://example.com/x']
//	e-mail        [email-addr:value = 'a@example.com']
//	hash          [file:hashes.'SHA-256' = '…']
//	host:port     [network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '192.0.2.1' AND network-traffic:dst_port = 8080]
//
// A URL fragment was given without a scheme, so it stands for both http
// and https.
func Pattern(v Value) string {
	typ := v.Kind.STIXType()
	if v.Port != 0 {
		return "[network-traffic:dst_ref.type = " + quotePattern(typ) +
			" AND network-traffic:dst_ref.value = " + quotePattern(v.Value) +
			" AND network-traffic:dst_port = " + strconv.Itoa(v.Port) + "]"
	}
	switch {
	case v.Kind.IsHash():
		algo := v.Kind.HashAlgorithm()
		if strings.Contains(algo, "-") {
			algo = "'" + algo + "'"
		}
		return "[file:hashes." + algo + " = " + quotePattern(v.Value) + "]"
	case v.Kind == KindIPv4Net || v.Kind == KindIPv6Net:
		return "[" + typ + ":value ISSUBSET " + quotePattern(v.Value) + "]"
	case v.Kind == KindURL && v.Fragment && strings.HasPrefix(v.Value, "http://"):
		return "[url:value = " + quotePattern(v.Value) + " OR url:value = " + quotePattern("https://"+v.Value[len("http://"):]) + "]"
	}
	return "[" + typ + ":value = " + quotePattern(v.Value) + "]"
}

// quotePattern writes s as a STIX pattern string literal: in single quotes,
// with backslash and quote escaped.
func quotePattern(s string) string {
	if !strings.ContainsAny(s, `'\`) {
		return "'" + s + "'"
	}
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('\'')
	return b.String()
}
