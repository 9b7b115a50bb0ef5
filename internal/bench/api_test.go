package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
)

// TestRunAPISmoke runs the API benchmark end to end on a small graph and
// checks that the JSON is complete and sane, so the benchmark cannot rot.
func TestRunAPISmoke(t *testing.T) {
	opts := graph.DefaultOptions()
	opts.SyncWrites = false
	dir := t.TempDir()
	profiles := filepath.Join(t.TempDir(), "seconds")
	res, err := RunAPI(context.Background(), APIOptions{
		Objects:        3000,
		Seed:           7,
		Dir:            dir,
		Clients:        4,
		Duration:       2 * time.Second,
		Rate:           100,
		Samples:        200,
		Store:          &opts,
		SecondProfiles: profiles,
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
	for _, k := range []string{"started_at", "finished_at", "go_version", "gomaxprocs", "setup", "seed", "objects",
		"store_objects", "clients", "duration_seconds", "mix", "mix_observed", "requests", "ok", "errors",
		"requests_per_s", "overall", "ops", "queries", "targets", "pass"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if res.StoreObjects != 3000 || res.Reused || res.Clients != 4 || res.DurationSeconds < 1.9 {
		t.Errorf("store objects %d, reused %v, clients %d, duration %.2fs", res.StoreObjects, res.Reused, res.Clients, res.DurationSeconds)
	}
	// The search index was merged before the measurement, as the README
	// tells operators to after a large load.
	if o := res.Optimize; o == nil || o.After != 1 || o.Before < o.After {
		t.Errorf("optimize before measuring: %+v", o)
	}
	if res.Errors != 0 || res.OK != res.Requests || res.RequestsPerSec <= 0 {
		t.Errorf("requests %d, ok %d, errors %d, rate %.1f/s", res.Requests, res.OK, res.Errors, res.RequestsPerSec)
	}
	checkLatency := func(name string, l Latency) {
		if l.Queries == 0 || l.P50Ms <= 0 || l.P50Ms > l.P90Ms || l.P90Ms > l.P99Ms || l.P99Ms > l.MaxMs {
			t.Errorf("%s: %+v", name, l)
		}
	}
	checkLatency("overall", res.Overall)
	for _, op := range apiOps {
		o, ok := res.Ops[op]
		if !ok {
			t.Errorf("no figures for %s", op)
			continue
		}
		checkLatency(op, o.Latency)
		if o.Requests != o.OK || len(o.Errors) != 0 {
			t.Errorf("%s: %d requests, %d ok, errors %v (%s)", op, o.Requests, o.OK, o.Errors, o.FirstError)
		}
		if res.MixObserved[op] <= 0 {
			t.Errorf("%s: observed share %v", op, res.MixObserved[op])
		}
	}
	if nb := res.Ops[OpNeighbours]; nb.MeanItems < 1 || nb.EmptyShare > 0.2 {
		t.Errorf("neighbourhoods: %.1f objects on average, %.3f empty", nb.MeanItems, nb.EmptyShare)
	}
	if s := res.Ops[OpSearchKeyword]; s.EmptyShare > 0.05 {
		t.Errorf("keyword searches finding nothing: %.3f", s.EmptyShare)
	}
	if len(res.Targets) != 3 {
		t.Errorf("%d targets, want 3", len(res.Targets))
	}

	// The open loop sends the offered rate, far below what the server
	// answers here, and the latency targets are judged on it.
	ol := res.OpenLoop
	if ol == nil {
		t.Fatal("no open-loop figures")
	}
	if ol.OfferedPerSec != 100 || ol.Errors != 0 || ol.Unsent > 4 || ol.Requests < 190 || ol.Requests > 200 {
		t.Errorf("open loop: offered %.0f/s, %d requests, %d errors, %d unsent", ol.OfferedPerSec, ol.Requests, ol.Errors, ol.Unsent)
	}
	checkLatency("open loop", ol.Overall)
	// Far below capacity, nearly every request waits for its timer, and
	// each such wait's lag is recorded (never negative: no early sends).
	if ol.WakeLag.Queries < ol.Requests/2 || ol.WakeLag.Queries > ol.Requests || ol.WakeLag.P50Ms < 0 || ol.WakeLag.MaxMs < ol.WakeLag.P50Ms {
		t.Errorf("open loop wake lag: %+v for %d requests", ol.WakeLag, ol.Requests)
	}
	// Second by second, the successful requests all appear, each in the
	// second it fell due: about the offered 100 in each.
	sum := 0
	for i, sec := range ol.Seconds {
		sum += sec.Requests
		if sec.Second != i || sec.Requests < 90 || sec.Requests > 101 || sec.P50Ms > sec.P99Ms || sec.P99Ms > sec.MaxMs {
			t.Errorf("open loop second %d: %+v", i, sec)
		}
	}
	if len(ol.Seconds) != 2 || sum != ol.OK {
		t.Errorf("open loop by second: %d seconds holding %d requests, want 2 holding the %d answered", len(ol.Seconds), sum, ol.OK)
	}
	if ol.RequestsPerSec < 80 || ol.RequestsPerSec > 105 {
		t.Errorf("open loop answered %.1f requests/s of 100 offered", ol.RequestsPerSec)
	}
	for _, tg := range res.Targets[:2] {
		if !strings.HasPrefix(tg.Figure, "open_loop.ops.neighbours.") {
			t.Errorf("latency target judged on %s", tg.Figure)
		}
	}

	// A CPU profile per second of the open loop: seconds 0 and 1, and the
	// end of the run, each a whole gzip stream as pprof writes them.
	files, err := filepath.Glob(filepath.Join(profiles, "open-*.pprof"))
	if err != nil || len(files) < 2 || len(files) > 4 {
		t.Errorf("per-second profiles %v, %v; want one for each of the 2 seconds (and the last part)", files, err)
	}
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(r)
		if err == nil {
			var n int64
			n, err = io.Copy(io.Discard, zr)
			if err == nil && n == 0 {
				err = io.ErrUnexpectedEOF
			}
		}
		r.Close()
		if err != nil {
			t.Errorf("%s is no profile: %v", f, err)
		}
	}

	// The same directory is reused without loading, with the same samples,
	// and a fixed request count is honoured.
	res2, err := RunAPI(context.Background(), APIOptions{
		Objects:  3000,
		Seed:     7,
		Dir:      dir,
		Clients:  4,
		Requests: 200,
		Samples:  200,
		Store:    &opts,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res2.Reused || res2.Requests != 200 || res2.Errors != 0 || res2.StoreObjects != 3000 {
		t.Errorf("reuse: reused %v, %d requests, %d errors, %d objects", res2.Reused, res2.Requests, res2.Errors, res2.StoreObjects)
	}
}

// TestNormaliseMix checks that the shares are scaled and unknown
// operations refused.
func TestNormaliseMix(t *testing.T) {
	m, err := normaliseMix(map[string]float64{OpNeighbours: 3, OpNode: 1})
	if err != nil {
		t.Fatal(err)
	}
	if m[OpNeighbours] != 0.75 || m[OpNode] != 0.25 || m[OpPaths] != 0 {
		t.Errorf("mix %v", m)
	}
	for _, bad := range []map[string]float64{{"walk": 1}, {OpNode: -1}, {OpNode: 0}} {
		if _, err := normaliseMix(bad); err == nil {
			t.Errorf("mix %v accepted", bad)
		}
	}
}

// TestBySecond checks that the open loop's timeline puts each request in
// the second it fell due, however late it was answered, and shows a second
// in which nothing fell due as empty rather than leaving it out.
func TestBySecond(t *testing.T) {
	ms := time.Millisecond
	secs := bySecond([]dueLatency{
		{at: 100 * ms, latency: 2 * ms}, {at: 900 * ms, latency: 1500 * ms}, {at: 999 * ms, latency: 4 * ms},
		{at: 2000 * ms, latency: 3 * ms},
	})
	want := []APISecond{
		{Second: 0, Requests: 3, P50Ms: 4, P99Ms: 1500, MaxMs: 1500},
		{Second: 1},
		{Second: 2, Requests: 1, P50Ms: 3, P99Ms: 3, MaxMs: 3},
	}
	if !slices.Equal(secs, want) {
		t.Errorf("bySecond = %+v, want %+v", secs, want)
	}
}
