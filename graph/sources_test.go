package graph_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

// TestSourceMarkingPersists checks that default markings of import sources
// are validated, survive a reopen, and can be removed.
func TestSourceMarkingPersists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s, err := graph.Open(dir, graph.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateOrganization(context.Background(), graph.OrganizationSpec{Name: "org-b"}); err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]graph.SourceMarking{
		"unmarked":        {TLP: schema.TLPUnmarked},
		"unknown sharing": {TLP: schema.TLPAmber, Sharing: []string{"org-z"}},
	} {
		if err := s.SetSourceMarking("feed", &m); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := s.SetSourceMarking(" ", &graph.SourceMarking{TLP: schema.TLPGreen}); !errors.Is(err, graph.ErrInvalid) {
		t.Errorf("blank source name: %v, want ErrInvalid", err)
	}
	if err := s.SetSourceMarking("feed", &graph.SourceMarking{TLP: schema.TLPAmber, Sharing: []string{"org-b", "org-b"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSourceMarking("other", &graph.SourceMarking{TLP: schema.TLPRed}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = graph.Open(dir, graph.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, ok := s.SourceMarking("feed")
	if !ok || m.TLP != schema.TLPAmber || len(m.Sharing) != 1 || m.Sharing[0] != "org-b" {
		t.Errorf("after reopen: %+v %v, want AMBER shared with org-b once", m, ok)
	}
	if err := s.SetSourceMarking("feed", nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.SourceMarking("feed"); ok {
		t.Error("removed marking still set")
	}
	if all := s.SourceMarkings(); len(all) != 1 || all["other"].TLP != schema.TLPRed {
		t.Errorf("SourceMarkings = %+v, want only other", all)
	}
}

// TestProtectionChange checks the edits of the protected properties and
// that properties an object rests on cannot be protected.
func TestProtectionChange(t *testing.T) {
	p := graph.Protection{Properties: []string{"x_source"}}
	q, changed := p.Change(true, "humint", "x_informant", "x_informant")
	if len(changed) != 1 || len(q.BySource["humint"]) != 1 || len(p.BySource) != 0 {
		t.Errorf("add per source: %+v changed %v (original %+v)", q, changed, p)
	}
	if _, changed := q.Change(true, "", "x_source"); len(changed) != 0 {
		t.Errorf("adding a protected property changed %v", changed)
	}
	r, changed := q.Change(false, "", "x_source")
	if len(changed) != 1 || len(r.Properties) != 0 || len(q.Properties) != 1 {
		t.Errorf("remove: %+v changed %v", r, changed)
	}
	for _, name := range []string{"id", "type", "value", "object_marking_refs", "x", "bad-name", "x y"} {
		if err := graph.ValidPropertyName(name); !errors.Is(err, graph.ErrInvalid) {
			t.Errorf("ValidPropertyName(%q) = %v, want ErrInvalid", name, err)
		}
	}
	s, err := graph.Open(t.TempDir(), graph.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetProtection(graph.Protection{Properties: []string{"x_source", "id"}}); !errors.Is(err, graph.ErrInvalid) {
		t.Errorf("protecting id: %v, want ErrInvalid", err)
	}
}
