package graph

import "testing"

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
