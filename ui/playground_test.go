package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	graphql "github.com/graph-gophers/graphql-go"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/internal/browsertest"
	"github.com/verband-cti/verband/query"
	"github.com/verband-cti/verband/schema"
	"github.com/verband-cti/verband/ui"
)

// example is one ready query of the playground, as in examples.json. Fill
// maps a string literal of the query to the slot whose value, picked from
// the user's own data, replaces it on a first visit (see main.jsx).
type example struct {
	Name  string            `json:"name"`
	Query string            `json:"query"`
	Fill  map[string]string `json:"fill"`
}

func loadExamples(t *testing.T) []example {
	t.Helper()
	b, err := os.ReadFile("playground/src/examples.json")
	if err != nil {
		t.Fatal(err)
	}
	var ex []example
	if err := json.Unmarshal(b, &ex); err != nil {
		t.Fatalf("examples.json: %v", err)
	}
	return ex
}

// TestExamplesValidate checks that every example query of the playground
// is valid against the API's schema and that the committed bundle holds the current examples.
func TestExamplesValidate(t *testing.T) {
	s := graphql.MustParseSchema(schema.GraphQL(), nil)
	bundle, err := os.ReadFile("static/playground.js")
	if err != nil {
		t.Fatal(err)
	}
	ex := loadExamples(t)
	for _, want := range []string{"search(", "neighbours(", "paths("} {
		found := false
		for _, e := range ex {
			found = found || strings.Contains(e.Query, want)
		}
		if !found {
			t.Errorf("no example query uses %s", want)
		}
	}
	main, err := os.ReadFile("playground/src/main.jsx")
	if err != nil {
		t.Fatal(err)
	}
	slots := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bout\.(\w+) =`).FindAllStringSubmatch(string(main), -1) {
		slots[m[1]] = true
	}
	for _, e := range ex {
		for _, err := range s.Validate(e.Query) {
			t.Errorf("example %q: %v", e.Name, err)
		}
		if !strings.Contains(string(bundle), e.Name) {
			t.Errorf("example %q is not in static/playground.js: run ui/build.sh", e.Name)
		}
		for literal, slot := range e.Fill {
			if !strings.Contains(e.Query, `"`+literal+`"`) {
				t.Errorf("example %q fills %q, which its query does not hold as a string", e.Name, literal)
			}
			if !slots[slot] {
				t.Errorf("example %q fills %q from slot %q, which main.jsx never sets (it sets %v)", e.Name, literal, slot, slots)
			}
		}
	}
	pick, err := os.ReadFile("playground/src/pick.graphql")
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range s.Validate(string(pick)) {
		t.Errorf("pick.graphql: %v", err)
	}
	if !strings.Contains(string(bundle), "PlaygroundExamples") {
		t.Error("pick.graphql is not in static/playground.js: run ui/build.sh")
	}
}

// TestNoRemoteAssets checks that the page and its stylesheet name no
// remote URL and that the script loads nothing from a CDN; the Content
// Security Policy the handler sends enforces the same in the browser.
func TestNoRemoteAssets(t *testing.T) {
	for _, name := range []string{"static/index.html", "static/playground.css"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/`).Find(b); m != nil {
			t.Errorf("%s names a remote URL: %s", name, m)
		}
	}
	js, err := os.ReadFile("static/playground.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`https?://[^"'\s)]+`).FindAll(js, -1) {
		u := string(m)
		if regexp.MustCompile(`(?i)^https?://[^/]*(cdn|unpkg|jsdelivr|googleapis|gstatic)|\.(js|mjs|css|woff2?|ttf|png|svg)$`).MatchString(u) {
			t.Errorf("playground.js fetches a remote asset: %s", u)
		}
	}
}

// serve runs a real server on a loopback port over the fixture store and
// returns its URL and a reader token.
func serve(t *testing.T) (string, string) {
	t.Helper()
	store := graphtest.Open(t)
	graphtest.Load(t, store, graphtest.Fixture(t))
	if err := store.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	token := graphtest.Token(t, store, graphtest.OrgA, "analyst", graph.RoleReader)
	srv := query.NewServer(store, query.ServerOptions{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	ui.Mount(srv)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return srv.URL(), token
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestPlaygroundHTTP checks the routes: the page and its assets need no
// token, while the API still does.
func TestPlaygroundHTTP(t *testing.T) {
	base, _ := serve(t)
	resp, body := get(t, base+"/playground")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, `id="graphiql"`) {
		t.Fatalf("/playground: %d %s %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("/playground: Content-Security-Policy %q", csp)
	}
	for path, typ := range map[string]string{"/playground/playground.js": "text/javascript", "/playground/playground.css": "text/css"} {
		resp, body := get(t, base+path)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), typ) || len(body) < 1000 {
			t.Errorf("%s: %d %s, %d bytes", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
	if resp, _ := get(t, base+"/playground/"); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/playground" {
		t.Errorf("/playground/: %d to %q, want a redirect to /playground", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, path := range []string{"/playground/index.html", "/playground/nope.js", "/playground/x/playground.js"} {
		if resp, _ := get(t, base+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
	if resp, _ := get(t, base+"/graphql?query={viewer{user}}"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/graphql without a token: %d, want 401", resp.StatusCode)
	}
}

// TestPlaygroundBrowser opens the playground in headless Chromium with a
// token in the address, runs the ready search, which the page filled in
// with a value of the user's own data, and reads the result from the page.
// Without a browser it skips, except under CI, where .ci/run installs one
// and a missing browser is a failure.
func TestPlaygroundBrowser(t *testing.T) {
	bctx := browsertest.Context(t, 45*time.Second)
	base, token := serve(t)

	// The second visit finds the tabs GraphiQL saved in local storage.
	for visit := 1; visit <= 2; visit++ {
		err := chromedp.Do(bctx,
			chromedp.Navigate(fmt.Sprintf("%s/playground?visit=%d#token=%s", base, visit, token)),
			chromedp.WaitVisible(chromedp.CSS(".graphiql-execute-button")),
			chromedp.Click(chromedp.CSS(".graphiql-execute-button")),
		)
		if err != nil {
			t.Fatalf("visit %d: browser: %v", visit, err)
		}
		// The response pane is a CodeMirror editor, which renders only the lines
		// in view; its API gives the whole text.
		result, err := chromedp.Run(bctx, chromedp.Poll[string](`(() => {
			const cm = document.querySelector('.graphiql-response .CodeMirror');
			const text = cm && cm.CodeMirror ? cm.CodeMirror.getValue() : '';
			return text.includes('"data"') || text.includes('"errors"') ? text : null;
		})()`, chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil {
			t.Fatalf("visit %d: reading the result: %v", visit, err)
		}
		queryText, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()`))
		if err != nil {
			t.Fatalf("visit %d: reading the query: %v", visit, err)
		}
		// The first visit filled the search in; the second finds the
		// filled tabs GraphiQL saved.
		m := regexp.MustCompile(`(?m)^# Filled in from your data: (.+)\.$`).FindStringSubmatch(queryText)
		if m == nil || !strings.Contains(queryText, fmt.Sprintf("search(query: %q", m[1])) {
			t.Fatalf("visit %d: the search was not filled in from the fixture:\n%s", visit, queryText)
		}
		var answer struct {
			Data struct {
				Search struct {
					TotalCount int
					Edges      []struct{ Node struct{ Value any } }
				}
			}
			Errors []json.RawMessage
		}
		if err := json.Unmarshal([]byte(result), &answer); err != nil {
			t.Fatalf("result is not JSON: %v\n%s", err, result)
		}
		if len(answer.Errors) > 0 {
			t.Errorf("visit %d: the result has errors: %s", visit, fmt.Sprint(answer.Errors))
		}
		found := false
		for _, e := range answer.Data.Search.Edges {
			found = found || e.Node.Value == m[1]
		}
		if answer.Data.Search.TotalCount == 0 || !found {
			t.Fatalf("visit %d: searching %q does not find the object holding it:\n%s", visit, m[1], result)
		}
	}
	hash, err := chromedp.Run(bctx, chromedp.Evaluate[string](`window.location.hash`))
	if err != nil {
		t.Fatal(err)
	}
	if hash != "" {
		t.Errorf("the token stays in the address bar: %q", hash)
	}
}
