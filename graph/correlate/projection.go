package correlate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/verband-cti/verband/graph"
)

// Container is one node of the projection: a container the viewer may see.
type Container struct {
	// ID, StixID, Type and Name describe the container object.
	ID     graph.ID
	StixID string
	Type   string
	Name   string
	// Nested lists, by projection index, the containers this one names in
	// its object_refs (a case holding a report, the later parts of a split
	// list naming the first).
	Nested []int32
	// Folded lists the observed-data objects this container names, whose
	// members count as its own (see the package documentation).
	Folded []graph.ID
	// Evidence is the number of evidence objects it holds, its folded
	// observed-data included.
	Evidence int
}

// Evidence is one value that two containers share, seen from one of them
// ("here") towards the other ("there").
type Evidence struct {
	// Key is the shared value.
	Key
	// Rule is the rule that made the link: RuleShared when both containers
	// hold the value as a member, otherwise the weaker of the two ways they
	// hold it (the one with the lower factor).
	Rule Rule
	// Weight is IDF times the rule's factor (the product of the factors of
	// a chain of derivations).
	Weight float64
	// IDF is ln(1 + N/DF), where N is the number of containers the viewer
	// sees and DF the number of them that hold the value.
	IDF float64
	// DF is the value's document frequency.
	DF int
	// Object is the visible node that carries the value, or 0 when none
	// does (a registered domain that only subdomains stand for).
	Object graph.ID
	// Here and There are the member objects of each container that give
	// the value (up to Options.MaxSources each).
	Here, There []graph.ID
	// HereRule and ThereRule say how each container holds the value.
	HereRule, ThereRule Rule
}

// Link is one edge of the projection: two containers that share evidence.
type Link struct {
	// A and B are projection indexes, A < B.
	A, B int32
	// Score is the sum of the evidence weights.
	Score float64
	// Evidence lists every shared value, heaviest first; Here is A's side
	// and There B's.
	Evidence []Evidence
}

// Reason says why a value links nothing.
type Reason string

// Reasons a value is suppressed.
const (
	// ReasonWarninglist: the value is on a loaded warninglist.
	ReasonWarninglist Reason = "warninglist"
	// ReasonFalsePositive: the value is marked false-positive (see
	// FalsePositiveLabel).
	ReasonFalsePositive Reason = "false-positive"
	// ReasonDFCap: more containers hold the value than Options.MaxDF.
	ReasonDFCap Reason = "df-cap"
)

// Suppression is a value that a container holds but that links nothing.
type Suppression struct {
	Key
	Reason Reason
	// Detail says more: the warninglist's name, who marked the value, or
	// the document frequency against the cap.
	Detail string
}

// Correlation is one container related to the one asked about.
type Correlation struct {
	// Container is the related container.
	Container Container
	// Score is the sum of the evidence weights.
	Score float64
	// Evidence lists every shared value, heaviest first, with Here on the
	// side of the container asked about.
	Evidence []Evidence
}

// Result is what Correlate finds for one container.
type Result struct {
	// Related lists the related containers, highest score first (ties by
	// internal id).
	Related []Correlation
	// Suppressed lists the values the container holds that link nothing,
	// by kind and value.
	Suppressed []Suppression
}

// Stats describe a projection.
type Stats struct {
	// Containers is the number of projection nodes; Folded the number of
	// observed-data objects folded into them.
	Containers, Folded int
	// Evidence is the number of distinct evidence objects held.
	Evidence int
	// Keys is the number of distinct values held, derived ones included.
	Keys int
	// Linking is the number of values that link two or more containers.
	Linking int
	// Links is the number of projection edges.
	Links int
	// Suppressed counts the values that link nothing, by reason.
	Suppressed map[Reason]int
	// Took is how long Build ran.
	Took time.Duration
}

// holding is how one container holds one value.
type holding struct {
	key     int32
	rule    Rule
	factor  float64
	sources []graph.ID
}

// posting is one container holding a value: the container and the
// position of the holding in its list.
type posting struct {
	unit, pos int32
}

// folded is an observed-data object folded into containers.
type folded struct {
	holders []int32
	held    []holding
	sup     []Suppression
}

// Projection is the weighted container graph for one viewer: the
// containers it may see, the values they hold, and a link between every
// two containers that share a value which is not suppressed, weighted by
// the value's rarity and keeping the full evidence list. It is built once
// (Build) and read-only afterwards, so it is safe for concurrent use.
//
// Nodes are dense int32 indexes 0…Len()-1 (Index maps a graph.ID to one,
// Container back), ready for graph algorithms.
type Projection struct {
	viewer graph.Viewer
	opts   Options

	containers []Container
	index      map[graph.ID]int32
	parents    [][]int32 // containers naming each one in object_refs
	folded     map[graph.ID]*folded

	keys     []Key
	keyIdx   map[Key]int32
	df       []int32
	sup      map[int32]Suppression // suppressed keys, by reason
	objects  map[int32]graph.ID    // the node carrying each linking key
	held     [][]holding           // per container, by key
	unitSup  [][]Suppression       // per container: values it holds that link nothing
	postings [][]posting           // per key: the containers holding it

	links []Link
	adj   [][]int32 // per container: indexes into links

	stats Stats
}

// Viewer returns the viewer the projection was built for.
func (p *Projection) Viewer() graph.Viewer { return p.viewer }

// Len returns the number of containers.
func (p *Projection) Len() int { return len(p.containers) }

// Container returns container i.
func (p *Projection) Container(i int32) Container { return p.containers[i] }

// Index returns the projection index of a container, and false when id is
// not a projection node (not a visible container, or an observed-data
// object folded into others).
func (p *Projection) Index(id graph.ID) (int32, bool) {
	i, ok := p.index[id]
	return i, ok
}

// Links returns every link, ordered by A then B. The slice is shared and
// must not be changed.
func (p *Projection) Links() []Link { return p.links }

// LinksOf returns the indexes into Links of the links at container i.
func (p *Projection) LinksOf(i int32) []int32 { return p.adj[i] }

// Stats describes the projection.
func (p *Projection) Stats() Stats { return p.stats }

// DF returns the number of containers that hold a value.
func (p *Projection) DF(k Key) int {
	if i, ok := p.keyIdx[k]; ok {
		return int(p.df[i])
	}
	return 0
}

// IDF returns ln(1 + N/DF) of a value; 0 when no container holds it.
func (p *Projection) IDF(k Key) float64 {
	return idf(len(p.containers), p.DF(k))
}

// Suppressed reports whether a value links nothing, and why.
func (p *Projection) Suppressed(k Key) (Suppression, bool) {
	if i, ok := p.keyIdx[k]; ok {
		s, ok := p.sup[i]
		return s, ok
	}
	return Suppression{}, false
}

// Correlate ranks the containers related to container id (a projection
// node or a folded observed-data object) by the values they share with it
// and with the containers it nests, which are left out of the answer
// together with the containers that nest it: containment is not
// correlation. It fails with graph.ErrNotFound when id is no container the
// viewer may see.
func (p *Projection) Correlate(id graph.ID) (*Result, error) {
	exclude := map[int32]bool{}
	var groupHeld [][]holding
	var sup []Suppression
	if u, ok := p.index[id]; ok {
		for _, g := range p.descendants(u) {
			exclude[g] = true
			groupHeld = append(groupHeld, p.held[g])
			sup = append(sup, p.unitSup[g]...)
		}
		for _, a := range p.ancestors(u) {
			exclude[a] = true
		}
	} else if f, ok := p.folded[id]; ok {
		for _, h := range f.holders {
			exclude[h] = true
			for _, a := range p.ancestors(h) {
				exclude[a] = true
			}
		}
		groupHeld = [][]holding{f.held}
		sup = f.sup
	} else {
		return nil, fmt.Errorf("correlate %d: %w", id, graph.ErrNotFound)
	}
	mine := mergeHeld(groupHeld)
	byUnit := map[int32]*Correlation{}
	for i := range mine {
		h := &mine[i]
		if _, s := p.sup[h.key]; s {
			continue
		}
		for _, po := range p.postings[h.key] {
			if exclude[po.unit] {
				continue
			}
			c := byUnit[po.unit]
			if c == nil {
				c = &Correlation{Container: p.containers[po.unit]}
				byUnit[po.unit] = c
			}
			ev := p.evidence(h, &p.held[po.unit][po.pos])
			c.Score += ev.Weight
			c.Evidence = append(c.Evidence, ev)
		}
	}
	res := &Result{Related: make([]Correlation, 0, len(byUnit))}
	for _, c := range byUnit {
		sortEvidence(c.Evidence)
		res.Related = append(res.Related, *c)
	}
	slices.SortFunc(res.Related, func(a, b Correlation) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Container.ID, b.Container.ID)
	})
	res.Suppressed = dedupeSuppressions(sup)
	return res, nil
}

// evidence makes the evidence of one value held by two containers.
func (p *Projection) evidence(here, there *holding) Evidence {
	df := int(p.df[here.key])
	ev := Evidence{
		Key: p.keys[here.key], IDF: idf(len(p.containers), df), DF: df,
		Object: p.objects[here.key], Here: here.sources, There: there.sources,
		HereRule: here.rule, ThereRule: there.rule,
	}
	ev.Rule = linkRule(ev.Kind, here, there)
	ev.Weight = ev.IDF * min(here.factor, there.factor)
	return ev
}

// linkRule names the rule of a link through one value: RuleShared when
// both hold it as a member, except for files held through different file
// objects, which are RuleHashEquivalence; otherwise the rule of the side
// with the lower factor (the derived side, when one side is a member).
func linkRule(kind string, a, b *holding) Rule {
	if a.rule == RuleShared && b.rule == RuleShared {
		if kind == "file" && !intersects(a.sources, b.sources) {
			return RuleHashEquivalence
		}
		return RuleShared
	}
	weaker := a
	if b.factor < a.factor || (b.factor == a.factor && b.rule.rank() > a.rule.rank()) {
		weaker = b
	}
	if weaker.rule == RuleShared {
		// The other side derived the value with factor 1.
		if weaker == a {
			return b.rule
		}
		return a.rule
	}
	return weaker.rule
}

func intersects(a, b []graph.ID) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// mergeHeld merges the holdings of several containers by key, keeping for
// each key the strongest way of holding it and the union of its sources.
func mergeHeld(lists [][]holding) []holding {
	if len(lists) == 1 {
		return lists[0]
	}
	byKey := map[int32]int{}
	var out []holding
	for _, l := range lists {
		for _, h := range l {
			i, ok := byKey[h.key]
			if !ok {
				byKey[h.key] = len(out)
				out = append(out, h)
				continue
			}
			if better(h.rule, h.factor, out[i].rule, out[i].factor) {
				out[i] = h
			} else if h.rule == out[i].rule {
				out[i].sources = appendUnique(slices.Clip(out[i].sources), h.sources...)
			}
		}
	}
	slices.SortFunc(out, func(a, b holding) int { return cmp.Compare(a.key, b.key) })
	return out
}

// better reports whether holding a value by rule ra with factor fa beats
// rule rb with factor fb: the higher factor, then the stronger rule.
func better(ra Rule, fa float64, rb Rule, fb float64) bool {
	if fa != fb {
		return fa > fb
	}
	return ra.rank() < rb.rank()
}

func appendUnique(dst []graph.ID, ids ...graph.ID) []graph.ID {
	for _, id := range ids {
		if !slices.Contains(dst, id) {
			dst = append(dst, id)
		}
	}
	return dst
}

// descendants returns u and the containers it nests, transitively.
func (p *Projection) descendants(u int32) []int32 {
	return walk(u, func(i int32) []int32 { return p.containers[i].Nested })
}

// ancestors returns the containers that nest u, transitively, without u.
func (p *Projection) ancestors(u int32) []int32 {
	return walk(u, func(i int32) []int32 { return p.parents[i] })[1:]
}

// walk returns start and everything reachable from it through next, once
// each, in breadth-first order.
func walk(start int32, next func(int32) []int32) []int32 {
	seen := map[int32]bool{start: true}
	out := []int32{start}
	for i := 0; i < len(out); i++ {
		for _, n := range next(out[i]) {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// sortEvidence orders evidence heaviest first, then by kind and value.
func sortEvidence(ev []Evidence) {
	slices.SortFunc(ev, func(a, b Evidence) int {
		if c := cmp.Compare(b.Weight, a.Weight); c != 0 {
			return c
		}
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
}

// dedupeSuppressions sorts suppressions by kind and value and keeps one
// per value.
func dedupeSuppressions(s []Suppression) []Suppression {
	out := slices.Clone(s)
	slices.SortFunc(out, func(a, b Suppression) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		if c := strings.Compare(a.Value, b.Value); c != 0 {
			return c
		}
		return strings.Compare(string(a.Reason), string(b.Reason))
	})
	return slices.CompactFunc(out, func(a, b Suppression) bool { return a.Key == b.Key })
}
