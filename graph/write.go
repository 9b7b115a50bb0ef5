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
	// Policy sets owner, TLP and sharing of this contribution. A node gets
	// one contribution per owner organization, which holds the newest
	// version that organization stored from any source; when that
	// contribution exists already its stored policy is kept (Tx.SetPolicy
	// changes it).
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
	// existed), or the writer's viewer could not see it and its
	// contribution was recorded beside the hidden ones.
	Created Outcome = iota + 1
	// Updated: a newer version replaced the stored one, or a new
	// contribution was recorded on an object the writer could see.
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
	// firstNew is the first id this transaction allocated, or 0. Ids come
	// from a sequence that only grows and only writers, one at a time,
	// allocate them, so every id from firstNew on is a node this
	// transaction created: it has no stored degree counters to read.
	firstNew ID

	// Staged for the writer cache (records: for reading back within the
	// transaction without a Badger read), taken after
	// a successful commit.
	xids        map[string]ID
	recs        map[ID][]byte // encoded records written; nil value: deleted
	counterVals map[degreeDelta]int64
	countVals   map[sym]int64 // new type counts, for a chunk built on this one
	seq         uint64        // the outbox entry this transaction wrote, or 0
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
	w.countVals = make(map[sym]int64, len(w.counts))
	for d, delta := range w.degrees {
		if delta == 0 {
			continue
		}
		n, ok := int64(0), w.firstNew != 0 && d.id >= w.firstNew
		if !ok && tx.under != nil {
			n, ok = tx.under.counterVals[d]
		}
		if !ok {
			n, ok = tx.s.wcache.counter(d)
		}
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
		n, ok := int64(0), false
		if tx.under != nil {
			n, ok = tx.under.countVals[y]
		}
		if !ok {
			var err error
			if n, err = tx.counter(countKey(y)); err != nil {
				return fmt.Errorf("update type count: %w", err)
			}
		}
		if err := tx.storeCounter(countKey(y), n+delta); err != nil {
			return fmt.Errorf("update type count: %w", err)
		}
		w.countVals[y] = n + delta
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
		in := tx.s.search.Load()
		if in != nil {
			// Before the indexer can see the entry, so it finds them.
			in.staged.offer(w.seq, w.recs)
		}
		tx.s.outSeq.Store(w.seq)
		if in != nil {
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

// edgeSpec is one edge an object implies, by STIX ids. cls is the class of
// the contributions that imply it when not all of the node's do, else 0.
type edgeSpec struct {
	typ      string
	from, to string
	cls      Class
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
	tx.s.wcache.stageXID(stixID)
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
	if tx.w.firstNew == 0 {
		tx.w.firstNew = id
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
	if tx.under != nil {
		// The edges are found by a Badger scan, which cannot see what the
		// chunk still committing wrote.
		return errUnderCommit
	}
	type adj struct {
		dir        Direction
		e          sym
		other, via ID
		value      []byte
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
			value, err := it.Item().ValueCopy(nil)
			if err != nil {
				it.Close()
				return err
			}
			moves = append(moves, adj{d, e, other, via, value})
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
		if err := errors.Join(tx.set(edgeKey(m.dir, node, m.e, other, m.via), m.value), tx.set(edgeKey(opposite(m.dir), other, m.e, node, m.via), m.value)); err != nil {
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
	mod := unixNano(o.Modified)
	if old.stub() {
		cls, err := tx.s.classFor(m.Policy)
		if err != nil {
			return 0, 0, err
		}
		rec := record{typ: old.typ, class: cls, stixID: o.ID, created: unixNano(o.Created), modified: mod, raw: p.raw,
			contribs: []contribution{{class: cls, modified: mod, prov: []Provenance{prov}}}}
		tx.w.counts[rec.typ]++
		if err := tx.rewrite(id, &old, &rec, derived{}, p.derived(mod)); err != nil {
			return 0, 0, fmt.Errorf("store %s: %w", o.ID, err)
		}
		return id, Created, nil
	}
	rec := old
	rec.contribs = slices.Clone(old.contribs)
	owner := m.Policy.Owner
	i := slices.IndexFunc(rec.contribs, func(c contribution) bool {
		p, _ := tx.s.classes.policy(c.class)
		return p.Owner == owner
	})
	if i >= 0 {
		c := &rec.contribs[i]
		if mod < c.modified {
			return id, Older, nil
		}
		sameVersion := mod == c.modified && bytes.Equal(p.raw, old.contribRaw(i))
		if sameVersion && hasProvenance(c.prov, prov) {
			return id, Unchanged, nil
		}
		c.prov = appendProvenance(c.prov, prov)
		if sameVersion {
			// The same version from another file of the same source:
			// record its provenance, nothing else changes.
			tx.touch(id)
			return id, Updated, tx.setRecord(id, &rec)
		}
		c.modified, c.raw = mod, p.raw
	}
	outcome := Updated
	if i < 0 {
		cls, err := tx.s.classFor(m.Policy)
		if err != nil {
			return 0, 0, err
		}
		rec.contribs = append(rec.contribs, contribution{class: cls, modified: mod, prov: []Provenance{prov}, raw: p.raw})
		if !tx.vis.class(old.class) {
			// The writer could not see the node: to it the object is
			// new, and "updated" would tell it that another
			// organization holds the same object.
			outcome = Created
		}
	}
	if err := tx.restate(id, &old, &rec, p); err != nil {
		return 0, 0, fmt.Errorf("store %s: %w", o.ID, err)
	}
	return id, outcome, nil
}

// restate recomputes a node from its contributions (rec.contribs, whose raw
// JSON may still point at old's) and rewrites it and its indexes. p, when
// not nil, is the object just put, whose derived entries are reused when it
// is the node's only contribution.
func (tx *Tx) restate(id ID, old, rec *record, p *prepared) error {
	for i := range rec.contribs {
		if rec.contribs[i].raw == nil {
			rec.contribs[i].raw = old.raw
		}
	}
	parts := make([][]byte, len(rec.contribs))
	mods := make([]int64, len(rec.contribs))
	classes := make([]Class, len(rec.contribs))
	for i, c := range rec.contribs {
		parts[i], mods[i], classes[i] = c.raw, c.modified, c.class
	}
	typ := tx.s.syms.name(rec.typ)
	raw, err := mergeRaw(typ, parts, mods)
	if err != nil {
		return err
	}
	merged, err := schema.ParseObject(raw)
	if err != nil {
		return fmt.Errorf("decode merged object: %w", err)
	}
	rec.raw, rec.created, rec.modified = raw, unixNano(merged.Created), slices.Max(mods)
	for i := range rec.contribs {
		if bytes.Equal(rec.contribs[i].raw, raw) {
			rec.contribs[i].raw = nil
		}
	}
	if rec.class, err = tx.s.unionClass(classes); err != nil {
		return err
	}
	oldD, err := tx.derive(old)
	if err != nil {
		return err
	}
	var newD derived
	if p != nil && len(rec.contribs) == 1 && bytes.Equal(p.raw, raw) {
		newD = p.derived(rec.modified)
	} else if newD, err = tx.derive(rec); err != nil {
		return err
	}
	return tx.rewrite(id, old, rec, oldD, newD)
}

// derived is what a node implies in the indexes: its edges, canonical
// values and modification times, each with the class of the contributions
// that imply it when not all of them do (else 0).
type derived struct {
	edges  []edgeSpec
	values []classed[string]
	times  []classed[int64]
}

// classed is an index entry with its class (0: the node's).
type classed[T comparable] struct {
	v   T
	cls Class
}

// derived returns the entries of a node whose only contribution is p.
func (p *prepared) derived(modified int64) derived {
	d := derived{edges: p.edges}
	for _, v := range p.values {
		d.values = append(d.values, classed[string]{v: v})
	}
	if modified != 0 {
		d.times = []classed[int64]{{v: modified}}
	}
	return d
}

// derive computes the entries of a stored record. With several
// contributions, each entry gets the class of those that imply it.
func (tx *Tx) derive(r *record) (derived, error) {
	if r.stub() || len(r.contribs) == 0 {
		return derived{}, nil
	}
	if len(r.contribs) == 1 {
		o, err := schema.ParseObject(r.raw)
		if err != nil {
			return derived{}, fmt.Errorf("decode stored %s: %w", r.stixID, err)
		}
		p := prepared{edges: impliedEdges(o), values: schema.IndexValues(o)}
		return p.derived(r.modified), nil
	}
	edgeBy := map[edgeSpec][]Class{}
	valueBy := map[string][]Class{}
	timeBy := map[int64][]Class{}
	var edges []edgeSpec
	var values []string
	var times []int64
	for i, c := range r.contribs {
		o, err := schema.ParseObject(r.contribRaw(i))
		if err != nil {
			return derived{}, fmt.Errorf("decode stored %s: %w", r.stixID, err)
		}
		for _, e := range impliedEdges(o) {
			if _, ok := edgeBy[e]; !ok {
				edges = append(edges, e)
			}
			edgeBy[e] = append(edgeBy[e], c.class)
		}
		for _, v := range schema.IndexValues(o) {
			if _, ok := valueBy[v]; !ok {
				values = append(values, v)
			}
			valueBy[v] = append(valueBy[v], c.class)
		}
		if c.modified != 0 {
			if _, ok := timeBy[c.modified]; !ok {
				times = append(times, c.modified)
			}
			timeBy[c.modified] = append(timeBy[c.modified], c.class)
		}
	}
	n := len(r.contribs)
	classOf := func(cs []Class) (Class, error) {
		if len(cs) >= n {
			return 0, nil
		}
		return tx.unionClass(cs)
	}
	var d derived
	for _, e := range edges {
		cls, err := classOf(edgeBy[e])
		if err != nil {
			return derived{}, err
		}
		e.cls = cls
		d.edges = append(d.edges, e)
	}
	for _, v := range values {
		cls, err := classOf(valueBy[v])
		if err != nil {
			return derived{}, err
		}
		d.values = append(d.values, classed[string]{v, cls})
	}
	if len(times) == 1 {
		d.times = []classed[int64]{{v: times[0]}}
	} else {
		// Several versions: each time entry is marked with the class of
		// the contributions of that version, so ByTime can tell which
		// is the newest a viewer sees.
		for _, t := range times {
			cls, err := tx.unionClass(timeBy[t])
			if err != nil {
				return derived{}, err
			}
			d.times = append(d.times, classed[int64]{t, cls})
		}
	}
	return d, nil
}

// unionClass is Store.unionClass for a writer; a reader (check) only looks
// the class up, and finds it missing only in a corrupt store.
func (tx *Tx) unionClass(cs []Class) (Class, error) {
	if tx.w != nil {
		return tx.s.unionClass(cs)
	}
	ps, err := tx.s.classes.union(cs)
	if err != nil {
		return 0, err
	}
	tx.s.classes.mu.Lock()
	c, ok := tx.s.classes.byKey[string(encodeSet(normalizeSet(ps)))]
	tx.s.classes.mu.Unlock()
	if !ok {
		return 0, fmt.Errorf("no access class for the union of classes %v: %w", cs, ErrCorrupt)
	}
	return c, nil
}

// rewrite stores rec as node id, whose stored state was old with entries
// oldD, and brings the type, time, value and edge indexes from oldD to
// newD.
func (tx *Tx) rewrite(id ID, old, rec *record, oldD, newD derived) error {
	if err := tx.setRecord(id, rec); err != nil {
		return err
	}
	if rec.stub() {
		if !old.stub() {
			if err := tx.del(typeKey(old.typ, id)); err != nil {
				return fmt.Errorf("unindex type: %w", err)
			}
			tx.w.classes[id] = 0
		}
	} else if old.stub() || rec.class != old.class {
		if err := tx.set(typeKey(rec.typ, id), binary.BigEndian.AppendUint32(nil, uint32(rec.class))); err != nil {
			return fmt.Errorf("index type: %w", err)
		}
		tx.w.classes[id] = rec.class
	}
	if err := replaceEntries(tx, oldD.times, newD.times, func(t int64) []byte { return timeKey(t, id) }); err != nil {
		return fmt.Errorf("index time: %w", err)
	}
	if err := replaceEntries(tx, oldD.values, newD.values, func(v string) []byte { return valueKey(v, id) }); err != nil {
		return fmt.Errorf("index values: %w", err)
	}
	if err := tx.replaceEdges(id, oldD.edges, newD.edges); err != nil {
		return fmt.Errorf("store edges: %w", err)
	}
	tx.touch(id)
	return nil
}

// classValue is the stored value of an index entry of class cls: empty
// for 0, which follows the node.
func classValue(cls Class) []byte {
	if cls == 0 {
		return nil
	}
	return binary.BigEndian.AppendUint32(nil, uint32(cls))
}

// decodeClassValue is the inverse of classValue.
func decodeClassValue(v []byte) (Class, error) {
	switch len(v) {
	case 0:
		return 0, nil
	case 4:
		return Class(binary.BigEndian.Uint32(v)), nil
	}
	return 0, fmt.Errorf("class value %x: %w", v, ErrCorrupt)
}

// replaceEntries replaces the index entries before with after: removed
// ones are deleted, new ones and ones whose class changed are written.
func replaceEntries[T comparable](tx *Tx, before, after []classed[T], key func(T) []byte) error {
	want := make(map[T]Class, len(after))
	for _, e := range after {
		want[e.v] = e.cls
	}
	had := make(map[T]Class, len(before))
	for _, e := range before {
		had[e.v] = e.cls
		if _, ok := want[e.v]; !ok {
			if err := tx.del(key(e.v)); err != nil {
				return err
			}
		}
	}
	for _, e := range after {
		if cls, ok := had[e.v]; ok && cls == e.cls {
			continue
		}
		had[e.v] = e.cls // duplicates count once
		if err := tx.set(key(e.v), classValue(e.cls)); err != nil {
			return err
		}
	}
	return nil
}

// replaceEdges removes the edges of before that are not in after, adds
// those of after that are not in before, and rewrites those whose class
// changed.
func (tx *Tx) replaceEdges(self ID, before, after []edgeSpec) error {
	key := func(e edgeSpec) edgeSpec { e.cls = 0; return e }
	inAfter := make(map[edgeSpec]bool, len(after))
	for _, e := range after {
		inAfter[key(e)] = true
	}
	inBefore := make(map[edgeSpec]Class, len(before))
	for _, e := range before {
		inBefore[key(e)] = e.cls
		if !inAfter[key(e)] {
			if err := tx.edge(self, e, edgeRemove); err != nil {
				return err
			}
		}
	}
	for _, e := range after {
		cls, ok := inBefore[key(e)]
		switch {
		case !ok:
			if err := tx.edge(self, e, edgeAdd); err != nil {
				return err
			}
		case cls != e.cls:
			if err := tx.edge(self, e, edgeReclass); err != nil {
				return err
			}
		default:
			continue
		}
		inBefore[key(e)] = e.cls // duplicates within one object count once
	}
	return nil
}

// Edge changes.
const (
	edgeAdd = iota
	edgeRemove
	edgeReclass
)

// edge adds, removes or changes the class of both directions of one edge,
// and counts its degree deltas.
func (tx *Tx) edge(self ID, e edgeSpec, change int) error {
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
	switch change {
	case edgeAdd, edgeReclass:
		v := classValue(e.cls)
		err = errors.Join(tx.set(out, v), tx.set(in, v))
		if change == edgeReclass {
			return err
		}
	case edgeRemove:
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

// Delete removes an object, every contribution of it: its record becomes a
// stub (so references to it stay valid and resolve again if it returns),
// its indexes and the edges it implies go. It returns ErrNotFound when no
// such object is stored.
func (tx *Tx) Delete(stixID string) error {
	if tx.w == nil {
		return ErrReadOnly
	}
	id, old, err := tx.stored(stixID)
	if err != nil {
		return fmt.Errorf("delete %s: %w", stixID, err)
	}
	oldD, err := tx.derive(&old)
	if err != nil {
		return err
	}
	stub := record{flags: flagStub, typ: old.typ, stixID: old.stixID}
	if err := tx.rewrite(id, &old, &stub, oldD, derived{}); err != nil {
		return fmt.Errorf("delete %s: %w", stixID, err)
	}
	tx.w.counts[old.typ]--
	return nil
}

// stored returns the id and record of a stored (not stub) object,
// regardless of visibility.
func (tx *Tx) stored(stixID string) (ID, record, error) {
	id, ok, err := tx.lookupID(stixID)
	if err != nil {
		return 0, record{}, err
	}
	if !ok {
		return 0, record{}, ErrNotFound
	}
	r, err := tx.getRecord(id)
	if err != nil {
		return 0, record{}, err
	}
	if r.stub() {
		return 0, record{}, ErrNotFound
	}
	return id, r, nil
}

// SetPolicy replaces the policy of the contributions of an object that
// owner contributed (its TLP, sharing list, named users or
// discoverability), keeping their content and provenance. It returns
// ErrNotFound when the object is not stored or not visible to the
// transaction's viewer, and ErrForbidden when owner contributed none of it.
// The policy's owner is set to owner: ownership is not transferable.
func (tx *Tx) SetPolicy(stixID, owner string, p Policy) error {
	if tx.w == nil {
		return ErrReadOnly
	}
	id, old, err := tx.stored(stixID)
	if err == nil && !tx.visible(id) {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("set policy of %s: %w", stixID, err)
	}
	p.Owner = owner
	cls, err := tx.s.classFor(p)
	if err != nil {
		return err
	}
	rec := old
	rec.contribs = slices.Clone(old.contribs)
	found := false
	for i := range rec.contribs {
		if cp, _ := tx.s.classes.policy(rec.contribs[i].class); cp.Owner == owner {
			rec.contribs[i].class = cls
			found = true
		}
	}
	if !found {
		return fmt.Errorf("set policy of %s: %s contributed none of it: %w", stixID, owner, ErrForbidden)
	}
	return tx.restate(id, &old, &rec, nil)
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
