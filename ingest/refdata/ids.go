package refdata

import (
	"strings"
	"time"

	"github.com/verband-cti/verband/schema"
)

// Namespace is the UUIDv5 namespace of the identifiers Verband derives for
// MISP things that have no usable UUID of their own: galaxy clusters known
// only by their tag, relationships between two nodes, attributes without a
// uuid. It never changes, so derived identifiers are stable across runs and
// installations.
const Namespace = "2a27b9e5-32f4-4648-8378-fe9c0a95dc25"

var namespace = func() [16]byte {
	ns, err := schema.ParseUUID(Namespace)
	if err != nil {
		panic("refdata: bad namespace constant " + Namespace)
	}
	return ns
}()

// DerivedUUID returns the RFC 4122 version 5 UUID, in Namespace, of the
// parts joined with a NUL byte. Equal parts always give the same UUID.
func DerivedUUID(parts ...string) string {
	var name []byte
	for i, p := range parts {
		if i > 0 {
			name = append(name, 0)
		}
		name = append(name, p...)
	}
	return schema.UUIDv5(namespace, name)
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
