package graph

import (
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// writerCache remembers, for the single writer, what it recently read or
// wrote: STIX id → node id and the current value of degree counters. Hub
// nodes (a popular IP, the MITRE identity) are touched by almost every
// chunk of a bulk load, and each of these lookups would otherwise be a
// Badger read. Entries come only from committed data: a transaction stages
// what it writes (writeState) and the cache takes it after the commit, so
// a failed commit leaves the cache right. The cache only saves reads, it is
// never the truth.
//
// Each map has two generations: entries go into the young one, and when it
// reaches the limit it becomes the old one, replacing the previous old one.
// A lookup that finds an entry only in the old generation moves it to the
// young one, so entries still in use survive a turn while the rest are
// dropped, and the cache holds at most twice the limit. (Dropping a whole
// map when it was full, as before, made every hub a Badger read again
// several times per million objects.)
type writerCache struct {
	mu       sync.Mutex
	xids     generations[string, ID]
	counters generations[degreeDelta, int64]
	// ids is the filter of stored STIX ids, nil until a bulk load built
	// it; reset keeps it, since it may only hold too much.
	ids *idFilter
}

// generations is a map with a young and an old generation of at most limit
// entries each.
type generations[K comparable, V any] struct {
	young, old map[K]V
	limit      int
}

func newGenerations[K comparable, V any](limit int) generations[K, V] {
	return generations[K, V]{young: map[K]V{}, limit: limit}
}

func (g *generations[K, V]) get(k K) (V, bool) {
	if v, ok := g.young[k]; ok {
		return v, true
	}
	v, ok := g.old[k]
	if ok {
		g.put(k, v)
	}
	return v, ok
}

func (g *generations[K, V]) put(k K, v V) {
	if _, ok := g.young[k]; !ok && len(g.young) >= g.limit {
		g.old, g.young = g.young, make(map[K]V, g.limit/4)
	}
	g.young[k] = v
}

func (g *generations[K, V]) reset() {
	g.young, g.old = map[K]V{}, nil
}

const writerCacheLimit = 1 << 18

func newWriterCache() *writerCache {
	return &writerCache{
		xids:     newGenerations[string, ID](writerCacheLimit),
		counters: newGenerations[degreeDelta, int64](writerCacheLimit),
	}
}

func (c *writerCache) xid(stixID string) (ID, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.xids.get(stixID)
}

func (c *writerCache) putXID(stixID string, id ID) {
	c.mu.Lock()
	c.xids.put(stixID, id)
	c.mu.Unlock()
}

func (c *writerCache) counter(d degreeDelta) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counters.get(d)
}

// publish takes what a committed transaction wrote.
func (c *writerCache) publish(w *writeState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range w.xids {
		c.xids.put(k, v)
	}
	for k, v := range w.counterVals {
		c.counters.put(k, v)
	}
}

// reset forgets everything, after a commit whose outcome is unknown.
func (c *writerCache) reset() {
	c.mu.Lock()
	c.xids.reset()
	c.counters.reset()
	c.mu.Unlock()
}

// idFilter is a Bloom filter of the STIX ids (and aliases) the store holds,
// kept for the writer so that an id seen for the first time, the common case
// in a bulk load, costs no Badger read: a miss in Badger searches every
// memtable's skiplist and the bloom filters of the tables before it gives
// up. It answers "maybe stored" or "certainly not stored"; a false "maybe"
// costs only the read it would have cost anyway.
//
// The filter is built the first time a bulk load needs it, from a key-only
// scan of the STIX id index plus what the writers staged and did not commit
// yet, and from then on every id a writer indexes is added when it is staged
// (setXID). Ids are never removed from the index, and an id added for a
// commit that then failed only makes the filter answer "maybe", so the
// filter never says "not stored" of a stored id. It grows by adding a filter
// twice as large when the newest one is full, so that the false-positive
// rate stays near one percent as the store grows.
type idFilter struct {
	seed  maphash.Seed
	parts []bloom
}

// bloom is one fixed-size Bloom filter of up to capacity keys.
type bloom struct {
	bits     []uint64
	n        int // keys added
	capacity int
}

const (
	// filterBitsPerKey and filterProbes give about 1% false positives.
	filterBitsPerKey = 10
	filterProbes     = 7
	// filterMinKeys is the capacity of the first filter.
	filterMinKeys = 1 << 16
)

func newBloom(capacity int) bloom {
	words := (capacity*filterBitsPerKey + 63) / 64
	return bloom{bits: make([]uint64, words), capacity: capacity}
}

// probe calls fn with each bit position of hash h in a filter of m bits,
// by double hashing.
func probe(h uint64, m uint64, fn func(bit uint64) bool) bool {
	h1, h2 := h, h>>32|h<<32|1
	for i := range uint64(filterProbes) {
		if !fn((h1 + i*h2) % m) {
			return false
		}
	}
	return true
}

func (b *bloom) add(h uint64) {
	m := uint64(len(b.bits)) * 64
	probe(h, m, func(bit uint64) bool {
		b.bits[bit/64] |= 1 << (bit % 64)
		return true
	})
	b.n++
}

func (b *bloom) mayContain(h uint64) bool {
	m := uint64(len(b.bits)) * 64
	return probe(h, m, func(bit uint64) bool { return b.bits[bit/64]&(1<<(bit%64)) != 0 })
}

func newIDFilter(capacity int) *idFilter {
	return &idFilter{seed: maphash.MakeSeed(), parts: []bloom{newBloom(capacity)}}
}

func (f *idFilter) add(stixID string) { f.addHash(maphash.String(f.seed, stixID)) }

func (f *idFilter) addHash(h uint64) {
	last := &f.parts[len(f.parts)-1]
	if last.n >= last.capacity {
		f.parts = append(f.parts, newBloom(2*last.capacity))
		last = &f.parts[len(f.parts)-1]
	}
	last.add(h)
}

func (f *idFilter) mayContain(stixID string) bool {
	h := maphash.String(f.seed, stixID)
	for i := range f.parts {
		if f.parts[i].mayContain(h) {
			return true
		}
	}
	return false
}

// absent reports whether stixID is certainly not in the STIX id index. It
// is false while no filter has been built.
func (c *writerCache) absent(stixID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ids != nil && !c.ids.mayContain(stixID)
}

// stageXID records that a writer staged stixID in the STIX id index.
func (c *writerCache) stageXID(stixID string) {
	c.mu.Lock()
	if c.ids != nil {
		c.ids.add(stixID)
	}
	c.mu.Unlock()
}

// ensureFilter builds the id filter, unless it exists, from the STIX id
// index in tx's snapshot and the ids tx and the chunk beneath it staged.
// The caller holds s.wmu, so no other writer stages ids meanwhile.
func (c *writerCache) ensureFilter(tx *Tx) error {
	c.mu.Lock()
	built := c.ids != nil
	c.mu.Unlock()
	if built {
		return nil
	}
	f := newIDFilter(filterMinKeys)
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagXID}})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) < 2 {
			return fmt.Errorf("build id filter: xid key %x: %w", k, errBadKey)
		}
		f.addHash(maphash.Bytes(f.seed, k[1:]))
	}
	for _, w := range []*writeState{tx.w, tx.under} {
		if w != nil {
			for id := range w.xids {
				f.add(id)
			}
		}
	}
	c.mu.Lock()
	c.ids = f
	c.mu.Unlock()
	return nil
}
