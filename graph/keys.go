package graph

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// FormatVersion is the version of the key layout and record encodings in
// this file and in record.go. Open refuses a store written with another
// version rather than misread it, except the ones before, which it
// upgrades; and so an older build refuses a store this one upgraded.
const FormatVersion uint32 = 4

// The formats before FormatVersion differ only in where the audit log is
// kept. Format 1 kept it in the graph database; format 2 moved it into a
// Badger database of its own; format 3 indexed it there by bucket before
// organization; format 4 keeps it in segment files (auditstore.go), into
// which opening a store of an older format for writing converts it
// (auditmigrate.go).
const (
	formatAuditInGraph uint32 = 1
)

// Every key starts with a one-byte keyspace tag. IDs are fixed-width
// big-endian uint64, so keys sort by id; symbols (interned type and edge-type
// names) are fixed-width big-endian uint32; variable parts are length
// prefixed with a big-endian uint16, so no variable part can run into the
// next one.
//
//	tag  key layout                                   value
//	0x00 meta: 0x00 name                              format version, sequence state,
//	                                                  protected properties (JSON)
//	'n'  n | id(8)                                    node record (record.go)
//	'x'  x | stixID                                   id(8): STIX id (or alias) → node
//	't'  t | typeSym(4) | id(8)                       class(4): type index
//	'm'  m | modified unix ns(8, sign-flipped) | id(8) [class(4)]: time index
//	'v'  v | len(2) | value | id(8)                   [class(4)]: canonical value index
//	'o'  o | src(8) | edgeSym(4) | dst(8) | via(8)    [class(4)]: out-edge
//	'i'  i | dst(8) | edgeSym(4) | src(8) | via(8)    [class(4)]: in-edge
//	'd'  d | id(8) | dir(1) | edgeSym(4)              count(8): degree counter
//	'k'  k | typeSym(4)                               count(8): nodes per type
//	'q'  q | seq(8)                                   outbox entry: ids changed in one commit
//	'y'  y | name                                     sym(4): symbol by name
//	'Y'  Y | sym(4)                                   name: name by symbol
//	'c'  c | class(4)                                 access policy set (access.go)
//	'l'  l | sub(1) | …                               audit log (audit.go; layout below)
//	'r'  r | len(2) | kind | len(2) | audience | id   opaque job result (runs.go; layout below)
//
// The optional class on time, value and edge entries is set when only some
// of a node's contributions imply the entry (see derive in write.go): the
// entry is then visible only through those. Empty, it follows the node.
// via is the id of the relationship object that an edge stands for, or 0 for
// an embedded reference (created_by_ref, object_refs, …) of src.
const (
	tagMeta    byte = 0x00
	tagNode    byte = 'n'
	tagXID     byte = 'x'
	tagType    byte = 't'
	tagTime    byte = 'm'
	tagValue   byte = 'v'
	tagOut     byte = 'o'
	tagIn      byte = 'i'
	tagDegree  byte = 'd'
	tagCount   byte = 'k'
	tagOutbox  byte = 'q'
	tagSym     byte = 'y'
	tagSymName byte = 'Y'
	tagClass   byte = 'c'
)

// Meta keys.
var (
	keyFormatVersion = []byte{tagMeta, 'f', 'o', 'r', 'm', 'a', 't'}
	keyIDSequence    = []byte{tagMeta, 's', 'e', 'q'}
	keyProtection    = []byte{tagMeta, 'p', 'r', 'o', 't'}
	keySourceMarking = []byte{tagMeta, 's', 'r', 'c', 'm'}
	keySecret        = []byte{tagMeta, 's', 'e', 'c', 'r', 'e', 't'}
)

// errBadKey reports a key that does not parse as its keyspace says.
var errBadKey = errors.New("malformed key")

const (
	idLen   = 8
	symLen  = 4
	edgeLen = 1 + idLen + symLen + idLen + idLen
)

// maxVarPart is the longest variable key part (a value in the value index).
const maxVarPart = 1<<16 - 1

func putID(b []byte, id ID) []byte  { return binary.BigEndian.AppendUint64(b, uint64(id)) }
func putSym(b []byte, s sym) []byte { return binary.BigEndian.AppendUint32(b, uint32(s)) }

func getID(b []byte) ID   { return ID(binary.BigEndian.Uint64(b)) }
func getSym(b []byte) sym { return sym(binary.BigEndian.Uint32(b)) }

// nodeKey is n | id.
func nodeKey(id ID) []byte { return putID([]byte{tagNode}, id) }

// parseNodeKey returns the id of a node key.
func parseNodeKey(k []byte) (ID, error) {
	if len(k) != 1+idLen || k[0] != tagNode {
		return 0, fmt.Errorf("node key %x: %w", k, errBadKey)
	}
	return getID(k[1:]), nil
}

// xidKey is x | stixID.
func xidKey(stixID string) []byte {
	b := make([]byte, 0, 1+len(stixID))
	return append(append(b, tagXID), stixID...)
}

// parseXIDKey returns the STIX id of an x key.
func parseXIDKey(k []byte) (string, error) {
	if len(k) < 2 || k[0] != tagXID {
		return "", fmt.Errorf("xid key %x: %w", k, errBadKey)
	}
	return string(k[1:]), nil
}

// typeKey is t | typeSym | id.
func typeKey(t sym, id ID) []byte {
	b := make([]byte, 0, 1+symLen+idLen)
	return putID(putSym(append(b, tagType), t), id)
}

// typePrefix is t | typeSym, or t alone when t is 0.
func typePrefix(t sym) []byte {
	if t == 0 {
		return []byte{tagType}
	}
	return putSym([]byte{tagType}, t)
}

// parseTypeKey returns the type symbol and id of a t key.
func parseTypeKey(k []byte) (sym, ID, error) {
	if len(k) != 1+symLen+idLen || k[0] != tagType {
		return 0, 0, fmt.Errorf("type key %x: %w", k, errBadKey)
	}
	return getSym(k[1:]), getID(k[1+symLen:]), nil
}

// timeKey is m | ts | id, where ts is the modification time in Unix
// nanoseconds with the sign bit flipped so negative times sort first.
func timeKey(ns int64, id ID) []byte {
	b := make([]byte, 0, 1+8+idLen)
	b = binary.BigEndian.AppendUint64(append(b, tagTime), uint64(ns)^(1<<63))
	return putID(b, id)
}

// timeBound is m | ts, the first key at or after ns.
func timeBound(ns int64) []byte {
	return binary.BigEndian.AppendUint64([]byte{tagTime}, uint64(ns)^(1<<63))
}

// parseTimeKey returns the Unix nanoseconds and id of an m key.
func parseTimeKey(k []byte) (int64, ID, error) {
	if len(k) != 1+8+idLen || k[0] != tagTime {
		return 0, 0, fmt.Errorf("time key %x: %w", k, errBadKey)
	}
	return int64(binary.BigEndian.Uint64(k[1:]) ^ (1 << 63)), getID(k[9:]), nil
}

// valuePrefix is v | len | value; values longer than maxVarPart are cut,
// which only makes the index coarser (readers compare the full value).
func valuePrefix(value string) []byte {
	if len(value) > maxVarPart {
		value = value[:maxVarPart]
	}
	b := make([]byte, 0, 3+len(value)+idLen)
	b = binary.BigEndian.AppendUint16(append(b, tagValue), uint16(len(value)))
	return append(b, value...)
}

// valueKey is v | len | value | id.
func valueKey(value string, id ID) []byte { return putID(valuePrefix(value), id) }

// parseValueKey returns the value and id of a v key.
func parseValueKey(k []byte) (string, ID, error) {
	if len(k) < 3+idLen || k[0] != tagValue {
		return "", 0, fmt.Errorf("value key %x: %w", k, errBadKey)
	}
	n := int(binary.BigEndian.Uint16(k[1:]))
	if len(k) != 3+n+idLen {
		return "", 0, fmt.Errorf("value key %x: length %d: %w", k, n, errBadKey)
	}
	return string(k[3 : 3+n]), getID(k[3+n:]), nil
}

// Direction selects outgoing or incoming edges.
type Direction uint8

// Directions. Both is accepted by reads only.
const (
	Out Direction = iota + 1
	In
	Both
)

func (d Direction) String() string {
	switch d {
	case Out:
		return "out"
	case In:
		return "in"
	case Both:
		return "both"
	}
	return fmt.Sprintf("direction(%d)", d)
}

// edgeKey is o | src | edgeSym | dst | via for Out, and i | dst | edgeSym |
// src | via for In: from is the node whose adjacency list holds the key.
func edgeKey(dir Direction, from ID, e sym, to, via ID) []byte {
	tag := tagOut
	if dir == In {
		tag = tagIn
	}
	b := make([]byte, 0, edgeLen)
	return putID(putID(putSym(putID(append(b, tag), from), e), to), via)
}

// edgePrefix is the adjacency prefix of a node in one direction, narrowed to
// one edge type when e is not 0.
func edgePrefix(dir Direction, from ID, e sym) []byte {
	tag := tagOut
	if dir == In {
		tag = tagIn
	}
	b := putID([]byte{tag}, from)
	if e != 0 {
		b = putSym(b, e)
	}
	return b
}

// parseEdgeKey returns the parts of an o or i key.
func parseEdgeKey(k []byte) (dir Direction, from ID, e sym, to, via ID, err error) {
	if len(k) != edgeLen || (k[0] != tagOut && k[0] != tagIn) {
		return 0, 0, 0, 0, 0, fmt.Errorf("edge key %x: %w", k, errBadKey)
	}
	dir = Out
	if k[0] == tagIn {
		dir = In
	}
	return dir, getID(k[1:]), getSym(k[9:]), getID(k[13:]), getID(k[21:]), nil
}

// degreeKey is d | id | dir | edgeSym.
func degreeKey(id ID, dir Direction, e sym) []byte {
	b := make([]byte, 0, 1+idLen+1+symLen)
	return putSym(append(putID(append(b, tagDegree), id), byte(dir)), e)
}

// degreePrefix is d | id, or d | id | dir when dir is Out or In.
func degreePrefix(id ID, dir Direction) []byte {
	b := putID([]byte{tagDegree}, id)
	if dir == Out || dir == In {
		b = append(b, byte(dir))
	}
	return b
}

// parseDegreeKey returns the parts of a d key.
func parseDegreeKey(k []byte) (ID, Direction, sym, error) {
	if len(k) != 1+idLen+1+symLen || k[0] != tagDegree || (k[9] != byte(Out) && k[9] != byte(In)) {
		return 0, 0, 0, fmt.Errorf("degree key %x: %w", k, errBadKey)
	}
	return getID(k[1:]), Direction(k[9]), getSym(k[10:]), nil
}

// countKey is k | typeSym.
func countKey(t sym) []byte { return putSym([]byte{tagCount}, t) }

// outboxKey is q | seq.
func outboxKey(seq uint64) []byte { return binary.BigEndian.AppendUint64([]byte{tagOutbox}, seq) }

// parseOutboxKey returns the sequence number of a q key.
func parseOutboxKey(k []byte) (uint64, error) {
	if len(k) != 9 || k[0] != tagOutbox {
		return 0, fmt.Errorf("outbox key %x: %w", k, errBadKey)
	}
	return binary.BigEndian.Uint64(k[1:]), nil
}

// symKey is y | name; symNameKey is Y | sym.
func symKey(name string) []byte { return append([]byte{tagSym}, name...) }
func symNameKey(s sym) []byte   { return putSym([]byte{tagSymName}, s) }
func classKey(c Class) []byte   { return binary.BigEndian.AppendUint32([]byte{tagClass}, uint32(c)) }
func encodeU64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
func decodeU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// parseClassKey returns the class of a c key.
func parseClassKey(k []byte) (Class, error) {
	if len(k) != 5 || k[0] != tagClass {
		return 0, fmt.Errorf("class key %x: %w", k, errBadKey)
	}
	return Class(binary.BigEndian.Uint32(k[1:])), nil
}

// parseSymNameKey returns the symbol of a Y key.
func parseSymNameKey(k []byte) (sym, error) {
	if len(k) != 5 || k[0] != tagSymName {
		return 0, fmt.Errorf("symbol key %x: %w", k, errBadKey)
	}
	return getSym(k[1:]), nil
}

// Account keys (accounts.go) live under one tag, tagAccount, with a one-byte
// sub-space after it:
//
//	'a'  a | 'h' | sha256(32)                        token record, by the hash of its secret
//	'a'  a | 'i' | tokenID(8)                        sha256(32): token id → hash
//
// Secrets are never stored: only their SHA-256 hash.
const (
	tagAccount   byte = 'a'
	subTokenHash byte = 'h'
	subTokenID   byte = 'i'
	tokenHashLen      = 32
	tokenIDLen        = 8
)

// tokenHashKey is a | h | hash.
func tokenHashKey(hash [tokenHashLen]byte) []byte {
	b := make([]byte, 0, 2+tokenHashLen)
	return append(append(b, tagAccount, subTokenHash), hash[:]...)
}

// tokenHashPrefix is a | h, the prefix of every token record.
func tokenHashPrefix() []byte { return []byte{tagAccount, subTokenHash} }

// parseTokenHashKey returns the hash of an a | h key.
func parseTokenHashKey(k []byte) ([tokenHashLen]byte, error) {
	var h [tokenHashLen]byte
	if len(k) != 2+tokenHashLen || k[0] != tagAccount || k[1] != subTokenHash {
		return h, fmt.Errorf("token key %x: %w", k, errBadKey)
	}
	copy(h[:], k[2:])
	return h, nil
}

// tokenIDKey is a | i | id.
func tokenIDKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{tagAccount, subTokenID}, id)
}

// parseTokenIDKey returns the token id of an a | i key.
func parseTokenIDKey(k []byte) (uint64, error) {
	if len(k) != 2+tokenIDLen || k[0] != tagAccount || k[1] != subTokenID {
		return 0, fmt.Errorf("token id key %x: %w", k, errBadKey)
	}
	return binary.BigEndian.Uint64(k[2:]), nil
}

// Organization and user records share the account keyspace with tokens,
// named by their stable names, and one setting names the operator
// organization:
//
//	'a'  a | 'o' | name                              organization record (accounts.go)
//	'a'  a | 'u' | name                              user record (accounts.go)
//	'a'  a | 's' | "operator"                        name of the operator organization
//
// A name is the last part of its key, so it needs no length prefix.
const (
	subOrg     byte = 'o'
	subUser    byte = 'u'
	subSetting byte = 's'
)

// keyOperatorOrg is a | s | "operator".
var keyOperatorOrg = append([]byte{tagAccount, subSetting}, "operator"...)

// accountNameKey is a | sub | name, for sub subOrg or subUser.
func accountNameKey(sub byte, name string) []byte {
	b := make([]byte, 0, 2+len(name))
	return append(append(b, tagAccount, sub), name...)
}

// accountPrefix is a | sub, the prefix of every record of one kind.
func accountPrefix(sub byte) []byte { return []byte{tagAccount, sub} }

// parseAccountNameKey returns the name of an a | sub | name key.
func parseAccountNameKey(sub byte, k []byte) (string, error) {
	if len(k) < 3 || k[0] != tagAccount || k[1] != sub {
		return "", fmt.Errorf("account key %x: %w", k, errBadKey)
	}
	return string(k[2:]), nil
}

// Audit log keys of formats 1 to 3, which kept the log in Badger; only the
// conversion to segments (auditmigrate.go) reads them. They live under one
// tag, tagAudit, with a one-byte sub-space after it:
//
//	'l'  l | 'b'             base: seq(8) hash(32) time(8, unix ns) of the last entry pruned
//	'l'  l | 'e' | seq(8)    canonical entry: version(1) hash(32) body
//	'l'  l | 'h'             head: seq(8) hash(32) of the last entry
//
// The organization indexes under l | 'i' (format 3) and l | 'o' (formats
// 1 and 2) are not read: segments index the entries anew.
const (
	tagAudit      byte = 'l'
	subAuditBase  byte = 'b'
	subAuditEntry byte = 'e'
	subAuditHead  byte = 'h'
)

// auditBaseKey is l | b.
func auditBaseKey() []byte { return []byte{tagAudit, subAuditBase} }

// auditEntryKey is l | e | seq.
func auditEntryKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{tagAudit, subAuditEntry}, seq)
}

// auditEntryPrefix is l | e, the prefix of every entry.
func auditEntryPrefix() []byte { return []byte{tagAudit, subAuditEntry} }

// parseAuditEntryKey returns the sequence number of an l | e key.
func parseAuditEntryKey(k []byte) (uint64, error) {
	if len(k) != 2+8 || k[0] != tagAudit || k[1] != subAuditEntry {
		return 0, fmt.Errorf("audit entry key %x: %w", k, errBadKey)
	}
	return binary.BigEndian.Uint64(k[2:]), nil
}

// auditHeadKey is l | h.
func auditHeadKey() []byte { return []byte{tagAudit, subAuditHead} }

// Run keys (runs.go) hold the opaque results of scheduled jobs, such as the
// cluster snapshots of each audience, under one tag:
//
//	'r'  r | len(2) | kind | len(2) | audience | runID   data (opaque bytes)
//
// kind and audience are length prefixed, so that one kind's or audience's
// runs are one prefix; the run id is the last part and orders the runs of
// one audience (callers use fixed-width, time-based ids, so that key order
// is time order).
const tagRun byte = 'r'

// runPrefix is r | len | kind | len | audience.
func runPrefix(kind, audience string) []byte {
	b := make([]byte, 0, 5+len(kind)+len(audience))
	b = binary.BigEndian.AppendUint16(append(b, tagRun), uint16(len(kind)))
	b = binary.BigEndian.AppendUint16(append(b, kind...), uint16(len(audience)))
	return append(b, audience...)
}

// runKey is r | len | kind | len | audience | runID.
func runKey(kind, audience, id string) []byte { return append(runPrefix(kind, audience), id...) }

// parseRunKey returns the kind, audience and run id of an r key.
func parseRunKey(k []byte) (kind, audience, id string, err error) {
	bad := func(why string) error { return fmt.Errorf("run key %x: %s: %w", k, why, errBadKey) }
	if len(k) < 3 || k[0] != tagRun {
		return "", "", "", bad("no run tag")
	}
	n := int(binary.BigEndian.Uint16(k[1:]))
	if len(k) < 3+n+2 {
		return "", "", "", bad(fmt.Sprintf("kind length %d", n))
	}
	kind = string(k[3 : 3+n])
	rest := k[3+n:]
	m := int(binary.BigEndian.Uint16(rest))
	if len(rest) < 2+m+1 {
		return "", "", "", bad(fmt.Sprintf("audience length %d", m))
	}
	return kind, string(rest[2 : 2+m]), string(rest[2+m:]), nil
}
