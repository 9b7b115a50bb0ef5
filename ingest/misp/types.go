package misp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/verband-cti/verband/ingest/refdata"
	"github.com/verband-cti/verband/schema"
)

// hashTypes maps MISP hash attribute types to STIX hash algorithm names.
var hashTypes = map[string]string{
	"md5": "MD5", "sha1": "SHA-1", "sha224": "SHA-224", "sha256": "SHA-256", "sha384": "SHA-384",
	"sha512": "SHA-512", "sha3-224": "SHA3-224", "sha3-256": "SHA3-256", "sha3-384": "SHA3-384",
	"sha3-512": "SHA3-512", "ssdeep": "SSDEEP", "tlsh": "TLSH",
}

// x509Types maps MISP certificate fingerprint types to STIX hash names.
var x509Types = map[string]string{
	"x509-fingerprint-md5": "MD5", "x509-fingerprint-sha1": "SHA-1", "x509-fingerprint-sha256": "SHA-256",
}

// emailTypes are the MISP types whose value is one e-mail address.
var emailTypes = map[string]bool{
	"email": true, "email-src": true, "email-dst": true, "target-email": true,
	"email-reply-to": true, "whois-registrant-email": true, "dns-soa-email": true,
}

// ruleTypes maps MISP detection-rule types to STIX pattern types: a to_ids
// attribute of these types becomes an indicator holding the rule.
var ruleTypes = map[string]string{
	"yara": "yara", "snort": "snort", "sigma": "sigma", "suricata": "suricata",
	"zeek": "zeek", "bro": "zeek", "pcre": "pcre", "stix2-pattern": "stix",
}

// mapping is what one MISP attribute value becomes.
type mapping struct {
	// scos are the cyber observables, canonical, with their ids.
	scos []*schema.Object
	// rels are relationships between them, as [source id, type, target id].
	rels [][3]string
	// sdos are domain objects the value names (a vulnerability).
	sdos []*schema.Object
	// pattern and patternType make the indicator of a to_ids attribute;
	// pattern is empty when the value has no detection pattern.
	pattern, patternType string
	// hashes and fileName describe a file, for merging the attributes of a
	// MISP file object into one file observable.
	hashes   map[string]string
	fileName string
	// usedData reports that the attribute's "data" went into an artifact.
	usedData bool
	// unmapped says why the value has no STIX counterpart; it is empty when
	// scos, sdos or pattern are set. failed tells a value of a type that
	// maps but that could not be mapped from a type that never maps.
	unmapped string
	failed   bool
}

func (m *mapping) empty() bool {
	return len(m.scos) == 0 && len(m.sdos) == 0 && m.pattern == ""
}

// placeholder is the id an SCO has until Canonicalize computes its own.
const placeholder = "--00000000-0000-4000-8000-000000000000"

// newSCO builds an SCO with the given properties and canonicalises it,
// which also sets its deterministic id.
func newSCO(typ string, props map[string]any) (*schema.Object, error) {
	o := &schema.Object{Type: typ, ID: typ + placeholder, Props: map[string]json.RawMessage{}}
	props["type"] = typ
	props["id"] = o.ID
	props["spec_version"] = "2.1"
	for k, v := range props {
		if err := o.Set(k, v); err != nil {
			return nil, err
		}
	}
	if _, err := schema.Canonicalize(o); err != nil {
		return nil, err
	}
	if err := schema.Validate(o); err != nil {
		return nil, err
	}
	return o, nil
}

// patternString quotes s as a STIX pattern string literal.
func patternString(s string) string {
	return "'" + patternEscaper.Replace(s) + "'"
}

var patternEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

// hashPath returns the object path of a hash in a STIX pattern, such as
// hashes.MD5 or hashes.'SHA-256'.
func hashPath(algo string) string {
	if strings.ContainsAny(algo, "-") {
		return "hashes." + patternString(algo)
	}
	return "hashes." + algo
}

func valueOf(o *schema.Object, prop string) string {
	s, _ := o.String(prop)
	return s
}

// ipSCO makes an ipv4-addr or ipv6-addr from an address or CIDR block.
func ipSCO(v string) (*schema.Object, error) {
	c, err := schema.CanonicalIP(schema.Refang(strings.TrimSpace(v)))
	if err != nil {
		return nil, err
	}
	typ := "ipv4-addr"
	if strings.Contains(c, ":") {
		typ = "ipv6-addr"
	}
	return newSCO(typ, map[string]any{"value": c})
}

func ipComparison(o *schema.Object) string {
	v := valueOf(o, "value")
	if strings.Contains(v, "/") {
		return o.Type + ":value ISSUBSET " + patternString(v)
	}
	return o.Type + ":value = " + patternString(v)
}

// splitPair splits a composite MISP value "a|b" at its first "|".
func splitPair(v string) (string, string, error) {
	a, b, ok := strings.Cut(v, "|")
	if !ok {
		return "", "", fmt.Errorf("composite value %q has no '|'", clip(v))
	}
	return a, b, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("bad port %q", clip(s))
	}
	return n, nil
}

// mapAttribute maps one MISP attribute type and value (and, for
// attachments, its base64 data) to STIX. It never fails: a value that
// cannot be mapped comes back with unmapped set and is kept by the caller as
// a custom object.
func mapAttribute(typ, value, data string) mapping {
	m, err := mapValue(typ, value, data)
	if err != nil {
		var ve *schema.ValidationError
		if errors.As(err, &ve) && ve.Err != nil {
			err = ve.Err
		}
		return mapping{unmapped: fmt.Sprintf("MISP %s value cannot be mapped: %v", typ, err), failed: true}
	}
	if m.empty() {
		return mapping{unmapped: "no STIX counterpart for MISP type " + strconv.Quote(typ)}
	}
	return m
}

func mapValue(typ, value, data string) (mapping, error) {
	var m mapping
	value = strings.TrimSpace(value)
	if value == "" {
		return m, fmt.Errorf("empty value")
	}
	if algo, ok := hashTypes[typ]; ok {
		// Hashes hold no white space; line breaks in them come from
		// copying a wrapped value.
		return fileMapping(algo, strings.Join(strings.Fields(value), ""), "")
	}
	if algo, ok := x509Types[typ]; ok {
		o, err := newSCO("x509-certificate", map[string]any{"hashes": map[string]string{algo: value}})
		if err != nil {
			return m, err
		}
		m.scos = []*schema.Object{o}
		m.pattern = "[x509-certificate:" + hashPath(algo) + " = " + patternString(hashOf(o, algo)) + "]"
		return m, nil
	}
	if emailTypes[typ] {
		o, err := newSCO("email-addr", map[string]any{"value": value})
		if err != nil {
			return m, err
		}
		m.scos = []*schema.Object{o}
		m.pattern = "[email-addr:value = " + patternString(valueOf(o, "value")) + "]"
		return m, nil
	}
	if pt, ok := ruleTypes[typ]; ok {
		m.pattern, m.patternType = value, pt
		return m, nil
	}
	if name, algoType, ok := strings.Cut(typ, "|"); ok && name == "filename" {
		algo, known := hashTypes[algoType]
		if !known {
			return m, fmt.Errorf("unknown hash type %q", algoType)
		}
		fn, h, err := splitPair(value)
		if err != nil {
			return m, err
		}
		return fileMapping(algo, h, fn)
	}
	switch typ {
	case "ip-src", "ip-dst":
		o, err := ipSCO(value)
		if err != nil {
			return m, err
		}
		m.scos = []*schema.Object{o}
		m.pattern = "[" + ipComparison(o) + "]"
	case "ip-src|port", "ip-dst|port":
		ip, port, err := splitPair(value)
		if err != nil {
			return m, err
		}
		p, err := parsePort(port)
		if err != nil {
			return m, err
		}
		o, err := ipSCO(ip)
		if err != nil {
			return m, err
		}
		dir := "dst"
		if typ == "ip-src|port" {
			dir = "src"
		}
		m.scos = []*schema.Object{o}
		m.pattern = fmt.Sprintf("[network-traffic:%s_ref.type = %s AND network-traffic:%s_ref.value = %s AND network-traffic:%s_port = %d]",
			dir, patternString(o.Type), dir, patternString(valueOf(o, "value")), dir, p)
	case "domain", "hostname":
		o, err := newSCO("domain-name", map[string]any{"value": value})
		if err != nil {
			return m, err
		}
		m.scos = []*schema.Object{o}
		m.pattern = "[domain-name:value = " + patternString(valueOf(o, "value")) + "]"
	case "hostname|port":
		host, port, err := splitPair(value)
		if err != nil {
			return m, err
		}
		p, err := parsePort(port)
		if err != nil {
			return m, err
		}
		o, err := newSCO("domain-name", map[string]any{"value": host})
		if err != nil {
			return m, err
		}
		m.scos = []*schema.Object{o}
		m.pattern = fmt.Sprintf("[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = %s AND network-traffic:dst_port = %d]",
			patternString(valueOf(o, "value")), p)
	case "domain|ip":
		d, ip, err := splitPair(value)
		if err != nil {
			return m, err
		}
		do, err := newSCO("domain-name", map[string]any{"value": d})
		if err != nil {
			return m, err
		}
		io, err := ipSCO(ip)
		if err != nil {
			return m, err
		}
		m.scos = []*schema.Object{do, io}
		m.rels = [][3]string{{do.ID, "resolves-to", io.ID}}
		m.pattern = "[domain-name:value = " + patternString(valueOf(do, "value")) +
			" AND domain-name:resolves_to_refs[*].value = " + patternString(valueOf(io, "value")) + "]"
	case "url", "uri", "link":
		if typ == "link" {
			break // a reference to a report or analysis, not an observable
		}
		if !strings.Contains(value, "://") && !strings.ContainsAny(value, "/?#@ ") {
			// A bare host name or address where a URL was expected: the
			// host is the observable.
			if o, err := ipSCO(value); err == nil {
				m.scos = []*schema.Object{o}
				m.pattern = "[" + ipComparison(o) + "]"
				return m, nil
			}
			if o, err := newSCO("domain-name", map[string]any{"value": value}); err == nil {
				m.scos = []*schema.Object{o}
				m.pattern = "[domain-name:value = " + patternString(valueOf(o, "value")) + "]"
				return m, nil
			}
		}
		o, err := newSCO("url", map[string]any{"value": value})
		if err != nil && strings.Contains(value, " ") {
			// Spaces in a path, as browsers send them.
			o, err = newSCO("url", map[string]any{"value": strings.ReplaceAll(value, " ", "%20")})
		}
		if err != nil {
			return m, err
		}
		m.scos = []*schema.Object{o}
		m.pattern = "[url:value = " + patternString(valueOf(o, "value")) + "]"
	case "email-subject":
		o, err := newSCO("email-message", map[string]any{"is_multipart": false, "subject": value})
		if err != nil {
			return m, err
		}
		m.scos = []*schema.Object{o}
		m.pattern = "[email-message:subject = " + patternString(value) + "]"
	case "filename", "email-attachment":
		return fileMapping("", "", value)
	case "malware-sample":
		fn, h, err := splitPair(value)
		if err != nil {
			return m, err
		}
		if m, err = fileMapping("MD5", h, fn); err != nil {
			return m, err
		}
		if data != "" {
			if a, err := artifact(data); err == nil {
				m.scos = append(m.scos, a)
				m.usedData = true
			}
		}
	case "attachment":
		if data == "" {
			return m, fmt.Errorf("attachment without data")
		}
		a, err := artifact(data)
		if err != nil {
			return m, err
		}
		m.scos = []*schema.Object{a}
		m.usedData = true
	case "mutex":
		o, err := newSCO("mutex", map[string]any{"name": value})
		if err != nil {
			return m, err
		}
		m.scos = []*schema.Object{o}
		m.pattern = "[mutex:name = " + patternString(value) + "]"
	case "regkey", "regkey|value":
		key, val := value, ""
		if typ == "regkey|value" {
			var err error
			if key, val, err = splitPair(value); err != nil {
				return m, err
			}
		}
		o, err := newSCO("windows-registry-key", map[string]any{"key": key})
		if err != nil {
			return m, err
		}
		m.scos = []*schema.Object{o}
		m.pattern = "[windows-registry-key:key = " + patternString(valueOf(o, "key"))
		if typ == "regkey|value" {
			m.pattern += " AND windows-registry-key:values[*].data = " + patternString(val)
		}
		m.pattern += "]"
	case "AS":
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(value), "AS"), 10, 32)
		if err != nil {
			return m, fmt.Errorf("bad AS number %q", clip(value))
		}
		o, err := newSCO("autonomous-system", map[string]any{"number": n})
		if err != nil {
			return m, err
		}
		m.scos = []*schema.Object{o}
		m.pattern = "[autonomous-system:number = " + strconv.FormatUint(n, 10) + "]"
	case "mac-address":
		o, err := newSCO("mac-addr", map[string]any{"value": value})
		if err != nil {
			return m, err
		}
		m.scos = []*schema.Object{o}
		m.pattern = "[mac-addr:value = " + patternString(valueOf(o, "value")) + "]"
	case "vulnerability":
		v, err := vulnerability(value)
		if err != nil {
			return m, err
		}
		m.sdos = []*schema.Object{v}
	}
	return m, nil
}

// fileMapping maps a hash and/or a file name to a file observable. A file
// with a hash is identified by its hashes only, so that every attribute
// naming the same sample lands on one node whatever file name it gives; the
// name stays in the attribute's custom properties and in the pattern.
func fileMapping(algo, hash, name string) (mapping, error) {
	var m mapping
	props := map[string]any{}
	if hash != "" {
		props["hashes"] = map[string]string{algo: strings.TrimSpace(hash)}
	} else {
		props["name"] = name
	}
	o, err := newSCO("file", props)
	if err != nil {
		return m, err
	}
	m.scos = []*schema.Object{o}
	m.fileName = name
	var cmp []string
	if name != "" {
		cmp = append(cmp, "file:name = "+patternString(name))
	}
	if hash != "" {
		h := hashOf(o, algo)
		m.hashes = map[string]string{algo: h}
		cmp = append(cmp, "file:"+hashPath(algo)+" = "+patternString(h))
	}
	m.pattern = "[" + strings.Join(cmp, " AND ") + "]"
	return m, nil
}

// hashOf returns the canonical value of one hash of an observable.
func hashOf(o *schema.Object, algo string) string {
	var hs map[string]string
	_ = json.Unmarshal(o.Props["hashes"], &hs)
	return hs[algo]
}

// artifact makes an artifact from base64 data, with its SHA-256.
func artifact(data string) (*schema.Object, error) {
	data = strings.TrimSpace(data)
	bin, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("attachment data is not base64: %w", err)
	}
	sum := sha256.Sum256(bin)
	return newSCO("artifact", map[string]any{
		"payload_bin": data,
		"hashes":      map[string]string{"SHA-256": hex.EncodeToString(sum[:])},
	})
}

// vulnerability makes a vulnerability for a CVE (or other) identifier, with
// an id derived from the identifier, so every event naming it shares one
// node.
func vulnerability(value string) (*schema.Object, error) {
	name := strings.TrimSpace(value)
	if strings.HasPrefix(strings.ToUpper(name), "CVE-") {
		name = strings.ToUpper(name)
	}
	o := &schema.Object{Props: map[string]json.RawMessage{}}
	props := map[string]any{
		"type": "vulnerability", "id": "vulnerability--" + refdata.DerivedUUID("vulnerability", name),
		"spec_version": "2.1", "created": refdata.FormatTime(refdata.Epoch), "modified": refdata.FormatTime(refdata.Epoch),
		"name": name,
	}
	if strings.HasPrefix(name, "CVE-") {
		props["external_references"] = []map[string]string{{"source_name": "cve", "external_id": name}}
	}
	for _, k := range []string{"type", "id", "spec_version", "created", "modified", "name", "external_references"} {
		if v, ok := props[k]; ok {
			if err := o.Set(k, v); err != nil {
				return nil, err
			}
		}
	}
	return o, schema.Validate(o)
}
