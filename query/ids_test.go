package query

import (
	"crypto/aes"
	"encoding/binary"
	"fmt"
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

// TestIDCodecUnchanged checks encode against the Feistel network written
// out plainly, so that a change of how it is computed changes no API id
// that clients may hold.
func TestIDCodecUnchanged(t *testing.T) {
	c, err := newIDCodec(graphtest.Open(t))
	if err != nil {
		t.Fatal(err)
	}
	round := func(i int, half uint32) uint32 {
		var in, out [aes.BlockSize]byte
		in[0] = byte(i)
		binary.BigEndian.PutUint32(in[1:], half)
		c.block.Encrypt(out[:], in[:])
		return binary.BigEndian.Uint32(out[:])
	}
	for _, id := range []graph.ID{1, 2, 1000, 1 << 40, 1<<63 - 1} {
		l, r := uint32(uint64(id)>>32), uint32(id)
		for i := range idRounds {
			l, r = r, l^round(i, r)
		}
		want := fmt.Sprintf("%08x%08x", l, r)
		if got := c.encode(id); got != want {
			t.Errorf("encode(%d) = %s, want %s", id, got, want)
		}
	}
}
