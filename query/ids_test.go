package query

import (
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
)

// TestIDCodec checks that API ids turn back into the internal ids they
// came from, that consecutive internal ids give unrelated API ids (so
// their difference tells nothing of how many objects lie between), and that
// each store keys its own mapping.
func TestIDCodec(t *testing.T) {
	a, err := newIDCodec(graphtest.Open(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := newIDCodec(graphtest.Open(t))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	same, prefix := 0, 0
	for id := graph.ID(1); id <= 10_000; id++ {
		s := a.encode(id)
		if len(s) != 16 || seen[s] {
			t.Fatalf("encode(%d) = %q: not 16 hex digits, or repeated", id, s)
		}
		seen[s] = true
		if back, ok := a.decode(s); !ok || back != id {
			t.Fatalf("decode(encode(%d)) = %d, %v", id, back, ok)
		}
		if b.encode(id) == s {
			same++
		}
		if next := a.encode(id + 1); next[:4] == s[:4] {
			prefix++
		}
	}
	if same > 0 {
		t.Errorf("two stores gave %d internal ids the same API id", same)
	}
	// Four hex digits agree by chance once in 65,536 pairs.
	if prefix > 5 {
		t.Errorf("%d of 10,000 consecutive ids share their first 4 hex digits: the ids leak their order", prefix)
	}
	for _, bad := range []string{"", "12", "zzzzzzzzzzzzzzzz", "0123456789abcdef0"} {
		if _, ok := a.decode(bad); ok {
			t.Errorf("decode(%q) accepted", bad)
		}
	}
}
