package community

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/graph/topo"
)

func TestComponentsMatchGonum(t *testing.T) {
	for name, g := range testGraphs(t) {
		cc, err := Components(g, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := topo.ConnectedComponents(g.Gonum())
		if cc.Count != len(want) {
			t.Errorf("%s: %d components, gonum finds %d", name, cc.Count, len(want))
			continue
		}
		for _, comp := range want {
			c := cc.Of[comp[0].ID()]
			for _, u := range comp {
				if cc.Of[u.ID()] != c {
					t.Errorf("%s: nodes %d and %d are in one gonum component, in components %d and %d", name, comp[0].ID(), u.ID(), c, cc.Of[u.ID()])
				}
			}
		}
		sizes := cc.Sizes()
		for c, members := range cc.Groups() {
			if len(members) != sizes[c] || !slices.IsSorted(members) {
				t.Errorf("%s: group %d = %v, size %d", name, c, members, sizes[c])
			}
		}
	}
}

func TestComponentsThreshold(t *testing.T) {
	// 0 =3= 1 -1- 2 =3= 3, 4 alone, 5 -0.5- 6.
	g := buildGraph(t, 7, []testEdge{{0, 1, 3}, {1, 2, 1}, {2, 3, 3}, {5, 6, 0.5}})
	for _, c := range []struct {
		min  float64
		want []int32
	}{
		{0, []int32{0, 0, 0, 0, 1, 2, 2}},
		{math.Inf(-1), []int32{0, 0, 0, 0, 1, 2, 2}},
		{0.5, []int32{0, 0, 0, 0, 1, 2, 2}},
		{1, []int32{0, 0, 0, 0, 1, 2, 3}},
		{2, []int32{0, 0, 1, 1, 2, 3, 4}},
		{5, []int32{0, 1, 2, 3, 4, 5, 6}},
	} {
		cc, err := Components(g, c.min)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cc.Of, c.want) || cc.Count != int(slices.Max(c.want))+1 {
			t.Errorf("minimum weight %v: %v (%d), want %v", c.min, cc.Of, cc.Count, c.want)
		}
	}
	if _, err := Components(g, math.NaN()); !errors.Is(err, ErrInvalid) {
		t.Errorf("NaN minimum weight: %v, want ErrInvalid", err)
	}
}

// ExampleSubgraph runs Louvain inside each large component, the way
// clusters are found in the container graph: small components are clusters
// as they are, large ones are split into communities.
func ExampleSubgraph() {
	// Two triangles joined by a weak edge, and a separate pair.
	b := NewBuilder(8, 8)
	for _, e := range []testEdge{{0, 1, 3}, {1, 2, 3}, {0, 2, 3}, {3, 4, 3}, {4, 5, 3}, {3, 5, 3}, {2, 3, 0.5}, {6, 7, 1}} {
		if err := b.AddEdge(e.u, e.v, e.w); err != nil {
			fmt.Println(err)
			return
		}
	}
	g := b.Build()
	strong, err := Components(g, 1) // the weak edge does not count
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("components of edges ≥ 1:", strong.Of)
	all, err := Components(g, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, members := range all.Groups() {
		if len(members) < 4 {
			fmt.Println("small component:", members)
			continue
		}
		sub, err := Subgraph(g, members)
		if err != nil {
			fmt.Println(err)
			return
		}
		res, err := Louvain(context.Background(), sub, LouvainOptions{Seed: 1})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("communities of", members, "are", res.Of)
	}
	// Output:
	// components of edges ≥ 1: [0 0 0 1 1 1 2 2]
	// communities of [0 1 2 3 4 5] are [0 0 0 1 1 1]
	// small component: [6 7]
}
