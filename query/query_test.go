package query_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/query"
)

var update = flag.Bool("update", false, "rewrite the expected results in testdata from the actual ones")

// openFixture opens a store with the shared fixture, waits until it is
// searchable, and returns it with an API over it.
func openFixture(tb testing.TB, opts query.APIOptions) (*graph.Store, *query.API) {
	tb.Helper()
	s := graphtest.Open(tb)
	graphtest.Load(tb, s, graphtest.Fixture(tb))
	if err := s.WaitIndexed(context.Background()); err != nil {
		tb.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a, err := query.NewAPI(s, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return s, a
}

// fixtureNames maps the placeholders of test scripts ({{Campaign}}) to the
// fixture's STIX ids.
func fixtureNames(tb testing.TB) map[string]string {
	graphtest.Fixture(tb) // sets the SCO ids
	ids := map[string]string{}
	v := reflect.ValueOf(graphtest.FixtureIDs)
	for i := 0; i < v.NumField(); i++ {
		ids[v.Type().Field(i).Name] = v.Field(i).String()
	}
	return ids
}

// viewerOf parses a script's viewer line: "system", or org/user/role.
func viewerOf(tb testing.TB, s string) (graph.Viewer, graph.Principal) {
	tb.Helper()
	if s == "system" || s == "" {
		return graph.System(), graph.Principal{User: "root", Org: "ncsc", Role: graph.RoleAdmin}
	}
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		tb.Fatalf("viewer %q: want system or org/user/role", s)
	}
	role, err := graph.ParseRole(parts[2])
	if err != nil {
		tb.Fatal(err)
	}
	p := graph.Principal{Org: parts[0], User: parts[1], Role: role}
	return p.Viewer(), p
}

// scriptCase is one case of a test script.
type scriptCase struct {
	name, viewer, vars, query, expect string
	line                              int // of the === line
}

// parseScript reads a script: cases start with "=== name", then header
// lines ("viewer: …", "vars: {…}"), a "query:" line and the query, an
// "expect:" line and the expected JSON response. Lines starting with # before
// the first case are comments.
func parseScript(tb testing.TB, text string) []*scriptCase {
	var cases []*scriptCase
	var c *scriptCase
	section := ""
	for i, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "=== "):
			c = &scriptCase{name: strings.TrimSpace(line[4:]), line: i + 1}
			cases = append(cases, c)
			section = "header"
		case c == nil:
			if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "#") {
				tb.Fatalf("line %d: text before the first case", i+1)
			}
		case section == "header" && strings.HasPrefix(line, "viewer:"):
			c.viewer = strings.TrimSpace(strings.TrimPrefix(line, "viewer:"))
		case section == "header" && strings.HasPrefix(line, "vars:"):
			c.vars = strings.TrimSpace(strings.TrimPrefix(line, "vars:"))
		case line == "query:":
			section = "query"
		case line == "expect:":
			section = "expect"
		case section == "query":
			c.query += line + "\n"
		case section == "expect":
			c.expect += line + "\n"
		case strings.TrimSpace(line) != "":
			tb.Fatalf("line %d: unexpected %q", i+1, line)
		}
	}
	return cases
}

// TestScripts runs the data-driven query tests in testdata/*.txt, each file
// against its own fixture store, cases in order.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test scripts: %v", err)
	}
	names := fixtureNames(t)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, api := openFixture(t, query.APIOptions{})
			cases := parseScript(t, string(text))
			changed := false
			for _, c := range cases {
				v, p := viewerOf(t, c.viewer)
				req := query.Request{Query: substitute(c.query, names)}
				if c.vars != "" {
					if err := json.Unmarshal([]byte(substitute(c.vars, names)), &req.Variables); err != nil {
						t.Fatalf("%s:%d: vars: %v", file, c.line, err)
					}
				}
				resp := api.Exec(context.Background(), v, p, req)
				got, err := json.Marshal(resp)
				if err != nil {
					t.Fatal(err)
				}
				// The HTTP handler writes data as graphql-go built it when it
				// holds nothing to escape, which is right only if it is compact.
				var compact bytes.Buffer
				if err := json.Compact(&compact, resp.Data); len(resp.Data) > 0 && (err != nil || !bytes.Equal(compact.Bytes(), resp.Data)) {
					t.Errorf("%s:%d %s: the data is not compact JSON (%v): %s", file, c.line, c.name, err, resp.Data)
				}
				noteCursor(got, names)
				if *update {
					pretty := prettyJSON(t, got)
					if c.expect != pretty {
						c.expect, changed = unsubstitute(pretty, names), true
					}
					continue
				}
				if !sameJSON(t, got, []byte(substitute(c.expect, names))) {
					t.Errorf("%s:%d %s: got\n%s\nwant\n%s", file, c.line, c.name, prettyJSON(t, got), c.expect)
				}
			}
			if changed {
				writeScript(t, file, string(text), cases)
			}
		})
	}
}

// endCursorRE finds the end cursors of a response.
var endCursorRE = regexp.MustCompile(`"endCursor":"([^"]+)"`)

// noteCursor makes the last end cursor of a response that names an object
// available to the following cases as {{EndCursor}}. Such cursors hold API
// ids, which a store's secret keys, so they differ from store to store; a
// script pages on by naming the placeholder in its vars.
func noteCursor(resp []byte, names map[string]string) {
	for _, m := range endCursorRE.FindAllSubmatch(resp, -1) {
		if b, err := base64.RawURLEncoding.DecodeString(string(m[1])); err == nil && !bytes.HasPrefix(b, []byte("n:")) {
			names["EndCursor"] = string(m[1])
		}
	}
}

func substitute(s string, names map[string]string) string {
	for k, v := range names {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	return s
}

func unsubstitute(s string, names map[string]string) string {
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s = strings.ReplaceAll(s, names[k], "{{"+k+"}}")
	}
	return s
}

func prettyJSON(tb testing.TB, b []byte) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		tb.Fatalf("indent %s: %v", b, err)
	}
	return buf.String() + "\n"
}

func sameJSON(tb testing.TB, a, b []byte) bool {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		tb.Fatalf("actual JSON: %v", err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		tb.Fatalf("expected JSON %s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// writeScript rewrites a script with new expected results, keeping the
// comments and everything up to each expect: section.
func writeScript(tb testing.TB, file, text string, cases []*scriptCase) {
	lines := strings.Split(text, "\n")
	var out strings.Builder
	ci := -1
	inExpect := false
	for _, line := range lines {
		if strings.HasPrefix(line, "=== ") {
			ci++
			inExpect = false
			if ci > 0 {
				out.WriteString("\n")
			}
		}
		if inExpect {
			continue
		}
		out.WriteString(line + "\n")
		if line == "expect:" {
			inExpect = true
			out.WriteString(cases[ci].expect)
		}
	}
	if err := os.WriteFile(file, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "updated %s\n", file)
}
