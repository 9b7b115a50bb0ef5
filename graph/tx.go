package graph

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Tx is a transaction bound to one viewer. Every read through it returns
// only what the viewer may see; a hidden node is indistinguishable from a
// missing one. A Tx is valid only inside the closure it was passed to and
// must not be used from several goroutines.
type Tx struct {
	s   *Store
	txn *badger.Txn
	vis visibility
	w   *writeState // nil in read-only transactions
	// under is the staged state of a bulk chunk whose commit has not
	// completed when this transaction was begun (see Bulk): its writes are
	// not in this transaction's Badger snapshot, so the writer reads them
	// from here. Nil otherwise.
	under *writeState

	stopped bool // set by scanEdges when its callback asked to stop
}

// View runs fn in a read-only snapshot as viewer v.
func (s *Store) View(v Viewer, fn func(tx *Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.view(v, fn)
}

// view is View without the closed check, for the indexer's final drain.
func (s *Store) view(v Viewer, fn func(tx *Tx) error) error {
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	return fn(s.newTx(txn, v))
}

func (s *Store) newTx(txn *badger.Txn, v Viewer) *Tx {
	return &Tx{s: s, txn: txn, vis: visibility{v: v, t: s.classes}}
}

// Viewer returns the transaction's viewer.
func (tx *Tx) Viewer() Viewer { return tx.vis.v }

// visible reports whether the viewer may see node id.
func (tx *Tx) visible(id ID) bool { return tx.vis.class(tx.s.cache.get(id)) }

// edgeVisible reports whether the viewer may see an edge: the edge itself
// (its relationship object, or for an embedded reference its source) and
// both ends.
func (tx *Tx) edgeVisible(from, to, via ID) bool {
	return tx.visible(from) && tx.visible(to) && (via == 0 || tx.visible(via))
}

// Visible reports whether the viewer may see node id.
func (tx *Tx) Visible(id ID) bool { return tx.visible(id) }

// stagedRecord returns the encoded record of id that the writer staged and
// its Badger snapshot does not hold yet: its own, or that of the chunk still
// committing beneath it. A nil record with ok set means deleted.
func (tx *Tx) stagedRecord(id ID) (b []byte, ok bool) {
	if tx.w == nil {
		return nil, false
	}
	if b, ok = tx.w.recs[id]; ok {
		return b, true
	}
	if tx.under != nil {
		b, ok = tx.under.recs[id]
	}
	return b, ok
}

// getRecord reads the record of id regardless of visibility. The record's
// raw JSON is a copy the caller owns.
func (tx *Tx) getRecord(id ID) (record, error) {
	if b, ok := tx.stagedRecord(id); ok {
		// The writer reads records it staged without a Badger read.
		if b == nil {
			return record{}, ErrNotFound
		}
		r, err := decodeRecord(slices.Clone(b))
		if err != nil {
			return record{}, fmt.Errorf("node %d: %w", id, err)
		}
		return r, nil
	}
	item, err := tx.txn.Get(nodeKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return record{}, ErrNotFound
	}
	if err != nil {
		return record{}, fmt.Errorf("read node %d: %w", id, err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return record{}, fmt.Errorf("read node %d: %w", id, err)
	}
	r, err := decodeRecord(v)
	if err != nil {
		return record{}, fmt.Errorf("node %d: %w", id, err)
	}
	return r, nil
}

// Node returns node id.
func (tx *Tx) Node(id ID) (*Node, error) {
	if !tx.visible(id) {
		return nil, fmt.Errorf("node %d: %w", id, ErrNotFound)
	}
	r, err := tx.getRecord(id)
	if err != nil {
		return nil, err
	}
	if r.stub() {
		return nil, fmt.Errorf("node %d: %w", id, ErrNotFound)
	}
	n, ok, err := tx.nodeView(id, &r)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("node %d: %w", id, ErrNotFound)
	}
	return n, nil
}

// lookupID resolves a STIX id (or alias) to an internal id, regardless of
// visibility; ok is false when the id was never seen.
func (tx *Tx) lookupID(stixID string) (ID, bool, error) {
	if tx.w != nil {
		// The writer checks what it staged, then its cache; whatever it
		// then finds in Badger is committed (its own writes are staged).
		if id, ok := tx.w.xids[stixID]; ok {
			return id, true, nil
		}
		if tx.under != nil {
			if id, ok := tx.under.xids[stixID]; ok {
				return id, true, nil
			}
		}
		if id, ok := tx.s.wcache.xid(stixID); ok {
			return id, true, nil
		}
		if tx.s.wcache.absent(stixID) {
			return 0, false, nil
		}
		id, ok, err := readXID(tx.txn, stixID)
		if ok {
			tx.s.wcache.putXID(stixID, id)
		}
		return id, ok, err
	}
	return readXID(tx.txn, stixID)
}

// readXID reads the STIX id index in txn; it needs no viewer.
func readXID(txn *badger.Txn, stixID string) (ID, bool, error) {
	item, err := txn.Get(xidKey(stixID))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("look up %s: %w", stixID, err)
	}
	var id ID
	err = item.Value(func(v []byte) error {
		if len(v) != idLen {
			return fmt.Errorf("id of %s: %w", stixID, ErrCorrupt)
		}
		id = getID(v)
		return nil
	})
	return id, err == nil, err
}

// Lookup returns the internal id of a visible node by STIX id.
func (tx *Tx) Lookup(stixID string) (ID, error) {
	id, ok, err := tx.lookupID(stixID)
	if err != nil {
		return 0, err
	}
	if !ok || !tx.visible(id) {
		return 0, fmt.Errorf("%s: %w", stixID, ErrNotFound)
	}
	return id, nil
}

// NodeByStixID returns the visible node with the given STIX id or alias.
func (tx *Tx) NodeByStixID(stixID string) (*Node, error) {
	id, err := tx.Lookup(stixID)
	if err != nil {
		return nil, err
	}
	return tx.Node(id)
}

// ByValue returns the visible nodes indexed under a canonical value (an IP,
// a domain, any hash of a file, …), in id order. A value only some of a
// node's contributions hold finds it only through those.
func (tx *Tx) ByValue(value string) ([]ID, error) {
	var ids []ID
	err := tx.scanValue(value, func(id ID, cls Class) {
		if tx.visible(id) && (cls == 0 || tx.vis.class(cls)) {
			ids = append(ids, id)
		}
	})
	return ids, err
}

// scanValue calls fn with every node indexed under value, visible or not,
// and the class of its entry.
func (tx *Tx) scanValue(value string, fn func(ID, Class)) error {
	prefix := valuePrefix(value)
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) != len(prefix)+idLen {
			continue
		}
		cls, err := entryClass(it.Item())
		if err != nil {
			return fmt.Errorf("value index of %q: %w", value, err)
		}
		fn(getID(k[len(prefix):]), cls)
	}
	return nil
}

// entryClass reads the class of a time, value or edge entry without
// touching the value log: the value is empty or four bytes, stored inline.
func entryClass(item *badger.Item) (Class, error) {
	if item.ValueSize() == 0 {
		return 0, nil
	}
	var cls Class
	err := item.Value(func(v []byte) error {
		var err error
		cls, err = decodeClassValue(v)
		return err
	})
	return cls, err
}

// ByType calls fn with the visible nodes of a STIX type in id order,
// starting after id after (0 for the beginning), until fn returns false.
func (tx *Tx) ByType(typ string, after ID, fn func(ID) bool) error {
	y, ok := tx.s.syms.lookup(typ)
	if !ok {
		return nil
	}
	prefix := typePrefix(y)
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(typeKey(y, after+1)); it.Valid(); it.Next() {
		_, id, err := parseTypeKey(it.Item().Key())
		if err != nil {
			return err
		}
		if tx.visible(id) && !fn(id) {
			return nil
		}
	}
	return nil
}

// TypeCount is the number of nodes of one type.
type TypeCount struct {
	Type  string
	Count int64
}

// Types returns the number of visible nodes per type, by type name. The
// system viewer reads the maintained counters; other viewers count the type
// index, whose values hold each node's class, without reading records.
func (tx *Tx) Types() ([]TypeCount, error) {
	var out []TypeCount
	if tx.vis.v.seesAll() {
		it := tx.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: []byte{tagCount}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 1+symLen {
				return nil, fmt.Errorf("count key %x: %w", k, errBadKey)
			}
			var n int64
			if err := it.Item().Value(func(v []byte) error { n = int64(decodeU64(v)); return nil }); err != nil {
				return nil, fmt.Errorf("read type count: %w", err)
			}
			if n > 0 {
				out = append(out, TypeCount{Type: tx.s.syms.name(getSym(k[1:])), Count: n})
			}
		}
	} else {
		counts := map[sym]int64{}
		it := tx.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 1000, Prefix: []byte{tagType}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			y, id, err := parseTypeKey(it.Item().Key())
			if err != nil {
				return nil, err
			}
			if tx.visible(id) {
				counts[y]++
			}
		}
		for y, n := range counts {
			out = append(out, TypeCount{Type: tx.s.syms.name(y), Count: n})
		}
	}
	sortTypeCounts(out)
	return out, nil
}

// ByTime calls fn with the visible nodes whose modification time, as the
// viewer sees them, lies in [from, to), oldest first, until fn returns
// false. A zero to means no upper bound.
func (tx *Tx) ByTime(from, to time.Time, fn func(ID, time.Time) bool) error {
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagTime}})
	defer it.Close()
	var end []byte
	if !to.IsZero() {
		end = timeBound(to.UnixNano())
	}
	for it.Seek(timeBound(from.UnixNano())); it.Valid(); it.Next() {
		k := it.Item().Key()
		if end != nil && bytes.Compare(k, end) >= 0 {
			return nil
		}
		ns, id, err := parseTimeKey(k)
		if err != nil {
			return err
		}
		if !tx.visible(id) {
			continue
		}
		cls, err := entryClass(it.Item())
		if err != nil {
			return fmt.Errorf("time index of node %d: %w", id, err)
		}
		if cls != 0 {
			// A node with several versions: this entry counts when it is
			// the newest version the viewer sees.
			if ok, err := tx.newestVisible(id, ns); err != nil || !ok {
				if err != nil {
					return err
				}
				continue
			}
		}
		if !fn(id, fromUnixNano(ns)) {
			return nil
		}
	}
	return nil
}

// newestVisible reports whether ns is the newest modification time among
// the contributions of id that the viewer sees.
func (tx *Tx) newestVisible(id ID, ns int64) (bool, error) {
	r, err := tx.getRecord(id)
	if err != nil {
		return false, err
	}
	var newest int64
	seen := false
	for _, c := range r.contribs {
		if tx.vis.class(c.class) && (!seen || c.modified > newest) {
			newest, seen = c.modified, true
		}
	}
	return seen && newest == ns, nil
}

// Edge is one stored edge, in its own direction: From → To, of type Type
// (a relationship_type such as "uses", or an embedded reference property
// such as "created_by_ref"). Via is the relationship object the edge stands
// for, or 0 for an embedded reference of From.
type Edge struct {
	From, To, Via ID
	Type          string
}

// Other returns the end of e that is not id.
func (e Edge) Other(id ID) ID {
	if e.From == id {
		return e.To
	}
	return e.From
}

// NeighbourQuery narrows a neighbour scan.
type NeighbourQuery struct {
	// Dir is Out, In or Both (the default, when zero).
	Dir Direction
	// EdgeTypes keeps only these edge types; empty keeps all.
	EdgeTypes []string
	// Except leaves out these edge types when EdgeTypes is empty. The scan
	// seeks past their keys, so that leaving out the thousands of edges of
	// a hub costs one seek rather than a read of each.
	Except []string
	// SkipAuthored leaves out, when EdgeTypes is empty, the authorship
	// edges arriving at the node (see IsAuthorship): the edges from
	// everything the node, an identity, created. The scan seeks past them.
	// Walk applies it to every node but the start: a walk then reaches
	// the creator of an object, and an identity's own creations when it
	// starts there, but it does not go on from a creator to everything
	// else that creator wrote, which would fill a neighbourhood with
	// objects that share only their author.
	SkipAuthored bool
}

// IsAuthorship reports whether an edge type names who wrote an object:
// created_by_ref, or another embedded reference named "…_by_ref", such as
// ATT&CK's x_mitre_modified_by_ref. An organization's identity is the
// author of everything that organization wrote, so these edges make hubs
// that join objects only by their source; walks and path searches leave
// them out unless asked (NeighbourQuery.SkipAuthored).
func IsAuthorship(edgeType string) bool {
	return strings.HasSuffix(edgeType, "_by_ref")
}

// Neighbours calls fn with every visible edge at id that matches q, until fn
// returns false. It scans keys only: no record is read.
func (tx *Tx) Neighbours(id ID, q NeighbourQuery, fn func(Edge) bool) error {
	if !tx.visible(id) {
		return fmt.Errorf("node %d: %w", id, ErrNotFound)
	}
	dirs := []Direction{Out, In}
	switch q.Dir {
	case Out:
		dirs = dirs[:1]
	case In:
		dirs = dirs[1:]
	}
	var syms []sym
	for _, t := range q.EdgeTypes {
		if y, ok := tx.s.syms.lookup(t); ok {
			syms = append(syms, y)
		}
	}
	if len(q.EdgeTypes) > 0 && len(syms) == 0 {
		return nil
	}
	var except []sym
	if len(syms) == 0 {
		syms = []sym{0}
		for _, t := range q.Except {
			if y, ok := tx.s.syms.lookup(t); ok {
				except = append(except, y)
			}
		}
	}
	for _, d := range dirs {
		skip := except
		if d == In && q.SkipAuthored && len(q.EdgeTypes) == 0 {
			// authorship is clipped, so the append copies when it adds.
			skip = append(tx.s.syms.authorship(), except...)
		}
		if err := tx.scanEdges(id, d, syms, skip, fn); err != nil || tx.stopped {
			tx.stopped = false
			return err
		}
	}
	return nil
}

// scanEdges is Neighbours for one direction; it sets tx.stopped when fn
// asked to stop. It seeks past the edge types in except, which only a scan
// of every type (syms holding the one symbol 0) names.
func (tx *Tx) scanEdges(id ID, d Direction, syms, except []sym, fn func(Edge) bool) error {
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: edgePrefix(d, id, 0)})
	defer it.Close()
	// Edge keys are sorted by type, so the name of the last type looked up
	// serves the next edges, without the symbol table's lock.
	var lastSym sym
	lastName := ""
	for _, y := range syms {
		prefix := edgePrefix(d, id, y)
		it.Seek(prefix)
		for it.ValidForPrefix(prefix) {
			k := it.Item().Key()
			if len(k) != edgeLen {
				return fmt.Errorf("edge key %x: %w", k, errBadKey)
			}
			ys := getSym(k[9:])
			if slices.Contains(except, ys) {
				if ys == ^sym(0) {
					break // no type sorts after it
				}
				it.Seek(edgePrefix(d, id, ys+1))
				continue
			}
			e, ok, err := tx.edgeAt(it.Item(), id, d)
			if err != nil {
				return err
			}
			it.Next()
			if !ok {
				continue
			}
			if ys != lastSym || lastName == "" {
				lastSym, lastName = ys, tx.s.syms.name(ys)
			}
			e.Type = lastName
			if !fn(e) {
				tx.stopped = true
				return nil
			}
		}
	}
	return nil
}

// edgeAt returns the edge of the key under it, a scan of the edges at id in
// direction d, without its type; ok is false when the viewer may not see it.
func (tx *Tx) edgeAt(item *badger.Item, id ID, d Direction) (e Edge, ok bool, err error) {
	k := item.Key()
	other, via := getID(k[13:]), getID(k[21:])
	if !tx.visible(other) || (via != 0 && !tx.visible(via)) {
		return Edge{}, false, nil
	}
	if cls, err := entryClass(item); err != nil {
		return Edge{}, false, fmt.Errorf("edge of node %d: %w", id, err)
	} else if cls != 0 && !tx.vis.class(cls) {
		return Edge{}, false, nil // implied only by contributions the viewer cannot see
	}
	e = Edge{From: id, To: other, Via: via}
	if d == In {
		e.From, e.To = other, id
	}
	return e, true, nil
}

// Degree returns the number of visible edges at id in direction dir (Out,
// In or Both), of one edge type or of all when edgeType is empty. The
// system viewer reads the maintained counters; other viewers count the
// visible edges with a key-only scan, since a counter would reveal edges
// through hidden nodes.
func (tx *Tx) Degree(id ID, dir Direction, edgeType string) (int64, error) {
	if !tx.visible(id) {
		return 0, fmt.Errorf("node %d: %w", id, ErrNotFound)
	}
	if !tx.vis.v.seesAll() {
		var n int64
		q := NeighbourQuery{Dir: dir}
		if edgeType != "" {
			q.EdgeTypes = []string{edgeType}
		}
		err := tx.Neighbours(id, q, func(Edge) bool { n++; return true })
		return n, err
	}
	var y sym
	if edgeType != "" {
		var ok bool
		if y, ok = tx.s.syms.lookup(edgeType); !ok {
			return 0, nil
		}
	}
	var total int64
	for _, d := range []Direction{Out, In} {
		if dir != Both && dir != 0 && dir != d {
			continue
		}
		if y != 0 {
			n, err := tx.counter(degreeKey(id, d, y))
			if err != nil {
				return 0, err
			}
			total += n
			continue
		}
		prefix := degreePrefix(id, d)
		it := tx.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: prefix})
		for it.Rewind(); it.Valid(); it.Next() {
			if err := it.Item().Value(func(v []byte) error { total += int64(decodeU64(v)); return nil }); err != nil {
				it.Close()
				return 0, fmt.Errorf("read degree of %d: %w", id, err)
			}
		}
		it.Close()
	}
	return total, nil
}

// counter reads an 8-byte counter; a missing key counts 0.
func (tx *Tx) counter(key []byte) (int64, error) {
	item, err := tx.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read counter %x: %w", key, err)
	}
	var n int64
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("counter %x: %w", key, ErrCorrupt)
		}
		n = int64(binary.BigEndian.Uint64(v))
		return nil
	})
	return n, err
}
