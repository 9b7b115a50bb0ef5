package main

import (
	"encoding/json"
	"testing"
)

// TestOptimize merges the search index of an ingested store from the
// command line; searches answer as before.
func TestOptimize(t *testing.T) {
	dir := t.TempDir() + "/data"
	ok(t, dir, "ingest", infraFile)
	before := ok(t, dir, "--json", "search", "infrastructure").stdout
	r := ok(t, dir, "--json", "optimize")
	var res struct {
		Before int `json:"segments_before"`
		After  int `json:"segments_after"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.After != 1 || res.Before < 1 {
		t.Errorf("optimize --json: %s %v", r.stdout, err)
	}
	if after := ok(t, dir, "--json", "search", "infrastructure").stdout; after != before {
		t.Errorf("search after optimize:\n%s\nbefore:\n%s", after, before)
	}
	r = ok(t, dir, "optimize")
	contains(t, "optimize", r.stdout, "holds 1 segment; there was nothing to merge")
	if r := verband(t, t.TempDir()+"/none", "optimize"); r.code != 1 {
		t.Errorf("optimize without a store: exit %d, want 1", r.code)
	}
}
