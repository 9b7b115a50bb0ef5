package correlate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

// ContainerTypes are the STIX types whose objects are containers: cases,
// incidents, reports (imported MISP events among them), groupings (list
// files, Maltrail families among them), campaigns and observed-data.
var ContainerTypes = []string{"campaign", "grouping", "incident", "observed-data", "report", schema.TypeCase}

// memberOut are the edge types from a container to its members;
// memberIn the edge types from a member to its container.
var (
	memberOut = []string{"object_refs", "uses", "related-to"}
	memberIn  = []string{"indicates", "related-to"}
)

// expansionEdges are the edges, by the type of the object they leave, that
// lead from an evidence object to further values it stands for, with the
// rule that names the step.
var expansionEdges = map[string]struct {
	types []string
	rule  Rule
}{
	"indicator":      {[]string{"based-on"}, RuleIndicatorPattern},
	"infrastructure": {[]string{"consists-of"}, RuleInfrastructure},
	"malware":        {[]string{"sample_refs"}, RuleMalwareSample},
	"domain-name":    {[]string{"resolves_to_refs", "resolves-to"}, RuleResolvesTo},
}

// FalsePositiveLabel marks a value false-positive: a visible opinion
// object with this label (and not revoked) marks the objects in its
// object_refs; an object carrying the label itself is marked too. A marked
// value links nothing for the viewers who see the marking, and stays
// searchable.
const FalsePositiveLabel = "false-positive"

// isContainer reports whether typ is a container type.
func isContainer(typ string) bool { return slices.Contains(ContainerTypes, typ) }

// isEvidence reports whether objects of type typ are evidence: cyber
// observables, indicators, infrastructure and malware.
func isEvidence(typ string) bool {
	switch typ {
	case "indicator", "infrastructure", "malware":
		return true
	}
	return schema.KindOf(typ) == schema.KindSCO
}

// object is what the builder knows about one evidence object.
type object struct {
	typ    string
	keys   []Key    // its own values; a file's are its hashes, kind "file"
	hashes []string // a file's hashes
	fp     bool     // labelled false-positive
	exp    []graph.ID
	rule   Rule // the rule of exp
	held   []memberKey
	done   bool // held computed
}

// memberKey is one value an evidence object gives its containers.
type memberKey struct {
	key    int32
	rule   Rule
	factor float64
}

// builder holds the state of one Build.
type builder struct {
	ctx  context.Context
	tx   *graph.Tx
	opts Options
	p    *Projection

	objs    map[graph.ID]*object
	keyIdx  map[Key]int32
	cidrs   *cidrSet
	classes *hashClasses
	fpKeys  map[Key]string // keys of values marked false-positive, with who marked them
	objSup  map[graph.ID][]Suppression
	listed  map[string]Suppression // file classes on a warninglist, by representative
	reads   int
}

// Build computes the projection as viewer v sees the store: only visible
// containers, members, edges and markings take part, so what v may not see
// changes neither the links nor the weights. It reads everything in one
// snapshot.
func Build(ctx context.Context, s Store, v graph.Viewer, opts Options) (*Projection, error) {
	start := time.Now()
	opts = opts.withDefaults()
	p := &Projection{viewer: v, opts: opts, index: map[graph.ID]int32{}, folded: map[graph.ID]*folded{},
		sup: map[int32]Suppression{}, objects: map[int32]graph.ID{}, keyIdx: map[Key]int32{}}
	err := s.View(v, func(tx *graph.Tx) error {
		b := &builder{ctx: ctx, tx: tx, opts: opts, p: p, objs: map[graph.ID]*object{}, keyIdx: p.keyIdx,
			cidrs: newCIDRSet(), classes: newHashClasses(), fpKeys: map[Key]string{}, objSup: map[graph.ID][]Suppression{}}
		return b.run()
	})
	if err != nil {
		return nil, fmt.Errorf("build correlation projection: %w", err)
	}
	p.stats.Took = time.Since(start)
	return p, nil
}

// Store is what Build reads: *graph.Store implements it.
type Store interface {
	View(v graph.Viewer, fn func(tx *graph.Tx) error) error
}

// tick checks for cancellation every 1,024 reads.
func (b *builder) tick() error {
	b.reads++
	if b.reads%1024 == 0 {
		return b.ctx.Err()
	}
	return nil
}

// rawContainer is a container as first read.
type rawContainer struct {
	c        Container
	evidence []graph.ID
	nested   []graph.ID // containers in object_refs
}

func (b *builder) run() error {
	raws, err := b.readContainers()
	if err != nil {
		return err
	}
	// Observed-data named by another container folds into it; every
	// other container is a projection node.
	foldedInto := map[graph.ID][]int{}
	for i, r := range raws {
		if r.c.Type == "observed-data" {
			continue // observed-data naming observed-data nests it
		}
		for _, n := range r.nested {
			if raws[b.rawIndex(raws, n)].c.Type == "observed-data" && n != r.c.ID {
				foldedInto[n] = append(foldedInto[n], i)
			}
		}
	}
	var units []int
	for i, r := range raws {
		if _, ok := foldedInto[r.c.ID]; !ok {
			b.p.index[r.c.ID] = int32(len(units))
			units = append(units, i)
		}
	}
	if err := b.readEvidence(raws); err != nil {
		return err
	}
	if err := b.readFalsePositives(); err != nil {
		return err
	}
	p := b.p
	p.containers = make([]Container, len(units))
	p.held = make([][]holding, len(units))
	p.unitSup = make([][]Suppression, len(units))
	p.parents = make([][]int32, len(units))
	for u, ri := range units {
		r := raws[ri]
		c := r.c
		members := slices.Clone(r.evidence)
		for _, n := range r.nested {
			if n == c.ID {
				continue
			}
			if j, ok := p.index[n]; ok {
				c.Nested = append(c.Nested, j)
				p.parents[j] = append(p.parents[j], int32(u))
			} else {
				c.Folded = append(c.Folded, n)
				members = append(members, raws[b.rawIndex(raws, n)].evidence...)
			}
		}
		slices.Sort(members)
		members = slices.Compact(members)
		c.Evidence = len(members)
		p.containers[u] = c
		held, sup, err := b.hold(members)
		if err != nil {
			return err
		}
		p.held[u], p.unitSup[u] = held, sup
	}
	for id, into := range foldedInto {
		f := &folded{}
		for _, ri := range into {
			if u, ok := p.index[raws[ri].c.ID]; ok {
				f.holders = append(f.holders, u)
			}
		}
		held, sup, err := b.hold(raws[b.rawIndex(raws, id)].evidence)
		if err != nil {
			return err
		}
		f.held, f.sup = held, sup
		p.folded[id] = f
	}
	p.stats.Containers, p.stats.Folded, p.stats.Evidence = len(units), len(foldedInto), len(b.objs)
	b.weigh()
	return b.findObjects()
}

// rawIndex finds a container read by readContainers by id.
func (b *builder) rawIndex(raws []rawContainer, id graph.ID) int {
	i, _ := slices.BinarySearchFunc(raws, id, func(r rawContainer, id graph.ID) int { return cmp.Compare(r.c.ID, id) })
	return i
}

// readContainers reads every visible container and its members, in id
// order.
func (b *builder) readContainers() ([]rawContainer, error) {
	var ids []graph.ID
	for _, t := range ContainerTypes {
		if err := b.tx.ByType(t, 0, func(id graph.ID) bool { ids = append(ids, id); return true }); err != nil {
			return nil, fmt.Errorf("list %s objects: %w", t, err)
		}
	}
	slices.Sort(ids)
	raws := make([]rawContainer, 0, len(ids))
	for _, id := range ids {
		if err := b.tick(); err != nil {
			return nil, err
		}
		n, err := b.tx.Node(id)
		if errors.Is(err, graph.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read container %d: %w", id, err)
		}
		r := rawContainer{c: Container{ID: id, StixID: n.StixID, Type: n.Type, Name: nodeName(n)}}
		var members []graph.Edge
		collect := func(e graph.Edge) bool { members = append(members, e); return true }
		if err := b.tx.Neighbours(id, graph.NeighbourQuery{Dir: graph.Out, EdgeTypes: memberOut}, collect); err != nil {
			return nil, fmt.Errorf("read members of %s: %w", n.StixID, err)
		}
		if err := b.tx.Neighbours(id, graph.NeighbourQuery{Dir: graph.In, EdgeTypes: memberIn}, collect); err != nil {
			return nil, fmt.Errorf("read members of %s: %w", n.StixID, err)
		}
		for _, e := range members {
			m := e.Other(id)
			o, typ, err := b.object(m)
			if err != nil {
				return nil, err
			}
			switch {
			case o != nil:
				r.evidence = append(r.evidence, m)
			case isContainer(typ) && e.Type == "object_refs" && e.From == id:
				r.nested = append(r.nested, m)
			}
		}
		slices.Sort(r.evidence)
		r.evidence = slices.Compact(r.evidence)
		slices.Sort(r.nested)
		r.nested = slices.Compact(r.nested)
		raws = append(raws, r)
	}
	// A nested id that is not a visible container cannot occur (edges to
	// hidden nodes are not returned), but an object_refs edge to a
	// container that ByType did not list would break rawIndex: drop it.
	for i := range raws {
		raws[i].nested = slices.DeleteFunc(raws[i].nested, func(n graph.ID) bool {
			j := b.rawIndex(raws, n)
			return j >= len(raws) || raws[j].c.ID != n
		})
	}
	return raws, nil
}

// nodeName returns the name of a node's object, or its STIX id.
func nodeName(n *graph.Node) string {
	if o, err := n.Object(); err == nil {
		if s, ok := o.String("name"); ok && s != "" {
			return s
		}
	}
	return n.StixID
}

// object returns what the builder knows about node id when it is evidence
// (nil otherwise) and its type, reading it on first use.
func (b *builder) object(id graph.ID) (*object, string, error) {
	if o, ok := b.objs[id]; ok {
		return o, o.typ, nil
	}
	if err := b.tick(); err != nil {
		return nil, "", err
	}
	n, err := b.tx.Node(id)
	if errors.Is(err, graph.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read member %d: %w", id, err)
	}
	if !isEvidence(n.Type) {
		return nil, n.Type, nil
	}
	so, err := n.Object()
	if err != nil {
		return nil, "", fmt.Errorf("read member %d: %w", id, err)
	}
	o := &object{typ: n.Type, fp: slices.Contains(so.Strings("labels"), FalsePositiveLabel)}
	vals := schema.IndexValues(so)
	switch {
	case n.Type == "file" || n.Type == "artifact":
		o.hashes = vals
		for _, h := range vals {
			o.keys = append(o.keys, Key{"file", h})
		}
		if len(vals) == 0 {
			o.keys = []Key{{n.Type, n.StixID}}
		}
	case n.Type == "ipv4-addr" || n.Type == "ipv6-addr":
		for _, v := range vals[:min(1, len(vals))] {
			k := ipKey(n.Type, v)
			o.keys = append(o.keys, k)
			if pfx, ok := parseIP(k.Value); ok {
				b.cidrs.add(pfx)
			}
		}
	case len(vals) > 0 && schema.KindOf(n.Type) == schema.KindSCO:
		o.keys = []Key{{n.Type, vals[0]}}
	default:
		o.keys = []Key{{n.Type, n.StixID}}
	}
	b.objs[id] = o
	return o, n.Type, nil
}

// readEvidence reads, for every evidence object of every container, the
// objects it expands to, and groups file hashes into classes.
func (b *builder) readEvidence(raws []rawContainer) error {
	var ids []graph.ID
	for _, r := range raws {
		ids = append(ids, r.evidence...)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, id := range ids {
		o := b.objs[id]
		ex, ok := expansionEdges[o.typ]
		if !ok {
			continue
		}
		if err := b.tick(); err != nil {
			return err
		}
		var targets []graph.ID
		err := b.tx.Neighbours(id, graph.NeighbourQuery{Dir: graph.Out, EdgeTypes: ex.types}, func(e graph.Edge) bool {
			targets = append(targets, e.To)
			return true
		})
		if err != nil {
			return fmt.Errorf("expand evidence %d: %w", id, err)
		}
		for _, t := range targets {
			to, _, err := b.object(t)
			if err != nil {
				return err
			}
			if to != nil && t != id {
				o.exp = append(o.exp, t)
			}
		}
		o.rule = ex.rule
	}
	// Hash classes: every file object read so far, and every visible file
	// object that shares a hash with one of them.
	var files []graph.ID
	for id, o := range b.objs {
		if len(o.hashes) > 0 {
			files = append(files, id)
		}
	}
	slices.Sort(files)
	seen := map[string]bool{}
	for _, id := range files {
		o := b.objs[id]
		b.classes.union(o.hashes)
		for _, h := range o.hashes {
			if seen[h] {
				continue
			}
			seen[h] = true
			others, err := b.tx.ByValue(h)
			if err != nil {
				return fmt.Errorf("look up files with hash %s: %w", h, err)
			}
			for _, other := range others {
				if other == id {
					continue
				}
				oo, _, err := b.object(other)
				if err != nil {
					return err
				}
				if oo != nil && len(oo.hashes) > 0 {
					b.classes.union(oo.hashes)
				}
			}
		}
	}
	return nil
}

// readFalsePositives finds the values marked false-positive: objects in
// the object_refs of visible, unrevoked opinions labelled
// FalsePositiveLabel, and evidence objects carrying the label.
func (b *builder) readFalsePositives() error {
	var ops []graph.ID
	if err := b.tx.ByType("opinion", 0, func(id graph.ID) bool { ops = append(ops, id); return true }); err != nil {
		return fmt.Errorf("list opinions: %w", err)
	}
	for _, id := range ops {
		n, err := b.tx.Node(id)
		if errors.Is(err, graph.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read opinion %d: %w", id, err)
		}
		o, err := n.Object()
		if err != nil {
			return fmt.Errorf("read opinion %s: %w", n.StixID, err)
		}
		if !slices.Contains(o.Strings("labels"), FalsePositiveLabel) || isRevoked(o) {
			continue
		}
		by := n.Policy.Owner
		if by == "" {
			by = n.StixID
		}
		var targets []graph.ID
		err = b.tx.Neighbours(id, graph.NeighbourQuery{Dir: graph.Out, EdgeTypes: []string{"object_refs"}}, func(e graph.Edge) bool {
			targets = append(targets, e.To)
			return true
		})
		if err != nil {
			return fmt.Errorf("read targets of opinion %s: %w", n.StixID, err)
		}
		for _, t := range targets {
			to, _, err := b.object(t)
			if err != nil {
				return err
			}
			if to == nil {
				continue
			}
			b.classes.union(to.hashes)
			to.fp = true
			for _, k := range to.keys {
				b.fpKeys[b.finalKey(k)] = "marked by " + by + " (" + n.StixID + ")"
			}
		}
	}
	for _, o := range b.objs {
		if o.fp {
			for _, k := range o.keys {
				if _, ok := b.fpKeys[b.finalKey(k)]; !ok {
					b.fpKeys[b.finalKey(k)] = "labelled " + FalsePositiveLabel
				}
			}
		}
	}
	return nil
}

func isRevoked(o *schema.Object) bool {
	v, ok := o.Props["revoked"]
	return ok && string(v) == "true"
}

// finalKey maps a file hash to its class's representative hash.
func (b *builder) finalKey(k Key) Key {
	if k.Kind == "file" {
		return Key{"file", b.classes.find(k.Value)}
	}
	return k
}

// intern returns the index of key k.
func (b *builder) intern(k Key) int32 {
	if i, ok := b.keyIdx[k]; ok {
		return i
	}
	i := int32(len(b.p.keys))
	b.p.keys = append(b.p.keys, k)
	b.keyIdx[k] = i
	return i
}

// suppressed says why key k links nothing regardless of how many hold it:
// a false-positive marking or a warninglist.
func (b *builder) suppressed(k Key) (Suppression, bool) {
	if by, ok := b.fpKeys[k]; ok {
		return Suppression{Key: k, Reason: ReasonFalsePositive, Detail: by}, true
	}
	if b.opts.Warninglisted == nil || schema.KindOf(k.Kind) != schema.KindSCO && k.Kind != "file" {
		return Suppression{}, false
	}
	if k.Kind == "file" {
		// A file is listed when any hash of its class is.
		if b.listed == nil {
			b.listed = map[string]Suppression{}
			for h := range b.classes.parent {
				if list, ok := b.opts.Warninglisted("file", h); ok {
					rep := b.classes.find(h)
					if _, done := b.listed[rep]; !done {
						b.listed[rep] = Suppression{Key: Key{"file", rep}, Reason: ReasonWarninglist, Detail: list + " (" + h + ")"}
					}
				}
			}
		}
		s, ok := b.listed[k.Value]
		return s, ok
	}
	if list, ok := b.opts.Warninglisted(k.Kind, k.Value); ok {
		return Suppression{Key: k, Reason: ReasonWarninglist, Detail: list}, true
	}
	return Suppression{}, false
}

// memberKeys computes the values one evidence object gives its
// containers: its own, those of the objects it expands to, and what the
// rules derive from them; the strongest way to each value wins. An object
// whose own value is suppressed gives nothing; a derived value that is
// suppressed is left out. Suppressed values are returned apart.
func (b *builder) memberKeys(id graph.ID) ([]memberKey, []Suppression) {
	o := b.objs[id]
	var sup []Suppression
	own := map[Key]bool{}
	for _, k := range o.keys {
		k = b.finalKey(k)
		if own[k] {
			continue
		}
		own[k] = true
		if s, ok := b.suppressed(k); ok {
			sup = append(sup, s)
		}
	}
	if len(sup) > 0 || o.fp {
		if len(sup) == 0 {
			for k := range own {
				sup = append(sup, Suppression{Key: k, Reason: ReasonFalsePositive, Detail: "labelled " + FalsePositiveLabel})
			}
		}
		return nil, sup
	}
	// A member gives a handful of values, so a slice beats a map.
	var best []keyedMember
	add := func(k Key, r Rule, f float64) {
		k = b.finalKey(k)
		for i := range best {
			if best[i].key == k {
				if better(r, f, best[i].mk.rule, best[i].mk.factor) {
					best[i].mk = memberKey{rule: r, factor: f}
				}
				return
			}
		}
		best = append(best, keyedMember{k, memberKey{rule: r, factor: f}})
	}
	for k := range own {
		add(k, RuleShared, 1)
	}
	for _, t := range o.exp {
		to := b.objs[t]
		if to.fp {
			continue
		}
		for _, k := range to.keys {
			add(k, o.rule, o.rule.Factor())
		}
	}
	// Rules on values: URL host, e-mail domain, registered domain; then
	// CIDR blocks that hold an address. Values these add are not derived
	// from again (deriveValue already follows its own chains).
	n := len(best)
	for i := 0; i < n; i++ {
		for _, d := range deriveValue(best[i].key, b.opts.SharedParent) {
			add(d.key, d.rule, best[i].mk.factor*d.rule.Factor())
		}
	}
	n = len(best)
	for i := 0; i < n; i++ {
		k := best[i].key
		if k.Kind != "ipv4-addr" && k.Kind != "ipv6-addr" {
			continue
		}
		a, err := netip.ParseAddr(k.Value)
		if err != nil {
			continue
		}
		for _, pfx := range b.cidrs.containing(a.Unmap()) {
			add(Key{k.Kind, pfx.String()}, RuleIPInCIDR, best[i].mk.factor*RuleIPInCIDR.Factor())
		}
	}
	out := make([]memberKey, 0, len(best))
	for _, km := range best {
		if s, ok := b.suppressed(km.key); ok {
			sup = append(sup, s)
			continue
		}
		km.mk.key = b.intern(km.key)
		out = append(out, km.mk)
	}
	slices.SortFunc(out, func(a, b memberKey) int { return cmp.Compare(a.key, b.key) })
	return out, sup
}

// keyedMember is a value with the way a member gives it.
type keyedMember struct {
	key Key
	mk  memberKey
}

// hold computes how a container with the given evidence members holds
// each value, and which values it holds that are suppressed.
func (b *builder) hold(members []graph.ID) ([]holding, []Suppression, error) {
	byKey := map[int32]int{}
	var held []holding
	var sup []Suppression
	for _, m := range members {
		if err := b.tick(); err != nil {
			return nil, nil, err
		}
		o := b.objs[m]
		if !o.done {
			mh, ms := b.memberKeys(m)
			o.held, o.done = mh, true
			if len(ms) > 0 {
				b.objSup[m] = ms
			}
		}
		sup = append(sup, b.objSup[m]...)
		for _, mk := range o.held {
			i, ok := byKey[mk.key]
			if !ok {
				byKey[mk.key] = len(held)
				held = append(held, holding{key: mk.key, rule: mk.rule, factor: mk.factor, sources: []graph.ID{m}})
				continue
			}
			h := &held[i]
			switch {
			case better(mk.rule, mk.factor, h.rule, h.factor):
				h.rule, h.factor, h.sources = mk.rule, mk.factor, []graph.ID{m}
			case mk.rule == h.rule && mk.factor == h.factor && len(h.sources) < b.opts.MaxSources:
				h.sources = append(h.sources, m)
			}
		}
	}
	slices.SortFunc(held, func(a, b holding) int { return cmp.Compare(a.key, b.key) })
	return held, sup, nil
}

// weigh counts each value's document frequency, suppresses values over
// the cap, and makes the links.
func (b *builder) weigh() {
	p := b.p
	p.df = make([]int32, len(p.keys))
	p.postings = make([][]posting, len(p.keys))
	for u, hs := range p.held {
		for i, h := range hs {
			p.df[h.key]++
			p.postings[h.key] = append(p.postings[h.key], posting{unit: int32(u), pos: int32(i)})
		}
	}
	p.stats.Suppressed = map[Reason]int{}
	for u := range p.unitSup {
		for _, s := range p.unitSup[u] {
			if _, ok := b.keyIdx[s.Key]; !ok {
				b.intern(s.Key)
				p.df = append(p.df, 0)
				p.postings = append(p.postings, nil)
			}
			i := b.keyIdx[s.Key]
			if _, ok := p.sup[i]; !ok {
				p.sup[i] = s
				p.stats.Suppressed[s.Reason]++
			}
		}
	}
	type pair struct{ a, b int32 }
	linkOf := map[pair]int{}
	for k := range p.keys {
		df := int(p.df[k])
		if df > b.opts.MaxDF {
			s := Suppression{Key: p.keys[k], Reason: ReasonDFCap,
				Detail: "held by " + strconv.Itoa(df) + " containers, more than the cap of " + strconv.Itoa(b.opts.MaxDF)}
			p.sup[int32(k)] = s
			p.stats.Suppressed[ReasonDFCap]++
			for _, po := range p.postings[k] {
				p.unitSup[po.unit] = append(p.unitSup[po.unit], s)
			}
			continue
		}
		if _, s := p.sup[int32(k)]; s || df < 2 {
			continue
		}
		p.stats.Linking++
		ps := p.postings[k]
		for i := range ps {
			for j := i + 1; j < len(ps); j++ {
				x, y := ps[i], ps[j]
				if x.unit > y.unit {
					x, y = y, x
				}
				key := pair{x.unit, y.unit}
				li, ok := linkOf[key]
				if !ok {
					li = len(p.links)
					linkOf[key] = li
					p.links = append(p.links, Link{A: x.unit, B: y.unit})
				}
				ev := p.evidence(&p.held[x.unit][x.pos], &p.held[y.unit][y.pos])
				p.links[li].Score += ev.Weight
				p.links[li].Evidence = append(p.links[li].Evidence, ev)
			}
		}
	}
	slices.SortFunc(p.links, func(x, y Link) int {
		if c := cmp.Compare(x.A, y.A); c != 0 {
			return c
		}
		return cmp.Compare(x.B, y.B)
	})
	p.adj = make([][]int32, len(p.containers))
	for i := range p.links {
		l := &p.links[i]
		sortEvidence(l.Evidence)
		p.adj[l.A] = append(p.adj[l.A], int32(i))
		p.adj[l.B] = append(p.adj[l.B], int32(i))
	}
	p.stats.Keys, p.stats.Links = len(p.keys), len(p.links)
}

// findObjects finds, for every value that links containers, the visible
// node that carries it: a member that holds it as its own value, else a
// node found by value or by STIX id. Evidence made before (in the links)
// is updated.
func (b *builder) findObjects() error {
	p := b.p
	for k := range p.keys {
		if _, s := p.sup[int32(k)]; s || p.df[k] < 2 {
			continue
		}
		var found graph.ID
		for _, po := range p.postings[k] {
			h := p.held[po.unit][po.pos]
			if h.rule == RuleShared && len(h.sources) > 0 {
				found = h.sources[0]
				break
			}
		}
		if found == 0 {
			id, err := b.lookup(p.keys[k])
			if err != nil {
				return err
			}
			found = id
		}
		if found != 0 {
			p.objects[int32(k)] = found
		}
	}
	for i := range p.links {
		for j := range p.links[i].Evidence {
			ev := &p.links[i].Evidence[j]
			ev.Object = p.objects[b.keyIdx[ev.Key]]
		}
	}
	return nil
}

// lookup finds the visible node that carries a value, or 0.
func (b *builder) lookup(k Key) (graph.ID, error) {
	if schema.KindOf(k.Kind) != schema.KindSCO && k.Kind != "file" {
		id, err := b.tx.Lookup(k.Value)
		if errors.Is(err, graph.ErrNotFound) {
			return 0, nil
		}
		return id, err
	}
	ids, err := b.tx.ByValue(k.Value)
	if err != nil {
		return 0, fmt.Errorf("look up %s: %w", k, err)
	}
	for _, id := range ids {
		o, _, err := b.object(id)
		if err != nil {
			return 0, err
		}
		if o != nil && (o.typ == k.Kind || k.Kind == "file" && len(o.hashes) > 0) {
			return id, nil
		}
	}
	return 0, nil
}

// idf is ln(1 + n/df), or 0 when df is 0.
func idf(n, df int) float64 {
	if df <= 0 {
		return 0
	}
	return math.Log1p(float64(n) / float64(df))
}
