package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBench runs `verband bench` on a tiny graph and checks that the JSON
// holds the core figures and the enforcement comparison, and that the
// summary on stderr reports the comparison.
func TestBench(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "bench.json")
	r := ok(t, dir, "bench", "--objects", "5000", "--queries", "60", "--seed", "3", "--dir", filepath.Join(dir, "store"), "--out", out)
	contains(t, "bench stderr", r.stderr, "bench: enforcement: org-01 sees", "baseline: graph.System()",
		"2-hop", "search keyword", "search text", "degree", "enforcement overhead", "targets met")
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Objects     int             `json:"objects"`
		TwoHop      json.RawMessage `json:"two_hop"`
		Targets     []struct{ Figure string }
		Enforcement map[string]json.RawMessage `json:"enforcement"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("bench JSON: %v\n%s", err, b)
	}
	if res.Objects != 5000 || len(res.TwoHop) == 0 {
		t.Errorf("objects %d, two_hop %s", res.Objects, res.TwoHop)
	}
	for _, k := range []string{"baseline", "viewer", "objects", "visible_objects", "visible_fraction", "hidden_reached",
		"walks_crossing_hidden", "round_size", "two_hop", "search_keyword", "search_text", "degree", "overhead", "overhead_of"} {
		if _, ok := res.Enforcement[k]; !ok {
			t.Errorf("enforcement lacks %q", k)
		}
	}
	var frac float64
	if err := json.Unmarshal(res.Enforcement["visible_fraction"], &frac); err != nil || frac <= 0.3 || frac >= 0.8 {
		t.Errorf("visible fraction %s (%v): the half viewer should see part of the graph", res.Enforcement["visible_fraction"], err)
	}
	var hop map[string]json.RawMessage
	if err := json.Unmarshal(res.Enforcement["two_hop"], &hop); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"system", "viewer", "p50_ratio", "p99_ratio", "paired_ratio", "equal_items_ratio", "per_item_ratio", "overhead"} {
		if _, ok := hop[k]; !ok {
			t.Errorf("enforcement.two_hop lacks %q", k)
		}
	}
	last := ""
	if n := len(res.Targets); n > 0 {
		last = res.Targets[n-1].Figure
	}
	if !strings.HasPrefix(last, "enforcement.") {
		t.Errorf("targets end with %q, want the enforcement overhead", last)
	}
}
