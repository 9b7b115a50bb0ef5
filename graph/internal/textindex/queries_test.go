package textindex

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

// TestDateRanges checks the date trie split against a direct comparison on
// random values, near and far from random bounds.
func TestDateRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC).Unix()
	randMs := func() int64 {
		switch rng.IntN(3) {
		case 0:
			return base + rng.Int64N(2000) - 1000
		case 1:
			return base + rng.Int64N(1<<36) - 1<<35
		default:
			return rng.Int64N(1<<40) - 1<<39
		}
	}
	for i := 0; i < 2000; i++ {
		lo, hi := randMs(), randMs()
		if lo > hi {
			lo, hi = hi, lo
		}
		ranges := dateRanges(dateValue(time.Unix(lo, 0)), dateValue(time.Unix(hi, 0)))
		for j := 0; j < 50; j++ {
			var v int64
			switch j % 5 {
			case 0:
				v = lo + rng.Int64N(3) - 1
			case 1:
				v = hi + rng.Int64N(3) - 1
			default:
				v = randMs()
			}
			want := lo <= v && v <= hi
			got := 0
			for _, term := range dateTerms(time.Unix(v, 0)) {
				for _, r := range ranges {
					if bytes.Compare(term, r[0]) >= 0 && bytes.Compare(term, r[1]) <= 0 {
						got++
					}
				}
			}
			if want && got != 1 || !want && got != 0 {
				t.Fatalf("range [%d, %d], value %d: matched %d ranges, want in=%v (ranges %d)", lo, hi, v, got, want, len(ranges))
			}
		}
	}
}
