package graph

import (
	"fmt"
	"runtime"
	"testing"
)

// TestRefCacheGenerations checks the ref cache's generations: an entry is
// found while its generation is young or old, a hit in the old one moves it
// to the young one, the next turn drops the rest of the old one, and an id
// handed out earlier keeps its text whatever the arenas do afterwards.
func TestRefCacheGenerations(t *testing.T) {
	var c refCache
	stix := func(i int) string { return fmt.Sprintf("indicator--%08x-0000-4000-8000-000000000000", i) }
	// Ids i*refShards all fall into shard 0.
	id := func(i int) ID { return ID(i * refShards) }
	c.put(id(0), stix(0), 7)
	first, _, _ := c.get(id(0))
	c.put(id(1), stix(1), 7)
	for i := 2; i < refShardLimit+1; i++ { // fills the young generation, then turns it old
		c.put(id(i), stix(i), 7)
	}
	if s, typ, ok := c.get(id(1)); !ok || s != stix(1) || typ != 7 {
		t.Fatalf("entry of the old generation: %q, %d, %v", s, typ, ok)
	}
	// Fill the young generation (which holds id(1) again) until it turns.
	for i := refShardLimit + 1; len(c.shards[0].young.m) > 1 || i == refShardLimit+1; i++ {
		c.put(id(i), stix(i), 7)
	}
	if s, _, ok := c.get(id(1)); !ok || s != stix(1) {
		t.Errorf("entry hit in the old generation lost at the next turn: %q, %v", s, ok)
	}
	if s, _, ok := c.get(id(2)); ok {
		t.Errorf("entry of a dropped generation still cached: %q", s)
	}
	for i := 2 * refShardLimit; i < 3*refShardLimit; i++ {
		c.put(id(i), stix(i), 7)
	}
	runtime.GC()
	if first != stix(0) {
		t.Errorf("an id handed out changed to %q", first)
	}
	if s, _, ok := c.get(id(3*refShardLimit - 1)); !ok || s != stix(3*refShardLimit-1) {
		t.Errorf("newest entry: %q, %v", s, ok)
	}
	c.put(id(-1+1<<20), string(make([]byte, refMaxID+1)), 7)
	if _, _, ok := c.get(id(-1 + 1<<20)); ok {
		t.Error("an over-long id was cached")
	}
}
