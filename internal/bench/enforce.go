package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/verband-cti/verband/graph"
)

// TargetEnforcementOverhead is the most that enforcement may cost: the half
// viewer at most 15% slower than the system viewer (see
// Enforcement.Overhead).
const TargetEnforcementOverhead = 0.15

// enforcementBaseline says what the baseline of the comparison is.
const enforcementBaseline = "graph.System(): it sees everything and skips every visibility check, " +
	"so it is the reading without enforcement; an organization's admin reads through the same checks " +
	"as its analysts, so no user viewer is an unfiltered baseline"

// Enforcement is the cost of access enforcement on reads: the same
// queries, run as graph.System() (the baseline) and as HalfViewer, which
// sees about half of the graph, interleaved in rounds so that the machine's
// noise falls on both alike.
//
// Enforcement makes the half viewer check the class of every node and
// relationship an adjacency scan meets, and restricts its searches to the
// classes it may see; but it also gives it less to do, since its walks do
// not go through hidden nodes and its answers are smaller. A latency ratio
// alone could therefore look good merely because the half viewer returns
// less, so each comparison also compares the queries for which both
// viewers returned as much, and its overhead is the worse of the two.
type Enforcement struct {
	// Baseline explains the baseline viewer; Viewer is the organization of
	// the half viewer.
	Baseline string `json:"baseline"`
	Viewer   string `json:"viewer"`
	// Objects is the number of nodes counted as the system viewer (the
	// maintained per-type counters), VisibleObjects as the half viewer
	// (its visible nodes in the type index), VisibleFraction their ratio.
	Objects         int64   `json:"objects"`
	VisibleObjects  int64   `json:"visible_objects"`
	VisibleFraction float64 `json:"visible_fraction"`
	// HiddenReached is the share of the nodes the system viewer's 2-hop
	// walks reach (start nodes aside) that the half viewer may not see, and
	// WalksCrossingHidden the share of those walks that reach at least one:
	// they show that the walks meet what enforcement filters.
	HiddenReached       float64 `json:"hidden_reached"`
	WalksCrossingHidden float64 `json:"walks_crossing_hidden"`
	// StartNodes and Queries say how the start nodes and search queries
	// were drawn.
	StartNodes string `json:"start_nodes"`
	Queries    string `json:"queries"`
	// RoundSize is the number of queries of one round: each round runs its
	// queries as one viewer, then as the other, and the first viewer
	// alternates from round to round. Every query ran once per viewer,
	// untimed, before the first round.
	RoundSize int `json:"round_size"`
	// TwoHop is Tx.Expand to depth 2 with the benchmark's node limit (an
	// item is a node returned); SearchKeyword and SearchText ask for 20
	// hits (an item is a hit); Degree is Tx.Degree in both directions over
	// every edge type (an item is an edge counted). The system viewer reads
	// a degree from maintained counters, any other viewer counts its
	// visible edges with a key scan (counters would reveal hidden edges),
	// so Degree measures that design as much as the class checks.
	// SearchWord searches for one word of a description with facets:
	// the words follow the generator's Zipf law, so the head words match
	// a large share of the graph and the restriction is tested on broad
	// queries too, where it is asked about every match.
	TwoHop        Comparison `json:"two_hop"`
	SearchKeyword Comparison `json:"search_keyword"`
	SearchText    Comparison `json:"search_text"`
	SearchWord    Comparison `json:"search_word"`
	Degree        Comparison `json:"degree"`
	// Overhead is the largest overhead of the reads an analyst makes
	// (2-hop neighbourhoods, keyword, text and one-word searches), and
	// OverheadOf names that read. Degree is left out: the core benchmark
	// does not time it, and its ratio measures counters against scans. The
	// target is at most TargetEnforcementOverhead.
	Overhead   float64 `json:"overhead"`
	OverheadOf string  `json:"overhead_of"`
}

// Comparison holds one kind of query as both viewers ran it.
type Comparison struct {
	// System and Viewer are the latencies as the system viewer and as the
	// half viewer.
	System Latency `json:"system"`
	Viewer Latency `json:"viewer"`
	// SystemItems and ViewerItems are the mean items a query returned.
	SystemItems float64 `json:"system_items"`
	ViewerItems float64 `json:"viewer_items"`
	// P50Ratio, P99Ratio and MeanRatio divide the half viewer's latency
	// percentile or mean by the system viewer's: above 1 the half viewer is
	// slower.
	P50Ratio  float64 `json:"p50_ratio"`
	P99Ratio  float64 `json:"p99_ratio"`
	MeanRatio float64 `json:"mean_ratio"`
	// PairedRatio is the median, over the queries, of the half viewer's
	// latency of a query divided by the system viewer's latency of the same
	// query. A pause of the machine spoils one pair, not the figure, so it
	// is steadier than the ratio of percentiles.
	PairedRatio float64 `json:"paired_ratio"`
	// EqualItemsRatio is the same median over the queries for which both
	// viewers returned as many items (EqualItemsQueries of them): for a
	// neighbourhood, mostly those that reached the node limit either way,
	// where the half viewer had to scan past hidden entries to fill it. It
	// compares equal output, so returning less cannot pass for being
	// faster. It is 0 when no query qualifies.
	EqualItemsRatio   float64 `json:"equal_items_ratio"`
	EqualItemsQueries int     `json:"equal_items_queries"`
	// PerItemRatio is the same median of the time per returned item, over
	// the queries for which both viewers returned something. It leans
	// against the half viewer, since part of every query's time (the
	// transaction, the first seek) does not shrink with a smaller answer,
	// so it is reported but not part of Overhead.
	PerItemRatio float64 `json:"per_item_ratio"`
	// Overhead is how much slower the half viewer is: the larger of
	// PairedRatio and EqualItemsRatio, minus one. 0.10 means 10% slower;
	// negative means faster, on all queries and on those of equal output.
	Overhead float64 `json:"overhead"`
}

// probe runs query i as viewer v and returns how many items it produced.
type probe func(v graph.Viewer, i int) (int, error)

// timings are the latencies and items of one viewer's queries, by query.
type timings struct {
	times []time.Duration
	items []int
}

// enforcementRoundSize is the number of queries of one round.
const enforcementRoundSize = 50

// measureEnforcement runs the enforcement comparison on a loaded store:
// sm holds samples drawn among the objects HalfViewer may see, n caps the
// queries of each kind and limit is the Expand node limit.
func measureEnforcement(ctx context.Context, s *graph.Store, sm *Samples, n, limit int, progress func(Progress)) (Enforcement, error) {
	e := Enforcement{
		Baseline:   enforcementBaseline,
		Viewer:     halfViewer.Org,
		StartNodes: "uniform seeded sample of the objects the half viewer may see (so both viewers see them), except relationships",
		Queries:    "keyword and free-text queries drawn as for the core search figures, but among the objects the half viewer may see",
		RoundSize:  enforcementRoundSize,
	}
	if sm == nil {
		return e, fmt.Errorf("enforcement: %w", errNoSamples)
	}
	var err error
	if e.Objects, err = countObjects(s, graph.System()); err != nil {
		return e, fmt.Errorf("enforcement: count objects as system: %w", err)
	}
	if e.VisibleObjects, err = countObjects(s, halfViewer); err != nil {
		return e, fmt.Errorf("enforcement: count objects as %s: %w", halfViewer.Org, err)
	}
	if e.Objects > 0 {
		e.VisibleFraction = round(float64(e.VisibleObjects)/float64(e.Objects), 4)
	}
	starts, err := resolve(s, halfViewer, sm.Starts)
	if err != nil {
		return e, fmt.Errorf("enforcement: %w", err)
	}
	starts = starts[:min(n, len(starts))]
	keywords := sm.Keywords[:min(n, len(sm.Keywords))]
	texts := sm.Texts[:min(n, len(sm.Texts))]
	words := sm.Words()
	words = words[:min(n, len(words))]
	if e.HiddenReached, e.WalksCrossingHidden, err = hiddenReached(s, starts, limit); err != nil {
		return e, fmt.Errorf("enforcement: %w", err)
	}

	expand := func(v graph.Viewer, i int) (int, error) {
		var nodes int
		err := s.View(v, func(tx *graph.Tx) error {
			ns, _, err := tx.Expand(starts[i].id, 2, graph.NeighbourQuery{}, limit)
			nodes = len(ns)
			return err
		})
		return nodes, err
	}
	search := func(qs []string) probe {
		return func(v graph.Viewer, i int) (int, error) {
			r, err := s.Search(ctx, v, graph.SearchQuery{Text: qs[i], Size: 20})
			if err != nil {
				return 0, err
			}
			return len(r.Hits), nil
		}
	}
	facets := func(qs []string) probe {
		return func(v graph.Viewer, i int) (int, error) {
			r, err := s.Search(ctx, v, graph.SearchQuery{Text: qs[i], Size: 20, Facets: true})
			if err != nil {
				return 0, err
			}
			return len(r.Hits), nil
		}
	}
	degree := func(v graph.Viewer, i int) (int, error) {
		var d int64
		err := s.View(v, func(tx *graph.Tx) error {
			var err error
			d, err = tx.Degree(starts[i].id, graph.Both, "")
			return err
		})
		return int(d), err
	}
	total := 2 * (2*len(starts) + len(keywords) + len(texts) + len(words))
	done := 0
	for _, c := range []struct {
		name string
		n    int
		run  probe
		out  *Comparison
	}{
		{"two-hop neighbourhoods", len(starts), expand, &e.TwoHop},
		{"keyword searches", len(keywords), search(keywords), &e.SearchKeyword},
		{"text searches", len(texts), search(texts), &e.SearchText},
		{"one-word searches", len(words), facets(words), &e.SearchWord},
		{"degrees", len(starts), degree, &e.Degree},
	} {
		sys, half, err := paired(ctx, c.n, c.run, func(k int) {
			progress(Progress{Phase: "enforcement", Done: done + k, Total: total})
		})
		if err != nil {
			return e, fmt.Errorf("enforcement: %s: %w", c.name, err)
		}
		done += 2 * c.n
		*c.out = compare(sys, half)
	}
	e.Overhead, e.OverheadOf = e.TwoHop.Overhead, "two_hop"
	for name, c := range map[string]Comparison{"search_keyword": e.SearchKeyword, "search_text": e.SearchText, "search_word": e.SearchWord} {
		if c.Overhead > e.Overhead {
			e.Overhead, e.OverheadOf = c.Overhead, name
		}
	}
	return e, nil
}

// Words returns the first word of each two-word text query: words of
// descriptions as the generator drew them, so that the frequent ones match
// many objects, for broad searches with facets.
func (sm *Samples) Words() []string {
	var out []string
	for _, t := range sm.Texts {
		if w, _, ok := strings.Cut(t, " "); ok {
			out = append(out, w)
		}
	}
	return out
}

// countObjects returns the number of nodes v sees.
func countObjects(s *graph.Store, v graph.Viewer) (int64, error) {
	var n int64
	err := s.View(v, func(tx *graph.Tx) error {
		types, err := tx.Types()
		for _, t := range types {
			n += t.Count
		}
		return err
	})
	return n, err
}

// hiddenReached walks the 2-hop neighbourhood of every start node as the
// system viewer and returns the share of the nodes reached (start nodes
// aside) that the half viewer may not see, and the share of walks that
// reach at least one of them.
func hiddenReached(s *graph.Store, starts []start, limit int) (float64, float64, error) {
	var reached, hidden, crossing int
	err := s.View(graph.System(), func(sys *graph.Tx) error {
		return s.View(halfViewer, func(half *graph.Tx) error {
			for _, st := range starts {
				ns, _, err := sys.Expand(st.id, 2, graph.NeighbourQuery{}, limit)
				if err != nil {
					return fmt.Errorf("expand node %d as system: %w", st.id, err)
				}
				h := 0
				for _, id := range ns[1:] {
					if !half.Visible(id) {
						h++
					}
				}
				reached += len(ns) - 1
				hidden += h
				if h > 0 {
					crossing++
				}
			}
			return nil
		})
	})
	if err != nil || reached == 0 {
		return 0, 0, err
	}
	return round(float64(hidden)/float64(reached), 4), round(float64(crossing)/float64(len(starts)), 4), nil
}

// paired runs queries 0 to n-1 once per viewer untimed, to warm the caches
// for both alike, and then times each once per viewer, in rounds of
// enforcementRoundSize queries: a round runs its queries as one viewer and
// then as the other, and the viewer that goes first alternates, so drift
// in the machine's speed (other processes, the garbage collector, the
// caches) falls on both viewers evenly. done is called after each round
// with the timed queries run so far.
func paired(ctx context.Context, n int, run probe, done func(int)) (sys, half timings, err error) {
	viewers := [2]graph.Viewer{graph.System(), halfViewer}
	for _, v := range viewers {
		for i := range n {
			if _, err := run(v, i); err != nil {
				return sys, half, fmt.Errorf("warm up as %s: query %d: %w", viewerName(v), i, err)
			}
		}
	}
	out := [2]*timings{&sys, &half}
	for _, t := range out {
		t.times = make([]time.Duration, n)
		t.items = make([]int, n)
	}
	for r, lo := 0, 0; lo < n; r, lo = r+1, lo+enforcementRoundSize {
		if ctx.Err() != nil {
			return sys, half, ctx.Err()
		}
		hi := min(n, lo+enforcementRoundSize)
		for k := range 2 {
			w := (r + k) % 2 // round r starts with viewer r%2
			for i := lo; i < hi; i++ {
				t0 := time.Now()
				items, err := run(viewers[w], i)
				d := time.Since(t0)
				if err != nil {
					return sys, half, fmt.Errorf("as %s: query %d: %w", viewerName(viewers[w]), i, err)
				}
				out[w].times[i], out[w].items[i] = d, items
			}
		}
		done(2 * hi)
	}
	return sys, half, nil
}

// viewerName names a viewer in messages.
func viewerName(v graph.Viewer) string {
	if v.IsSystem() {
		return "system"
	}
	return v.Org
}

// compare summarises both viewers' timings of the same queries.
func compare(sys, half timings) Comparison {
	var c Comparison
	n := len(sys.times)
	if n == 0 || len(half.times) != n {
		return c
	}
	var pairs, equal, perItem []float64
	for i := range n {
		ts, th := sys.times[i].Seconds(), half.times[i].Seconds()
		if ts <= 0 {
			continue
		}
		pairs = append(pairs, th/ts)
		ns, nh := sys.items[i], half.items[i]
		if ns == nh {
			equal = append(equal, th/ts)
		}
		if ns > 0 && nh > 0 {
			perItem = append(perItem, (th/float64(nh))/(ts/float64(ns)))
		}
	}
	c.System, c.Viewer = summarize(slices.Clone(sys.times)), summarize(slices.Clone(half.times))
	c.SystemItems = round(float64(sumOf(sys.items))/float64(n), 2)
	c.ViewerItems = round(float64(sumOf(half.items))/float64(n), 2)
	c.P50Ratio = ratio(c.Viewer.P50Ms, c.System.P50Ms)
	c.P99Ratio = ratio(c.Viewer.P99Ms, c.System.P99Ms)
	c.MeanRatio = ratio(sumOf(half.times).Seconds(), sumOf(sys.times).Seconds())
	c.PairedRatio = round(median(pairs), 4)
	c.EqualItemsRatio, c.EqualItemsQueries = round(median(equal), 4), len(equal)
	c.PerItemRatio = round(median(perItem), 4)
	c.Overhead = round(max(c.PairedRatio, c.EqualItemsRatio)-1, 4)
	return c
}

func sumOf[T int | time.Duration](xs []T) T {
	var s T
	for _, x := range xs {
		s += x
	}
	return s
}

// median returns the median of xs (the mean of the middle two for an even
// count), or 0 for none. It sorts xs.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	h := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[h]
	}
	return (xs[h-1] + xs[h]) / 2
}

// ratio returns a/b to four digits, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return round(a/b, 4)
}

// Summary formats the comparison for people, one line per figure.
func (e Enforcement) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "enforcement: %s sees %.1f%% of the graph (%d of %d objects, counted as itself and as system); "+
		"%.0f%% of the nodes system's 2-hop walks reach are hidden from it, in %.0f%% of the walks\n",
		e.Viewer, 100*e.VisibleFraction, e.VisibleObjects, e.Objects, 100*e.HiddenReached, 100*e.WalksCrossingHidden)
	fmt.Fprintf(&b, "  baseline: %s\n", e.Baseline)
	for _, c := range []struct {
		name, items string
		c           Comparison
	}{
		{"2-hop", "node", e.TwoHop},
		{"search keyword", "hit", e.SearchKeyword},
		{"search text", "hit", e.SearchText},
		{"search word", "hit", e.SearchWord},
		{"degree", "edge", e.Degree},
	} {
		fmt.Fprintf(&b, "  %-14s p50 %.4f vs %.4f ms as system (x%.2f), p99 %.4f vs %.4f ms (x%.2f); "+
			"paired x%.2f, equal output x%.2f (%d queries), per %s x%.2f (%.1f vs %.1f %ss per query)\n",
			c.name, c.c.Viewer.P50Ms, c.c.System.P50Ms, c.c.P50Ratio, c.c.Viewer.P99Ms, c.c.System.P99Ms, c.c.P99Ratio,
			c.c.PairedRatio, c.c.EqualItemsRatio, c.c.EqualItemsQueries, c.items, c.c.PerItemRatio, c.c.ViewerItems, c.c.SystemItems, c.items)
	}
	fmt.Fprintf(&b, "  enforcement overhead %+.1f%% (%s; the worst of 2-hop and search, each the worse of its paired and equal-output ratios; target at most %.0f%%)",
		100*e.Overhead, e.OverheadOf, 100*TargetEnforcementOverhead)
	return b.String()
}
