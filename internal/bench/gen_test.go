package bench

import (
	"bytes"
	"crypto/sha256"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/verband-cti/verband/schema"
)

func generate(t *testing.T, cfg Config, fn func(Item)) *Generator {
	t.Helper()
	g := NewGenerator(cfg)
	for {
		it, err := g.Next()
		if err == io.EOF {
			return g
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(it)
	}
}

func digest(t *testing.T, cfg Config) [32]byte {
	t.Helper()
	h := sha256.New()
	n, err := NewGenerator(cfg).WriteNDJSON(h)
	if err != nil {
		t.Fatal(err)
	}
	if n != cfg.Objects {
		t.Fatalf("wrote %d objects, want %d", n, cfg.Objects)
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

func TestGeneratorDeterministic(t *testing.T) {
	a := digest(t, Config{Objects: 5000, Seed: 42})
	if b := digest(t, Config{Objects: 5000, Seed: 42}); a != b {
		t.Error("same seed gave different output")
	}
	if c := digest(t, Config{Objects: 5000, Seed: 43}); a == c {
		t.Error("different seeds gave the same output")
	}
	var buf bytes.Buffer
	if _, err := NewGenerator(Config{Objects: 3, Seed: 1}).WriteNDJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(buf.String(), "\n"); lines != 3 {
		t.Errorf("%d lines for 3 objects", lines)
	}
}

// TestGeneratorValid checks every object against the schema, SCO ids
// against schema.SCOID, canonical values, references to earlier objects, and
// the proportions of the mix.
func TestGeneratorValid(t *testing.T) {
	const n = 30_000
	seen := map[string]bool{}
	byKind := map[schema.Kind]int{}
	containers, forward := 0, 0
	g := generate(t, Config{Objects: n, Seed: 3}, func(it Item) {
		o := it.Object
		if err := schema.Validate(o); err != nil {
			t.Fatalf("invalid object: %v", err)
		}
		if seen[o.ID] {
			t.Fatalf("duplicate id %s", o.ID)
		}
		seen[o.ID] = true
		if it.Meta.Policy.Owner == "" || it.Meta.Provenance.Source != "bench" {
			t.Fatalf("%s: meta %+v", o.ID, it.Meta)
		}
		byKind[schema.KindOf(o.Type)]++
		if schema.KindOf(o.Type) == schema.KindSCO {
			c := o.Clone()
			changed, err := schema.Canonicalize(c)
			if err != nil || changed {
				t.Fatalf("%s is not canonical (changed %v, err %v): %s", o.ID, changed, err, mustJSON(t, o))
			}
		}
		switch o.Type {
		case "report", "incident", "grouping", schema.TypeCase:
			containers++
		}
		for _, r := range o.Refs() {
			if r.Prop != "object_marking_refs" && !seen[r.Target] {
				forward++
			}
		}
		// The raw JSON must parse back to the same object.
		back, err := schema.ParseObject(mustJSON(t, o))
		if err != nil || back.ID != o.ID || !back.Created.Equal(o.Created) || len(back.Props) != len(o.Props) {
			t.Fatalf("%s does not round-trip: %v", o.ID, err)
		}
	})
	if st := g.Stats(); st.Objects != n || len(seen) != n {
		t.Fatalf("emitted %d objects (%d distinct), want %d", st.Objects, len(seen), n)
	}
	if forward != 0 {
		t.Errorf("%d references to objects not yet emitted", forward)
	}
	share := func(k int) float64 { return float64(k) / n }
	for name, got := range map[string][2]float64{
		"SCOs":          {share(byKind[schema.KindSCO]), 0.50},
		"relationships": {share(byKind[schema.KindSRO]), 0.25},
		"containers":    {share(containers), 0.10},
	} {
		if d := got[0] - got[1]; d < -0.01 || d > 0.01 {
			t.Errorf("%s: share %.3f, want about %.2f", name, got[0], got[1])
		}
	}
}

func mustJSON(t *testing.T, o *schema.Object) []byte {
	t.Helper()
	b, err := o.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGeneratorSkew checks that container membership is skewed: most
// evidence is in one container, a few values in very many.
func TestGeneratorSkew(t *testing.T) {
	df := map[string]int{}
	generate(t, Config{Objects: 50_000, Seed: 5}, func(it Item) {
		for _, r := range it.Object.Refs() {
			if r.Prop == "object_refs" {
				df[r.Target]++
			}
		}
	})
	counts := make([]int, 0, len(df))
	one := 0
	for _, c := range df {
		counts = append(counts, c)
		if c == 1 {
			one++
		}
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	containers := 5000 // 10% of the objects
	t.Logf("members %d, in one container %.2f, top %v, 100th %d", len(counts), float64(one)/float64(len(counts)), counts[:5], counts[99])
	if f := float64(one) / float64(len(counts)); f < 0.7 {
		t.Errorf("only %.2f of members are in exactly one container", f)
	}
	if counts[0] < containers/100 {
		t.Errorf("most shared member is in %d containers, want at least %d", counts[0], containers/100)
	}
	if counts[99] < 5 {
		t.Errorf("100th most shared member is in %d containers", counts[99])
	}
}

func TestGeneratorSmall(t *testing.T) {
	for _, n := range []int{0, 1, 2, 17, 999, 1001, 2500} {
		got := 0
		generate(t, Config{Objects: n, Seed: 1}, func(it Item) {
			if err := schema.Validate(it.Object); err != nil {
				t.Fatalf("n=%d: %v", n, err)
			}
			got++
		})
		if got != n {
			t.Errorf("n=%d: emitted %d", n, got)
		}
	}
}

func TestSCOUUIDMatchesSchema(t *testing.T) {
	generate(t, Config{Objects: 3000, Seed: 9}, func(it Item) {
		if schema.KindOf(it.Object.Type) != schema.KindSCO {
			return
		}
		id, err := schema.SCOID(it.Object)
		if err != nil || id != it.Object.ID {
			t.Fatalf("%s: schema.SCOID gives %s (%v)", it.Object.ID, id, err)
		}
	})
}

// TestGeneratorPolicies checks the access mix: the query viewer sees most
// of the graph, the half viewer about half, and what the half viewer may
// not see is spread over every kind of object, not gathered in one part.
func TestGeneratorPolicies(t *testing.T) {
	const n = 30_000
	type count struct{ all, query, half int }
	byKind := map[string]*count{}
	var total count
	generate(t, Config{Objects: n, Seed: 11}, func(it Item) {
		k := startKind(it.Object.ID)
		if it.Object.Type == "relationship" {
			k = "relationship"
		}
		c := byKind[k]
		if c == nil {
			c = &count{}
			byKind[k] = c
		}
		for _, c := range []*count{c, &total} {
			c.all++
			if QueryViewer().CanSee(it.Meta.Policy) {
				c.query++
			}
			if HalfViewer().CanSee(it.Meta.Policy) {
				c.half++
			}
		}
	})
	share := func(k, of int) float64 { return float64(k) / float64(of) }
	if f := share(total.query, n); f < 0.84 || f > 0.92 {
		t.Errorf("the query viewer sees %.3f of the graph, want about 0.88", f)
	}
	if f := share(total.half, n); f < 0.46 || f > 0.54 {
		t.Errorf("the half viewer sees %.3f of the graph, want about 0.50", f)
	}
	if len(byKind) != 4 {
		t.Errorf("kinds %v, want observables, domain objects, containers and relationships", byKind)
	}
	for k, c := range byKind {
		if f := share(c.half, c.all); f < 0.4 || f > 0.6 {
			t.Errorf("the half viewer sees %.3f of the %s objects, want about half", f, k)
		}
	}
}
