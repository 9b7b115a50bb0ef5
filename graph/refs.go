package graph

import (
	"fmt"
	"sync"
	"unsafe"
)

// Ref names a node: its ids and its type, without its properties. It is
// what an answer needs to name an object whose properties it does not
// show, such as the members of a neighbourhood listed by id.
type Ref struct {
	// ID is the internal id.
	ID ID
	// StixID is the STIX identifier.
	StixID string
	// Type is the STIX type.
	Type string
}

// Ref returns the ids and type of node id, like Node but without reading
// its record when the store has named the node before, and never decoding
// its properties. Visibility is checked on every call, as in Node.
func (tx *Tx) Ref(id ID) (Ref, error) {
	if !tx.visible(id) {
		return Ref{}, fmt.Errorf("node %d: %w", id, ErrNotFound)
	}
	if tx.w == nil {
		if stixID, typ, ok := tx.s.refs.get(id); ok {
			return Ref{ID: id, StixID: stixID, Type: tx.s.syms.name(typ)}, nil
		}
	}
	r, err := tx.getRecord(id)
	if err != nil {
		return Ref{}, err
	}
	if r.stub() {
		return Ref{}, fmt.Errorf("node %d: %w", id, ErrNotFound)
	}
	ref := Ref{ID: id, StixID: r.stixID, Type: tx.s.syms.name(r.typ)}
	if tx.w == nil {
		tx.s.refs.put(id, r.stixID, r.typ)
	}
	return ref, nil
}

// refCache remembers the Ref of nodes that readers named, so that naming
// them again needs no Badger read. A node's STIX id and type never change
// once it is more than a stub (a stub may still be adopted under another
// STIX id, so stubs are never cached), and ids are never reused, so an
// entry never goes stale: whether the node still exists and who may see it
// is not cached here but checked by every read against the class cache,
// which deletions and policy changes update. Only read-only transactions
// fill it, from committed records.
//
// It is split into shards, each a young and an old generation, so that
// concurrent readers seldom wait on one lock and the nodes in use stay
// while the rest are dropped: when the young generation is full it becomes
// the old one, and a hit in the old one moves the entry to the young.
//
// The cache holds no pointers the garbage collector must follow. A
// generation keeps its STIX ids in one byte arena and its map holds
// offsets and the type's symbol, so the map's memory is not scanned and
// the ids are not objects of their own. Under API load this cache was
// about half of the live objects (some 120,000 id strings) and most of
// the heap each collection had to scan; a collection's mark phase is what
// delays requests on a busy two-core machine.
type refCache struct {
	shards [refShards]refShard
}

const (
	refShards     = 16
	refShardLimit = 1 << 14 // entries per generation of a shard
)

type refShard struct {
	mu         sync.Mutex
	young, old refGen
}

// refGen is one generation of a shard: entries and the arena their STIX
// ids live in. Bytes in an arena are never changed once written, so the
// strings handed out over them stay valid however the arena grows, and
// keep the bytes they point into alive after the generation is dropped.
type refGen struct {
	m     map[ID]refEntry
	arena []byte
}

// refEntry is a cached Ref without the id it is filed under: where its
// STIX id lies in the generation's arena, and its type symbol.
type refEntry struct {
	off uint32
	n   uint32
	typ sym
}

func (c *refCache) shard(id ID) *refShard { return &c.shards[uint64(id)%refShards] }

// get returns the STIX id and type symbol cached for id.
func (c *refCache) get(id ID) (stixID string, typ sym, ok bool) {
	sh := c.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.young.m[id]; ok {
		return sh.young.str(e), e.typ, true
	}
	e, ok := sh.old.m[id]
	if !ok {
		return "", 0, false
	}
	stixID = sh.old.str(e)
	sh.put(id, stixID, e.typ)
	return stixID, e.typ, true
}

// put caches the STIX id and type symbol of node id.
func (c *refCache) put(id ID, stixID string, typ sym) {
	if len(stixID) == 0 || len(stixID) > refMaxID {
		return
	}
	sh := c.shard(id)
	sh.mu.Lock()
	sh.put(id, stixID, typ)
	sh.mu.Unlock()
}

// refMaxID bounds the STIX ids the cache keeps; a STIX id is a type name
// of at most 250 characters and a UUID.
const refMaxID = 300

func (sh *refShard) put(id ID, stixID string, typ sym) {
	if _, ok := sh.young.m[id]; ok {
		return
	}
	if sh.young.m == nil || len(sh.young.m) >= refShardLimit {
		sh.old = sh.young
		sh.young = refGen{m: make(map[ID]refEntry, refShardLimit/4)}
	}
	sh.young.m[id] = refEntry{off: uint32(len(sh.young.arena)), n: uint32(len(stixID)), typ: typ}
	sh.young.arena = append(sh.young.arena, stixID...)
}

// str returns the STIX id of e, over the arena's bytes.
func (g *refGen) str(e refEntry) string {
	return unsafe.String(&g.arena[e.off], int(e.n))
}
