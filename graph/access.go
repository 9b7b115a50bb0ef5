package graph

import (
	"bytes"
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
	// Discoverable says the owner lets other organizations learn that it
	// holds a match for a canonical value of this object (a hit/no-hit
	// answer naming the owner, with no content and no id).
	Discoverable bool
}

// Class is the interned id of a set of policies. A node's class is the set
// of the policies of its contributions, and it is visible to a viewer who
// may see any of them; an edge, value or time entry that only some
// contributions imply carries the class of those. Most classes hold one
// policy. Class 0 means "no policy": a reference to an object that has not
// arrived (a stub), which nobody sees.
type Class uint32

// Viewer is whoever reads: every read path takes one, and answers include
// only what it may see. The zero Viewer sees only unrestricted objects.
type Viewer struct {
	// Org is the viewer's organization.
	Org string
	// User is the viewer's user name.
	User string
	all  bool
	// export strips protected properties from every answer, the owner's
	// included: what leaves the store never carries them.
	export bool
	// reshare hides contributions the viewer may read but not pass on
	// (AMBER+STRICT and RED of another owner).
	reshare bool
	// and, when set, must see a contribution too (a partner's view).
	and *Viewer
}

// System is the viewer of maintenance work (check, reindex, export of a whole
// store by its operator): it sees everything.
func System() Viewer { return Viewer{all: true} }

// IsSystem reports whether v sees everything, protected properties
// included.
func (v Viewer) IsSystem() bool { return v.all && v.and == nil && !v.export }

// seesAll reports whether v sees every node and edge, so that maintained
// counters answer for it.
func (v Viewer) seesAll() bool { return v.all && v.and == nil && !v.reshare }

// ForExport returns v for writing an export: protected properties are
// stripped from every answer, whoever owns them. Provenance stays as v
// would see it, for choosing what to export; exports never write it out.
func (v Viewer) ForExport() Viewer {
	v.export = true
	return v
}

// Resharing returns v as the sender of objects to someone else: it no longer
// sees contributions it may read but not pass on (AMBER+STRICT and RED
// objects of another owner). Comparing what v and v.Resharing() see tells
// which objects a recipient tried to re-share.
func (v Viewer) Resharing() Viewer {
	v.reshare = true
	return v
}

// And returns the viewer that sees what both v and w see: an export by v to
// the partner w, so that nothing leaves that w could not read. Protected
// properties show only if both would see them.
func (v Viewer) And(w Viewer) Viewer {
	v.and = &w
	return v
}

// seesProtected reports whether v sees the protected properties of a
// contribution owned by owner: only the owner's organization does (and the
// System viewer, for maintenance), never in an export, and in a partner's
// view only if the partner would too.
func (v Viewer) seesProtected(owner string) bool {
	if v.export || !(v.all || (v.Org != "" && v.Org == owner)) {
		return false
	}
	return v.and == nil || v.and.seesProtected(owner)
}

// owns reports whether v may see the provenance details of a contribution
// owned by owner: the owner's organization and the System viewer, and
// everyone for a contribution no organization owns (reference data the
// operator loaded, whose sources are public).
func (v Viewer) owns(owner string) bool {
	return v.all || owner == "" || (v.Org != "" && v.Org == owner)
}

// CanSee reports whether v may see an object under policy p.
//
// CLEAR, GREEN and unmarked objects are visible to every organization of the
// instance; AMBER and AMBER+STRICT to the owner and the organizations on the
// sharing list; RED to the owner and the named users.
func (v Viewer) CanSee(p Policy) bool {
	if v.and != nil && !v.and.CanSee(p) {
		return false
	}
	if v.reshare && !p.Reshareable(v.Org) {
		return false
	}
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

// Reshareable reports whether an organization that reads an object under p
// may pass it on: the owner always may; a recipient may not re-share
// AMBER+STRICT or RED.
func (p Policy) Reshareable(org string) bool {
	if p.TLP != schema.TLPAmberStrict && p.TLP != schema.TLPRed {
		return true
	}
	return org != "" && org == p.Owner
}

// ReshareReason says why a recipient may not pass on an object under p, or
// "" when it may.
func (p Policy) ReshareReason(org string) string {
	if p.Reshareable(org) {
		return ""
	}
	return fmt.Sprintf("it is %s from %s, which recipients may not re-share", p.TLP, p.Owner)
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

// Policy and class encodings. Version 1 (a policy without flags) is still
// read; version 2 adds a flags byte; version 3 is a set of two or more
// policies, each length-prefixed. A class of one policy is stored as that
// policy's encoding.
const (
	policyV1 byte = 1
	policyV2 byte = 2
	classSet byte = 3

	policyDiscoverable byte = 1
)

// encode writes the policy as length-prefixed strings.
func (p Policy) encode() []byte {
	var flags byte
	if p.Discoverable {
		flags |= policyDiscoverable
	}
	b := []byte{policyV2, byte(p.TLP), flags}
	b = appendString(b, p.Owner)
	b = appendStrings(b, p.Sharing)
	return appendStrings(b, p.Users)
}

func decodePolicy(r *reader) Policy {
	v := r.byte()
	if v != policyV1 && v != policyV2 {
		r.fail(fmt.Sprintf("policy encoding version %d", v))
		return Policy{}
	}
	p := Policy{TLP: schema.TLP(r.byte())}
	if v == policyV2 {
		p.Discoverable = r.byte()&policyDiscoverable != 0
	}
	p.Owner = r.string()
	p.Sharing = r.strings()
	p.Users = r.strings()
	return p
}

// normalizeSet normalizes each policy and sorts the set by encoding,
// without duplicates, so equal sets encode equally.
func normalizeSet(ps []Policy) []Policy {
	out := make([]Policy, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.normalize())
	}
	slices.SortFunc(out, func(a, b Policy) int { return bytes.Compare(a.encode(), b.encode()) })
	return slices.CompactFunc(out, func(a, b Policy) bool { return bytes.Equal(a.encode(), b.encode()) })
}

// encodeSet encodes a normalized set: one policy as itself, more as a set.
func encodeSet(ps []Policy) []byte {
	if len(ps) == 1 {
		return ps[0].encode()
	}
	b := []byte{classSet}
	b = binary.AppendUvarint(b, uint64(len(ps)))
	for _, p := range ps {
		b = appendString(b, string(p.encode()))
	}
	return b
}

// decodeSet is the inverse of encodeSet.
func decodeSet(b []byte) ([]Policy, error) {
	if len(b) > 0 && b[0] != classSet {
		r := reader{b: b}
		p := decodePolicy(&r)
		return []Policy{p}, r.err
	}
	r := reader{b: b[min(1, len(b)):]}
	if len(b) == 0 {
		r.fail("empty class")
	}
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail("class size")
	}
	var ps []Policy
	for i := uint64(0); i < n && r.err == nil; i++ {
		pr := reader{b: r.bytes(r.uvarint())}
		ps = append(ps, decodePolicy(&pr))
		if pr.err != nil {
			r.err = pr.err
		}
	}
	return ps, r.err
}

// classTable interns policy sets. Lookups are lock-free for readers once a
// class exists; new classes are added under mu by the writer.
type classTable struct {
	mu    sync.Mutex
	byKey map[string]Class
	sets  atomic.Pointer[[][]Policy] // index = Class; [0] unused
}

func newClassTable() *classTable {
	t := &classTable{byKey: map[string]Class{}}
	ps := [][]Policy{nil}
	t.sets.Store(&ps)
	return t
}

// policies returns the policy set of class c and whether c exists. The
// slice is shared: callers must not modify it.
func (t *classTable) policies(c Class) ([]Policy, bool) {
	ps := *t.sets.Load()
	if c == 0 || int(c) >= len(ps) {
		return nil, false
	}
	return ps[c], true
}

// union returns the policies of every class of cs, for classForSet to
// normalize and intern.
func (t *classTable) union(cs []Class) ([]Policy, error) {
	var ps []Policy
	for _, c := range cs {
		set, ok := t.policies(c)
		if !ok {
			return nil, fmt.Errorf("access class %d: %w", c, ErrCorrupt)
		}
		ps = append(ps, set...)
	}
	return ps, nil
}

// policy returns the first policy of class c, which for a contribution's
// class is its only one.
func (t *classTable) policy(c Class) (Policy, bool) {
	ps, ok := t.policies(c)
	if !ok || len(ps) == 0 {
		return Policy{}, false
	}
	return ps[0], true
}

// add records class c for the normalized set ps (loaded from disk or just
// written).
func (t *classTable) add(c Class, ps []Policy) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.addLocked(c, ps)
}

// addLocked is add with mu held.
func (t *classTable) addLocked(c Class, set []Policy) {
	t.byKey[string(encodeSet(set))] = c
	old := *t.sets.Load()
	ps := old
	if int(c) >= len(ps) {
		ps = make([][]Policy, int(c)+1)
		copy(ps, old)
	} else {
		ps = slices.Clone(old)
	}
	ps[c] = set
	t.sets.Store(&ps)
}

// next returns the class a new policy would get.
func (t *classTable) next() Class {
	return Class(len(*t.sets.Load()))
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
	if vis.v.seesAll() {
		return true
	}
	if int(c) < len(vis.known) {
		if k := vis.known[c]; k != 0 {
			return k > 0
		}
	} else {
		vis.known = append(vis.known, make([]int8, int(c)+1-len(vis.known))...)
	}
	ok := vis.t.visibleTo(vis.v, c)
	vis.known[c] = known(ok)
	return ok
}

// sharedVisibility is a visibility that several goroutines may consult at
// once, as the shards of a search do. It caches the classes that existed
// when it was made and works out later ones each time.
type sharedVisibility struct {
	v     Viewer
	t     *classTable
	known []atomic.Int32 // 0 unknown, 1 visible, -1 hidden
}

func newSharedVisibility(v Viewer, t *classTable) *sharedVisibility {
	vis := &sharedVisibility{v: v, t: t}
	if !v.seesAll() {
		vis.known = make([]atomic.Int32, t.next())
	}
	return vis
}

func (vis *sharedVisibility) class(c Class) bool {
	if c == 0 {
		return false
	}
	if vis.v.seesAll() {
		return true
	}
	if int(c) >= len(vis.known) {
		return vis.t.visibleTo(vis.v, c)
	}
	if k := vis.known[c].Load(); k != 0 {
		return k > 0
	}
	ok := vis.t.visibleTo(vis.v, c)
	vis.known[c].Store(int32(known(ok)))
	return ok
}

// visibleTo reports whether v may see class c: any one of its policies.
func (t *classTable) visibleTo(v Viewer, c Class) bool {
	ps, _ := t.policies(c)
	return slices.ContainsFunc(ps, v.CanSee)
}

// known encodes a visibility for the caches: 1 visible, -1 hidden.
func known(visible bool) int8 {
	if visible {
		return 1
	}
	return -1
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
