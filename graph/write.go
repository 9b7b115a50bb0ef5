package graph

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/verband-cti/verband/schema"
	"github.com/verband-cti/verband/schema/pattern"
)

// Meta is what the writer says about an object beyond its STIX content:
// who owns it and may see it, and where it came from.
type Meta struct {
	// Policy sets owner, TLP and sharing. When the object already exists the
	// stored policy is kept; contributions from several owners are merged by
	// the access layer.
	Policy Policy
	// Provenance records the source of this contribution. Its At is set to
	// the commit time when zero.
	Provenance Provenance
}

// Outcome says what a Put did.
type Outcome uint8

// Outcomes of Put.
const (
	// Created: the object was new (or only a dangling reference to it
	// existed).
	Created Outcome = iota + 1
	// Updated: a newer version replaced the stored one, or a new
	// contribution was recorded.
	Updated
	// Unchanged: the same version from the same source was already stored;
	// nothing was written.
	Unchanged
	// Older: the stored version is newer; nothing was written.
	Older
)

func (o Outcome) String() string {
	switch o {
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Unchanged:
		return "unchanged"
	case Older:
		return "older"
	}
	return fmt.Sprintf("outcome(%d)", o)
}

// writeState is what a write transaction accumulates until commit.
type writeState struct {
	changed  []ID
	inChange map[ID]struct{}
	degrees  map[degreeDelta]int64
	counts   map[sym]int64
	classes  map[ID]Class // new classes to publish to the cache after commit
	ops      int          // Badger entries written, for batch sizing
	bytes    int          // their approximate size

	// Staged for the writer cache (records: for reading back within the
	// transaction without a Badger read), taken after
	// a successful commit.
	xids        map[string]ID
	recs        map[ID][]byte // encoded records written; nil value: deleted
	counterVals map[degreeDelta]int64
	seq         uint64 // the outbox entry this transaction wrote, or 0
}

type degreeDelta struct {
	id  ID
	dir Direction
	e   sym
}

func newWriteState() *writeState {
	return &writeState{
		inChange: map[ID]struct{}{},
		degrees:  map[degreeDelta]int64{},
		counts:   map[sym]int64{},
		classes:  map[ID]Class{},
		xids:     map[string]ID{},
		recs:     map[ID][]byte{},
	}
}

// setRecord writes a node record and stages it for the writer.
func (tx *Tx) setRecord(id ID, r *record) error {
	b := r.encode()
	tx.w.recs[id] = b
	return tx.set(nodeKey(id), b)
}

// delRecord deletes a node record and stages the deletion.
func (tx *Tx) delRecord(id ID) error {
	tx.w.recs[id] = nil
	return tx.del(nodeKey(id))
}

// entryOverhead approximates Badger's per-entry bookkeeping in a batch.
const entryOverhead = 32

// pendingOps counts the entries written so far plus those finish will add
// (one per degree and type counter touched, and the outbox entry), so a
// chunk is closed before its counters push it over Badger's limit.
func (w *writeState) pendingOps() int { return w.ops + len(w.degrees) + len(w.counts) + 1 }

// pendingBytes is pendingOps in approximate bytes.
func (w *writeState) pendingBytes() int {
	return w.bytes + (len(w.degrees)+len(w.counts))*(1+idLen+1+symLen+8+entryOverhead) + 8*len(w.changed) + 64
}

func (tx *Tx) set(k, v []byte) error {
	tx.w.ops++
	tx.w.bytes += len(k) + len(v) + entryOverhead
	if err := tx.txn.Set(k, v); err != nil {
		return tx.wrapTxnErr(err)
	}
	return nil
}

func (tx *Tx) del(k []byte) error {
	tx.w.ops++
	tx.w.bytes += len(k) + entryOverhead
	if err := tx.txn.Delete(k); err != nil {
		return tx.wrapTxnErr(err)
	}
	return nil
}

func (tx *Tx) wrapTxnErr(err error) error {
	if errors.Is(err, badger.ErrTxnTooBig) {
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return err
}

func (tx *Tx) touch(id ID) {
	if _, ok := tx.w.inChange[id]; !ok {
		tx.w.inChange[id] = struct{}{}
		tx.w.changed = append(tx.w.changed, id)
	}
}

// Update runs fn in a read-write transaction as viewer v and commits it
// atomically. Writers run one at a time. When fn returns an error nothing is
// written.
func (s *Store) Update(v Viewer, fn func(tx *Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx := s.newTx(s.db.NewTransaction(true), v)
	defer tx.txn.Discard()
	tx.w = newWriteState()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.commit()
}

// commit finishes the transaction, commits it and publishes what it did.
// The caller holds s.wmu.
func (tx *Tx) commit() error {
	if err := tx.finish(); err != nil {
		return err
	}
	if err := tx.txn.Commit(); err != nil {
		tx.abandon()
		return fmt.Errorf("commit: %w", tx.wrapTxnErr(err))
	}
	tx.publish()
	return nil
}

// abandon forgets the writer cache after a failed commit, whose staged
// entries may already have been read. The outbox entry number it took stays
// unused; the indexer skips such gaps.
func (tx *Tx) abandon() {
	tx.s.wcache.reset()
}

// finish writes the degree and type counters and the outbox entry. The
// caller holds s.wmu.
func (tx *Tx) finish() error {
	w := tx.w
	w.counterVals = make(map[degreeDelta]int64, len(w.degrees))
	for d, delta := range w.degrees {
		if delta == 0 {
			continue
		}
		n, ok := tx.s.wcache.counter(d)
		if !ok {
			var err error
			if n, err = tx.counter(degreeKey(d.id, d.dir, d.e)); err != nil {
				return fmt.Errorf("update degree of %d: %w", d.id, err)
			}
		}
		if err := tx.storeCounter(degreeKey(d.id, d.dir, d.e), n+delta); err != nil {
			return fmt.Errorf("update degree of %d: %w", d.id, err)
		}
		w.counterVals[d] = n + delta
	}
	for y, delta := range w.counts {
		if delta == 0 {
			continue
		}
		n, err := tx.counter(countKey(y))
		if err != nil {
			return fmt.Errorf("update type count: %w", err)
		}
		if err := tx.storeCounter(countKey(y), n+delta); err != nil {
			return fmt.Errorf("update type count: %w", err)
		}
	}
	if len(w.changed) > 0 {
		w.seq = tx.s.nextSeq + 1
		if err := tx.set(outboxKey(w.seq), encodeIDs(w.changed)); err != nil {
			return fmt.Errorf("write outbox: %w", err)
		}
		tx.s.nextSeq = w.seq
	}
	return nil
}

// publish makes a committed transaction's effects visible beyond Badger:
// classes to readers, the outbox position to the indexer, staged entries
// to the writer cache.
func (tx *Tx) publish() {
	w := tx.w
	for id, c := range w.classes {
		tx.s.cache.set(id, c)
	}
	tx.s.wcache.publish(w)
	if w.seq > 0 {
		tx.s.outSeq.Store(w.seq)
		if in := tx.s.search.Load(); in != nil {
			in.notify()
		}
	}
}

func (tx *Tx) addCounter(key []byte, delta int64) error {
	n, err := tx.counter(key)
	if err != nil {
		return err
	}
	return tx.storeCounter(key, n+delta)
}

// storeCounter writes a counter's new value; 0 deletes it.
func (tx *Tx) storeCounter(key []byte, n int64) error {
	if n < 0 {
		return fmt.Errorf("counter %x below zero: %w", key, ErrCorrupt)
	}
	if n == 0 {
		return tx.del(key)
	}
	return tx.set(key, encodeU64(uint64(n)))
}

func encodeIDs(ids []ID) []byte {
	b := make([]byte, 0, 2+len(ids)*4)
	b = binary.AppendUvarint(b, uint64(len(ids)))
	var prev ID
	for _, id := range ids {
		b = binary.AppendVarint(b, int64(id)-int64(prev))
		prev = id
	}
	return b
}

func decodeIDs(b []byte) ([]ID, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, fmt.Errorf("decode id list: %w", ErrCorrupt)
	}
	b = b[k:]
	ids := make([]ID, n)
	var prev int64
	for i := range ids {
		d, k := binary.Varint(b)
		if k <= 0 {
			return nil, fmt.Errorf("decode id list: %w", ErrCorrupt)
		}
		b = b[k:]
		prev += d
		ids[i] = ID(prev)
	}
	return ids, nil
}

// edgeSpec is one edge an object implies, by STIX ids.
type edgeSpec struct {
	typ      string
	from, to string
}

// skipRefs are embedded references that are not materialised as edges:
// markings are metadata (every node would neighbour the TLP definitions).
var skipRefs = map[string]bool{"object_marking_refs": true}

// impliedEdges lists the edges an object stands for. A relationship is one
// edge source_ref → target_ref typed by its relationship_type; any other
// object has an edge per embedded reference, typed by the property name.
func impliedEdges(o *schema.Object) []edgeSpec {
	if o == nil {
		return nil
	}
	if o.Type == "relationship" {
		rt, _ := o.String("relationship_type")
		src, ok1 := o.String("source_ref")
		dst, ok2 := o.String("target_ref")
		if rt == "" || !ok1 || !ok2 || src == "" || dst == "" {
			return nil
		}
		return []edgeSpec{{typ: rt, from: src, to: dst}}
	}
	var out []edgeSpec
	for _, r := range o.Refs() {
		if skipRefs[r.Prop] {
			continue
		}
		out = append(out, edgeSpec{typ: r.Prop, from: o.ID, to: r.Target})
	}
	return append(out, basedOn(o)...)
}

// basedOn lists the based-on edges of an indicator whose STIX pattern names
// observables by value (an OR or AND of equalities, such as
// [ipv4-addr:value = '198.51.100.1']): one edge to the deterministic id of
// each observable, which resolves when that observable is stored. A pattern
// that does not parse, or is of another kind, is kept as text and links
// nothing.
func basedOn(o *schema.Object) []edgeSpec {
	if o.Type != "indicator" {
		return nil
	}
	if pt, _ := o.String("pattern_type"); pt != "stix" {
		return nil
	}
	p, _ := o.String("pattern")
	ids, err := pattern.ObservableIDs(p)
	if err != nil {
		return nil
	}
	out := make([]edgeSpec, 0, len(ids))
	for _, id := range ids {
		out = append(out, edgeSpec{typ: basedOnEdge, from: o.ID, to: id})
	}
	return out
}

// basedOnEdge is the type of the edges basedOn derives.
const basedOnEdge = "based-on"

// setXID writes a STIX id index entry and stages it for the writer cache.
func (tx *Tx) setXID(stixID string, id ID) error {
	tx.w.xids[stixID] = id
	if err := tx.set(xidKey(stixID), putID(nil, id)); err != nil {
		return fmt.Errorf("index %s: %w", stixID, err)
	}
	return nil
}

// resolve returns the id of a STIX id, creating a stub for an object not
// seen yet so that references to it can be stored before it arrives.
func (tx *Tx) resolve(stixID string) (ID, error) {
	id, _, err := tx.resolveFor(stixID, true)
	return id, err
}

// resolveFor is resolve; created reports a new id, and writeStub says
// whether to store a stub record for it (Put, which writes the record
// itself, does not).
func (tx *Tx) resolveFor(stixID string, writeStub bool) (id ID, created bool, err error) {
	id, ok, err := tx.lookupID(stixID)
	if err != nil || ok {
		return id, false, err
	}
	if id, err = tx.s.nextID(); err != nil {
		return 0, false, err
	}
	if err := tx.setXID(stixID, id); err != nil {
		return 0, false, err
	}
	if !writeStub {
		return id, true, nil
	}
	typ, _, _ := strings.Cut(stixID, "--")
	y, err := tx.s.symFor(typ)
	if err != nil {
		return 0, false, err
	}
	stub := record{flags: flagStub, typ: y, stixID: stixID}
	if err := tx.setRecord(id, &stub); err != nil {
		return 0, false, fmt.Errorf("store reference to %s: %w", stixID, err)
	}
	return id, true, nil
}

// resolveWithAlias is resolve for an object the source knew by another id
// (an SCO before canonicalisation): references to that id must land on the
// node too. When the original id was referenced before the object arrived,
// its stub becomes the node (or, when the node already exists, the stub's
// edges move to it). An original id that names another real node keeps it.
func (tx *Tx) resolveWithAlias(stixID, orig string) (ID, bool, error) {
	if orig == "" || orig == stixID {
		return tx.resolveFor(stixID, false)
	}
	origID, origKnown, err := tx.lookupID(orig)
	if err != nil {
		return 0, false, err
	}
	id, known, err := tx.lookupID(stixID)
	if err != nil {
		return 0, false, err
	}
	if !origKnown {
		id, created, err := tx.resolveFor(stixID, false)
		if err != nil {
			return 0, false, err
		}
		return id, created, tx.setXID(orig, id)
	}
	if known && origID == id {
		return id, false, nil
	}
	r, err := tx.getRecord(origID)
	if err != nil {
		return 0, false, err
	}
	if !r.stub() {
		return tx.resolveFor(stixID, false)
	}
	if !known {
		// Adopt the stub: it becomes the node under its canonical id.
		stub := record{flags: flagStub, typ: r.typ, stixID: stixID}
		if err := tx.setRecord(origID, &stub); err != nil {
			return 0, false, err
		}
		return origID, false, tx.setXID(stixID, origID)
	}
	if err := tx.mergeStub(origID, id); err != nil {
		return 0, false, fmt.Errorf("merge reference %s into %s: %w", orig, stixID, err)
	}
	return id, false, tx.setXID(orig, id)
}

// mergeStub moves every edge of stub to node and deletes the stub's record.
func (tx *Tx) mergeStub(stub, node ID) error {
	type adj struct {
		dir        Direction
		e          sym
		other, via ID
	}
	var moves []adj
	for _, d := range []Direction{Out, In} {
		prefix := edgePrefix(d, stub, 0)
		it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		for it.Rewind(); it.Valid(); it.Next() {
			_, _, e, other, via, err := parseEdgeKey(it.Item().Key())
			if err != nil {
				it.Close()
				return err
			}
			moves = append(moves, adj{d, e, other, via})
		}
		it.Close()
	}
	for _, m := range moves {
		if m.dir == In && m.other == stub {
			continue // a loop, moved with its out-edge
		}
		other := m.other
		if other == stub {
			other = node
		}
		if err := errors.Join(tx.del(edgeKey(m.dir, stub, m.e, m.other, m.via)), tx.del(edgeKey(opposite(m.dir), m.other, m.e, stub, m.via))); err != nil {
			return err
		}
		if err := errors.Join(tx.set(edgeKey(m.dir, node, m.e, other, m.via), nil), tx.set(edgeKey(opposite(m.dir), other, m.e, node, m.via), nil)); err != nil {
			return err
		}
		tx.w.degrees[degreeDelta{stub, m.dir, m.e}]--
		tx.w.degrees[degreeDelta{node, m.dir, m.e}]++
		if m.other == stub {
			tx.w.degrees[degreeDelta{stub, opposite(m.dir), m.e}]--
			tx.w.degrees[degreeDelta{node, opposite(m.dir), m.e}]++
		}
	}
	return tx.delRecord(stub)
}

// Alias makes another STIX id resolve to the node of stixID, for example the
// id a source gave an SCO before canonicalisation. References to the alias
// then land on the node.
func (tx *Tx) Alias(alias, stixID string) error {
	if tx.w == nil {
		return ErrReadOnly
	}
	id, err := tx.resolve(stixID)
	if err != nil {
		return err
	}
	old, ok, err := tx.lookupID(alias)
	if err != nil {
		return err
	}
	if ok {
		if old == id {
			return nil
		}
		return fmt.Errorf("alias %s already names node %d: %w", alias, old, ErrInvalid)
	}
	return tx.setXID(alias, id)
}

// prepared is an object with the work done that needs no store access: its
// encoding, the edges it implies and its index values. Bulk prepares the
// next chunk while the previous one commits.
type prepared struct {
	o      *schema.Object
	m      Meta
	raw    []byte
	edges  []edgeSpec
	values []string
}

func prepare(o *schema.Object, m Meta) (*prepared, error) {
	raw, err := o.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", o.ID, err)
	}
	return &prepared{o: o, m: m, raw: raw, edges: impliedEdges(o), values: schema.IndexValues(o)}, nil
}

// Put stores an object: it creates it, replaces an older version, or does
// nothing when the same version is already stored. Edges implied by the
// object (its relationship, its embedded references) are added and removed
// with it, in both directions, in this transaction. References to objects
// not yet stored are kept and resolve when those objects arrive.
func (tx *Tx) Put(o *schema.Object, m Meta) (ID, Outcome, error) {
	if tx.w == nil {
		return 0, 0, ErrReadOnly
	}
	p, err := prepare(o, m)
	if err != nil {
		return 0, 0, err
	}
	return tx.put(p)
}

func (tx *Tx) put(p *prepared) (ID, Outcome, error) {
	o, m := p.o, p.m
	id, created, err := tx.resolveWithAlias(o.ID, m.Provenance.OriginalID)
	if err != nil {
		return 0, 0, err
	}
	var old record
	if created {
		old = record{flags: flagStub}
		if old.typ, err = tx.s.symFor(o.Type); err != nil {
			return 0, 0, err
		}
	} else if old, err = tx.getRecord(id); err != nil {
		return 0, 0, err
	}
	prov := m.Provenance
	if prov.At.IsZero() {
		prov.At = commitClock()
	}
	isNew := old.stub()
	outcome := Created
	rec := record{typ: old.typ, stixID: o.ID, created: unixNano(o.Created), modified: unixNano(o.Modified), raw: p.raw}
	var oldEdges []edgeSpec
	var oldValues []string
	if !isNew {
		if rec.modified < old.modified {
			return id, Older, nil
		}
		sameVersion := rec.modified == old.modified && bytes.Equal(p.raw, old.raw)
		if sameVersion && hasProvenance(old.prov, prov) {
			return id, Unchanged, nil
		}
		outcome = Updated
		rec.class = old.class
		rec.prov = appendProvenance(old.prov, prov)
		if sameVersion {
			// A new contribution of the same version: record its
			// provenance, nothing else changes.
			rec.created, rec.modified = old.created, old.modified
			tx.touch(id)
			return id, outcome, tx.setRecord(id, &rec)
		}
		oldObj, err := schema.ParseObject(old.raw)
		if err != nil {
			return 0, 0, fmt.Errorf("decode stored %s: %w", o.ID, err)
		}
		oldEdges, oldValues = impliedEdges(oldObj), schema.IndexValues(oldObj)
	} else {
		if rec.class, err = tx.s.classFor(m.Policy); err != nil {
			return 0, 0, err
		}
		rec.prov = []Provenance{prov}
		tx.w.counts[rec.typ]++
	}
	if err := tx.setRecord(id, &rec); err != nil {
		return 0, 0, fmt.Errorf("store %s: %w", o.ID, err)
	}
	if isNew || rec.class != old.class {
		if err := tx.set(typeKey(rec.typ, id), binary.BigEndian.AppendUint32(nil, uint32(rec.class))); err != nil {
			return 0, 0, fmt.Errorf("index type of %s: %w", o.ID, err)
		}
		tx.w.classes[id] = rec.class
	}
	if err := tx.reindexTime(id, old, rec, isNew); err != nil {
		return 0, 0, fmt.Errorf("index time of %s: %w", o.ID, err)
	}
	if err := tx.reindexValues(id, oldValues, p.values); err != nil {
		return 0, 0, fmt.Errorf("index values of %s: %w", o.ID, err)
	}
	if err := tx.replaceEdges(id, oldEdges, p.edges); err != nil {
		return 0, 0, fmt.Errorf("store edges of %s: %w", o.ID, err)
	}
	tx.touch(id)
	return id, outcome, nil
}

func (tx *Tx) reindexTime(id ID, old, rec record, isNew bool) error {
	if !isNew && old.modified == rec.modified {
		return nil
	}
	if !isNew && old.modified != 0 {
		if err := tx.del(timeKey(old.modified, id)); err != nil {
			return err
		}
	}
	if rec.modified != 0 {
		return tx.set(timeKey(rec.modified, id), nil)
	}
	return nil
}

// reindexValues replaces the value index entries of id.
func (tx *Tx) reindexValues(id ID, oldVals, newVals []string) error {
	for _, v := range oldVals {
		if !slices.Contains(newVals, v) {
			if err := tx.del(valueKey(v, id)); err != nil {
				return err
			}
		}
	}
	for _, v := range newVals {
		if !slices.Contains(oldVals, v) {
			if err := tx.set(valueKey(v, id), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// replaceEdges removes the edges of before that are not in after and adds
// those of after that are not in before. via is the id of the object that
// implies them when it is a relationship, 0 otherwise.
func (tx *Tx) replaceEdges(self ID, before, after []edgeSpec) error {
	key := func(e edgeSpec) string { return e.typ + "\x00" + e.from + "\x00" + e.to }
	inAfter := make(map[string]bool, len(after))
	for _, e := range after {
		inAfter[key(e)] = true
	}
	inBefore := make(map[string]bool, len(before))
	for _, e := range before {
		inBefore[key(e)] = true
		if !inAfter[key(e)] {
			if err := tx.edge(self, e, false); err != nil {
				return err
			}
		}
	}
	for _, e := range after {
		if !inBefore[key(e)] {
			inBefore[key(e)] = true // duplicates within one object count once
			if err := tx.edge(self, e, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// edge adds or removes both directions of one edge and its degree deltas.
func (tx *Tx) edge(self ID, e edgeSpec, add bool) error {
	y, err := tx.s.symFor(e.typ)
	if err != nil {
		return err
	}
	from, err := tx.resolve(e.from)
	if err != nil {
		return err
	}
	to, err := tx.resolve(e.to)
	if err != nil {
		return err
	}
	var via ID
	if from != self {
		via = self // a relationship: the edge stands for this object
	}
	out, in := edgeKey(Out, from, y, to, via), edgeKey(In, to, y, from, via)
	delta := int64(1)
	if add {
		err = errors.Join(tx.set(out, nil), tx.set(in, nil))
	} else {
		delta = -1
		err = errors.Join(tx.del(out), tx.del(in))
	}
	if err != nil {
		return err
	}
	tx.w.degrees[degreeDelta{from, Out, y}] += delta
	tx.w.degrees[degreeDelta{to, In, y}] += delta
	return nil
}

// Delete removes an object: its record becomes a stub (so references to it
// stay valid and resolve again if it returns), its indexes and the edges it
// implies go. It returns ErrNotFound when no such object is stored.
func (tx *Tx) Delete(stixID string) error {
	if tx.w == nil {
		return ErrReadOnly
	}
	id, ok, err := tx.lookupID(stixID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("delete %s: %w", stixID, ErrNotFound)
	}
	old, err := tx.getRecord(id)
	if err != nil {
		return err
	}
	if old.stub() {
		return fmt.Errorf("delete %s: %w", stixID, ErrNotFound)
	}
	oldObj, err := schema.ParseObject(old.raw)
	if err != nil {
		return fmt.Errorf("decode stored %s: %w", stixID, err)
	}
	if err := tx.replaceEdges(id, impliedEdges(oldObj), nil); err != nil {
		return fmt.Errorf("delete edges of %s: %w", stixID, err)
	}
	if err := tx.reindexValues(id, schema.IndexValues(oldObj), nil); err != nil {
		return fmt.Errorf("delete values of %s: %w", stixID, err)
	}
	if old.modified != 0 {
		if err := tx.del(timeKey(old.modified, id)); err != nil {
			return err
		}
	}
	if err := tx.del(typeKey(old.typ, id)); err != nil {
		return err
	}
	stub := record{flags: flagStub, typ: old.typ, stixID: old.stixID}
	if err := tx.setRecord(id, &stub); err != nil {
		return err
	}
	tx.w.counts[old.typ]--
	tx.w.classes[id] = 0
	tx.touch(id)
	return nil
}

func hasProvenance(list []Provenance, p Provenance) bool {
	for _, q := range list {
		if q.Source == p.Source && q.File == p.File && q.OriginalID == p.OriginalID {
			return true
		}
	}
	return false
}

// maxProvenance bounds how many contributions a node remembers; the oldest
// is kept (first seen) and the newest replace the middle.
const maxProvenance = 32

func appendProvenance(list []Provenance, p Provenance) []Provenance {
	out := append(slices.Clone(list), p)
	if len(out) > maxProvenance {
		out = append(out[:1], out[len(out)-maxProvenance+1:]...)
	}
	return out
}
