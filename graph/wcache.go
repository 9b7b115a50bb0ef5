package graph

import "sync"

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
