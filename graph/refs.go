package graph

import (
	"fmt"
	"sync"
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
		if ref, ok := tx.s.refs.get(id); ok {
			return ref, nil
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
		tx.s.refs.put(ref)
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
// It is split into shards, each a young and an old generation (see
// generations), so that concurrent readers seldom wait on one lock and
// the nodes in use stay while the rest are dropped.
type refCache struct {
	shards [refShards]refShard
}

const (
	refShards     = 16
	refShardLimit = 1 << 14 // entries per generation of a shard
)

type refShard struct {
	mu sync.Mutex
	g  generations[ID, refEntry]
}

// refEntry is a cached Ref without the id it is filed under.
type refEntry struct {
	stixID, typ string
}

func (c *refCache) shard(id ID) *refShard { return &c.shards[uint64(id)%refShards] }

func (c *refCache) get(id ID) (Ref, bool) {
	sh := c.shard(id)
	sh.mu.Lock()
	var e refEntry
	ok := sh.g.young != nil
	if ok {
		e, ok = sh.g.get(id)
	}
	sh.mu.Unlock()
	return Ref{ID: id, StixID: e.stixID, Type: e.typ}, ok
}

func (c *refCache) put(ref Ref) {
	sh := c.shard(ref.ID)
	sh.mu.Lock()
	if sh.g.young == nil {
		sh.g = newGenerations[ID, refEntry](refShardLimit)
	}
	sh.g.put(ref.ID, refEntry{stixID: ref.StixID, typ: ref.Type})
	sh.mu.Unlock()
}
