package graph_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/schema"
)

var ids = &graphtest.FixtureIDs

func loadFixture(t *testing.T) *graph.Store {
	t.Helper()
	s := graphtest.Open(t)
	graphtest.Load(t, s, graphtest.Fixture(t))
	return s
}

func view(t *testing.T, s *graph.Store, v graph.Viewer, fn func(tx *graph.Tx) error) {
	t.Helper()
	if err := s.View(v, fn); err != nil {
		t.Fatal(err)
	}
}

func mustLookup(t *testing.T, tx *graph.Tx, stixID string) graph.ID {
	t.Helper()
	id, err := tx.Lookup(stixID)
	if err != nil {
		t.Fatalf("lookup %s: %v", stixID, err)
	}
	return id
}

// neighbours lists "dir type stixid" for the visible edges at a node.
func neighbours(t *testing.T, tx *graph.Tx, stixID string, q graph.NeighbourQuery) []string {
	t.Helper()
	id := mustLookup(t, tx, stixID)
	var out []string
	err := tx.Neighbours(id, q, func(e graph.Edge) bool {
		n, err := tx.Node(e.Other(id))
		if err != nil {
			t.Errorf("neighbour %d of %s: %v", e.Other(id), stixID, err)
			return false
		}
		dir := "out"
		if e.To == id {
			dir = "in"
		}
		out = append(out, fmt.Sprintf("%s %s %s", dir, e.Type, n.StixID))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestFixtureReads(t *testing.T) {
	s := loadFixture(t)
	view(t, s, graph.System(), func(tx *graph.Tx) error {
		n, err := tx.NodeByStixID(ids.Malware)
		if err != nil {
			t.Fatal(err)
		}
		if n.Type != "malware" || n.StixID != ids.Malware || n.Modified.IsZero() {
			t.Errorf("malware node: %+v", n)
		}
		o, err := n.Object()
		if err != nil {
			t.Fatal(err)
		}
		if name, _ := o.String("name"); name != "LanternRAT" {
			t.Errorf("name %q", name)
		}
		got := neighbours(t, tx, ids.Malware, graph.NeighbourQuery{})
		want := []string{
			"in indicates " + ids.Indicator,
			"in object_refs " + ids.Report,
			"in uses " + ids.Campaign,
			"out created_by_ref " + ids.Identity,
		}
		if !slices.Equal(got, want) {
			t.Errorf("neighbours of malware:\n got %q\nwant %q", got, want)
		}
		got = neighbours(t, tx, ids.Malware, graph.NeighbourQuery{Dir: graph.In, EdgeTypes: []string{"uses", "indicates"}})
		if len(got) != 2 {
			t.Errorf("filtered neighbours: %q", got)
		}
		got = neighbours(t, tx, ids.Malware, graph.NeighbourQuery{Except: []string{"object_refs", "created_by_ref", "nope"}})
		if want := []string{"in indicates " + ids.Indicator, "in uses " + ids.Campaign}; !slices.Equal(got, want) {
			t.Errorf("neighbours of malware except object_refs and created_by_ref:\n got %q\nwant %q", got, want)
		}
		if got = neighbours(t, tx, ids.Identity, graph.NeighbourQuery{Dir: graph.In, Except: []string{"created_by_ref"}}); len(got) != 0 {
			t.Errorf("identity's in-edges except created_by_ref: %q", got)
		}
		mal := mustLookup(t, tx, ids.Malware)
		for _, c := range []struct {
			dir  graph.Direction
			typ  string
			want int64
		}{{graph.In, "", 3}, {graph.Out, "", 1}, {graph.Both, "", 4}, {graph.In, "uses", 1}, {graph.In, "nope", 0}} {
			if d, err := tx.Degree(mal, c.dir, c.typ); err != nil || d != c.want {
				t.Errorf("degree %v %q = %d, %v; want %d", c.dir, c.typ, d, err, c.want)
			}
		}
		ipIDs, err := tx.ByValue("203.0.113.7")
		if err != nil || len(ipIDs) != 1 {
			t.Fatalf("by value: %v %v", ipIDs, err)
		}
		if n, _ := tx.Node(ipIDs[0]); n == nil || n.StixID != ids.IP {
			t.Errorf("by value found %+v", n)
		}
		var malware []graph.ID
		if err := tx.ByType("malware", 0, func(id graph.ID) bool { malware = append(malware, id); return true }); err != nil {
			t.Fatal(err)
		}
		if len(malware) != 1 || malware[0] != mal {
			t.Errorf("by type: %v", malware)
		}
		types, err := tx.Types()
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int64{}
		for _, tc := range types {
			counts[tc.Type] = tc.Count
		}
		if counts["relationship"] != 3 || counts["ipv4-addr"] != 1 || counts["x-verband-case"] != 1 {
			t.Errorf("type counts %v", counts)
		}
		var inWindow int
		from, _ := time.Parse(time.RFC3339, "2024-03-01T00:00:00Z")
		if err := tx.ByTime(from, from.Add(24*time.Hour), func(graph.ID, time.Time) bool { inWindow++; return true }); err != nil {
			t.Fatal(err)
		}
		if inWindow != 11 { // every SDO and SRO; the two SCOs carry no time
			t.Errorf("by time: %d nodes", inWindow)
		}
		nodes, edges, err := tx.Expand(mustLookup(t, tx, ids.Campaign), 2, graph.NeighbourQuery{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(nodes) < 8 || len(edges) < len(nodes)-1 {
			t.Errorf("2-hop expand from campaign: %d nodes, %d edges", len(nodes), len(edges))
		}
		return nil
	})
}

func TestViewerSeesOnlyWhatPolicyAllows(t *testing.T) {
	s := loadFixture(t)
	outsider := graph.Viewer{Org: "org-d"}
	partner := graph.Viewer{Org: graphtest.OrgC}
	view(t, s, outsider, func(tx *graph.Tx) error {
		if _, err := tx.NodeByStixID(ids.Case); !errors.Is(err, graph.ErrNotFound) {
			t.Errorf("outsider reads AMBER case: %v", err)
		}
		got := neighbours(t, tx, ids.IP, graph.NeighbourQuery{})
		for _, n := range got {
			if n == "in object_refs "+ids.Case {
				t.Errorf("outsider sees the case's edge to the IP")
			}
		}
		ip := mustLookup(t, tx, ids.IP)
		if d, _ := tx.Degree(ip, graph.In, "object_refs"); d != 1 {
			t.Errorf("outsider's object_refs in-degree of IP = %d, want 1 (the report only)", d)
		}
		types, _ := tx.Types()
		for _, tc := range types {
			if tc.Type == "x-verband-case" || tc.Type == "incident" {
				t.Errorf("outsider counts %d %s", tc.Count, tc.Type)
			}
		}
		return nil
	})
	view(t, s, partner, func(tx *graph.Tx) error {
		if _, err := tx.NodeByStixID(ids.Case); err != nil {
			t.Errorf("partner on the sharing list cannot read the case: %v", err)
		}
		ip := mustLookup(t, tx, ids.IP)
		if d, _ := tx.Degree(ip, graph.In, "object_refs"); d != 2 {
			t.Errorf("partner's object_refs in-degree of IP = %d, want 2", d)
		}
		return nil
	})
}

func TestPutIsIdempotent(t *testing.T) {
	s := loadFixture(t)
	before := s.IndexStatus().Committed
	err := s.Update(graph.System(), func(tx *graph.Tx) error {
		for _, it := range graphtest.Fixture(t) {
			_, outcome, err := tx.Put(it.Object, it.Meta)
			if err != nil {
				return err
			}
			if outcome != graph.Unchanged {
				t.Errorf("%s: %v on second put", it.Object.ID, outcome)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := s.IndexStatus().Committed; after != before {
		t.Errorf("second load wrote outbox entries %d..%d", before+1, after)
	}
}

func TestNewerVersionReplacesEdges(t *testing.T) {
	s := loadFixture(t)
	var report *schema.Object
	for _, it := range graphtest.Fixture(t) {
		if it.Object.ID == ids.Report {
			report = it.Object.Clone()
		}
	}
	older := report.Clone()
	if err := report.Set("modified", "2024-05-01T00:00:00.000Z"); err != nil {
		t.Fatal(err)
	}
	if err := report.Set("object_refs", []string{ids.Campaign}); err != nil {
		t.Fatal(err)
	}
	if err := older.Set("modified", "2024-01-01T00:00:00.000Z"); err != nil {
		t.Fatal(err)
	}
	meta := graph.Meta{Policy: graph.Policy{Owner: graphtest.OrgA, TLP: schema.TLPGreen}, Provenance: graph.Provenance{Source: "test"}}
	err := s.Update(graph.System(), func(tx *graph.Tx) error {
		if _, o, err := tx.Put(report, meta); err != nil || o != graph.Updated {
			t.Errorf("newer version: %v %v", o, err)
		}
		if _, o, err := tx.Put(older, meta); err != nil || o != graph.Older {
			t.Errorf("older version: %v %v", o, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	view(t, s, graph.System(), func(tx *graph.Tx) error {
		got := neighbours(t, tx, ids.Report, graph.NeighbourQuery{Dir: graph.Out, EdgeTypes: []string{"object_refs"}})
		if !slices.Equal(got, []string{"out object_refs " + ids.Campaign}) {
			t.Errorf("report refs after update: %q", got)
		}
		n, _ := tx.NodeByStixID(ids.Report)
		if len(n.Provenance) != 2 || n.Provenance[1].Source != "test" {
			t.Errorf("provenance %+v", n.Provenance)
		}
		return nil
	})
}

func TestDanglingReferencesResolveLater(t *testing.T) {
	s := graphtest.Open(t)
	items := graphtest.Fixture(t)
	// Store only the relationships first: their ends do not exist yet.
	var rels, rest []graphtest.Item
	for _, it := range items {
		if it.Object.Type == "relationship" {
			rels = append(rels, it)
		} else {
			rest = append(rest, it)
		}
	}
	graphtest.Load(t, s, rels)
	view(t, s, graph.System(), func(tx *graph.Tx) error {
		if _, err := tx.NodeByStixID(ids.Malware); !errors.Is(err, graph.ErrNotFound) {
			t.Errorf("malware before it arrived: %v", err)
		}
		if _, err := tx.NodeByStixID(ids.Uses); err != nil {
			t.Errorf("relationship: %v", err)
		}
		return nil
	})
	graphtest.Load(t, s, rest)
	view(t, s, graph.System(), func(tx *graph.Tx) error {
		got := neighbours(t, tx, ids.Campaign, graph.NeighbourQuery{Dir: graph.Out, EdgeTypes: []string{"uses", "attributed-to"}})
		want := []string{"out attributed-to " + ids.IntrusionSet, "out uses " + ids.Malware}
		if !slices.Equal(got, want) {
			t.Errorf("campaign edges after targets arrived: %q", got)
		}
		return nil
	})
}

func TestDeleteLeavesStub(t *testing.T) {
	s := loadFixture(t)
	if err := s.Update(graph.System(), func(tx *graph.Tx) error { return tx.Delete(ids.Uses) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(graph.System(), func(tx *graph.Tx) error { return tx.Delete(ids.Uses) }); !errors.Is(err, graph.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	view(t, s, graph.System(), func(tx *graph.Tx) error {
		got := neighbours(t, tx, ids.Campaign, graph.NeighbourQuery{EdgeTypes: []string{"uses"}})
		if len(got) != 0 {
			t.Errorf("uses edge survived delete: %q", got)
		}
		return nil
	})
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	opts := graph.DefaultOptions()
	s, err := graph.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	graphtest.Load(t, s, graphtest.Fixture(t))
	var malID graph.ID
	view(t, s, graph.System(), func(tx *graph.Tx) error { malID = mustLookup(t, tx, ids.Malware); return nil })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = graphtest.OpenWith(t, dir, opts)
	view(t, s, graph.Viewer{Org: "org-d"}, func(tx *graph.Tx) error {
		if id := mustLookup(t, tx, ids.Malware); id != malID {
			t.Errorf("malware id changed across reopen: %d → %d", malID, id)
		}
		if _, err := tx.NodeByStixID(ids.Case); !errors.Is(err, graph.ErrNotFound) {
			t.Errorf("class cache lost after reopen: outsider reads case: %v", err)
		}
		return nil
	})
	// New ids after a reopen never reuse old ones.
	it := graphtest.Fixture(t)[1]
	o := it.Object.Clone()
	if err := o.Set("id", "campaign--11111111-2222-4333-8444-555555555555"); err != nil {
		t.Fatal(err)
	}
	var newID graph.ID
	if err := s.Update(graph.System(), func(tx *graph.Tx) error {
		var err error
		newID, _, err = tx.Put(o, it.Meta)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if newID <= malID {
		t.Errorf("new id %d not above earlier ids (%d)", newID, malID)
	}
}

func TestSecondOpenReportsLock(t *testing.T) {
	s := graphtest.Open(t)
	if _, err := graph.Open(s.Dir(), graph.DefaultOptions()); !errors.Is(err, graph.ErrLocked) {
		t.Fatalf("second open of a store in use: %v", err)
	}
}

// TestEmptyLogFilesAfterCrash reproduces what a kill right after Badger
// created a value log file leaves behind: an empty file, which Badger itself
// refuses to open.
func TestEmptyLogFilesAfterCrash(t *testing.T) {
	dir := t.TempDir()
	s, err := graph.Open(dir, graph.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	graphtest.Load(t, s, graphtest.Fixture(t))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A kill between creating a log file and sizing it leaves it empty:
	// a value log, and a memtable log with the next file number.
	for _, name := range []string{"000009.vlog", "00009.mem"} {
		if err := os.WriteFile(filepath.Join(dir, "badger", name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s = graphtest.OpenWith(t, dir, graph.DefaultOptions())
	view(t, s, graph.System(), func(tx *graph.Tx) error { mustLookup(t, tx, ids.Malware); return nil })
}

func TestEncryptionAtRest(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("VERBAND_TEST_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	opts := graph.DefaultOptions()
	opts.EncryptionKeyEnv = "VERBAND_TEST_KEY"
	s, err := graph.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	graphtest.Load(t, s, graphtest.Fixture(t))
	if _, err := s.AppendAudit(context.Background(), graph.AuditEntry{Viewer: graph.AuditViewer{Org: "org-a"}, Operation: "graphql:Q",
		IDs: []string{ids.Malware}, Orgs: []string{"org-secret"}, Outcome: graph.AuditOK}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// No file of the graph or the audit log holds a STIX id, nor the audit
	// log an organization, in clear.
	for _, sub := range []string{"badger", "auditlog"} {
		files, err := filepath.Glob(filepath.Join(dir, sub, "*"))
		if err != nil || len(files) == 0 {
			t.Fatalf("files of %s: %v, %v", sub, files, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(ids.Malware)) || bytes.Contains(b, []byte("org-secret")) {
				t.Errorf("%s holds %s or an organization in clear", f, ids.Malware)
			}
		}
	}
	if _, err := graph.Open(dir, graph.DefaultOptions()); err == nil {
		t.Fatal("encrypted store opened without its key")
	}
	t.Setenv("VERBAND_TEST_KEY", "short")
	if _, err := graph.Open(dir, opts); !errors.Is(err, graph.ErrEncryptionKey) {
		t.Fatalf("bad key: %v", err)
	}
	t.Setenv("VERBAND_TEST_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	s = graphtest.OpenWith(t, dir, opts)
	view(t, s, graph.System(), func(tx *graph.Tx) error {
		mustLookup(t, tx, ids.Malware)
		return nil
	})
}

func TestEncryptionKeyFile(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := graph.DefaultOptions()
	opts.EncryptionKeyFile = keyFile
	s := graphtest.OpenWith(t, dir, opts)
	graphtest.Load(t, s, graphtest.Fixture(t))
	opts.EncryptionKeyFile = filepath.Join(t.TempDir(), "missing")
	if _, err := graph.Open(t.TempDir(), opts); !errors.Is(err, graph.ErrEncryptionKey) {
		t.Errorf("missing key file: %v", err)
	}
}

func TestSearchIsFilteredByViewer(t *testing.T) {
	s := loadFixture(t)
	ctx := context.Background()
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	stix := func(v graph.Viewer, hits []graph.SearchHit) []string {
		var out []string
		view(t, s, v, func(tx *graph.Tx) error {
			for _, h := range hits {
				n, err := tx.Node(h.ID)
				if err != nil {
					t.Errorf("hit %d not readable by its viewer: %v", h.ID, err)
					continue
				}
				out = append(out, n.StixID)
			}
			return nil
		})
		return out
	}
	res, err := s.Search(ctx, graph.System(), graph.SearchQuery{Text: "lanternrat", Facets: true})
	if err != nil {
		t.Fatal(err)
	}
	got := stix(graph.System(), res.Hits)
	if !slices.Contains(got, ids.Malware) || !slices.Contains(got, ids.Indicator) {
		t.Errorf("search lanternrat: %q", got)
	}
	res, err = s.Search(ctx, graph.System(), graph.SearchQuery{Text: "203.0.113.7"})
	if err != nil || len(res.Hits) == 0 || stix(graph.System(), res.Hits)[0] != ids.IP {
		t.Errorf("search IP: %+v %v", res, err)
	}
	for _, c := range []struct {
		v    graph.Viewer
		want uint64
	}{{graph.Viewer{Org: "org-d"}, 0}, {graph.Viewer{Org: graphtest.OrgC}, 1}, {graph.System(), 1}} {
		res, err := s.Search(ctx, c.v, graph.SearchQuery{Text: "breach", Facets: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != c.want || uint64(len(res.Hits)) != c.want || res.Facets["incident"] != c.want {
			t.Errorf("viewer %q: search breach total %d hits %d facets %v; want %d", c.v.Org, res.Total, len(res.Hits), res.Facets, c.want)
		}
	}
}

func TestBulkCommitsInChunks(t *testing.T) {
	s := graphtest.Open(t)
	var acks []graph.BulkStats
	items := graphtest.Fixture(t)
	total := bulkLoad(t, s, graph.BulkOptions{ChunkObjects: 4, OnCommit: func(st graph.BulkStats) { acks = append(acks, st) }}, items)
	if total.Created != len(items) || total.Chunks != (len(items)+3)/4 || len(acks) != total.Chunks {
		t.Errorf("bulk stats %+v, %d acks", total, len(acks))
	}
	if total := bulkLoad(t, s, graph.BulkOptions{}, items); total.Unchanged != len(items) {
		t.Errorf("second bulk load: %+v", total)
	}
}

// random is the id a source gave the fixture's IP before canonicalisation.
const random = "ipv4-addr--0b9e2cf3-4b3d-4f3e-9d77-1c2d3e4f5a6b"

// randomIDReference returns a relationship from the fixture's campaign to
// the IP by its random id, and the IP.
func randomIDReference(t *testing.T, items []graphtest.Item) (rel, ip *schema.Object) {
	t.Helper()
	rel = items[5].Object.Clone() // campaign uses malware
	for k, v := range map[string]string{"id": "relationship--7d1c3a55-0d64-4b8e-9c55-7a3cf1b2e001", "relationship_type": "communicates-with", "target_ref": random} {
		if err := rel.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, it := range items {
		if it.Object.ID == ids.IP {
			ip = it.Object
		}
	}
	return rel, ip
}

// checkRandomIDMerged checks that the reference by random id ends on the
// IP's node, and that the random id resolves to it.
func checkRandomIDMerged(t *testing.T, s *graph.Store) {
	t.Helper()
	view(t, s, graph.System(), func(tx *graph.Tx) error {
		got := neighbours(t, tx, ids.IP, graph.NeighbourQuery{EdgeTypes: []string{"communicates-with"}})
		if !slices.Equal(got, []string{"in communicates-with " + ids.Campaign}) {
			t.Errorf("IP's communicates-with edges: %q", got)
		}
		if id, err := tx.Lookup(random); err != nil || id != mustLookup(t, tx, ids.IP) {
			t.Errorf("original id resolves to %d, %v", id, err)
		}
		return nil
	})
}

// TestOriginalIDMergesEarlierReference covers an SCO that a source named by
// a random id: a relationship referred to that id before the canonical SCO
// (already stored from another source) arrived with it as its original id.
// The reference must end on the canonical node.
func TestOriginalIDMergesEarlierReference(t *testing.T) {
	s := loadFixture(t)
	items := graphtest.Fixture(t)
	meta := items[0].Meta
	rel, ip := randomIDReference(t, items)
	err := s.Update(graph.System(), func(tx *graph.Tx) error {
		if _, _, err := tx.Put(rel, meta); err != nil {
			return err
		}
		m := meta
		m.Provenance = graph.Provenance{Source: "second", OriginalID: random}
		_, _, err := tx.Put(ip, m)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	checkRandomIDMerged(t, s)
}

// TestIndicatorPatternLinksObservables checks the based-on edge an
// indicator's pattern implies, in both load orders.
func TestIndicatorPatternLinksObservables(t *testing.T) {
	for _, ipFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("ip first %v", ipFirst), func(t *testing.T) {
			s := graphtest.Open(t)
			var ind, ip graphtest.Item
			for _, it := range graphtest.Fixture(t) {
				switch it.Object.ID {
				case ids.Indicator:
					ind = it
				case ids.IP:
					ip = it
				}
			}
			order := []graphtest.Item{ind, ip}
			if ipFirst {
				order = []graphtest.Item{ip, ind}
			}
			graphtest.Load(t, s, order[:1])
			graphtest.Load(t, s, order[1:])
			view(t, s, graph.System(), func(tx *graph.Tx) error {
				got := neighbours(t, tx, ids.IP, graph.NeighbourQuery{EdgeTypes: []string{"based-on"}})
				if !slices.Equal(got, []string{"in based-on " + ids.Indicator}) {
					t.Errorf("based-on edges of the IP: %q", got)
				}
				return nil
			})
		})
	}
}

// TestOlderSearchIndexIsRebuilt checks that a store whose search index was
// written in an older format (one that kept "apt_turla" as one word)
// rebuilds it when it opens, so that an upgrade finds what the new
// analyzer finds.
func TestOlderSearchIndexIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	s, err := graph.Open(dir, graph.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	mal := graphtest.Object(t, map[string]any{
		"type": "malware", "spec_version": "2.1", "id": "malware--6c1f3a52-8a47-4f6e-9c4e-0d1b2c3d4e5f",
		"created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z",
		"name": "apt_turla", "is_family": true,
	})
	graphtest.Put(t, s, graph.Meta{}, mal)
	if err := s.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(dir, "search", "textindex.json")
	b, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	old := strings.Replace(string(b), `"format":3`, `"format":2`, 1)
	if old == string(b) {
		t.Fatalf("%s does not record format 3: %s", meta, b)
	}
	if err := os.WriteFile(meta, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	s = graphtest.OpenWith(t, dir, graph.DefaultOptions())
	if err := s.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(context.Background(), graph.System(), graph.SearchQuery{Text: "turla"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 1 {
		t.Fatalf("search turla after the upgrade: %d hits, want the malware apt_turla", len(res.Hits))
	}
	b, err = os.ReadFile(meta)
	if err != nil || !strings.Contains(string(b), `"format":3`) {
		t.Errorf("rebuilt index meta: %s, %v", b, err)
	}
}

// TestSearchIndexSpansBatches loads more nodes than several of the
// indexer's batches hold, in bulk chunks that do not line up with them,
// and checks that the index holds every node, through the indexer catching
// up and again after a rebuild: a node at a batch's edge must not be
// skipped or indexed twice.
func TestSearchIndexSpansBatches(t *testing.T) {
	const n = 12_345
	s := graphtest.Open(t)
	bulk := s.NewBulk(graph.System(), graph.BulkOptions{ChunkObjects: 1_500})
	for i := range n {
		o := graphtest.Object(t, map[string]any{
			"type": "malware", "spec_version": "2.1",
			"id":      fmt.Sprintf("malware--00000000-0000-4000-8000-%012d", i),
			"created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z",
			"name": fmt.Sprintf("family%05d", i), "is_family": true,
		})
		if err := bulk.Put(o, graph.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bulk.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	check := func(when string) {
		t.Helper()
		if err := s.WaitIndexed(ctx); err != nil {
			t.Fatal(err)
		}
		if st := s.IndexStatus(); st.Docs != n {
			t.Errorf("%s: the index holds %d documents, want %d", when, st.Docs, n)
		}
		for _, i := range []int{0, 3_999, 4_000, 4_001, 7_999, 8_000, n / 2, n - 1} {
			name := fmt.Sprintf("family%05d", i)
			res, err := s.Search(ctx, graph.System(), graph.SearchQuery{Text: name})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Hits) != 1 {
				t.Errorf("%s: search %s: %d hits, want 1", when, name, len(res.Hits))
			}
		}
	}
	check("indexed")
	last := 0
	if err := s.Reindex(ctx, func(done int) { last = done }); err != nil {
		t.Fatal(err)
	}
	if last != n {
		t.Errorf("reindex reported %d objects done at the end, want %d", last, n)
	}
	check("rebuilt")
}

// TestCompressedTablesStayReadable checks the upgrade from compressed
// tables: a store whose tables an earlier version compressed opens with a
// block cache for them and reads everything, while a store written
// uncompressed opens without one.
func TestCompressedTablesStayReadable(t *testing.T) {
	const notice = "compressed by an earlier version"
	for _, compressed := range []bool{true, false} {
		dir := t.TempDir()
		opts := graph.DefaultOptions()
		opts.CompressTables = compressed
		s, err := graph.Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		graphtest.Load(t, s, graphtest.Fixture(t))
		if err := s.Close(); err != nil { // flushes the memtable into a table
			t.Fatal(err)
		}
		var log graphtest.SyncBuffer
		opts = graph.DefaultOptions()
		opts.Logger = slog.New(slog.NewTextHandler(&log, nil))
		s = graphtest.OpenWith(t, dir, opts)
		if got := strings.Contains(log.String(), notice); got != compressed {
			t.Errorf("compressed tables %v: block cache notice %v; log:\n%s", compressed, got, log.String())
		}
		view(t, s, graph.Viewer{Org: graphtest.OrgA}, func(tx *graph.Tx) error {
			mustLookup(t, tx, ids.Malware)
			mustLookup(t, tx, ids.IP)
			return nil
		})
	}
}
