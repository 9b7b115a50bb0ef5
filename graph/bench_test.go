package graph_test

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/internal/bench"
)

// The benchmarks run on the synthetic CTI graph of internal/bench. The
// default size keeps them quick; the targets are set for a million objects:
//
//	go test ./graph -run '^$' -bench . -bench.objects=1000000 -timeout 1h
var (
	benchObjects = flag.Int("bench.objects", 20_000, "objects in the synthetic graph of the benchmarks")
	benchSeed    = flag.Uint64("bench.seed", 1, "seed of the synthetic graph and the query samples")
)

// loadBench opens a store in a temporary directory with default options
// and loads the synthetic graph, returning the store and query samples
// (with samples for bench.HalfViewer in Compare).
func loadBench(b *testing.B) (*graph.Store, *bench.Samples, bench.LoadStats) {
	b.Helper()
	s, err := graph.Open(b.TempDir(), graph.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := s.Close(); err != nil {
			b.Error(err)
		}
	})
	half := bench.HalfViewer()
	st, samples, err := bench.Load(context.Background(), s,
		bench.NewGenerator(bench.Config{Objects: *benchObjects, Seed: *benchSeed}),
		bench.LoadOptions{Seed: *benchSeed, Samples: 2000, Viewer: bench.QueryViewer(), Compare: &half})
	if err != nil {
		b.Fatal(err)
	}
	return s, samples, st
}

// BenchmarkBulkIngest loads the synthetic graph into a fresh store per
// iteration and reports objects per second until committed and until
// searchable.
func BenchmarkBulkIngest(b *testing.B) {
	b.Run(fmt.Sprintf("objects=%d", *benchObjects), func(b *testing.B) {
		var objects int
		var committed, searchable time.Duration
		for range b.N {
			b.StopTimer()
			s, err := graph.Open(b.TempDir(), graph.DefaultOptions())
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			st, _, err := bench.Load(context.Background(), s,
				bench.NewGenerator(bench.Config{Objects: *benchObjects, Seed: *benchSeed}),
				bench.LoadOptions{Samples: 1})
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			objects += st.Objects
			committed += st.Committed
			searchable += st.Searchable
			b.StartTimer()
		}
		b.ReportMetric(float64(objects)/committed.Seconds(), "objects/s")
		b.ReportMetric(float64(objects)/searchable.Seconds(), "searchable-objects/s")
	})
}

// BenchmarkExpand2Hop times the two-hop neighbourhood of sampled start
// nodes (any object but a relationship), limited to 100 nodes, each in its
// own read transaction as an organization viewer.
func BenchmarkExpand2Hop(b *testing.B) {
	s, samples, _ := loadBench(b)
	var starts []graph.ID
	err := s.View(bench.QueryViewer(), func(tx *graph.Tx) error {
		for _, sid := range samples.Starts {
			if id, err := tx.Lookup(sid); err == nil {
				starts = append(starts, id)
			}
		}
		return nil
	})
	if err != nil || len(starts) == 0 {
		b.Fatalf("resolve start nodes: %d, %v", len(starts), err)
	}
	b.Run(fmt.Sprintf("objects=%d", *benchObjects), func(b *testing.B) {
		nodes, i := 0, 0
		for b.Loop() {
			err := s.View(bench.QueryViewer(), func(tx *graph.Tx) error {
				ns, _, err := tx.Expand(starts[i%len(starts)], 2, graph.NeighbourQuery{}, bench.DefaultExpandLimit)
				nodes += len(ns)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(nodes)/float64(i), "nodes/op")
	})
}

// BenchmarkSearch times keyword searches (exact values) and free-text
// searches (names and description words) for 20 hits.
func BenchmarkSearch(b *testing.B) {
	s, samples, _ := loadBench(b)
	for _, c := range []struct {
		name    string
		queries []string
	}{{"keyword", samples.Keywords}, {"text", samples.Texts}} {
		b.Run(fmt.Sprintf("%s/objects=%d", c.name, *benchObjects), func(b *testing.B) {
			if len(c.queries) == 0 {
				b.Skip("no queries sampled")
			}
			hits, i := 0, 0
			for b.Loop() {
				r, err := s.Search(context.Background(), bench.QueryViewer(), graph.SearchQuery{Text: c.queries[i%len(c.queries)], Size: 20})
				if err != nil {
					b.Fatal(err)
				}
				hits += len(r.Hits)
				i++
			}
			b.ReportMetric(float64(hits)/float64(i), "hits/op")
		})
	}
}

// BenchmarkEnforcement runs the same reads as graph.System(), which sees
// everything and checks nothing (the baseline without enforcement: an
// organization's admin reads through the same checks as its analysts), and
// as bench.HalfViewer(), an analyst who sees about half of the graph: 2-hop
// neighbourhoods (limited to 100 nodes), keyword and text searches for 20
// hits, and degrees, from start nodes and queries drawn among what the half
// viewer sees. The viewers alternate within each run and, with -count, from
// run to run; compare them with
//
//	go test ./graph -run '^$' -bench Enforcement -count 10 | tee /tmp/enf.txt
//	benchstat -col /viewer /tmp/enf.txt
//
// The half viewer returns less (see the items/op metrics), so a smaller
// time per op is not by itself a sign of cheap enforcement.
func BenchmarkEnforcement(b *testing.B) {
	s, samples, _ := loadBench(b)
	half := bench.HalfViewer()
	viewers := []struct {
		name string
		v    graph.Viewer
	}{{"system", graph.System()}, {"half", half}}
	var all, visible int64
	for _, w := range []struct {
		v graph.Viewer
		n *int64
	}{{graph.System(), &all}, {half, &visible}} {
		err := s.View(w.v, func(tx *graph.Tx) error {
			types, err := tx.Types()
			for _, t := range types {
				*w.n += t.Count
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// Enforcement must have something to filter, or the pair measures
	// nothing.
	if frac := float64(visible) / float64(all); frac < 0.3 || frac > 0.7 {
		b.Fatalf("the half viewer sees %d of %d objects (%.2f), want about half", visible, all, frac)
	}
	b.Logf("the half viewer sees %d of %d objects (%.3f)", visible, all, float64(visible)/float64(all))
	var starts []graph.ID
	err := s.View(half, func(tx *graph.Tx) error {
		for _, sid := range samples.Compare.Starts {
			id, err := tx.Lookup(sid)
			if err != nil {
				return err
			}
			starts = append(starts, id)
		}
		return nil
	})
	if err != nil || len(starts) == 0 {
		b.Fatalf("resolve start nodes: %d, %v", len(starts), err)
	}
	words := samples.Compare.Words()
	search := func(qs []string) func(graph.Viewer, int) (int, error) {
		return func(v graph.Viewer, i int) (int, error) {
			r, err := s.Search(context.Background(), v, graph.SearchQuery{Text: qs[i%len(qs)], Size: 20})
			if err != nil {
				return 0, err
			}
			return len(r.Hits), nil
		}
	}
	for _, op := range []struct {
		name, unit string
		run        func(v graph.Viewer, i int) (int, error)
	}{
		{"expand2", "nodes/op", func(v graph.Viewer, i int) (int, error) {
			var n int
			err := s.View(v, func(tx *graph.Tx) error {
				ns, _, err := tx.Expand(starts[i%len(starts)], 2, graph.NeighbourQuery{}, bench.DefaultExpandLimit)
				n = len(ns)
				return err
			})
			return n, err
		}},
		{"search-keyword", "hits/op", search(samples.Compare.Keywords)},
		{"search-text", "hits/op", search(samples.Compare.Texts)},
		{"search-word-facets", "hits/op", func(v graph.Viewer, i int) (int, error) {
			r, err := s.Search(context.Background(), v, graph.SearchQuery{Text: words[i%len(words)], Size: 20, Facets: true})
			if err != nil {
				return 0, err
			}
			return len(r.Hits), nil
		}},
		{"degree", "edges/op", func(v graph.Viewer, i int) (int, error) {
			var n int64
			err := s.View(v, func(tx *graph.Tx) error {
				var err error
				n, err = tx.Degree(starts[i%len(starts)], graph.Both, "")
				return err
			})
			return int(n), err
		}},
	} {
		for _, w := range viewers {
			b.Run(fmt.Sprintf("op=%s/viewer=%s/objects=%d", op.name, w.name, *benchObjects), func(b *testing.B) {
				items, i := 0, 0
				for b.Loop() {
					n, err := op.run(w.v, i)
					if err != nil {
						b.Fatal(err)
					}
					items += n
					i++
				}
				b.ReportMetric(float64(items)/float64(i), op.unit)
			})
		}
	}
}
