package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/verband-cti/verband/graph"
)

// TestRunSmoke runs the whole benchmark end to end on a small graph and
// checks that the JSON is complete and sane, so the benchmark cannot rot.
func TestRunSmoke(t *testing.T) {
	opts := graph.DefaultOptions()
	opts.SyncWrites = false
	res, err := Run(context.Background(), Options{
		Objects: 20_000,
		Seed:    7,
		Dir:     t.TempDir(),
		Queries: 100,
		Store:   &opts,
		Check:   true,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", b)
	var m map[string]any
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"started_at", "finished_at", "go_version", "gomaxprocs", "seed", "objects", "edges",
		"ingest", "one_hop", "two_hop", "neighbourhood", "search_keyword", "search_text",
		"enforcement", "peak_rss_bytes", "disk_bytes", "targets", "pass"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if res.Objects != 20_000 || res.Ingest.Created != 20_000 {
		t.Errorf("objects %d, created %d; want 20000", res.Objects, res.Ingest.Created)
	}
	if res.CheckProblems != 0 {
		t.Errorf("store check found %d problems", res.CheckProblems)
	}
	in := res.Ingest
	if in.CommittedObjectsPerSec <= 0 || in.SearchableObjectsPerSec <= 0 || in.SearchableObjectsPerSec > in.CommittedObjectsPerSec {
		t.Errorf("ingest rates: %+v", in)
	}
	for name, l := range map[string]Latency{"one_hop": res.OneHop, "two_hop": res.TwoHop, "search_keyword": res.SearchKeyword, "search_text": res.SearchText} {
		if l.Queries < 50 || l.P50Ms <= 0 || l.P50Ms > l.P90Ms || l.P90Ms > l.P99Ms || l.P99Ms > l.MaxMs {
			t.Errorf("%s: %+v", name, l)
		}
	}
	if res.OneHop.MeanNodes < 2 || res.TwoHop.MeanNodes <= res.OneHop.MeanNodes || res.TwoHop.MeanNodes > 100 {
		t.Errorf("neighbourhood sizes: 1-hop %.1f, 2-hop %.1f", res.OneHop.MeanNodes, res.TwoHop.MeanNodes)
	}
	if res.SearchKeyword.Empty > 0.05 || res.SearchText.Empty > 0.05 {
		t.Errorf("searches finding nothing: keyword %.3f, text %.3f", res.SearchKeyword.Empty, res.SearchText.Empty)
	}
	if res.PeakRSSBytes <= 0 || res.DiskBytes <= 0 || res.DiskBadgerBytes <= 0 || res.DiskSearchBytes <= 0 {
		t.Errorf("rss %d, disk %d (badger %d, search %d)", res.PeakRSSBytes, res.DiskBytes, res.DiskBadgerBytes, res.DiskSearchBytes)
	}
	if len(res.Targets) != 6 || res.Targets[5].Figure != "enforcement.overhead" || res.Targets[5].Value != res.Enforcement.Overhead {
		t.Errorf("targets %+v, want 6 ending with the enforcement overhead", res.Targets)
	}
	checkEnforcement(t, res.Enforcement, 20_000)
}

// checkEnforcement checks the enforcement comparison of a run on a
// synthetic graph of n objects.
func checkEnforcement(t *testing.T, e Enforcement, n int64) {
	t.Helper()
	if e.Objects != n || e.VisibleFraction < 0.4 || e.VisibleFraction > 0.6 || e.Viewer != HalfViewer().Org || e.Baseline == "" {
		t.Errorf("enforcement: %d objects, %d visible (%.3f) to %q", e.Objects, e.VisibleObjects, e.VisibleFraction, e.Viewer)
	}
	// The hidden half must lie across the walks, or enforcement would
	// filter nothing.
	if e.HiddenReached < 0.2 || e.WalksCrossingHidden < 0.5 {
		t.Errorf("2-hop walks reach %.3f hidden nodes, %.3f of them at least one", e.HiddenReached, e.WalksCrossingHidden)
	}
	for name, c := range map[string]Comparison{"two_hop": e.TwoHop, "search_keyword": e.SearchKeyword, "search_text": e.SearchText, "degree": e.Degree} {
		for who, l := range map[string]Latency{"system": c.System, "viewer": c.Viewer} {
			if l.Queries < 50 || l.P50Ms <= 0 || l.P50Ms > l.P99Ms {
				t.Errorf("enforcement %s as %s: %+v", name, who, l)
			}
		}
		if c.System.Queries != c.Viewer.Queries || c.P50Ratio <= 0 || c.P99Ratio <= 0 || c.MeanRatio <= 0 || c.PairedRatio <= 0 || c.PerItemRatio <= 0 ||
			c.EqualItemsQueries > c.System.Queries || c.Overhead != round(max(c.PairedRatio, c.EqualItemsRatio)-1, 4) {
			t.Errorf("enforcement %s: %+v", name, c)
		}
		if c.ViewerItems > c.SystemItems || c.SystemItems <= 0 {
			t.Errorf("enforcement %s: the half viewer got %.2f items per query, the system viewer %.2f", name, c.ViewerItems, c.SystemItems)
		}
	}
	// Hidden neighbours make the half viewer's neighbourhoods smaller.
	if e.TwoHop.ViewerItems >= e.TwoHop.SystemItems || e.Degree.ViewerItems >= e.Degree.SystemItems {
		t.Errorf("enforcement: 2-hop nodes %.1f vs %.1f, degree %.1f vs %.1f: nothing hidden",
			e.TwoHop.ViewerItems, e.TwoHop.SystemItems, e.Degree.ViewerItems, e.Degree.SystemItems)
	}
	worst := map[string]float64{"two_hop": e.TwoHop.Overhead, "search_keyword": e.SearchKeyword.Overhead, "search_text": e.SearchText.Overhead, "search_word": e.SearchWord.Overhead}
	if w, ok := worst[e.OverheadOf]; !ok || e.Overhead != w || w < max(e.TwoHop.Overhead, e.SearchKeyword.Overhead, e.SearchText.Overhead, e.SearchWord.Overhead) {
		t.Errorf("enforcement overhead %v of %q, want the largest of %v", e.Overhead, e.OverheadOf, worst)
	}
	if s := e.Summary(); !strings.Contains(s, "enforcement overhead") || !strings.Contains(s, e.Viewer) {
		t.Errorf("summary: %s", s)
	}
}
