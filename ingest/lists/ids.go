package lists

import (
	"github.com/verband-cti/verband/schema"
)

// IDNamespace is the UUIDv5 namespace of the ids this package gives the
// objects it makes up (containers, malware families, indicators and
// relationships). It is itself the UUIDv5 of
// "https://github.com/verband-cti/verband/ingest/lists" in the RFC 4122 URL
// namespace. SCOs keep the STIX namespace (schema.SCOID).
const IDNamespace = "99ce2f23-7de7-58f0-9ca1-3b8badc8c085"

var idNamespace = func() [16]byte {
	ns, err := schema.ParseUUID(IDNamespace)
	if err != nil {
		panic("lists: bad IDNamespace constant")
	}
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
	name := []byte(typ)
	for _, p := range parts {
		name = append(append(name, 0x1f), p...)
	}
	return typ + "--" + schema.UUIDv5(idNamespace, name)
}
