package graph

import (
	"fmt"
	"testing"
)

// TestGenerationsKeepWhatIsUsed checks that an entry looked up since the
// last turn survives the next one, and that the others go.
func TestGenerationsKeepWhatIsUsed(t *testing.T) {
	g := newGenerations[int, int](4)
	for k := range 4 {
		g.put(k, k*10)
	}
	g.put(4, 40) // turn: 0..3 are old
	if v, ok := g.get(1); !ok || v != 10 {
		t.Fatalf("get(1) after a turn = %d, %v", v, ok)
	}
	for k := 5; k < 8; k++ {
		g.put(k, k*10) // turn at 7: 4, 1, 5, 6 are old, 0, 2, 3 gone
	}
	if v, ok := g.get(1); !ok || v != 10 {
		t.Errorf("get(1) after two turns = %d, %v", v, ok)
	}
	if _, ok := g.get(2); ok {
		t.Errorf("unused entry 2 survived two turns")
	}
	g.put(1, 11)
	if v, _ := g.get(1); v != 11 {
		t.Errorf("get(1) after an update = %d", v)
	}
	g.reset()
	if _, ok := g.get(1); ok {
		t.Errorf("entry survived reset")
	}
}

// TestIDFilterHasNoFalseNegatives checks that the id filter finds every id
// added, across its growth, and rejects most others.
func TestIDFilterHasNoFalseNegatives(t *testing.T) {
	f := newIDFilter(1000)
	const n = 50_000
	for i := range n {
		f.add(fmt.Sprintf("indicator--%d", i))
	}
	if len(f.parts) < 2 {
		t.Fatalf("filter did not grow: %d parts", len(f.parts))
	}
	for i := range n {
		if !f.mayContain(fmt.Sprintf("indicator--%d", i)) {
			t.Fatalf("added id %d reported absent", i)
		}
	}
	fp := 0
	for i := range n {
		if f.mayContain(fmt.Sprintf("domain-name--%d", i)) {
			fp++
		}
	}
	// Each part answers about 1% false positives; a lookup asks every part.
	if max := n * len(f.parts) * 2 / 100; fp > max {
		t.Errorf("%d false positives in %d lookups, want at most %d", fp, n, max)
	}
}
