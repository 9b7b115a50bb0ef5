package graph

import "testing"

// TestMayHold checks the quick test stripProps makes before it decodes an
// object: it must find every protected name that is a property, and may
// only err towards decoding.
func TestMayHold(t *testing.T) {
	ps := newPropSet([]string{"x_source", "description"})
	for raw, want := range map[string]bool{
		`{"type":"indicator","x_source":"agent"}`:             true,
		`{"type":"indicator","name":"x_source"}`:              true, // a value: decoded, then nothing stripped
		`{"type":"indicator","descriptions":"a"}`:             false,
		`{"type":"indicator","name":"say \"x_source\" here"}`: false,
		`{"a":"\\","description":"d"}`:                        true,
		`{"type":"indicator"}`:                                false,
		`{"type":"indicator","x_sour`:                         false,
		``:                                                    false,
	} {
		if got := ps.mayHold([]byte(raw)); got != want {
			t.Errorf("mayHold(%s) = %v, want %v", raw, got, want)
		}
	}
	if newPropSet(nil).mayHold([]byte(`{"x_source":1}`)) {
		t.Error("an empty set holds something")
	}
}
