package report

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// edge is a link between two nodes of a layout, by node index, with a
// strength that pulls its ends together: between 0.5 and 1.5.
type edge struct {
	a, b     int
	strength float64
}

// point is a position in a layout.
type point struct{ x, y float64 }

// layoutIterations is how many steps the spring layout takes. With at most
// maxDrawn nodes a step costs about 10⁴ pair forces, so a drawing takes a few
// tens of milliseconds.
const layoutIterations = 300

// springLayout places n nodes joined by edges with the force-directed
// method of Fruchterman and Reingold: every pair repels, every edge pulls
// its ends together, a weak gravity keeps parts that no drawn edge joins
// from drifting off, and the steps shrink until the nodes settle. It starts
// from a circle perturbed by a generator seeded from seed, so the same input
// always yields the same positions. The positions are in no particular
// range; fit scales them to a canvas.
func springLayout(n int, edges []edge, seed string) []point {
	pos := make([]point, n)
	if n == 0 {
		return pos
	}
	h := fnv.New64a()
	h.Write([]byte(seed))
	rng := rand.New(rand.NewPCG(h.Sum64(), uint64(n)))
	for i := range pos {
		a := 2 * math.Pi * float64(i) / float64(n)
		pos[i] = point{math.Cos(a) + 0.1*(rng.Float64()-0.5), math.Sin(a) + 0.1*(rng.Float64()-0.5)}
	}
	if n == 1 {
		return pos
	}
	// In a unit of area per node, the ideal edge length k is its side.
	k := 2 / math.Sqrt(float64(n))
	// A node's pull is shared among its edges, so that a hub among many
	// linked nodes does not draw them all into one knot: each end of an
	// edge feels the edge's pull divided by its own number of edges.
	deg := make([]float64, n)
	for _, e := range edges {
		deg[e.a]++
		deg[e.b]++
	}
	const gravity = 0.3
	temp := 0.2
	cool := temp / layoutIterations
	disp := make([]point, n)
	for range layoutIterations {
		clear(disp)
		for i := range n {
			for j := i + 1; j < n; j++ {
				dx, dy := pos[i].x-pos[j].x, pos[i].y-pos[j].y
				d2 := dx*dx + dy*dy
				if d2 < 1e-12 {
					// Two nodes on one spot: push them apart along a
					// direction fixed by their indexes.
					a := float64(i*31+j) * 0.618
					dx, dy, d2 = 1e-3*math.Cos(a), 1e-3*math.Sin(a), 1e-6
				}
				// Repulsion k²/d along the unit vector: k²·(dx,dy)/d².
				f := k * k / d2
				disp[i].x += dx * f
				disp[i].y += dy * f
				disp[j].x -= dx * f
				disp[j].y -= dy * f
			}
		}
		for _, e := range edges {
			dx, dy := pos[e.a].x-pos[e.b].x, pos[e.a].y-pos[e.b].y
			// Attraction d²/k along the unit vector: d·(dx,dy)/k.
			f := math.Sqrt(dx*dx+dy*dy) / k * e.strength
			fa, fb := f/math.Sqrt(deg[e.a]), f/math.Sqrt(deg[e.b])
			disp[e.a].x -= dx * fa
			disp[e.a].y -= dy * fa
			disp[e.b].x += dx * fb
			disp[e.b].y += dy * fb
		}
		for i := range pos {
			disp[i].x -= gravity * pos[i].x / k
			disp[i].y -= gravity * pos[i].y / k
			d := math.Hypot(disp[i].x, disp[i].y)
			if d > 0 {
				step := math.Min(d, temp)
				pos[i].x += disp[i].x / d * step
				pos[i].y += disp[i].y / d * step
			}
		}
		temp -= cool
	}
	return pos
}

// fit scales and moves positions in place so that they fill a canvas of
// width w and height h less a margin, keeping their proportions, and
// centres them. A single node, or nodes all on one spot, go to the centre.
func fit(pos []point, w, h, margin float64) {
	if len(pos) == 0 {
		return
	}
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range pos {
		minX, maxX = math.Min(minX, p.x), math.Max(maxX, p.x)
		minY, maxY = math.Min(minY, p.y), math.Max(maxY, p.y)
	}
	spanX, spanY := maxX-minX, maxY-minY
	scale := 0.0
	if spanX > 1e-9 {
		scale = (w - 2*margin) / spanX
	}
	if spanY > 1e-9 {
		if s := (h - 2*margin) / spanY; scale == 0 || s < scale {
			scale = s
		}
	}
	for i, p := range pos {
		pos[i] = point{
			x: w/2 + (p.x-(minX+maxX)/2)*scale,
			y: h/2 + (p.y-(minY+maxY)/2)*scale,
		}
	}
}
