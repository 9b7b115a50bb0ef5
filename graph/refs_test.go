package graph_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/schema"
)

// TestRefFollowsPolicyAndDelete checks that naming a node by Ref, which
// the store remembers, still answers what the viewer may see now: a node
// named once and then hidden from the viewer, or deleted, reads as not
// found, exactly like one never stored, while a viewer who may still see
// it keeps getting its ids and type.
func TestRefFollowsPolicyAndDelete(t *testing.T) {
	s := loadFixture(t)
	partner := graph.Viewer{Org: graphtest.OrgC}
	owner := graph.Viewer{Org: graphtest.OrgB}
	var caseID graph.ID
	ref := func(v graph.Viewer, id graph.ID) (graph.Ref, error) {
		var r graph.Ref
		err := s.View(v, func(tx *graph.Tx) error {
			var err error
			r, err = tx.Ref(id)
			return err
		})
		return r, err
	}
	view(t, s, graph.System(), func(tx *graph.Tx) error {
		caseID = mustLookup(t, tx, ids.Case)
		return nil
	})
	for _, v := range []graph.Viewer{partner, owner, partner} { // the second read of partner's is remembered
		r, err := ref(v, caseID)
		if err != nil || r.ID != caseID || r.StixID != ids.Case || r.Type != schema.TypeCase {
			t.Fatalf("%s names the case as %+v, %v", v.Org, r, err)
		}
	}

	// The owner takes the partner off the sharing list.
	err := s.Update(owner, func(tx *graph.Tx) error {
		return tx.SetPolicy(ids.Case, graphtest.OrgB, graph.Policy{TLP: schema.TLPAmber})
	})
	if err != nil {
		t.Fatal(err)
	}
	_, errMissing := ref(partner, 1<<40)
	if r, err := ref(partner, caseID); !errors.Is(err, graph.ErrNotFound) {
		t.Errorf("partner off the sharing list still names the case: %+v, %v", r, err)
	} else if missingText(err, strconv.FormatUint(uint64(caseID), 10)) != missingText(errMissing, strconv.FormatUint(1<<40, 10)) {
		t.Errorf("the hidden case reads unlike a missing node: %q against %q", err, errMissing)
	}
	if r, err := ref(owner, caseID); err != nil || r.StixID != ids.Case {
		t.Errorf("owner names the case as %+v, %v", r, err)
	}

	// Deleted, it is gone for everyone.
	if err := s.Update(graph.System(), func(tx *graph.Tx) error { return tx.Delete(ids.Case) }); err != nil {
		t.Fatal(err)
	}
	for _, v := range []graph.Viewer{owner, graph.System()} {
		if r, err := ref(v, caseID); !errors.Is(err, graph.ErrNotFound) {
			t.Errorf("%s names the deleted case: %+v, %v", v.Org, r, err)
		}
	}
}
