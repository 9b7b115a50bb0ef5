package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/verband-cti/verband/schema"
)

// Protection names the protected properties: the sources and methods behind
// an indicator, which only the organization that contributed them sees.
// They are removed from every other organization's view and from every
// export, and never written into the search index. Provenance details (the
// source, file and original values of a contribution) are always protected.
type Protection struct {
	// Properties are protected in every contribution.
	Properties []string `json:"properties"`
	// BySource lists, per import source, further properties protected in
	// the contributions of that source.
	BySource map[string][]string `json:"by_source,omitempty"`
}

// DefaultProtection protects the custom properties that commonly carry
// sources and methods.
func DefaultProtection() Protection {
	return Protection{Properties: []string{
		"x_source", "x_sources", "x_collection_method", "x_handling_notes",
		"x_verband_source", "x_verband_collection_method", "x_verband_handling_notes",
	}}
}

// Change returns p with the named properties added (add) or removed, in
// every contribution when source is "" and otherwise in that import
// source's, and the names that changed. p itself is left as it was.
func (p Protection) Change(add bool, source string, names ...string) (Protection, []string) {
	n := Protection{Properties: slices.Clone(p.Properties), BySource: make(map[string][]string, len(p.BySource))}
	for src, ps := range p.BySource {
		n.BySource[src] = slices.Clone(ps)
	}
	list := n.Properties
	if source != "" {
		list = n.BySource[source]
	}
	var changed []string
	for _, name := range names {
		if slices.Contains(list, name) != add && !slices.Contains(changed, name) {
			changed = append(changed, name)
		}
	}
	if add {
		list = append(list, changed...)
	} else {
		list = slices.DeleteFunc(list, func(name string) bool { return slices.Contains(changed, name) })
	}
	if source == "" {
		n.Properties = list
	} else {
		n.BySource[source] = list
	}
	return n, changed
}

// all returns every property the protection names, for any source.
func (p Protection) all() []string {
	out := slices.Clone(p.Properties)
	for _, ps := range p.BySource {
		out = append(out, ps...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// propSet is a list of property names, with a set of them that mayHold
// looks strings up in before anything is decoded.
type propSet struct {
	names []string
	set   map[string]struct{}
}

func newPropSet(names []string) propSet {
	ps := propSet{names: names, set: make(map[string]struct{}, len(names))}
	for _, n := range names {
		ps.set[n] = struct{}{}
	}
	return ps
}

// mayHold reports whether raw JSON may hold one of the names as a
// property: whether one of its strings is one of them. It looks at each
// string once, in one pass, however many names there are (the common
// answer, no, then costs one scan of the quotes).
func (ps propSet) mayHold(raw []byte) bool {
	if len(ps.set) == 0 {
		return false
	}
	for i := 0; ; {
		j := bytes.IndexByte(raw[i:], '"')
		if j < 0 {
			return false
		}
		start := i + j + 1
		end := start
		for end < len(raw) && raw[end] != '"' {
			if raw[end] == '\\' {
				end++ // an escaped character; names have none
			}
			end++
		}
		if end >= len(raw) {
			return false
		}
		if _, ok := ps.set[string(raw[start:end])]; ok {
			return true
		}
		i = end + 1
	}
}

// protection is a Protection compiled once, when it is loaded or set, for
// the read path and the indexer, which strip on every node.
type protection struct {
	Protection
	global   propSet            // Properties
	bySource map[string]propSet // Properties plus one source's
	every    propSet            // every name, for the search index
}

func compileProtection(p Protection) *protection {
	c := &protection{Protection: p, global: newPropSet(p.Properties), bySource: map[string]propSet{}, every: newPropSet(p.all())}
	for src, extra := range p.BySource {
		c.bySource[src] = newPropSet(append(slices.Clone(p.Properties), extra...))
	}
	return c
}

// names returns the properties protected in a contribution with the given
// provenance: those protected everywhere and those of each of its sources.
func (c *protection) names(prov []Provenance) propSet {
	out, extra := c.global, 0
	for _, pr := range prov {
		if ps, ok := c.bySource[pr.Source]; ok {
			out, extra = ps, extra+1
		}
	}
	if extra > 1 {
		// Several protected sources: rare, so built on demand.
		names := slices.Clone(c.Properties)
		for _, pr := range prov {
			names = append(names, c.BySource[pr.Source]...)
		}
		slices.Sort(names)
		out = newPropSet(slices.Compact(names))
	}
	return out
}

func (p Protection) normalize() Protection {
	clean := func(ss []string) []string {
		var out []string
		for _, s := range ss {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	n := Protection{Properties: clean(p.Properties)}
	for src, ps := range p.BySource {
		if ps = clean(ps); len(ps) > 0 {
			if n.BySource == nil {
				n.BySource = map[string][]string{}
			}
			n.BySource[src] = ps
		}
	}
	return n
}

// loadProtection reads the stored protection, or the default on a store
// that has none yet.
func (s *Store) loadProtection(txn *badger.Txn) error {
	p := DefaultProtection()
	item, err := txn.Get(keyProtection)
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
	case err != nil:
		return fmt.Errorf("load protected properties: %w", err)
	default:
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &p) }); err != nil {
			return fmt.Errorf("load protected properties: %w", err)
		}
	}
	s.protect.Store(compileProtection(p.normalize()))
	return nil
}

// protected returns the compiled protection in force.
func (s *Store) protected() *protection {
	if p := s.protect.Load(); p != nil {
		return p
	}
	return compileProtection(DefaultProtection())
}

// Protection returns the protected properties in force.
func (s *Store) Protection() Protection { return s.protected().Protection }

// SetProtection replaces the protected properties. When it protects a
// property the search index may hold, the index is rebuilt before it
// returns, so that the property can no longer be found by search.
func (s *Store) SetProtection(p Protection) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	p = p.normalize()
	for _, name := range p.all() {
		if err := ValidPropertyName(name); err != nil {
			return fmt.Errorf("set protected properties: %w", err)
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode protected properties: %w", err)
	}
	before := s.protected().every.names
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyProtection, b) }); err != nil {
		return fmt.Errorf("store protected properties: %w", err)
	}
	c := compileProtection(p)
	s.protect.Store(c)
	added := slices.ContainsFunc(c.every.names, func(name string) bool {
		return !slices.Contains(before, name) && indexedProperty(name)
	})
	if added && s.search.Load() != nil {
		return s.Reindex(context.Background(), nil)
	}
	return nil
}

// unprotectable are the properties an object's identity, marking or edges
// rest on: stripping them would not hide a source but break the object.
var unprotectable = []string{"id", "type", "spec_version", "created", "modified", "object_marking_refs",
	"value", "hashes", "relationship_type", "source_ref", "target_ref"}

// ValidPropertyName reports whether a property may be protected: a STIX
// property name (ASCII letters, digits and underscores, 3 to 250 of them)
// that none of the object's identity, marking or edges rests on.
func ValidPropertyName(name string) error {
	if slices.Contains(unprotectable, name) {
		return fmt.Errorf("property %q: the object's identity, marking or edges rest on it, so it cannot be protected: %w", name, ErrInvalid)
	}
	if len(name) < 3 || len(name) > 250 || strings.TrimFunc(name, func(r rune) bool {
		return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}) != "" {
		return fmt.Errorf("property %q: a property name has 3 to 250 ASCII letters, digits or underscores: %w", name, ErrInvalid)
	}
	return nil
}

// indexedProperty reports whether the search document may hold a property.
func indexedProperty(name string) bool {
	switch name {
	case "name", "labels", "external_references", "value", "hashes":
		return true
	}
	return slices.Contains(textProps, name)
}

// stripProps returns raw without the named top-level properties. It returns
// raw itself when none is present.
func stripProps(raw []byte, ps propSet) ([]byte, error) {
	if !ps.mayHold(raw) {
		return raw, nil
	}
	o, err := schema.ParseObject(raw)
	if err != nil {
		return nil, fmt.Errorf("strip protected properties: %w", err)
	}
	n := len(o.Props)
	for _, name := range ps.names {
		delete(o.Props, name)
	}
	if len(o.Props) == n {
		return raw, nil
	}
	return o.MarshalJSON()
}

// mergeRaw merges the JSON of several contributions to one object. The
// newest version (by modified, and among equals the last given) is the
// base: for SDOs, SROs and meta objects the STIX versioning rule makes it
// the whole answer. An observable has no versions, so properties missing
// from the base are filled from the others, newest first, and its hashes
// are merged key by key.
func mergeRaw(typ string, parts [][]byte, mods []int64) ([]byte, error) {
	if len(parts) == 1 {
		return parts[0], nil
	}
	order := make([]int, len(parts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if mods[a] != mods[b] {
			if mods[a] > mods[b] {
				return -1
			}
			return 1
		}
		return b - a
	})
	if schema.KindOf(typ) != schema.KindSCO {
		return parts[order[0]], nil
	}
	base, err := schema.ParseObject(parts[order[0]])
	if err != nil {
		return nil, fmt.Errorf("merge contributions: %w", err)
	}
	changed := false
	for _, i := range order[1:] {
		o, err := schema.ParseObject(parts[i])
		if err != nil {
			return nil, fmt.Errorf("merge contributions: %w", err)
		}
		for k, v := range o.Props {
			if _, ok := base.Props[k]; !ok {
				base.Props[k] = v
				changed = true
			} else if k == "hashes" {
				merged, ok := mergeHashes(base.Props[k], v)
				if ok {
					base.Props[k] = merged
					changed = true
				}
			}
		}
	}
	if !changed {
		return parts[order[0]], nil
	}
	return base.MarshalJSON()
}

// mergeHashes adds the algorithms of b missing from a; ok is false when
// nothing was added.
func mergeHashes(a, b json.RawMessage) (json.RawMessage, bool) {
	var ha, hb map[string]json.RawMessage
	if json.Unmarshal(a, &ha) != nil || json.Unmarshal(b, &hb) != nil {
		return a, false
	}
	added := false
	for k, v := range hb {
		if _, ok := ha[k]; !ok {
			ha[k] = v
			added = true
		}
	}
	if !added {
		return a, false
	}
	out, err := json.Marshal(ha)
	if err != nil {
		return a, false
	}
	return out, true
}

// publicProvenance is provenance as an organization other than the owner
// sees it: when, and nothing about the source.
func publicProvenance(prov []Provenance) []Provenance {
	out := make([]Provenance, len(prov))
	for i, p := range prov {
		out[i] = Provenance{At: p.At}
	}
	return out
}

// nodeView builds what the viewer sees of a record: its visible
// contributions merged, protected properties and provenance details removed
// where the viewer does not own them. ok is false when no contribution is
// visible.
func (tx *Tx) nodeView(id ID, r *record) (n *Node, ok bool, err error) {
	v := tx.vis.v
	prot := tx.s.protected()
	n = &Node{ID: id, StixID: r.stixID, Type: tx.s.syms.name(r.typ), Class: r.class, Created: fromUnixNano(r.created)}
	parts := make([][]byte, 0, len(r.contribs))
	mods := make([]int64, 0, len(r.contribs))
	same := true // the view is the record's raw JSON unchanged
	var newest int64
	for i := range r.contribs {
		c := &r.contribs[i]
		if !tx.vis.class(c.class) {
			same = false
			continue
		}
		p, _ := tx.s.classes.policy(c.class)
		raw := r.contribRaw(i)
		prov := c.prov
		if !v.owns(p.Owner) {
			prov = publicProvenance(c.prov)
		}
		if !v.seesProtected(p.Owner) {
			stripped, err := stripProps(raw, prot.names(c.prov))
			if err != nil {
				return nil, false, fmt.Errorf("node %d: %w", id, err)
			}
			if len(stripped) != len(raw) {
				same = false
			}
			raw = stripped
		}
		n.Contributions = append(n.Contributions, Contribution{Policy: p, Modified: fromUnixNano(c.modified), Provenance: prov})
		n.Provenance = append(n.Provenance, prov...)
		parts = append(parts, raw)
		mods = append(mods, c.modified)
		newest = max(newest, c.modified)
	}
	if len(parts) == 0 {
		return nil, false, nil
	}
	n.Policy = primaryPolicy(n.Contributions, v.Org)
	if same {
		n.Raw, n.Modified = r.raw, fromUnixNano(r.modified)
		return n, true, nil
	}
	if n.Raw, err = mergeRaw(n.Type, parts, mods); err != nil {
		return nil, false, fmt.Errorf("node %d: %w", id, err)
	}
	n.Modified = fromUnixNano(newest)
	if len(parts) < len(r.contribs) {
		// The record's creation time is that of the newest version,
		// which may be one the viewer cannot see.
		o, err := schema.ParseObject(n.Raw)
		if err != nil {
			return nil, false, fmt.Errorf("node %d: %w", id, err)
		}
		n.Created = o.Created
	}
	return n, true, nil
}

// primaryPolicy is the policy a reader sees first: that of its own
// organization's contribution (there is at most one), else of the newest
// contribution (the last among equals).
func primaryPolicy(cs []Contribution, org string) Policy {
	best := 0
	for i, c := range cs {
		if org != "" && c.Policy.Owner == org {
			return c.Policy
		}
		if !c.Modified.Before(cs[best].Modified) {
			best = i
		}
	}
	return cs[best].Policy
}
