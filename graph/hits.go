package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// Hits answers a hit/no-hit lookup: the organizations that hold a match
// for a canonical value which the viewer cannot see, and which they made
// discoverable, either on the object itself (Policy.Discoverable on their
// contribution) or on a case, report or other container that holds it. The
// answer names organizations only: no content, no id, no count of
// objects, so the viewer can ask the holder through the proper channel.
// Contributions the viewer can see, and its own organization, are not
// listed (the viewer finds those with ByValue); a hidden contribution to a
// node the viewer sees through its own is, so an organization that stores
// a value learns who else holds it.
func (tx *Tx) Hits(value string) ([]string, error) {
	var orgs []string
	add := func(org string) {
		if org != "" && org != tx.vis.v.Org && !slices.Contains(orgs, org) {
			orgs = append(orgs, org)
		}
	}
	containedBy, hasRefs := tx.s.syms.lookup("object_refs")
	type match struct {
		id  ID
		cls Class
	}
	var matches []match
	if err := tx.scanValue(value, func(id ID, cls Class) { matches = append(matches, match{id, cls}) }); err != nil {
		return nil, err
	}
	for _, m := range matches {
		r, err := tx.getRecord(m.id)
		if err != nil {
			return nil, fmt.Errorf("hit lookup of %q: %w", value, err)
		}
		holders := tx.holders(&r, m.cls)
		for _, c := range holders {
			if p, _ := tx.s.classes.policy(c.class); p.Discoverable && !tx.vis.class(c.class) {
				add(p.Owner)
			}
		}
		if !hasRefs || len(holders) == 0 {
			continue
		}
		// Containers marked discoverable make their members discoverable
		// on behalf of the container's owner: only the contributions to
		// a container that list the member themselves.
		in, err := tx.rawInEdges(m.id, containedBy)
		if err != nil {
			return nil, fmt.Errorf("hit lookup of %q: %w", value, err)
		}
		for _, e := range in {
			cr, err := tx.getRecord(e.id)
			if err != nil {
				return nil, fmt.Errorf("hit lookup of %q: %w", value, err)
			}
			for _, c := range tx.holders(&cr, e.cls) {
				if p, _ := tx.s.classes.policy(c.class); p.Discoverable && !tx.vis.class(c.class) {
					add(p.Owner)
				}
			}
		}
	}
	slices.Sort(orgs)
	return orgs, nil
}

// inEdge is the source of an in-edge and the class of the entry (0: the
// source's, all of whose contributions imply the edge).
type inEdge struct {
	id  ID
	cls Class
}

// rawInEdges lists the sources of the in-edges of one type at id, hidden
// ones included, with the class of the contributions that imply each: only
// for answers that reveal nothing about them.
func (tx *Tx) rawInEdges(id ID, y sym) ([]inEdge, error) {
	prefix := edgePrefix(In, id, y)
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var out []inEdge
	for it.Rewind(); it.Valid(); it.Next() {
		if k := it.Item().Key(); len(k) == edgeLen {
			cls, err := entryClass(it.Item())
			if err != nil {
				return nil, fmt.Errorf("edge of node %d: %w", id, err)
			}
			out = append(out, inEdge{getID(k[13:]), cls})
		}
	}
	return out, nil
}

// holders returns the contributions of r that hold an entry (a value or an
// edge) of class cls (all of them when cls is 0).
func (tx *Tx) holders(r *record, cls Class) []contribution {
	if cls == 0 {
		return r.contribs
	}
	set, _ := tx.s.classes.policies(cls)
	var out []contribution
	for _, c := range r.contribs {
		if p, ok := tx.s.classes.policy(c.class); ok && slices.ContainsFunc(set, func(q Policy) bool { return policyEqual(p, q) }) {
			out = append(out, c)
		}
	}
	return out
}

func policyEqual(a, b Policy) bool {
	return string(a.normalize().encode()) == string(b.normalize().encode())
}

// AnyDiscoverable reports whether any stored policy is discoverable, so
// that callers can skip hit lookups on a store where none can hit.
func (s *Store) AnyDiscoverable() bool {
	sets := *s.classes.sets.Load()
	for _, set := range sets {
		for _, p := range set {
			if p.Discoverable {
				return true
			}
		}
	}
	return false
}

// RecordHit appends the audit entry of a hit: who looked up or loaded
// value, and the organizations that hold it, so that the entry shows in the
// audit log of both sides.
func (s *Store) RecordHit(ctx context.Context, who AuditViewer, operation, value string, holders []string) error {
	result, err := json.Marshal(struct {
		Value         string   `json:"value"`
		Organizations []string `json:"organizations"`
	}{value, holders})
	if err != nil {
		return fmt.Errorf("record hit: %w", err)
	}
	_, err = s.AppendAudit(ctx, AuditEntry{Viewer: who, Operation: operation, Result: result, Outcome: AuditOK, Orgs: slices.Clone(holders)})
	if err != nil {
		return fmt.Errorf("record hit on %q: %w", value, err)
	}
	return nil
}
