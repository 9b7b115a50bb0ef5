package textindex

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/index/scorch"
	index "github.com/blevesearch/bleve_index_api"
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

// TestMatchIDs checks that matchIDs, which reads a match's id from its
// segment by its own reckoning of scorch's document numbers, finds the id
// ExternalID finds for every document of a snapshot of several segments,
// some with deleted documents, in order (as a searcher visits them) and
// out of it.
func TestMatchIDs(t *testing.T) {
	ix, _ := openTest(t, testOptions())
	seq := uint64(0)
	for round := range 6 {
		var docs []Doc
		for i := range 50 {
			id := uint64(round*37 + i*3) // later rounds replace some earlier documents
			docs = append(docs, Doc{ID: id, Type: "malware", Class: 1, Name: fmt.Sprintf("family %d round %d", id, round)})
		}
		seq++
		if err := ix.Apply(docs, []uint64{uint64(round * 5)}, seq); err != nil {
			t.Fatalf("Apply round %d: %v", round, err)
		}
	}
	adv, err := ix.shards[0].Advanced()
	if err != nil {
		t.Fatal(err)
	}
	r, err := adv.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		t.Fatalf("reader is a %T, want a scorch snapshot", r)
	}
	deleted := false
	for _, s := range snap.Segments() {
		deleted = deleted || s.Deleted() != nil && !s.Deleted().IsEmpty()
	}
	if len(snap.Segments()) < 2 || !deleted {
		t.Fatalf("snapshot has %d segments, deletions %v; the test needs several and some deleted documents", len(snap.Segments()), deleted)
	}
	all, err := r.DocIDReaderAll()
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	var internal []index.IndexInternalID
	for {
		in, err := all.Next()
		if err != nil {
			t.Fatal(err)
		}
		if in == nil {
			break
		}
		internal = append(internal, slices.Clone(in))
	}
	if len(internal) < 200 {
		t.Fatalf("read %d documents, want at least 200", len(internal))
	}
	check := func(m *matchIDs, in index.IndexInternalID) {
		t.Helper()
		ext, err := r.ExternalID(in)
		if err != nil {
			t.Fatal(err)
		}
		want, err := parseDocID(ext)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.id(in)
		if err != nil || got != want {
			t.Fatalf("id of document %x = %d, %v; ExternalID says %d", []byte(in), got, err, want)
		}
	}
	m := newMatchIDs(r)
	for _, in := range internal {
		check(m, in)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		check(m, internal[rng.IntN(len(internal))])
	}
}
