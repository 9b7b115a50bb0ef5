package refdata

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"time"
)

// Namespace is the UUIDv5 namespace of the identifiers Verband derives for
// MISP things that have no usable UUID of their own: galaxy clusters known
// only by their tag, relationships between two nodes, attributes without a
// uuid. It never changes, so derived identifiers are stable across runs and
// installations.
const Namespace = "2a27b9e5-32f4-4648-8378-fe9c0a95dc25"

var namespace = mustUUIDBytes(Namespace)

func mustUUIDBytes(s string) [16]byte {
	var ns [16]byte
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		panic("refdata: bad namespace constant " + s)
	}
	copy(ns[:], b)
	return ns
}

// DerivedUUID returns the RFC 4122 version 5 UUID, in Namespace, of the
// parts joined with a NUL byte. Equal parts always give the same UUID.
func DerivedUUID(parts ...string) string {
	h := sha1.New()
	h.Write(namespace[:])
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	var sum [sha1.Size]byte
	u := h.Sum(sum[:0])[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

func formatUUID(u []byte) string {
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

// IsUUID reports whether s is an RFC 4122 UUID as STIX identifiers require
// it: 8-4-4-4-12 hex digits, a version from 1 to 8 and the RFC 4122
// variant. Many MISP UUIDs pass; those that do not get a derived one.
func IsUUID(s string) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	if v := s[14]; v < '1' || v > '8' {
		return false
	}
	switch s[19] {
	case '8', '9', 'a', 'b', 'A', 'B':
		return true
	}
	return false
}

// STIXID returns typ + "--" + the lower-cased uuid when it is a valid RFC 4122
// UUID, and otherwise typ + "--" + DerivedUUID(typ, fallback...).
func STIXID(typ, uuid string, fallback ...string) string {
	if IsUUID(uuid) {
		return typ + "--" + strings.ToLower(uuid)
	}
	return typ + "--" + DerivedUUID(append([]string{typ}, fallback...)...)
}

// TimeLayout is how Verband writes STIX timestamps it makes: UTC with
// millisecond precision, as STIX 2.1 asks for created and modified.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime writes t in TimeLayout.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Epoch is the created timestamp of reference objects that have no date of
// their own (galaxy clusters): 1970-01-01T00:00:00.000Z.
var Epoch = time.Unix(0, 0).UTC()

// VersionTime returns Epoch plus version seconds: the modified timestamp of a
// galaxy cluster of that galaxy version, so that of two copies of one
// cluster, the store keeps the one from the newer galaxy version.
func VersionTime(version int64) time.Time {
	const maxVersion = 253402300799 // 9999-12-31T23:59:59Z, the last RFC 3339 second
	return time.Unix(min(max(version, 0), maxVersion), 0).UTC()
}
