package bench

import (
	"bytes"
	"context"
	"encoding/json"
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
		"peak_rss_bytes", "disk_bytes", "targets", "pass"} {
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
	if len(res.Targets) != 5 {
		t.Errorf("%d targets, want 5", len(res.Targets))
	}
}
