package graph

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/verband-cti/verband/schema"
)

// CheckReport is the result of Check: what was counted and every invariant
// that failed.
type CheckReport struct {
	Nodes, Stubs, Edges, Aliases int
	// Runs is the number of stored job runs (runs.go).
	Runs int
	// SearchDocs is the number of documents in the search index, and
	// SearchExpected the number of nodes that should have one.
	SearchDocs, SearchExpected uint64
	// Problems describes each failed invariant (at most MaxProblems), and
	// ProblemCount counts them all.
	Problems     []string
	ProblemCount int
}

// MaxProblems bounds how many problems a CheckReport lists.
const MaxProblems = 200

// OK reports whether every invariant held.
func (r *CheckReport) OK() bool { return r.ProblemCount == 0 }

func (r *CheckReport) add(format string, args ...any) {
	r.ProblemCount++
	if len(r.Problems) < MaxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// Check verifies every storage invariant: both directions of every edge;
// edges exactly as the stored objects imply them; the STIX id, type, time
// and value indexes against the records; degree and type counters against
// counts; the in-memory class cache; that every stored run's key parses
// (their data is opaque to the store); and, after waiting for it to catch
// up, the search index's document count and position. It reads a snapshot,
// so writers may continue. The error is for failures to run the check;
// failed invariants are in the report.
func (s *Store) Check(ctx context.Context) (*CheckReport, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rep := &CheckReport{}
	// Wait for the index first, so its position matches the snapshot
	// unless writers keep committing.
	if err := s.WaitIndexed(ctx); err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	s.wmu.Lock()
	txn := s.db.NewTransaction(false)
	outSeq := s.outSeq.Load()
	s.wmu.Unlock()
	defer txn.Discard()
	c := checker{s: s, tx: s.newTx(txn, System()), rep: rep, ctx: ctx}
	steps := []func() error{c.records, c.edges, c.xids, c.typeIndex, c.timeIndex, c.valueIndex, c.degreeCounters, c.typeCounters, c.runs}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
	}
	if in := s.search.Load(); in != nil {
		rep.SearchExpected = c.indexable
		if hwm := in.hwm.Load(); hwm == outSeq {
			docs, err := in.ix.DocCount()
			if err != nil {
				return nil, fmt.Errorf("check: count search documents: %w", err)
			}
			rep.SearchDocs = docs
			if docs != c.indexable {
				rep.add("search index holds %d documents, the store has %d searchable nodes", docs, c.indexable)
			}
		} else if hwm < outSeq && s.outSeq.Load() == outSeq {
			rep.add("search index at outbox entry %d, store at %d", hwm, outSeq)
		}
	}
	return rep, nil
}

type checker struct {
	s   *Store
	tx  *Tx
	rep *CheckReport
	ctx context.Context

	recs      map[ID]checkRec
	implied   map[edgeID]Class // edges the records imply
	degrees   map[degreeDelta]int64
	counts    map[sym]int64
	indexable uint64
}

type checkRec struct {
	stub     bool
	typ      sym
	class    Class
	modified int64
	stixID   string
	values   []classed[string]
	times    []classed[int64]
}

type edgeID struct {
	from, to, via ID
	e             sym
}

func (c *checker) scan(prefix []byte, values bool, fn func(k, v []byte) error) error {
	it := c.tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: values, PrefetchSize: 256})
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid(); it.Next() {
		if n++; n%4096 == 0 {
			if err := c.ctx.Err(); err != nil {
				return err
			}
		}
		var v []byte
		if values {
			var err error
			if v, err = it.Item().ValueCopy(nil); err != nil {
				return fmt.Errorf("read %x: %w", it.Item().Key(), err)
			}
		}
		if err := fn(it.Item().KeyCopy(nil), v); err != nil {
			return err
		}
	}
	return nil
}

// records decodes every node and derives what the indexes must hold.
func (c *checker) records() error {
	c.recs = map[ID]checkRec{}
	c.implied = map[edgeID]Class{}
	c.counts = map[sym]int64{}
	return c.scan([]byte{tagNode}, true, func(k, v []byte) error {
		id, err := parseNodeKey(k)
		if err != nil {
			c.rep.add("%v", err)
			return nil
		}
		r, err := decodeRecord(v)
		if err != nil {
			c.rep.add("node %d: %v", id, err)
			return nil
		}
		cr := checkRec{stub: r.stub(), typ: r.typ, class: r.class, modified: r.modified, stixID: r.stixID}
		if got := c.s.cache.get(id); got != r.class && !(r.stub() && got == 0) {
			c.rep.add("node %d (%s): class cache says %d, record says %d", id, r.stixID, got, r.class)
		}
		if r.stub() {
			c.rep.Stubs++
			c.recs[id] = cr
			return nil
		}
		c.rep.Nodes++
		c.counts[r.typ]++
		o, err := schema.ParseObject(r.raw)
		if err != nil {
			c.rep.add("node %d (%s): stored JSON: %v", id, r.stixID, err)
			c.recs[id] = cr
			return nil
		}
		if o.ID != r.stixID {
			c.rep.add("node %d: record id %s, JSON id %s", id, r.stixID, o.ID)
		}
		if searchable(o.Type) {
			c.indexable++
		}
		c.contributions(id, &r)
		d, err := c.tx.derive(&r)
		if err != nil {
			c.rep.add("node %d (%s): %v", id, r.stixID, err)
			c.recs[id] = cr
			return nil
		}
		cr.values, cr.times = d.values, d.times
		c.recs[id] = cr
		for _, e := range d.edges {
			from, ok1, err1 := c.tx.lookupID(e.from)
			to, ok2, err2 := c.tx.lookupID(e.to)
			y, ok3 := c.s.syms.lookup(e.typ)
			if err1 != nil || err2 != nil || !ok1 || !ok2 || !ok3 {
				c.rep.add("node %d (%s): implied edge %s %s→%s has no stored ends", id, r.stixID, e.typ, e.from, e.to)
				continue
			}
			var via ID
			if from != id {
				via = id
			}
			c.implied[edgeID{from, to, via, y}] = e.cls
		}
		return nil
	})
}

// contributions checks that a record's class is the union of its
// contributions' and its modification time their newest.
func (c *checker) contributions(id ID, r *record) {
	if len(r.contribs) == 0 {
		c.rep.add("node %d (%s) has no contribution", id, r.stixID)
		return
	}
	cs := make([]Class, len(r.contribs))
	var newest int64
	for i, ct := range r.contribs {
		cs[i] = ct.class
		newest = max(newest, ct.modified)
		if ps, ok := c.s.classes.policies(ct.class); !ok || len(ps) != 1 {
			c.rep.add("node %d (%s): contribution %d has class %d, which is not one policy", id, r.stixID, i, ct.class)
		}
	}
	if u, err := c.tx.unionClass(cs); err != nil || u != r.class {
		c.rep.add("node %d (%s): class %d is not the union of its contributions' classes %v", id, r.stixID, r.class, cs)
	}
	if newest != r.modified {
		c.rep.add("node %d (%s): modified %d, its newest contribution %d", id, r.stixID, r.modified, newest)
	}
}

// edges checks both directions of every edge, their ends, and that the
// stored edges are exactly the implied ones.
func (c *checker) edges() error {
	c.degrees = map[degreeDelta]int64{}
	seen := map[edgeID]bool{}
	check := func(tag byte) error {
		return c.scan([]byte{tag}, true, func(k, v []byte) error {
			dir, a, y, b, via, err := parseEdgeKey(k)
			if err != nil {
				c.rep.add("%v", err)
				return nil
			}
			from, to := a, b
			if dir == In {
				from, to = b, a
			}
			e := edgeID{from, to, via, y}
			twin := edgeKey(In, to, y, from, via)
			if dir == In {
				twin = edgeKey(Out, from, y, to, via)
			}
			if _, err := c.tx.txn.Get(twin); err != nil {
				c.rep.add("edge %d -%s-> %d (via %d): %s direction stored, %s missing", from, c.s.syms.name(y), to, via, dir, opposite(dir))
			}
			c.degrees[degreeDelta{a, dir, y}]++
			if dir == In {
				return nil
			}
			c.rep.Edges++
			seen[e] = true
			for _, end := range []ID{from, to} {
				if _, ok := c.recs[end]; !ok {
					c.rep.add("edge %d -%s-> %d: node %d has no record", from, c.s.syms.name(y), to, end)
				}
			}
			if cls, ok := c.implied[e]; !ok {
				c.rep.add("edge %d -%s-> %d (via %d) is not implied by any stored object", from, c.s.syms.name(y), to, via)
			} else if got, err := decodeClassValue(v); err != nil || got != cls {
				c.rep.add("edge %d -%s-> %d (via %d) has class %x, its contributions say %d", from, c.s.syms.name(y), to, via, v, cls)
			}
			return nil
		})
	}
	if err := check(tagOut); err != nil {
		return err
	}
	if err := check(tagIn); err != nil {
		return err
	}
	for e := range c.implied {
		if !seen[e] {
			c.rep.add("edge %d -%s-> %d (via %d) is implied but not stored", e.from, c.s.syms.name(e.e), e.to, e.via)
		}
	}
	return nil
}

func opposite(d Direction) Direction {
	if d == In {
		return Out
	}
	return In
}

func (c *checker) xids() error {
	found := map[ID]bool{}
	err := c.scan([]byte{tagXID}, true, func(k, v []byte) error {
		sid, err := parseXIDKey(k)
		if err != nil || len(v) != idLen {
			c.rep.add("bad STIX id index entry %x", k)
			return nil
		}
		id := getID(v)
		r, ok := c.recs[id]
		switch {
		case !ok:
			c.rep.add("STIX id %s points to node %d, which has no record", sid, id)
		case r.stixID == sid:
			found[id] = true
		default:
			c.rep.Aliases++
		}
		return nil
	})
	for id, r := range c.recs {
		if !found[id] {
			c.rep.add("node %d (%s) is not in the STIX id index", id, r.stixID)
		}
	}
	return err
}

func (c *checker) typeIndex() error {
	found := map[ID]bool{}
	err := c.scan([]byte{tagType}, true, func(k, v []byte) error {
		y, id, err := parseTypeKey(k)
		if err != nil || len(v) != 4 {
			c.rep.add("bad type index entry %x", k)
			return nil
		}
		r, ok := c.recs[id]
		switch {
		case !ok || r.stub:
			c.rep.add("type index lists node %d, which is not stored", id)
		case r.typ != y:
			c.rep.add("type index lists node %d as %s, record says %s", id, c.s.syms.name(y), c.s.syms.name(r.typ))
		case Class(binary.BigEndian.Uint32(v)) != r.class:
			c.rep.add("type index gives node %d class %d, record says %d", id, binary.BigEndian.Uint32(v), r.class)
		}
		found[id] = true
		return nil
	})
	for id, r := range c.recs {
		if !r.stub && !found[id] {
			c.rep.add("node %d (%s) is not in the type index", id, r.stixID)
		}
	}
	return err
}

func (c *checker) timeIndex() error {
	return checkEntries(c, tagTime, "time", func(k []byte) (int64, ID, error) { return parseTimeKey(k) }, func(r checkRec) []classed[int64] { return r.times })
}

func (c *checker) valueIndex() error {
	return checkEntries(c, tagValue, "value", parseValueKey, func(r checkRec) []classed[string] { return r.values })
}

// checkEntries checks that an index (time or value) holds exactly the
// entries each record implies, with their classes.
func checkEntries[T comparable](c *checker, tag byte, what string, parse func([]byte) (T, ID, error), want func(checkRec) []classed[T]) error {
	found := map[ID]int{}
	err := c.scan([]byte{tag}, true, func(k, val []byte) error {
		v, id, err := parse(k)
		if err != nil {
			c.rep.add("%v", err)
			return nil
		}
		cls, err := decodeClassValue(val)
		r, ok := c.recs[id]
		if err != nil || !ok || r.stub || !slices.Contains(want(r), classed[T]{v, cls}) {
			c.rep.add("%s index lists %v for node %d (class %x), which its record does not imply", what, v, id, val)
		}
		found[id]++
		return nil
	})
	for id, r := range c.recs {
		if !r.stub && found[id] != len(want(r)) {
			c.rep.add("node %d (%s) has %d %s entries, the %s index lists %d", id, r.stixID, len(want(r)), what, what, found[id])
		}
	}
	return err
}

func (c *checker) degreeCounters() error {
	stored := map[degreeDelta]bool{}
	err := c.scan([]byte{tagDegree}, true, func(k, v []byte) error {
		id, dir, y, err := parseDegreeKey(k)
		if err != nil {
			c.rep.add("%v", err)
			return nil
		}
		d := degreeDelta{id, dir, y}
		stored[d] = true
		if got, want := int64(decodeU64(v)), c.degrees[d]; got != want {
			c.rep.add("degree counter of node %d %s %s is %d, %d edges are stored", id, dir, c.s.syms.name(y), got, want)
		}
		return nil
	})
	for d, n := range c.degrees {
		if !stored[d] && n != 0 {
			c.rep.add("node %d has %d %s %s edges and no degree counter", d.id, n, d.dir, c.s.syms.name(d.e))
		}
	}
	return err
}

func (c *checker) typeCounters() error {
	stored := map[sym]bool{}
	err := c.scan([]byte{tagCount}, true, func(k, v []byte) error {
		if len(k) != 1+symLen {
			c.rep.add("bad type counter key %x", k)
			return nil
		}
		y := getSym(k[1:])
		stored[y] = true
		if got, want := int64(decodeU64(v)), c.counts[y]; got != want {
			c.rep.add("type counter of %s is %d, %d nodes are stored", c.s.syms.name(y), got, want)
		}
		return nil
	})
	for y, n := range c.counts {
		if !stored[y] && n != 0 {
			c.rep.add("%d nodes of type %s and no type counter", n, c.s.syms.name(y))
		}
	}
	return err
}

// runs checks that every run key parses into a valid kind, audience and id,
// and counts the runs. Their data belongs to the jobs that wrote them.
func (c *checker) runs() error {
	return c.scan([]byte{tagRun}, false, func(k, _ []byte) error {
		kind, audience, id, err := parseRunKey(k)
		if err == nil {
			err = errors.Join(checkRunParts(kind, audience), checkRunPart("id", id))
		}
		if err != nil {
			c.rep.add("%v", err)
			return nil
		}
		c.rep.Runs++
		return nil
	})
}
