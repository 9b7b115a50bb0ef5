package schema

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// SCONamespace is the UUIDv5 namespace STIX 2.1 section 2.9 fixes for
// deterministic SCO identifiers.
const SCONamespace = "00abedb4-aa42-466c-9c01-fed23315a9b7"

var scoNamespace = func() [16]byte {
	var ns [16]byte
	b, err := hex.DecodeString(strings.ReplaceAll(SCONamespace, "-", ""))
	if err != nil || len(b) != 16 {
		panic("schema: bad SCONamespace constant")
	}
	copy(ns[:], b)
	return ns
}()

// preferredHashes is the order in which STIX 2.1 picks the one hash that
// contributes to an SCO id ("ID Contributing Properties" of artifact, file
// and x509-certificate).
var preferredHashes = []string{"MD5", "SHA-1", "SHA-256", "SHA-512"}

// SCOID computes the deterministic identifier of an SCO as STIX 2.1 section
// 2.9 defines it: "<type>--" and a UUIDv5 in namespace SCONamespace over the
// RFC 8785 canonical JSON of an object holding the type's ID contributing
// properties that the SCO has (see TypeInfo.IDContributing). Of a "hashes"
// dictionary only one entry contributes: MD5, SHA-1, SHA-256 or SHA-512, in
// that order of preference, as the specification lists them; when none of
// those keys is present, the first entry in document order (which is what
// the OASIS stix2 library does, and, after Canonicalize, the alphabetically
// first algorithm).
//
// SCOID uses the property values exactly as they are: call Canonicalize
// first to get Verband's ids. When the SCO has none of its contributing
// properties (and always for process, which has none) the specification
// leaves the id random, and SCOID returns the id the object already has.
// It fails with ErrNotSCO for any type that is not a known SCO.
func SCOID(o *Object) (string, error) {
	ti, ok := registry[o.Type]
	if !ok || ti.Kind != KindSCO {
		return "", &ValidationError{ObjectID: o.ID, Property: "type", Reason: quote(o.Type) + " has no deterministic id", Err: ErrNotSCO}
	}
	name, err := idName(o, ti)
	if err != nil {
		return "", err
	}
	if name == nil {
		return o.ID, nil
	}
	return o.Type + "--" + UUIDv5(scoNamespace, name), nil
}

// idName returns the canonical JSON that SCOID hashes, or nil when the SCO
// has no contributing property.
func idName(o *Object, ti TypeInfo) ([]byte, error) {
	obj := make(map[string]any, len(ti.IDContributing))
	for _, p := range ti.IDContributing {
		raw, ok := o.Props[p]
		if !ok || isNull(raw) {
			continue
		}
		if p == "hashes" {
			k, v, ok, err := chooseHash(raw)
			if err != nil {
				return nil, &ValidationError{ObjectID: o.ID, Property: p, Reason: "not a dictionary of strings", Err: err}
			}
			if ok {
				obj[p] = map[string]any{k: v}
			}
			continue
		}
		v, err := decodeJSON(raw)
		if err != nil {
			return nil, &ValidationError{ObjectID: o.ID, Property: p, Reason: "invalid JSON", Err: err}
		}
		obj[p] = v
	}
	if len(obj) == 0 {
		return nil, nil
	}
	name, err := appendJCS(nil, obj)
	if err != nil {
		return nil, &ValidationError{ObjectID: o.ID, Reason: "cannot canonicalise the id contributing properties", Err: err}
	}
	return name, nil
}

// chooseHash picks the contributing entry of a hashes dictionary.
func chooseHash(raw []byte) (key string, val any, ok bool, err error) {
	type entry struct {
		k string
		v any
	}
	var entries []entry
	err = eachMember(raw, func(k, v []byte) error {
		ks, ok := rawString(k)
		if !ok {
			return errBadJSON
		}
		dv, err := decodeJSON(v)
		if err != nil {
			return err
		}
		entries = append(entries, entry{ks, dv})
		return nil
	})
	if err != nil || len(entries) == 0 {
		return "", nil, false, err
	}
	for _, want := range preferredHashes {
		for _, e := range entries {
			if e.k == want {
				return e.k, e.v, true, nil
			}
		}
	}
	return entries[0].k, entries[0].v, true, nil
}

// ParseUUID parses a UUID in its usual text form (hex digits and dashes).
func ParseUUID(s string) ([16]byte, error) {
	var u [16]byte
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		return u, fmt.Errorf("parse UUID %q: %w", s, ErrInvalidValue)
	}
	copy(u[:], b)
	return u, nil
}

// UUIDv5 returns the RFC 4122 version 5 UUID of name in namespace ns, in
// its usual text form. Every name-based id in Verband comes from here.
func UUIDv5(ns [16]byte, name []byte) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write(name)
	var sum [sha1.Size]byte
	u := h.Sum(sum[:0])[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], u[10:16])
	return string(out[:])
}

// Canonicalize rewrites the value-bearing properties of an SCO into their
// canonical forms and then sets its id (o.ID and the "id" property) to
// SCOID. It reports whether the id or any value changed. Objects of other
// kinds are left alone (false, nil).
//
// What it rewrites:
//   - domain-name, ipv4-addr, ipv6-addr, url, email-addr, mac-addr "value"
//     with CanonicalDomain, CanonicalIP, CanonicalURL, CanonicalEmail and
//     CanonicalMAC. A value that fails as given but passes after Refang
//     (such as "hxxp://example[.]com/") is stored refanged, and a "defanged"
//     property is then removed. An ipv4-addr must hold IPv4 and an ipv6-addr
//     IPv6, except that an IPv4-mapped ipv6-addr (::ffff:192.0.2.1) becomes
//     the ipv4-addr it maps, so o.Type may change.
//   - the "hashes" of file, artifact and x509-certificate: algorithm names
//     and values with CanonicalHash. Two spellings of one algorithm with the
//     same value are merged; with different values they are an error.
//   - windows-registry-key "key": an abbreviated hive (HKLM, HKCU, HKCR,
//     HKU, HKCC) is expanded, as STIX requires; the rest keeps its case.
//
// Hashes inside extensions (NTFS streams, PE sections) are not rewritten.
// Errors are *ValidationError values naming the property; o may then be
// partly rewritten.
//
// Order matters within a bundle: an SCO whose ID contributing properties
// hold references (email-message, file, network-traffic) gets the right id
// only after those references name the canonical ids of their targets, so
// canonicalise the targets first and apply RewriteRefs before
// canonicalising the SCOs that refer to them.
func Canonicalize(o *Object) (changed bool, err error) {
	if KindOf(o.Type) != KindSCO {
		return false, nil
	}
	switch o.Type {
	case "domain-name":
		changed, err = canonValue(o, CanonicalDomain)
	case "url":
		changed, err = canonValue(o, CanonicalURL)
	case "email-addr":
		changed, err = canonValue(o, CanonicalEmail)
	case "mac-addr":
		changed, err = canonValue(o, CanonicalMAC)
	case "ipv4-addr", "ipv6-addr":
		changed, err = canonIPValue(o)
	case "file", "artifact", "x509-certificate":
		changed, err = canonHashes(o)
	case "windows-registry-key":
		changed, err = canonRegistryKey(o)
	}
	if err != nil {
		return changed, err
	}
	id, err := SCOID(o)
	if err != nil {
		return changed, err
	}
	if id != o.ID {
		if err := o.Set("id", id); err != nil {
			return changed, &ValidationError{ObjectID: o.ID, Property: "id", Reason: "cannot set", Err: err}
		}
		changed = true
	}
	return changed, nil
}

// canonValue canonicalises the "value" property with fn, refanging when the
// value fails as given.
func canonValue(o *Object, fn func(string) (string, error)) (bool, error) {
	v, ok := o.String("value")
	if !ok {
		return false, &ValidationError{ObjectID: o.ID, Property: "value", Reason: "missing or not a string"}
	}
	c, refanged, err := canonMaybeRefang(v, fn)
	if err != nil {
		return false, &ValidationError{ObjectID: o.ID, Property: "value", Reason: "cannot canonicalise", Err: err}
	}
	return setValue(o, v, c, refanged)
}

func canonMaybeRefang(v string, fn func(string) (string, error)) (string, bool, error) {
	c, err := fn(v)
	if err == nil {
		return c, false, nil
	}
	if r := Refang(v); r != v {
		if c, rerr := fn(r); rerr == nil {
			return c, true, nil
		}
	}
	return "", false, err
}

func setValue(o *Object, old, c string, refanged bool) (bool, error) {
	if refanged {
		delete(o.Props, "defanged")
	}
	if c == old {
		return refanged, nil
	}
	if err := o.Set("value", c); err != nil {
		return false, &ValidationError{ObjectID: o.ID, Property: "value", Reason: "cannot set", Err: err}
	}
	return true, nil
}

func canonIPValue(o *Object) (bool, error) {
	v, ok := o.String("value")
	if !ok {
		return false, &ValidationError{ObjectID: o.ID, Property: "value", Reason: "missing or not a string"}
	}
	c, refanged, err := canonMaybeRefang(v, CanonicalIP)
	if err != nil {
		return false, &ValidationError{ObjectID: o.ID, Property: "value", Reason: "cannot canonicalise", Err: err}
	}
	isV6 := strings.Contains(c, ":")
	switch {
	case o.Type == "ipv4-addr" && isV6:
		return false, &ValidationError{ObjectID: o.ID, Property: "value", Reason: "ipv4-addr holds an IPv6 address: " + quote(v)}
	case o.Type == "ipv6-addr" && !isV6:
		src := Refang(v)
		if addr, _, _ := strings.Cut(strings.TrimSpace(src), "/"); !strings.Contains(addr, ":") {
			return false, &ValidationError{ObjectID: o.ID, Property: "value", Reason: "ipv6-addr holds an IPv4 address: " + quote(v)}
		}
		// IPv4-mapped: the object is the IPv4 address it maps.
		if err := o.Set("type", "ipv4-addr"); err != nil {
			return false, &ValidationError{ObjectID: o.ID, Property: "type", Reason: "cannot set", Err: err}
		}
		if _, err := setValue(o, v, c, refanged); err != nil {
			return false, err
		}
		return true, nil
	}
	return setValue(o, v, c, refanged)
}

// canonHashes canonicalises the "hashes" dictionary and stores it with its
// keys sorted.
func canonHashes(o *Object) (bool, error) {
	raw, ok := o.Props["hashes"]
	if !ok {
		return false, nil
	}
	out := make(map[string]string)
	changed := false
	var bad *ValidationError
	err := eachMember(raw, func(k, v []byte) error {
		ks, ok1 := rawString(k)
		vs, ok2 := rawString(v)
		if !ok1 || !ok2 {
			bad = &ValidationError{ObjectID: o.ID, Property: "hashes", Reason: "must be a dictionary of strings"}
			return errBadJSON
		}
		algo, val, err := CanonicalHash(ks, vs)
		if err != nil {
			bad = &ValidationError{ObjectID: o.ID, Property: "hashes." + ks, Reason: "cannot canonicalise", Err: err}
			return err
		}
		if prev, dup := out[algo]; dup {
			if prev != val {
				bad = &ValidationError{ObjectID: o.ID, Property: "hashes." + algo, Reason: "two different values for one algorithm"}
				return errBadJSON
			}
			changed = true
		}
		if algo != ks || val != vs {
			changed = true
		}
		out[algo] = val
		return nil
	})
	if bad != nil {
		return false, bad
	}
	if err != nil {
		return false, &ValidationError{ObjectID: o.ID, Property: "hashes", Reason: "must be a dictionary of strings", Err: err}
	}
	enc, err := json.Marshal(out) // sorted keys
	if err != nil {
		return false, &ValidationError{ObjectID: o.ID, Property: "hashes", Reason: "cannot encode", Err: err}
	}
	if !bytes.Equal(enc, raw) {
		o.Props["hashes"] = enc
	}
	return changed, nil
}

// registryHives maps abbreviated registry hives to their full names.
var registryHives = map[string]string{
	"HKLM": "HKEY_LOCAL_MACHINE",
	"HKCU": "HKEY_CURRENT_USER",
	"HKCR": "HKEY_CLASSES_ROOT",
	"HKU":  "HKEY_USERS",
	"HKCC": "HKEY_CURRENT_CONFIG",
}

func canonRegistryKey(o *Object) (bool, error) {
	k, ok := o.String("key")
	if !ok {
		return false, nil
	}
	hive, rest, _ := strings.Cut(k, `\`)
	full, ok := registryHives[strings.ToUpper(hive)]
	if !ok {
		return false, nil
	}
	nk := full
	if len(k) > len(hive) {
		nk += `\` + rest
	}
	if err := o.Set("key", nk); err != nil {
		return false, &ValidationError{ObjectID: o.ID, Property: "key", Reason: "cannot set", Err: err}
	}
	return true, nil
}

// IndexValues returns the canonical values by which a lookup should find the
// object, deduplicated, in a stable order: the value of domain-name,
// ipv4-addr, ipv6-addr, url, email-addr and mac-addr; every hash value of
// file, artifact and x509-certificate (plus the certificate's serial number);
// "AS<number>" for autonomous-system; the name of mutex and software; the
// path of directory; the key of windows-registry-key; account_login and
// user_id of user-account. Other types, indicators included, have none.
// Values are canonicalised on the way; one that cannot be is returned
// trimmed, as given, so that an exact lookup still finds it.
func IndexValues(o *Object) []string {
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	addCanon := func(prop string, fn func(string) (string, error)) {
		v, ok := o.String(prop)
		if !ok {
			return
		}
		if c, _, err := canonMaybeRefang(v, fn); err == nil {
			add(c)
		} else {
			add(v)
		}
	}
	addHashes := func() {
		_ = eachMember(o.Props["hashes"], func(k, v []byte) error {
			ks, _ := rawString(k)
			vs, ok := rawString(v)
			if !ok {
				return nil
			}
			if _, c, err := CanonicalHash(ks, vs); err == nil {
				add(c)
			} else {
				add(vs)
			}
			return nil
		})
	}
	addString := func(prop string) {
		if v, ok := o.String(prop); ok {
			add(v)
		}
	}
	switch o.Type {
	case "domain-name":
		addCanon("value", CanonicalDomain)
	case "ipv4-addr", "ipv6-addr":
		addCanon("value", CanonicalIP)
	case "url":
		addCanon("value", CanonicalURL)
	case "email-addr":
		addCanon("value", CanonicalEmail)
	case "mac-addr":
		addCanon("value", CanonicalMAC)
	case "file", "artifact":
		addHashes()
	case "x509-certificate":
		addString("serial_number")
		addHashes()
	case "autonomous-system":
		if n, ok := rawInt(o.Props["number"]); ok {
			add("AS" + strconv.FormatInt(n, 10))
		}
	case "mutex", "software":
		addString("name")
	case "directory":
		addString("path")
	case "windows-registry-key":
		addString("key")
	case "user-account":
		addString("account_login")
		addString("user_id")
	}
	return out
}
