package schema

import (
	"encoding/json"
	"os"
	"testing"
)

func TestProbeVectors(t *testing.T) {
	b, _ := os.ReadFile("testdata/sco-id-vectors.json")
	var vs []struct {
		Source string
		Object json.RawMessage
	}
	json.Unmarshal(b, &vs)
	n := 0
	for _, v := range vs {
		o, err := ParseObject(v.Object)
		if err != nil {
			t.Fatal(err)
		}
		id, err := SCOID(o)
		if id == o.ID {
			n++
		} else {
			ti, _ := Lookup(o.Type)
			name, _ := idName(o, ti)
			t.Logf("MISMATCH %s: %s want %s (%v) name=%s", v.Source, id, o.ID, err, name)
		}
	}
	t.Logf("%d/%d", n, len(vs))
}
