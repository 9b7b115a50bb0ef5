package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

// Selection says what to export. Case or Query choose the base set (at
// most one of them); without either, the base set is every visible object.
// Types and the time window then narrow the base set, and Source and File
// narrow it to the objects one source or file contributed.
type Selection struct {
	// Case is the STIX id of a case (x-verband-case), or of any container
	// with object_refs such as a report or grouping: the container and its
	// members are exported, with the relationships between members and the
	// sightings of members.
	Case string
	// Query is a full-text query (see graph.SearchQuery.Text).
	Query string
	// Types keeps only objects of these STIX types.
	Types []string
	// Since and Until keep only objects whose modification time lies in
	// [Since, Until); a zero bound is open. Objects without a modification
	// time (most SCOs) are then left out of the base set, but still come in
	// as references of the objects chosen.
	Since, Until time.Time
	// Source and File keep only objects with a contribution (a provenance
	// entry) from this source and file; in the AsReceived form they also
	// choose which contribution is restored.
	Source, File string
}

// SearchPage is how many hits Select reads per search request.
const SearchPage = 1000

// Select returns the visible nodes that sel chooses as viewer v, in a
// stable order, followed by what they need:
//
//   - the identities they name in created_by_ref;
//   - the marking definitions they name in object_marking_refs or
//     granular_markings;
//   - the extension definitions named as keys of their "extensions";
//   - for SCOs, the SCOs they reference (a domain's resolves_to_refs, a
//     file's parent_directory_ref, …), transitively.
//
// Those referenced objects are added whatever the selection's filters say,
// as long as v may see them. Objects the viewer may not see never enter.
func Select(ctx context.Context, store *graph.Store, v graph.Viewer, sel Selection) ([]graph.ID, error) {
	if sel.Case != "" && sel.Query != "" {
		return nil, fmt.Errorf("select: %w: give a case or a query, not both", graph.ErrInvalid)
	}
	var hits []graph.ID
	if sel.Query != "" {
		var err error
		if hits, err = search(ctx, store, v, sel); err != nil {
			return nil, err
		}
	}
	var out []graph.ID
	err := store.View(v, func(tx *graph.Tx) error {
		s := &selector{ctx: ctx, tx: tx, sel: sel, seen: map[graph.ID]bool{}}
		var err error
		switch {
		case sel.Case != "":
			err = s.caseSet()
		case sel.Query != "":
			err = s.filtered(hits)
		default:
			err = s.all()
		}
		if err != nil {
			return err
		}
		// Everything visible is chosen already when nothing narrows the
		// selection, so there is nothing to add.
		if !sel.unfiltered() {
			if err := s.closure(); err != nil {
				return err
			}
		}
		out = s.ids
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("select: %w", err)
	}
	return out, nil
}

// search runs the query page by page.
func search(ctx context.Context, store *graph.Store, v graph.Viewer, sel Selection) ([]graph.ID, error) {
	var ids []graph.ID
	q := graph.SearchQuery{Text: sel.Query, Types: sel.Types, Size: SearchPage, After: sel.Since, Before: sel.Until}
	for {
		res, err := store.Search(ctx, v, q)
		if err != nil {
			return nil, fmt.Errorf("select: search %q: %w", sel.Query, err)
		}
		for _, h := range res.Hits {
			ids = append(ids, h.ID)
		}
		q.From += q.Size
		if len(res.Hits) == 0 || uint64(q.From) >= res.Total {
			return ids, nil
		}
	}
}

type selector struct {
	ctx  context.Context
	tx   *graph.Tx
	sel  Selection
	ids  []graph.ID
	seen map[graph.ID]bool
}

// add adds a node once.
func (s *selector) add(id graph.ID) {
	if !s.seen[id] {
		s.seen[id] = true
		s.ids = append(s.ids, id)
	}
}

// keep reports whether a node passes the selection's filters.
func (s *selector) keep(n *graph.Node) bool {
	if len(s.sel.Types) > 0 && !slices.Contains(s.sel.Types, n.Type) {
		return false
	}
	if !s.sel.Since.IsZero() || !s.sel.Until.IsZero() {
		if n.Modified.IsZero() || n.Modified.Before(s.sel.Since) || (!s.sel.Until.IsZero() && !n.Modified.Before(s.sel.Until)) {
			return false
		}
	}
	return s.sel.contributed(n.Provenance)
}

// unfiltered reports whether sel chooses every visible object.
func (sel Selection) unfiltered() bool {
	return sel.Case == "" && sel.Query == "" && len(sel.Types) == 0 && sel.Since.IsZero() && sel.Until.IsZero() && sel.Source == "" && sel.File == ""
}

// contributed reports whether a provenance list has an entry that matches
// the selection's Source and File.
func (sel Selection) contributed(prov []graph.Provenance) bool {
	if sel.Source == "" && sel.File == "" {
		return true
	}
	return slices.ContainsFunc(prov, sel.matches)
}

func (sel Selection) matches(p graph.Provenance) bool {
	return (sel.Source == "" || p.Source == sel.Source) && (sel.File == "" || p.File == sel.File)
}

// filtered adds the nodes of ids that pass the filters.
func (s *selector) filtered(ids []graph.ID) error {
	for i, id := range ids {
		if i%1024 == 0 {
			if err := s.ctx.Err(); err != nil {
				return err
			}
		}
		n, err := s.tx.Node(id)
		if errors.Is(err, graph.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if s.keep(n) {
			s.add(id)
		}
	}
	return nil
}

// all adds every visible node that passes the filters, type by type.
func (s *selector) all() error {
	types := s.sel.Types
	if len(types) == 0 {
		tc, err := s.tx.Types()
		if err != nil {
			return err
		}
		for _, t := range tc {
			types = append(types, t.Type)
		}
		slices.Sort(types)
	}
	for _, typ := range types {
		var ids []graph.ID
		if err := s.tx.ByType(typ, 0, func(id graph.ID) bool { ids = append(ids, id); return true }); err != nil {
			return err
		}
		if err := s.filtered(ids); err != nil {
			return err
		}
	}
	return nil
}

// caseSet adds a container, its members, the relationships between its
// members and the sightings of its members.
func (s *selector) caseSet() error {
	c, err := s.tx.NodeByStixID(s.sel.Case)
	if err != nil {
		return fmt.Errorf("case %s: %w", s.sel.Case, err)
	}
	s.add(c.ID)
	var members []graph.ID
	err = s.tx.Neighbours(c.ID, graph.NeighbourQuery{Dir: graph.Out, EdgeTypes: []string{"object_refs"}}, func(e graph.Edge) bool {
		members = append(members, e.To)
		return true
	})
	if err != nil {
		return fmt.Errorf("members of case %s: %w", s.sel.Case, err)
	}
	if err := s.filtered(members); err != nil {
		return err
	}
	isMember := make(map[graph.ID]bool, len(members))
	for _, m := range members {
		isMember[m] = true
	}
	var extra []graph.ID
	for _, m := range members {
		err := s.tx.Neighbours(m, graph.NeighbourQuery{}, func(e graph.Edge) bool {
			switch {
			case e.Via != 0 && e.From == m && isMember[e.To]:
				extra = append(extra, e.Via) // a relationship between members
			case e.Via == 0 && e.To == m && e.Type == "sighting_of_ref":
				extra = append(extra, e.From) // a sighting of a member
			}
			return true
		})
		if err != nil {
			return fmt.Errorf("relationships of case member %d: %w", m, err)
		}
	}
	return s.filtered(extra)
}

// closure adds what the selected objects reference and need (see Select).
func (s *selector) closure() error {
	for i := 0; i < len(s.ids); i++ {
		if i%1024 == 0 {
			if err := s.ctx.Err(); err != nil {
				return err
			}
		}
		n, err := s.tx.Node(s.ids[i])
		if err != nil {
			return err
		}
		refs, err := needed(n)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			id, err := s.tx.Lookup(ref)
			if errors.Is(err, graph.ErrNotFound) {
				continue // dangling, or hidden from the viewer
			}
			if err != nil {
				return err
			}
			if _, err := s.tx.Node(id); err == nil { // not a stub
				s.add(id)
			}
		}
	}
	return nil
}

// needed lists the ids an object needs alongside it in an export.
func needed(n *graph.Node) ([]string, error) {
	if schema.KindOf(n.Type) == schema.KindSCO {
		o, err := n.Object()
		if err != nil {
			return nil, err
		}
		return scoNeeds(o), nil
	}
	// Decode only the properties that matter.
	var p struct {
		CreatedBy        string   `json:"created_by_ref"`
		Markings         []string `json:"object_marking_refs"`
		GranularMarkings []struct {
			MarkingRef string `json:"marking_ref"`
		} `json:"granular_markings"`
		Extensions map[string]json.RawMessage `json:"extensions"`
	}
	if err := json.Unmarshal(n.Raw, &p); err != nil {
		// A property of an unexpected shape: fall back to the general
		// reading, which tolerates it.
		o, err := n.Object()
		if err != nil {
			return nil, err
		}
		p.CreatedBy, _ = o.String("created_by_ref")
		p.Markings = o.Strings("object_marking_refs")
	}
	var out []string
	if p.CreatedBy != "" {
		out = append(out, p.CreatedBy)
	}
	out = append(out, p.Markings...)
	for _, g := range p.GranularMarkings {
		if g.MarkingRef != "" {
			out = append(out, g.MarkingRef)
		}
	}
	for k := range p.Extensions {
		if strings.HasPrefix(k, "extension-definition--") {
			out = append(out, k)
		}
	}
	return out, nil
}

// scoNeeds lists what an SCO needs: its creator and markings, and every
// SCO it references, nested references included (archive contains_refs,
// email body parts).
func scoNeeds(o *schema.Object) []string {
	var out []string
	if s, ok := o.String("created_by_ref"); ok {
		out = append(out, s)
	}
	out = append(out, o.Strings("object_marking_refs")...)
	schema.RewriteRefs(o, func(old string) (string, bool) {
		if schema.KindOf(schema.IdentifierType(old)) == schema.KindSCO {
			out = append(out, old)
		}
		return "", false
	})
	return out
}
