package lists

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// IDNamespace is the UUIDv5 namespace of the ids this package gives the
// objects it makes up (containers, malware families, indicators and
// relationships). It is itself the UUIDv5 of
// "https://github.com/verband-cti/verband/ingest/lists" in the RFC 4122 URL
// namespace. SCOs keep the STIX namespace (schema.SCOID).
const IDNamespace = "99ce2f23-7de7-58f0-9ca1-3b8badc8c085"

var idNamespace = func() [16]byte {
	var ns [16]byte
	b, err := hex.DecodeString(strings.ReplaceAll(IDNamespace, "-", ""))
	if err != nil || len(b) != 16 {
		panic("lists: bad IDNamespace constant")
	}
	copy(ns[:], b)
	return ns
}()

// DeterministicID returns "<typ>--<uuid>" where the UUID is the UUIDv5, in
// IDNamespace, of typ and parts joined by U+001F (the unit separator, which
// no part is expected to hold). The same arguments always give the same id,
// which is what makes re-ingesting a list change nothing.
//
// STIX 2.1 (section 2.9) asks for UUIDv4 in SDO and SRO ids but allows other
// RFC 4122 versions as long as ids stay unique; a name-based UUID in a
// namespace of our own is unique for distinct names, and is what other
// producers (OpenCTI, for one) do to deduplicate.
func DeterministicID(typ string, parts ...string) string {
	h := sha1.New()
	h.Write(idNamespace[:])
	h.Write([]byte(typ))
	for _, p := range parts {
		h.Write([]byte{0x1f})
		h.Write([]byte(p))
	}
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
	return typ + "--" + string(out[:])
}
