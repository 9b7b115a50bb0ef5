package graph

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/verband-cti/verband/schema"
)

// Policy says who may see a node: the organization that owns it, its TLP
// marking, the organizations it is shared with, and the users named on a RED
// object. Nodes with the same policy share one Class.
type Policy struct {
	// Owner is the owning organization; empty for reference data.
	Owner string
	// TLP is the TLP 2.0 marking.
	TLP schema.TLP
	// Sharing lists the organizations an AMBER object is shared with.
	Sharing []string
	// Users lists the users who may see a RED object besides its owner.
	Users []string
}

// Class is the interned id of a Policy. Class 0 means "no policy": a
// reference to an object that has not arrived (a stub), which nobody sees.
type Class uint32

// Viewer is whoever reads: every read path takes one, and answers include
// only what it may see. The zero Viewer sees only unrestricted objects.
type Viewer struct {
	// Org is the viewer's organization.
	Org string
	// User is the viewer's user name.
	User string
	all  bool
}

// System is the viewer of maintenance work (check, reindex, export of a whole
// store by its operator): it sees everything.
func System() Viewer { return Viewer{all: true} }

// IsSystem reports whether v sees everything.
func (v Viewer) IsSystem() bool { return v.all }

// CanSee reports whether v may see an object under policy p.
//
// CLEAR, GREEN and unmarked objects are visible to every organization of the
// instance; AMBER and AMBER+STRICT to the owner and the organizations on the
// sharing list; RED to the owner and the named users.
func (v Viewer) CanSee(p Policy) bool {
	if v.all {
		return true
	}
	switch p.TLP {
	case schema.TLPUnmarked, schema.TLPClear, schema.TLPGreen:
		return true
	case schema.TLPAmber, schema.TLPAmberStrict:
		return v.Org != "" && (p.Owner == v.Org || slices.Contains(p.Sharing, v.Org))
	case schema.TLPRed:
		return (v.Org != "" && p.Owner == v.Org) || (v.User != "" && slices.Contains(p.Users, v.User))
	}
	return false
}

// normalize sorts and deduplicates the lists so equal policies encode equally.
func (p Policy) normalize() Policy {
	norm := func(ss []string) []string {
		if len(ss) == 0 {
			return nil
		}
		out := slices.Clone(ss)
		slices.Sort(out)
		return slices.Compact(out)
	}
	p.Sharing = norm(p.Sharing)
	p.Users = norm(p.Users)
	return p
}

// encode writes the policy as length-prefixed strings.
func (p Policy) encode() []byte {
	b := []byte{1, byte(p.TLP)}
	b = appendString(b, p.Owner)
	b = appendStrings(b, p.Sharing)
	return appendStrings(b, p.Users)
}

func decodePolicy(b []byte) (Policy, error) {
	r := reader{b: b}
	if v := r.byte(); v != 1 {
		return Policy{}, fmt.Errorf("policy encoding version %d: %w", v, ErrCorrupt)
	}
	p := Policy{TLP: schema.TLP(r.byte())}
	p.Owner = r.string()
	p.Sharing = r.strings()
	p.Users = r.strings()
	return p, r.err
}

// classTable interns policies. Lookups are lock-free for readers once a
// class exists; new classes are added under mu by the writer.
type classTable struct {
	mu       sync.Mutex
	byKey    map[string]Class
	policies atomic.Pointer[[]Policy] // index = Class; [0] unused
}

func newClassTable() *classTable {
	t := &classTable{byKey: map[string]Class{}}
	ps := []Policy{{}}
	t.policies.Store(&ps)
	return t
}

// policy returns the policy of class c and whether c exists.
func (t *classTable) policy(c Class) (Policy, bool) {
	ps := *t.policies.Load()
	if c == 0 || int(c) >= len(ps) {
		return Policy{}, false
	}
	return ps[c], true
}

// lookup returns the class of a normalized policy, if interned.
func (t *classTable) lookup(p Policy) (Class, []byte, bool) {
	key := p.encode()
	t.mu.Lock()
	c, ok := t.byKey[string(key)]
	t.mu.Unlock()
	return c, key, ok
}

// add records class c for policy p (loaded from disk or just written).
func (t *classTable) add(c Class, p Policy) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.addLocked(c, p)
}

// addLocked is add with mu held.
func (t *classTable) addLocked(c Class, p Policy) {
	t.byKey[string(p.encode())] = c
	old := *t.policies.Load()
	ps := old
	if int(c) >= len(ps) {
		ps = make([]Policy, int(c)+1)
		copy(ps, old)
	} else {
		ps = slices.Clone(old)
	}
	ps[c] = p
	t.policies.Store(&ps)
}

// next returns the class a new policy would get.
func (t *classTable) next() Class {
	return Class(len(*t.policies.Load()))
}

// classCache maps node id to class in memory, so that visibility checks on
// neighbours and search hits need no record reads. It is a paged array that
// readers use without locks; only the writer grows and sets it.
type classCache struct {
	mu    sync.Mutex // serializes growth
	pages atomic.Pointer[[]*classPage]
}

const pageBits = 16

type classPage [1 << pageBits]atomic.Uint32

func (c *classCache) get(id ID) Class {
	pp := c.pages.Load()
	if pp == nil {
		return 0
	}
	p := uint64(id) >> pageBits
	if p >= uint64(len(*pp)) || (*pp)[p] == nil {
		return 0
	}
	return Class((*pp)[p][uint64(id)&(1<<pageBits-1)].Load())
}

func (c *classCache) set(id ID, cl Class) {
	p := uint64(id) >> pageBits
	pp := c.pages.Load()
	if pp == nil || p >= uint64(len(*pp)) || (*pp)[p] == nil {
		c.mu.Lock()
		pp = c.pages.Load()
		var pages []*classPage
		if pp != nil {
			pages = *pp
		}
		if p >= uint64(len(pages)) {
			grown := make([]*classPage, p+1, max(2*len(pages), int(p)+1))
			copy(grown, pages)
			pages = grown
		} else {
			pages = slices.Clone(pages)
		}
		if pages[p] == nil {
			pages[p] = new(classPage)
		}
		c.pages.Store(&pages)
		pp = &pages
		c.mu.Unlock()
	}
	(*pp)[p][uint64(id)&(1<<pageBits-1)].Store(uint32(cl))
}

// visibility caches, for one viewer, whether each class is visible.
type visibility struct {
	v     Viewer
	t     *classTable
	known []int8 // 0 unknown, 1 visible, -1 hidden
}

func (vis *visibility) class(c Class) bool {
	if c == 0 {
		return false
	}
	if vis.v.all {
		return true
	}
	if int(c) < len(vis.known) {
		if k := vis.known[c]; k != 0 {
			return k > 0
		}
	} else {
		vis.known = append(vis.known, make([]int8, int(c)+1-len(vis.known))...)
	}
	p, ok := vis.t.policy(c)
	ok = ok && vis.v.CanSee(p)
	if ok {
		vis.known[c] = 1
	} else {
		vis.known[c] = -1
	}
	return ok
}

// Length-prefixed string helpers shared by the record encodings.

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

// reader decodes what the append helpers wrote; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("decode %s: %w", what, ErrCorrupt)
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail("byte")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) u64() uint64 {
	if len(r.b) < 8 {
		r.fail("uint64")
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if uint64(len(r.b)) < n {
		r.fail("bytes")
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) string() string { return string(r.bytes(r.uvarint())) }

func (r *reader) strings() []string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail("string list")
		return nil
	}
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = r.string()
	}
	return ss
}
