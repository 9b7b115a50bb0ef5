package community

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadEdgeList(t *testing.T) {
	in := "# a comment\n" +
		"0 1\n" +
		"1\t2\r\n" +
		"\n" +
		"   \n" +
		"  2 0  \n" +
		"1 0\n" + // repeats 0 1: weight 2
		"3 3\n" + // a loop: A_33 = 2
		"4 5 2.5\n" +
		"7 4" // no final newline; node 6 is isolated, 7 the highest id
	g, err := ReadEdgeList(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if g.Nodes() != 8 || g.Edges() != 5 {
		t.Fatalf("nodes, edges = %d, %d; want 8, 5", g.Nodes(), g.Edges())
	}
	for _, c := range []struct {
		u, v int
		w    float64
	}{{0, 1, 2}, {1, 2, 1}, {0, 2, 1}, {3, 3, 2}, {4, 5, 2.5}, {4, 7, 1}} {
		if w, ok := g.Weight(c.u, c.v); !ok || w != c.w {
			t.Errorf("Weight(%d, %d) = %v, %v; want %v", c.u, c.v, w, ok, c.w)
		}
	}
	if g.Degree(6) != 0 {
		t.Errorf("node 6 has degree %v, want isolated", g.Degree(6))
	}
}

func TestReadEdgeListErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
	}{
		{"one field", "0 1\n2\n", "line 2"},
		{"three ids", "0 1\n1 2\n\n3 4 5 6\n", "line 4"},
		{"letters", "0 1\nx 2\n", "line 2"},
		{"negative id", "-1 2\n", "line 1"},
		{"glued", "0,1\n", "line 1"},
		{"id too large", "0 1\n1 2147483647\n", "line 2"},
		{"bad weight", "0 1\n1 2\n2 3 heavy\n", "line 3"},
		{"negative weight", "0 1 -2\n", "line 1"},
		{"float id", "0.5 1\n", "line 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadEdgeList(strings.NewReader(c.in))
			if err == nil {
				t.Fatalf("read %q: no error", c.in)
			}
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrInvalid) {
				t.Errorf("read %q: %v, want ErrSyntax or ErrInvalid", c.in, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("read %q: %q does not name %q", c.in, err, c.want)
			}
		})
	}
}

func TestLoadEdgeList(t *testing.T) {
	if _, err := LoadEdgeList(filepath.Join(t.TempDir(), "missing.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v, want os.ErrNotExist", err)
	}
	path := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(path, []byte("0 1\n1 two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadEdgeList(path)
	if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad file: %v, want ErrSyntax naming %s and line 2", err, path)
	}
}

func TestPlantedIsSeededAndRoundTrips(t *testing.T) {
	cfg := PlantedConfig{Nodes: 5000, Edges: 25000, Mix: 0.2, Seed: 42}
	p, err := GeneratePlanted(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Edges) != cfg.Edges || len(p.Community) != cfg.Nodes {
		t.Fatalf("%d edges and %d labels, want %d and %d", len(p.Edges), len(p.Community), cfg.Edges, cfg.Nodes)
	}
	intra := 0
	for i, e := range p.Edges {
		if e[0] >= e[1] || i > 0 && slices.Compare(p.Edges[i-1][:], e[:]) >= 0 {
			t.Fatalf("edge %d = %v: edges must be (lo, hi), sorted and distinct", i, e)
		}
		if p.Community[e[0]] == p.Community[e[1]] {
			intra++
		}
	}
	// About 80% of edges are drawn inside communities (plus the few random
	// ones that land inside by chance).
	if share := float64(intra) / float64(len(p.Edges)); share < 0.77 || share > 0.83 {
		t.Errorf("%.3f of edges inside communities, want about 0.8", share)
	}
	sizes := map[int32]int{}
	for _, c := range p.Community {
		sizes[c]++
	}
	for c, s := range sizes {
		if s > 200 {
			t.Errorf("community %d has %d nodes, more than 200", c, s)
		}
	}
	again, err := GeneratePlanted(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Edges, again.Edges) || !slices.Equal(p.Community, again.Community) {
		t.Error("the same config gave another graph")
	}
	cfg.Seed++
	other, err := GeneratePlanted(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(p.Edges, other.Edges) {
		t.Error("another seed gave the same graph")
	}

	var buf bytes.Buffer
	if err := p.WriteEdgeList(&buf); err != nil {
		t.Fatal(err)
	}
	read, err := ReadEdgeList(&buf)
	if err != nil {
		t.Fatal(err)
	}
	direct := p.Graph()
	if read.Nodes() > direct.Nodes() || read.Edges() != direct.Edges() || read.TotalWeight() != direct.TotalWeight() {
		t.Fatalf("read back %d nodes %d edges, built %d nodes %d edges", read.Nodes(), read.Edges(), direct.Nodes(), direct.Edges())
	}
	for u := range read.Nodes() {
		a, _ := read.Neighbors(u)
		b, _ := direct.Neighbors(u)
		if !slices.Equal(a, b) {
			t.Fatalf("row %d read back as %v, built as %v", u, a, b)
		}
	}
}

func TestPlantedRejectsBadConfigs(t *testing.T) {
	for _, cfg := range []PlantedConfig{
		{Nodes: 1, Edges: 0},
		{Nodes: 100, Edges: -1},
		{Nodes: 100, Edges: 5000},
		{Nodes: 100, Edges: 10, Mix: 1.5},
		{Nodes: 100, Edges: 10, MinSize: 30, MaxSize: 20},
		{Nodes: 1000, Edges: 20000, Mix: 0, MinSize: 5, MaxSize: 5},
	} {
		if _, err := GeneratePlanted(cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("config %+v: %v, want ErrInvalid", cfg, err)
		}
	}
}
