package graph

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/verband-cti/verband/schema"
)

// Provenance records where one contribution to a node came from.
type Provenance struct {
	// Source names the import source, such as "mitre-attack" or "misp:cert-x".
	Source string
	// File is the file, feed or request the object came in.
	File string
	// At is when it was stored.
	At time.Time
	// OriginalID is the id the source gave the object, when Verband changed
	// it (for example a canonicalised SCO).
	OriginalID string
	// Original holds, as a JSON object, the properties whose values Verband
	// changed on the way in (an SCO's id and canonicalised values), as the
	// source gave them, so the object can be exported exactly as received.
	// Empty when nothing was changed.
	Original json.RawMessage
}

// Node is one stored STIX object as a reader sees it.
type Node struct {
	// ID is the internal id: fixed for the life of the store, dense, never 0.
	ID ID
	// StixID is the STIX identifier.
	StixID string
	// Type is the STIX type.
	Type string
	// Class is the node's access class and Policy its decoded policy.
	Class  Class
	Policy Policy
	// Created and Modified come from the object (Modified falls back to
	// Created, and both are zero for SCOs without them).
	Created, Modified time.Time
	// Provenance lists the contributions, oldest first.
	Provenance []Provenance
	// Raw is the STIX object as JSON with sorted keys.
	Raw json.RawMessage
}

// Object decodes Raw.
func (n *Node) Object() (*schema.Object, error) {
	o, err := schema.ParseObject(n.Raw)
	if err != nil {
		return nil, fmt.Errorf("decode node %d (%s): %w", n.ID, n.StixID, err)
	}
	return o, nil
}

// record flags.
const (
	flagStub byte = 1 << iota
)

const recordVersion byte = 1

// record is the stored form of a node (the value of an n key):
//
//	version(1) flags(1) typeSym(uvarint) class(uvarint) created(8) modified(8)
//	stixID(string) provenance(uvarint count, then source, file, at(8),
//	originalID, original)
//	raw JSON (the rest)
//
// Times are Unix nanoseconds, big-endian, 0 for absent. A stub (a referenced
// object that has not arrived) has flagStub set, class 0 and no JSON.
type record struct {
	flags    byte
	typ      sym
	class    Class
	created  int64
	modified int64
	stixID   string
	prov     []Provenance
	raw      []byte
}

func (r *record) stub() bool { return r.flags&flagStub != 0 }

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func (r *record) encode() []byte {
	n := 32 + len(r.stixID) + len(r.raw)
	for _, p := range r.prov {
		n += 20 + len(p.Source) + len(p.File) + len(p.OriginalID) + len(p.Original)
	}
	b := make([]byte, 0, n)
	b = append(b, recordVersion, r.flags)
	b = binary.AppendUvarint(b, uint64(r.typ))
	b = binary.AppendUvarint(b, uint64(r.class))
	b = binary.BigEndian.AppendUint64(b, uint64(r.created))
	b = binary.BigEndian.AppendUint64(b, uint64(r.modified))
	b = appendString(b, r.stixID)
	b = binary.AppendUvarint(b, uint64(len(r.prov)))
	for _, p := range r.prov {
		b = appendString(b, p.Source)
		b = appendString(b, p.File)
		b = binary.BigEndian.AppendUint64(b, uint64(unixNano(p.At)))
		b = appendString(b, p.OriginalID)
		b = appendString(b, string(p.Original))
	}
	return append(b, r.raw...)
}

// decodeRecord decodes a record; raw aliases b, so callers copy b first when
// it belongs to Badger and outlives the transaction.
func decodeRecord(b []byte) (record, error) {
	rd := reader{b: b}
	if v := rd.byte(); v != recordVersion && rd.err == nil {
		return record{}, fmt.Errorf("record version %d: %w", v, ErrCorrupt)
	}
	r := record{flags: rd.byte()}
	r.typ = sym(rd.uvarint())
	r.class = Class(rd.uvarint())
	r.created = int64(rd.u64())
	r.modified = int64(rd.u64())
	r.stixID = rd.string()
	n := rd.uvarint()
	if n > uint64(len(rd.b)) {
		rd.fail("provenance count")
	}
	if n > 0 && rd.err == nil {
		r.prov = make([]Provenance, n)
		for i := range r.prov {
			r.prov[i] = Provenance{Source: rd.string(), File: rd.string(), At: fromUnixNano(int64(rd.u64())), OriginalID: rd.string()}
			if orig := rd.bytes(rd.uvarint()); len(orig) > 0 {
				r.prov[i].Original = json.RawMessage(orig)
			}
		}
	}
	if rd.err != nil {
		return record{}, fmt.Errorf("decode node record: %w", rd.err)
	}
	r.raw = rd.b
	return r, nil
}
