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

// Contribution is what one source of one organization said about a node:
// the STIX object gets one per owner and import source, each with its own
// policy, so the same IP from two agencies is visible through either.
type Contribution struct {
	// Policy says who may see this contribution.
	Policy Policy
	// Modified is the modification time of the version it holds.
	Modified time.Time
	// Provenance lists where it came from, oldest first. Readers other than
	// the owner see only At: the source, file and original values are
	// protected.
	Provenance []Provenance
}

// Node is one stored STIX object as a reader sees it: only the
// contributions the reader may see, merged, with protected properties
// removed unless the reader's organization owns them.
type Node struct {
	// ID is the internal id: fixed for the life of the store, dense, never 0.
	ID ID
	// StixID is the STIX identifier.
	StixID string
	// Type is the STIX type.
	Type string
	// Class is the node's access class: the set of its contributions'
	// policies.
	Class Class
	// Policy is the policy of the contribution the reader sees first: its
	// own organization's when it has one, else the newest visible.
	Policy Policy
	// Created and Modified come from the object as the reader sees it
	// (Modified falls back to Created, and both are zero for SCOs without
	// them).
	Created, Modified time.Time
	// Contributions lists the visible contributions, oldest first.
	Contributions []Contribution
	// Provenance lists the provenance of the visible contributions, oldest
	// first, with protected details removed as in Contributions.
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

// Record versions: 1 held one provenance list under the node's class; 2
// holds contributions, each with its own class, version and provenance.
const (
	recordV1      byte = 1
	recordVersion byte = 2
)

// contribution is the stored form of a Contribution.
type contribution struct {
	class    Class // a class of one policy
	modified int64
	prov     []Provenance
	raw      []byte // nil: the same JSON as the record's raw
}

// record is the stored form of a node (the value of an n key):
//
//	version(1) flags(1) typeSym(uvarint) class(uvarint) created(8) modified(8)
//	stixID(string) contributions(uvarint count, then each: class(uvarint)
//	modified(8) provenance(uvarint count, then source, file, at(8),
//	originalID, original) raw(string, empty when equal to the node's))
//	raw JSON (the rest)
//
// Times are Unix nanoseconds, big-endian, 0 for absent. The node's raw JSON
// is the merge of every contribution (see mergeRaw) and its class the union
// of theirs. A stub (a referenced object that has not arrived) has flagStub
// set, class 0, no contributions and no JSON.
type record struct {
	flags    byte
	typ      sym
	class    Class
	created  int64
	modified int64
	stixID   string
	contribs []contribution
	raw      []byte
}

func (r *record) stub() bool { return r.flags&flagStub != 0 }

// contribRaw returns the JSON of contribution i.
func (r *record) contribRaw(i int) []byte {
	if c := r.contribs[i]; c.raw != nil {
		return c.raw
	}
	return r.raw
}

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

func appendProvenanceList(b []byte, prov []Provenance) []byte {
	b = binary.AppendUvarint(b, uint64(len(prov)))
	for _, p := range prov {
		b = appendString(b, p.Source)
		b = appendString(b, p.File)
		b = binary.BigEndian.AppendUint64(b, uint64(unixNano(p.At)))
		b = appendString(b, p.OriginalID)
		b = appendString(b, string(p.Original))
	}
	return b
}

func (rd *reader) provenanceList() []Provenance {
	n := rd.uvarint()
	if n > uint64(len(rd.b)) {
		rd.fail("provenance count")
	}
	if n == 0 || rd.err != nil {
		return nil
	}
	prov := make([]Provenance, n)
	for i := range prov {
		prov[i] = Provenance{Source: rd.string(), File: rd.string(), At: fromUnixNano(int64(rd.u64())), OriginalID: rd.string()}
		if orig := rd.bytes(rd.uvarint()); len(orig) > 0 {
			prov[i].Original = json.RawMessage(orig)
		}
	}
	return prov
}

func (r *record) encode() []byte {
	n := 32 + len(r.stixID) + len(r.raw)
	for _, c := range r.contribs {
		n += 16 + len(c.raw)
		for _, p := range c.prov {
			n += 20 + len(p.Source) + len(p.File) + len(p.OriginalID) + len(p.Original)
		}
	}
	b := make([]byte, 0, n)
	b = append(b, recordVersion, r.flags)
	b = binary.AppendUvarint(b, uint64(r.typ))
	b = binary.AppendUvarint(b, uint64(r.class))
	b = binary.BigEndian.AppendUint64(b, uint64(r.created))
	b = binary.BigEndian.AppendUint64(b, uint64(r.modified))
	b = appendString(b, r.stixID)
	b = binary.AppendUvarint(b, uint64(len(r.contribs)))
	for _, c := range r.contribs {
		b = binary.AppendUvarint(b, uint64(c.class))
		b = binary.BigEndian.AppendUint64(b, uint64(c.modified))
		b = appendProvenanceList(b, c.prov)
		b = appendString(b, string(c.raw))
	}
	return append(b, r.raw...)
}

// decodeRecord decodes a record; raw aliases b, so callers copy b first when
// it belongs to Badger and outlives the transaction.
func decodeRecord(b []byte) (record, error) {
	rd := reader{b: b}
	v := rd.byte()
	if v != recordVersion && v != recordV1 && rd.err == nil {
		return record{}, fmt.Errorf("record version %d: %w", v, ErrCorrupt)
	}
	r := record{flags: rd.byte()}
	r.typ = sym(rd.uvarint())
	r.class = Class(rd.uvarint())
	r.created = int64(rd.u64())
	r.modified = int64(rd.u64())
	r.stixID = rd.string()
	if v == recordV1 {
		// One contribution under the node's class.
		if prov := rd.provenanceList(); !r.stub() {
			r.contribs = []contribution{{class: r.class, modified: r.modified, prov: prov}}
		}
	} else {
		n := rd.uvarint()
		if n > uint64(len(rd.b)) {
			rd.fail("contribution count")
		}
		if n > 0 && rd.err == nil {
			r.contribs = make([]contribution, n)
			for i := range r.contribs {
				c := &r.contribs[i]
				c.class = Class(rd.uvarint())
				c.modified = int64(rd.u64())
				c.prov = rd.provenanceList()
				if raw := rd.bytes(rd.uvarint()); len(raw) > 0 {
					c.raw = raw
				}
			}
		}
	}
	if rd.err != nil {
		return record{}, fmt.Errorf("decode node record: %w", rd.err)
	}
	r.raw = rd.b
	return r, nil
}
