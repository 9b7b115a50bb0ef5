package export_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/ingest/export"
	"github.com/verband-cti/verband/schema"
)

// fixture opens a store holding graphtest's fixture graph, plus an
// AMBER+STRICT note owned by org-b and shared with org-c.
func fixture(t *testing.T) *graph.Store {
	t.Helper()
	s := graphtest.Open(t)
	items := graphtest.Fixture(t)
	note, err := schema.ParseObject([]byte(`{"type":"note","spec_version":"2.1","id":"note--8a1f0c6e-6f5d-4d7e-9a43-2f4a8c0b1d20","created":"2024-03-01T10:00:00.000Z","modified":"2024-03-01T10:00:00.000Z","content":"strict","object_refs":["` + graphtest.FixtureIDs.Incident + `"]}`))
	if err != nil {
		t.Fatal(err)
	}
	items = append(items, graphtest.Item{Object: note, Meta: graph.Meta{Policy: graph.Policy{Owner: graphtest.OrgB, TLP: schema.TLPAmberStrict, Sharing: []string{graphtest.OrgC}}}})
	graphtest.Load(t, s, items)
	if err := s.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// selected returns the STIX ids Select chooses.
func selected(t *testing.T, s *graph.Store, v graph.Viewer, sel export.Selection) []string {
	t.Helper()
	ids, err := export.Select(context.Background(), s, v, sel)
	if err != nil {
		t.Fatalf("Select(%+v): %v", sel, err)
	}
	var out []string
	err = s.View(graph.System(), func(tx *graph.Tx) error {
		for _, id := range ids {
			n, err := tx.Node(id)
			if err != nil {
				return err
			}
			out = append(out, n.StixID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func TestSelect(t *testing.T) {
	s := fixture(t)
	ids := graphtest.FixtureIDs
	orgB := graph.Viewer{Org: graphtest.OrgB}
	orgA := graph.Viewer{Org: graphtest.OrgA}
	note := "note--8a1f0c6e-6f5d-4d7e-9a43-2f4a8c0b1d20"

	for _, c := range []struct {
		name string
		v    graph.Viewer
		sel  export.Selection
		want []string
	}{
		// The case, its members, and the creator identity they name.
		{"case", orgB, export.Selection{Case: ids.Case}, sorted(ids.Case, ids.IP, ids.Incident, ids.Identity)},
		// A report: members, relationships between members, their creator.
		{"report", orgA, export.Selection{Case: ids.Report}, sorted(ids.Report, ids.Campaign, ids.Malware, ids.IP, ids.Domain, ids.IntrusionSet, ids.Uses, ids.Attributed, ids.Identity)},
		{"report without relationships", orgA, export.Selection{Case: ids.Report, Types: []string{"malware", "ipv4-addr", "domain-name"}}, sorted(ids.Report, ids.Malware, ids.IP, ids.Domain, ids.Identity)},
		{"type", orgA, export.Selection{Types: []string{"malware"}}, sorted(ids.Malware, ids.Identity)},
		// A domain brings the IP it resolves to.
		{"type sco", orgA, export.Selection{Types: []string{"domain-name"}}, sorted(ids.Domain, ids.IP)},
		{"query", orgA, export.Selection{Query: "LanternRAT", Types: []string{"malware"}}, sorted(ids.Malware, ids.Identity)},
		{"window", orgA, export.Selection{Types: []string{"campaign"}, Since: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)}, sorted(ids.Campaign, ids.Identity)},
		{"empty window", orgA, export.Selection{Since: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}, nil},
		{"source", orgA, export.Selection{Types: []string{"campaign"}, Source: "elsewhere"}, nil},
		// org-a sees none of the AMBER objects of org-b.
		{"all as org-a", orgA, export.Selection{}, sorted(ids.Identity, ids.Campaign, ids.IntrusionSet, ids.Malware, ids.Indicator, ids.Report, ids.Uses, ids.Attributed, ids.Indicates, ids.IP, ids.Domain)},
		{"strict note is selected for org-b", orgB, export.Selection{Types: []string{"note"}}, sorted(note)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := selected(t, s, c.v, c.sel); !slices.Equal(got, c.want) {
				t.Errorf("selected %v\nwant     %v", got, c.want)
			}
		})
	}
	// A case the viewer may not see is not found.
	if _, err := export.Select(context.Background(), s, orgA, export.Selection{Case: ids.Case}); !errors.Is(err, graph.ErrNotFound) {
		t.Errorf("case hidden from org-a: %v, want ErrNotFound", err)
	}
	if _, err := export.Select(context.Background(), s, orgA, export.Selection{Case: ids.Case, Query: "x"}); !errors.Is(err, graph.ErrInvalid) {
		t.Errorf("case and query: %v, want ErrInvalid", err)
	}
}

func TestWriteBundleWithheldAndRedacted(t *testing.T) {
	s := fixture(t)
	ctx := context.Background()
	note := "note--8a1f0c6e-6f5d-4d7e-9a43-2f4a8c0b1d20"
	sel := export.Selection{Types: []string{"note", "incident"}}

	// org-c may see the strict note in the graph but may not export it:
	// the export fails, naming it and why, and writes nothing...
	var buf bytes.Buffer
	_, err := export.WriteBundle(ctx, s, graph.Viewer{Org: graphtest.OrgC}, sel, &buf, export.Options{})
	var re *export.ReshareError
	if !errors.As(err, &re) || re.ID != note || !strings.Contains(re.Reason, "AMBER+STRICT from org-b") || buf.Len() != 0 {
		t.Fatalf("org-c export of a strict note: %v (wrote %d bytes), want a re-share error naming it", err, buf.Len())
	}
	// ...unless it asks to leave such objects out.
	st, err := export.WriteBundle(ctx, s, graph.Viewer{Org: graphtest.OrgC}, sel, &buf, export.Options{SkipRestricted: true})
	if err != nil {
		t.Fatal(err)
	}
	got := bundleObjects(t, buf.Bytes())
	if _, ok := got[note]; ok || st.Withheld != 1 || st.Objects != 2 { // the incident and its creator
		t.Errorf("org-c export: stats %+v, objects %v: want the strict note withheld", st, keys(got))
	}
	// An export for a partner holds only what the partner may read: org-a
	// may not read the strict note or the incident, only the GREEN
	// identity that created them.
	buf.Reset()
	st, err = export.WriteBundle(ctx, s, graph.Viewer{Org: graphtest.OrgB}, sel, &buf, export.Options{Partner: &graph.Viewer{Org: graphtest.OrgA}})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(bundleObjects(t, buf.Bytes())); !slices.Equal(got, []string{"identity--8a1f0c6e-6f5d-4d7e-9a43-2f4a8c0b1d01"}) {
		t.Errorf("org-b export for org-a holds %v", got)
	}
	// Its owner may.
	buf.Reset()
	if _, err := export.WriteBundle(ctx, s, graph.Viewer{Org: graphtest.OrgB}, sel, &buf, export.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := bundleObjects(t, buf.Bytes())[note]; !ok {
		t.Error("owner's export lacks the strict note")
	}

	// The redaction seam sees every object and may change or drop it.
	redact := export.RedactorFunc(func(v graph.Viewer, n *graph.Node, o *schema.Object) (*schema.Object, error) {
		if n.Type == "incident" {
			return nil, nil
		}
		delete(o.Props, "content")
		return o, nil
	})
	buf.Reset()
	st, err = export.WriteBundle(ctx, s, graph.Viewer{Org: graphtest.OrgB}, sel, &buf, export.Options{Redact: redact, Gzip: true, BundleID: "bundle--11111111-2222-4333-8444-555555555555"})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	got = bundleObjects(t, plain)
	n, ok := got[note].(map[string]any)
	if !ok || len(got) != 2 || n["content"] != nil || st.Withheld != 1 {
		t.Errorf("redacted export: %v (stats %+v), want the note without content and the identity", got, st)
	}
	if !bytes.Contains(plain, []byte(`"id":"bundle--11111111-2222-4333-8444-555555555555"`)) {
		t.Errorf("bundle id not used: %.100s", plain)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestParseForm(t *testing.T) {
	for in, want := range map[string]export.Form{"canonical": export.Canonical, "as-received": export.AsReceived, "": export.Canonical} {
		if got, err := export.ParseForm(in); err != nil || got != want {
			t.Errorf("ParseForm(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := export.ParseForm("raw"); err == nil {
		t.Error("ParseForm(raw): no error")
	}
}
