package community

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchSizes are the planted graphs of the normal benchmark run; the
// million-node graph runs behind the "big" build tag (big_test.go).
var benchSizes = []struct{ nodes, edges int }{
	{10_000, 50_000},
	{100_000, 500_000},
}

var benchGraphs sync.Map // "nodes/edges" → *Planted

// benchPlanted returns the planted graph of the given size with the
// script's defaults (mix 0.2, communities of 20 to 200) and seed 42,
// generated once per test binary.
func benchPlanted(b *testing.B, nodes, edges int) *Planted {
	key := fmt.Sprintf("%d/%d", nodes, edges)
	if p, ok := benchGraphs.Load(key); ok {
		return p.(*Planted)
	}
	p, err := GeneratePlanted(PlantedConfig{Nodes: nodes, Edges: edges, Mix: 0.2, Seed: 42})
	if err != nil {
		b.Fatal(err)
	}
	benchGraphs.Store(key, p)
	return p
}

func BenchmarkLouvain(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(fmt.Sprintf("planted-%dn-%de", s.nodes, s.edges), func(b *testing.B) {
			g := benchPlanted(b, s.nodes, s.edges).Graph()
			var res Communities
			b.ResetTimer()
			for b.Loop() {
				var err error
				if res, err = Louvain(b.Context(), g, LouvainOptions{Seed: 42}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(g.Edges())*float64(b.N)/b.Elapsed().Seconds(), "edges/s")
			b.ReportMetric(res.Modularity, "Q")
			b.ReportMetric(float64(res.Count), "communities")
		})
	}
}

func BenchmarkComponents(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(fmt.Sprintf("planted-%dn-%de", s.nodes, s.edges), func(b *testing.B) {
			g := benchPlanted(b, s.nodes, s.edges).Graph()
			for b.Loop() {
				if _, err := Components(g, 0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(g.Edges())*float64(b.N)/b.Elapsed().Seconds(), "edges/s")
		})
	}
}

func BenchmarkReadEdgeList(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(fmt.Sprintf("planted-%dn-%de", s.nodes, s.edges), func(b *testing.B) {
			var buf bytes.Buffer
			if err := benchPlanted(b, s.nodes, s.edges).WriteEdgeList(&buf); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(buf.Len()))
			for b.Loop() {
				if _, err := ReadEdgeList(bytes.NewReader(buf.Bytes())); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.edges)*float64(b.N)/b.Elapsed().Seconds(), "edges/s")
		})
	}
}

func BenchmarkPageRank(b *testing.B) {
	g := benchPlanted(b, 100_000, 500_000).Graph()
	for b.Loop() {
		if _, err := PageRank(b.Context(), g, PageRankOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBetweennessSampled(b *testing.B) {
	g := benchPlanted(b, 100_000, 500_000).Graph()
	for b.Loop() {
		if _, err := Betweenness(b.Context(), g, BetweennessOptions{Samples: 64, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(64*float64(b.N)/b.Elapsed().Seconds(), "sources/s")
}

// clusterFigures are the figures of one run of the benchmark path.
type clusterFigures struct {
	nodes, edges      int
	load, cc, louvain time.Duration
	components        int
	communities       int
	modularity        float64
	peakRSS           int64 // bytes
}

// clusterEdgeFile is the path that the million-node benchmark takes: load
// an edge-list file, find its connected components, run Louvain with the
// script's seed, and check the result's consistency.
func clusterEdgeFile(t testing.TB, path string) clusterFigures {
	t.Helper()
	var f clusterFigures
	start := time.Now()
	g, err := LoadEdgeList(path)
	if err != nil {
		t.Fatal(err)
	}
	f.load = time.Since(start)
	f.nodes, f.edges = g.Nodes(), g.Edges()

	start = time.Now()
	cc, err := Components(g, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.cc, f.components = time.Since(start), cc.Count

	start = time.Now()
	res, err := Louvain(context.Background(), g, LouvainOptions{Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	f.louvain, f.communities, f.modularity = time.Since(start), res.Count, res.Modularity

	if q, err := Modularity(g, res.Of, 1); err != nil || q < res.Modularity-1e-9 || q > res.Modularity+1e-9 {
		t.Fatalf("Louvain reports Q %v, the partition has %v (%v)", res.Modularity, q, err)
	}
	if res.Count < cc.Count {
		t.Fatalf("%d communities for %d components: communities never span components", res.Count, cc.Count)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	f.peakRSS = ru.Maxrss << 10 // KiB on Linux
	t.Logf("%s: %d nodes, %d edges; load %.2fs, components %.3fs (%d), Louvain %.2fs: %d communities, Q %.4f; peak RSS %d MiB",
		filepath.Base(path), f.nodes, f.edges, f.load.Seconds(), f.cc.Seconds(), f.components,
		f.louvain.Seconds(), f.communities, f.modularity, f.peakRSS>>20)
	return f
}

// TestClusterEdgeFileSmoke runs the million-node benchmark's path on a
// small planted graph written to a file, so that the path stays working,
// and checks that Louvain finds at least the planted partition's modularity.
func TestClusterEdgeFileSmoke(t *testing.T) {
	p, err := GeneratePlanted(PlantedConfig{Nodes: 30_000, Edges: 150_000, Mix: 0.2, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "g30k.txt")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WriteEdgeList(out); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	f := clusterEdgeFile(t, path)
	truth, err := Modularity(p.Graph(), p.Community, 1)
	if err != nil {
		t.Fatal(err)
	}
	if f.nodes > p.Nodes || f.edges != len(p.Edges) || f.modularity < truth-0.01 {
		t.Fatalf("%d nodes, %d edges, Q %.4f; want ≤ %d nodes, %d edges, Q ≥ planted %.4f − 0.01",
			f.nodes, f.edges, f.modularity, p.Nodes, len(p.Edges), truth)
	}
}
