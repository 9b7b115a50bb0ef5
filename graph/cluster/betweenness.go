package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/verband-cti/verband/graph/correlate"
)

// adjacency is one component's link graph in compressed sparse rows: the
// neighbours of local node u are nbr[off[u]:off[u+1]], joined by the links
// lnk[off[u]:off[u+1]] (indexes into Projection.Links).
type adjacency struct {
	off      []int32
	nbr, lnk []int32
}

// componentAdjacency builds the adjacency of the projection nodes in nodes,
// over the links at or above minScore; local is scratch of p.Len() entries.
func componentAdjacency(p *correlate.Projection, nodes []int32, minScore float64, local []int32) adjacency {
	for i, n := range nodes {
		local[n] = int32(i)
	}
	links := p.Links()
	a := adjacency{off: make([]int32, len(nodes)+1)}
	for i, n := range nodes {
		for _, li := range p.LinksOf(n) {
			l := links[li]
			if l.Score < minScore {
				continue
			}
			other := l.A
			if other == n {
				other = l.B
			}
			a.nbr = append(a.nbr, local[other])
			a.lnk = append(a.lnk, li)
		}
		a.off[i+1] = int32(len(a.nbr))
	}
	return a
}

// linkBetweenness adds to bc the betweenness of every link at or above
// MinScore, component by component: exactly from every source in a
// component of at most ExactBetweenness nodes, otherwise estimated from
// BetweennessSamples sources drawn by Seed and scaled up (Brandes and Pich
// 2007).
func linkBetweenness(ctx context.Context, p *correlate.Projection, groups [][]int32, o Options, bc []float64) error {
	local := make([]int32, p.Len())
	rng := rand.New(rand.NewPCG(o.Seed, 0x6c696e6b))
	var b brandes
	for _, nodes := range groups {
		if len(nodes) < 2 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cluster: betweenness: %w", err)
		}
		a := componentAdjacency(p, nodes, o.MinScore, local)
		n := len(nodes)
		sources := make([]int32, n)
		for i := range sources {
			sources[i] = int32(i)
		}
		scale := 1.0
		if n > o.ExactBetweenness && o.BetweennessSamples < n {
			rng.Shuffle(n, func(i, j int) { sources[i], sources[j] = sources[j], sources[i] })
			sources = sources[:o.BetweennessSamples]
			scale = float64(n) / float64(len(sources))
		}
		if err := b.run(ctx, a, sources, scale/2, bc); err != nil {
			return fmt.Errorf("cluster: betweenness: %w", err)
		}
	}
	return nil
}

// brandes holds the working arrays of Brandes' algorithm, reused across
// components.
type brandes struct {
	dist         []int32
	sigma, delta []float64
	order        []int32
}

// run adds to bc[link], for every source, scale times the dependency of
// the source on each link (Brandes 2001, accumulated on edges): over all
// sources and with scale ½, the link's betweenness over unordered pairs.
func (b *brandes) run(ctx context.Context, a adjacency, sources []int32, scale float64, bc []float64) error {
	n := len(a.off) - 1
	if cap(b.dist) < n {
		b.dist, b.sigma, b.delta = make([]int32, n), make([]float64, n), make([]float64, n)
	}
	dist, sigma, delta := b.dist[:n], b.sigma[:n], b.delta[:n]
	for i := range dist {
		dist[i] = -1
	}
	for si, s := range sources {
		if si%256 == 255 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		order := append(b.order[:0], s)
		dist[s], sigma[s] = 0, 1
		for head := 0; head < len(order); head++ {
			v := order[head]
			for k := a.off[v]; k < a.off[v+1]; k++ {
				w := a.nbr[k]
				if dist[w] < 0 {
					dist[w] = dist[v] + 1
					order = append(order, w)
				}
				if dist[w] == dist[v]+1 {
					sigma[w] += sigma[v]
				}
			}
		}
		for i := len(order) - 1; i > 0; i-- {
			w := order[i]
			for k := a.off[w]; k < a.off[w+1]; k++ {
				v := a.nbr[k]
				if dist[v] == dist[w]-1 {
					c := sigma[v] / sigma[w] * (1 + delta[w])
					bc[a.lnk[k]] += c * scale
					delta[v] += c
				}
			}
		}
		for _, v := range order {
			dist[v], sigma[v], delta[v] = -1, 0, 0
		}
		b.order = order
	}
	return nil
}
