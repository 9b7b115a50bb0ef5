package graph

import "sync"

// writerCache remembers, for the single writer, what it recently read or
// wrote: STIX id → node id and the current value of degree counters. Hub
// nodes (a popular IP, the MITRE identity) are touched by almost every
// chunk of a bulk load, and each of these lookups would otherwise be a
// Badger read. Entries come only from committed data: a transaction stages
// what it writes (writeState) and the cache takes it after the commit, so
// a failed commit leaves the cache right. When a map outgrows its limit it
// is dropped whole; the cache only saves reads, it is never the truth.
type writerCache struct {
	mu       sync.Mutex
	xids     map[string]ID
	counters map[degreeDelta]int64
	limit    int
}

const writerCacheLimit = 1 << 18

func newWriterCache() *writerCache {
	return &writerCache{xids: map[string]ID{}, counters: map[degreeDelta]int64{}, limit: writerCacheLimit}
}

func (c *writerCache) xid(stixID string) (ID, bool) {
	c.mu.Lock()
	id, ok := c.xids[stixID]
	c.mu.Unlock()
	return id, ok
}

func (c *writerCache) putXID(stixID string, id ID) {
	c.mu.Lock()
	if len(c.xids) >= c.limit {
		c.xids = map[string]ID{}
	}
	c.xids[stixID] = id
	c.mu.Unlock()
}

func (c *writerCache) counter(d degreeDelta) (int64, bool) {
	c.mu.Lock()
	n, ok := c.counters[d]
	c.mu.Unlock()
	return n, ok
}

// publish takes what a committed transaction wrote.
func (c *writerCache) publish(w *writeState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.xids)+len(w.xids) > c.limit {
		c.xids = map[string]ID{}
	}
	for k, v := range w.xids {
		c.xids[k] = v
	}
	if len(c.counters)+len(w.counterVals) > c.limit {
		c.counters = map[degreeDelta]int64{}
	}
	for k, v := range w.counterVals {
		c.counters[k] = v
	}
}

// reset forgets everything, after a commit whose outcome is unknown.
func (c *writerCache) reset() {
	c.mu.Lock()
	c.xids = map[string]ID{}
	c.counters = map[degreeDelta]int64{}
	c.mu.Unlock()
}
