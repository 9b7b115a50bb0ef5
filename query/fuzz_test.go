package query_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verband-cti/verband/query"
)

// FuzzQuery executes random and mutated queries against the fixture with
// tight limits, as several viewers. A query must never make a resolver
// panic, and must always be answered within the time limit.
func FuzzQuery(f *testing.F) {
	names := fixtureNames(f)
	for _, seed := range []string{
		`{ node(id: "{{Campaign}}") { stixId ... on Campaign { name } neighbours { edges { node { stixId } } } } }`,
		`{ search(query: "lantern") { totalCount facets { type count } edges { node { stixId } } } }`,
		`{ objects(filter: {types: ["malware"], labels: ["x"], markings: [GREEN]}, first: 3) { totalCount edges { cursor } } }`,
		`{ neighbours(id: "{{IP}}", depth: 2) { nodes { edges { node { stixId } } } links { totalCount } } }`,
		`{ paths(from: "{{Indicator}}", to: "{{Report}}", k: 3) { edges { node { length } } } }`,
		`{ cases { edges { node { name members { totalCount } timeline { totalCount } } } } }`,
		`{ sightings { totalCount } ingestStatus { indexLag counts { type } } viewer { user } }`,
		`mutation { setLabels(id: "{{Malware}}", labels: ["a"]) { outcome } }`,
		`query Q($id: ID!) { node(id: $id) { ...F } } fragment F on StixObject { stixId createdBy { ...F } }`,
	} {
		f.Add(substitute(seed, names), uint8(0))
	}
	// Every script query seeds the corpus too.
	files, _ := filepath.Glob("testdata/*.txt")
	for _, file := range files {
		text, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, c := range parseScript(f, string(text)) {
			f.Add(substitute(c.query, names), uint8(1))
		}
	}
	var panics atomic.Int64
	const timeout = 2 * time.Second
	_, api := openFixture(f, query.APIOptions{
		Limits:  query.Limits{MaxDepth: 8, MaxQueryLength: 4096, MaxSelections: 200, Timeout: timeout, MaxPageSize: 50, MaxNodes: 500, MaxPathVisits: 2000, MaxScan: 1000},
		OnPanic: func(v any) { panics.Add(1) },
	})
	viewers := []string{"system", "org-a/alice/reader", "org-b/bob/analyst", "org-c/carol/reviewer", "nobody/x/reader"}
	f.Fuzz(func(t *testing.T, q string, who uint8) {
		v, p := viewerOf(t, viewers[int(who)%len(viewers)])
		start := time.Now()
		before := panics.Load()
		resp := api.Exec(context.Background(), v, p, query.Request{Query: q, Variables: map[string]any{"id": names["Campaign"]}})
		if d := time.Since(start); d > timeout+time.Second {
			t.Errorf("query took %s: %q", d, q)
		}
		if panics.Load() != before {
			t.Errorf("a resolver panicked on %q: %v", q, resp.Errors)
		}
		for _, e := range resp.Errors {
			c, _ := e.Extensions["code"].(string)
			if c == "" {
				t.Errorf("error without a code: %v", e)
			}
			if c == "INTERNAL" && !strings.Contains(e.Message, "time limit") {
				t.Errorf("internal error on %q: %s", q, e.Message)
			}
		}
		_ = fmt.Sprint(resp.Data)
	})
}
