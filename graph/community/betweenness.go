package community

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// BetweennessOptions configure Betweenness. The zero value computes exact
// betweenness with GOMAXPROCS workers.
type BetweennessOptions struct {
	// Samples, when positive and below the node count, makes the result an
	// estimate from that many source nodes drawn without replacement by Seed,
	// scaled by nodes/Samples (Brandes and Pich 2007): the cost falls from
	// O(nm) to O(Samples·m). Otherwise every node is a source.
	Samples int
	// Seed seeds the choice of sources when sampling.
	Seed uint64
	// Workers is the number of goroutines; 0 means GOMAXPROCS. The result
	// is the same for any number of workers.
	Workers int
}

// betweennessBatch is the number of sources one worker handles before its
// partial sums are added to the total. Batches are fixed and added in order,
// so the floating-point sums do not depend on the number of workers.
const betweennessBatch = 16

// Betweenness returns the betweenness centrality of every node of g,
//
//	C_B(v) = Σ_{s≠v≠t} σ_st(v) / σ_st,
//
// summed over unordered pairs {s, t}, where σ_st counts the shortest paths
// between s and t and σ_st(v) those through v (networkx's and igraph's
// unnormalised figure; gonum's network.Betweenness sums over ordered pairs,
// which is twice this on an undirected graph).
//
// Paths are counted in hops: weights are ignored, because in a correlation
// graph they measure how strongly two nodes are linked, not how far apart
// they are. It runs Brandes' algorithm from each source, in parallel over
// fixed batches of sources. It returns early with ctx's error when ctx is
// cancelled.
func Betweenness(ctx context.Context, g *Graph, opts BetweennessOptions) ([]float64, error) {
	if opts.Samples < 0 || opts.Workers < 0 {
		return nil, fmt.Errorf("betweenness: %w: samples %d, workers %d", ErrInvalid, opts.Samples, opts.Workers)
	}
	n := g.Nodes()
	sources := make([]int32, n)
	for i := range sources {
		sources[i] = int32(i)
	}
	scale := 0.5 // each unordered pair is met from both of its ends
	if opts.Samples > 0 && opts.Samples < n {
		rng := rand.New(rand.NewPCG(opts.Seed, 0x6265747765656e)) // "between"
		for i := range opts.Samples {
			j := i + rng.IntN(n-i)
			sources[i], sources[j] = sources[j], sources[i]
		}
		sources = sources[:opts.Samples]
		scale *= float64(n) / float64(opts.Samples)
	}
	workers := opts.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	batches := (len(sources) + betweennessBatch - 1) / betweennessBatch
	workers = max(1, min(workers, batches))

	type result struct {
		batch   int
		partial []float64
	}
	var (
		nextBatch atomic.Int64
		results   = make(chan result, workers)
		tokens    = make(chan struct{}, 2*workers) // bounds the partial arrays alive
		free      = make(chan []float64, 2*workers)
		stop      = make(chan struct{})
		wg        sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := newBrandes(n)
			for {
				select {
				case tokens <- struct{}{}:
				case <-stop:
					return
				}
				b := int(nextBatch.Add(1) - 1)
				if b >= batches {
					<-tokens
					return
				}
				var partial []float64
				select {
				case partial = <-free:
					clear(partial)
				default:
					partial = make([]float64, n)
				}
				for _, s := range sources[b*betweennessBatch : min(len(sources), (b+1)*betweennessBatch)] {
					st.accumulate(g, s, partial)
				}
				select {
				case results <- result{b, partial}:
				case <-stop:
					return
				}
			}
		}()
	}

	total := make([]float64, n)
	pending := make(map[int][]float64)
	var err error
	for next := 0; next < batches; {
		select {
		case r := <-results:
			pending[r.batch] = r.partial
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
		for p, ok := pending[next]; ok; p, ok = pending[next] {
			for v, x := range p {
				total[v] += x
			}
			delete(pending, next)
			next++
			free <- p
			<-tokens
		}
	}
	close(stop)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("betweenness: %w", err)
	}
	for v := range total {
		total[v] *= scale
	}
	return total, nil
}

// brandes holds one worker's arrays for single-source shortest paths.
type brandes struct {
	dist  []int32 // hops from the source, -1 if not reached
	sigma []float64
	delta []float64
	order []int32 // nodes in the order reached
}

func newBrandes(n int) *brandes {
	b := &brandes{
		dist:  make([]int32, n),
		sigma: make([]float64, n),
		delta: make([]float64, n),
		order: make([]int32, 0, n),
	}
	for i := range b.dist {
		b.dist[i] = -1
	}
	return b
}

// accumulate adds the dependencies of every node on source s to partial,
// by breadth-first search from s and a sweep back in reverse order. It
// resets only the nodes it reached, so a source in a small component costs
// only that component.
func (b *brandes) accumulate(g *Graph, s int32, partial []float64) {
	dist, sigma, delta := b.dist, b.sigma, b.delta
	order := append(b.order[:0], s)
	dist[s], sigma[s] = 0, 1
	for i := 0; i < len(order); i++ {
		v := order[i]
		dv := dist[v] + 1
		nb, _ := g.Neighbors(int(v))
		for _, w := range nb {
			if dist[w] < 0 {
				dist[w] = dv
				order = append(order, w)
			}
			if dist[w] == dv {
				sigma[w] += sigma[v]
			}
		}
	}
	for i := len(order) - 1; i > 0; i-- {
		w := order[i]
		dw := dist[w] - 1
		c := (1 + delta[w]) / sigma[w]
		nb, _ := g.Neighbors(int(w))
		for _, v := range nb {
			if dist[v] == dw {
				delta[v] += sigma[v] * c
			}
		}
		partial[w] += delta[w]
	}
	for _, v := range order {
		dist[v], sigma[v], delta[v] = -1, 0, 0
	}
	b.order = order
}
