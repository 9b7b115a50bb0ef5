package bench

import (
	"fmt"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/verband-cti/verband/schema"
)

func TestExplore(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	g := NewGenerator(Config{Objects: 1_000_000, Seed: 1})
	start := time.Now()
	df := map[string]int{}
	deg := map[string]int{}
	bad := 0
	for i := 0; ; i++ {
		it, err := g.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		o := it.Object
		if i%1000 == 0 {
			if err := schema.Validate(o); err != nil {
				bad++
				if bad < 5 {
					t.Log(err)
				}
			}
		}
		for _, r := range o.Refs() {
			if r.Prop == "object_refs" {
				df[r.Target]++
			}
			if r.Prop != "object_marking_refs" {
				deg[r.Target]++
			}
		}
	}
	el := time.Since(start)
	t.Logf("gen+refs 1M: %v; stats %+v", el, g.Stats())
	var v []int
	for _, n := range df {
		v = append(v, n)
	}
	slices.Sort(v)
	slices.Reverse(v)
	one := 0
	for _, n := range v {
		if n == 1 {
			one++
		}
	}
	fmt.Printf("df: items %d, top %v, 100th %d, 1000th %d, 10000th %d, in one %.2f\n", len(v), v[:10], v[99], v[999], v[9999], float64(one)/float64(len(v)))
	var d []int
	for _, n := range deg {
		d = append(d, n)
	}
	slices.Sort(d)
	slices.Reverse(d)
	fmt.Printf("in-degree top %v 100th %d 1000th %d\n", d[:20], d[99], d[999])
}

func BenchmarkGen(b *testing.B) {
	g := NewGenerator(Config{Objects: 1 << 40, Seed: 1})
	for b.Loop() {
		if _, err := g.Next(); err != nil {
			b.Fatal(err)
		}
	}
}
