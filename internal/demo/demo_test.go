package demo_test

import (
	"bytes"
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

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/ingest/pipeline"
	"github.com/verband-cti/verband/internal/demo"
	"github.com/verband-cti/verband/internal/shareddata"
)

func TestLoadSample(t *testing.T) {
	s := graphtest.Open(t)
	st, err := demo.LoadSample(context.Background(), s, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rejected != 0 || st.Created < 500 || st.Created != st.Objects {
		t.Fatalf("stats = %+v, want every object created", st)
	}
	if err := s.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(context.Background(), graph.System(), graph.SearchQuery{Text: "APT29", Types: []string{"intrusion-set"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) == 0 {
		t.Fatal("search APT29: no intrusion-set")
	}
	// The graph is connected the way the sample promises: the set uses
	// techniques, malware and tools, and every relationship has both ends.
	err = s.View(graph.System(), func(tx *graph.Tx) error {
		n, err := tx.Node(res.Hits[0].ID)
		if err != nil {
			return err
		}
		if !strings.Contains(string(n.Raw), `"name":"APT29"`) {
			t.Errorf("top hit %s is not APT29", n.StixID)
		}
		uses := map[string]int{}
		err = tx.Neighbours(n.ID, graph.NeighbourQuery{Dir: graph.Out, EdgeTypes: []string{"uses"}}, func(e graph.Edge) bool {
			m, err := tx.Node(e.To)
			if err != nil {
				t.Errorf("uses target %d: %v", e.To, err)
				return false
			}
			uses[m.Type]++
			return true
		})
		if err != nil {
			return err
		}
		if uses["attack-pattern"] < 20 || uses["malware"] < 5 || uses["tool"] < 3 {
			t.Errorf("APT29 uses %v, want techniques, malware and tools", uses)
		}
		types, err := tx.Types()
		if err != nil {
			return err
		}
		for _, tc := range types {
			if tc.Type == "relationship" && tc.Count < 500 {
				t.Errorf("%d relationships", tc.Count)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(demo.SampleLicense(), "The MITRE Corporation") {
		t.Error("sample license missing")
	}
}

// TestSampleWalksStopAtAuthors walks two hops from every campaign of the
// sample. ATT&CK names MITRE's identity as the author of nearly every
// object, in created_by_ref and x_mitre_modified_by_ref, so a walk that
// goes on from that identity fills a campaign's neighbourhood with
// techniques the campaign has nothing to do with. Skipping the authorship
// edges arriving at nodes other than the start, every node is reached
// over an edge that says something about it: not an authorship edge,
// unless the node is the author itself.
func TestSampleWalksStopAtAuthors(t *testing.T) {
	s := graphtest.Open(t)
	if _, err := demo.LoadSample(context.Background(), s, pipeline.Options{}); err != nil {
		t.Fatal(err)
	}
	// onlyByAuthor counts the nodes whose every edge in the answer is an
	// authorship edge from them to another node: nodes reached only as
	// "also written by the same author".
	onlyByAuthor := func(start graph.ID, nodes []graph.ID, edges []graph.Edge) int {
		told := map[graph.ID]bool{start: true}
		for _, e := range edges {
			if !graph.IsAuthorship(e.Type) {
				told[e.From], told[e.To] = true, true
			} else {
				told[e.To] = true // the author
			}
		}
		n := 0
		for _, id := range nodes {
			if !told[id] {
				n++
			}
		}
		return n
	}
	campaigns := 0
	err := s.View(graph.System(), func(tx *graph.Tx) error {
		var ids []graph.ID
		if err := tx.ByType("campaign", 0, func(id graph.ID) bool { ids = append(ids, id); return true }); err != nil {
			return err
		}
		flooded := 0
		for _, id := range ids {
			campaigns++
			nodes, edges, err := tx.Expand(id, 2, graph.NeighbourQuery{SkipAuthored: true}, 0)
			if err != nil {
				return err
			}
			if n := onlyByAuthor(id, nodes, edges); n > 0 {
				t.Errorf("campaign %d: %d of %d nodes reached only through their author", id, n, len(nodes))
			}
			all, edges, err := tx.Expand(id, 2, graph.NeighbourQuery{}, 0)
			if err != nil {
				return err
			}
			if onlyByAuthor(id, all, edges) > 0 && len(all) > len(nodes) {
				flooded++
			}
		}
		// Through the author, the same walks are flooded: the rule has
		// something to do in this data.
		if flooded == 0 {
			t.Errorf("no campaign's walk through authors reaches more nodes")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if campaigns == 0 {
		t.Fatal("the sample has no campaign")
	}
}

// runDemo runs the demo until stop returns, calling it with the server's
// URL and the banner printed so far (all of it but the goodbye), and
// returns the whole banner.
func runDemo(t *testing.T, noShared bool, stop func(url, banner string)) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out graphtest.SyncBuffer
	urls := make(chan string, 1)
	opts := graph.DefaultOptions()
	opts.SyncWrites = false
	done := make(chan error, 1)
	go func() {
		done <- demo.Run(ctx, demo.Options{
			Addr: "127.0.0.1:0", NoSharedData: noShared, Store: &opts, Out: &out,
			Logger: slog.New(slog.DiscardHandler), OnReady: func(u string) { urls <- u },
		})
	}()
	select {
	case url := <-urls:
		stop(url, out.String())
	case err := <-done:
		t.Fatalf("Run returned early: %v\n%s", err, out.String())
	case <-time.After(120 * time.Second):
		t.Fatal("demo not ready after 120 s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	return out.String()
}

func TestRunServesAndCleansUp(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	var url string
	var members map[string]bool
	banner := runDemo(t, true, func(u, banner string) {
		url = u
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"ok"`) {
			t.Errorf("/healthz: %d %s", resp.StatusCode, body)
		}
		members = checkLinks(t, url, banner)
	})
	for _, want := range []string{"running at " + url, "embedded", "ESET", "Maltrail", "Clustered ", "intrusion-set", "APT29", "Removed "} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	// The embedded sample links ESET's events to Maltrail's lists of the
	// same sets through the indicators they share.
	if !members["maltrail: apt_turla.txt"] || !members["Turla: Mosquito Whitepaper"] {
		t.Errorf("the first cluster lacks the Turla list or the Mosquito event: %v", members)
	}
	entries, err := os.ReadDir(os.Getenv("TMPDIR"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "verband-demo-") {
			t.Errorf("temporary data directory %s left behind", e.Name())
		}
	}
}

// tokenRE matches the API token the demo prints.
var tokenRE = regexp.MustCompile(`vbt_[A-Za-z0-9_-]+`)

// checkLinks asks a running demo, as its user, for its clusters and the
// correlations of their first member, and checks that the demo has
// something to show: a cluster, correlations, and no link through a
// benign value (google.com, on the warninglists) or through the blog of
// the publisher that every ESET event cites (www.welivesecurity.com),
// from any report. It returns the names of the first cluster's members.
func checkLinks(t *testing.T, url, banner string) map[string]bool {
	t.Helper()
	token := tokenRE.FindString(banner)
	post := func(q string, into any) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"query": q})
		req, _ := http.NewRequest(http.MethodPost, url+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("%s: %v: %s", q, err, b)
		}
	}
	var answer struct {
		Data struct {
			Clusters struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						Members []struct{ StixID, Name string }
					}
				}
			}
		}
		Errors []json.RawMessage
	}
	post(`{ clusters(first: 1) { totalCount edges { node { members { stixId name } } } } }`, &answer)
	if len(answer.Errors) > 0 || answer.Data.Clusters.TotalCount == 0 || len(answer.Data.Clusters.Edges[0].Node.Members) == 0 {
		t.Fatalf("clusters for the demo user: %d, errors %s", answer.Data.Clusters.TotalCount, answer.Errors)
	}
	correlations := func(id string) string {
		var corr json.RawMessage
		post(fmt.Sprintf(`{ correlations(id: %q, first: 50) { totalCount edges { node { evidence { value } } } } }`, id), &corr)
		return string(corr)
	}
	out := map[string]bool{}
	for _, m := range answer.Data.Clusters.Edges[0].Node.Members {
		out[m.Name] = true
	}
	related := correlations(answer.Data.Clusters.Edges[0].Node.Members[0].StixID)
	if !strings.Contains(related, `"totalCount":`) || strings.Contains(related, `"totalCount":0`) {
		t.Errorf("the first member of the first cluster has no correlations: %s", related)
	}
	var reports struct {
		Data struct {
			Objects struct {
				Edges []struct{ Node struct{ StixID string } }
			}
		}
	}
	post(`{ objects(filter: {types: ["report"]}, first: 200) { edges { node { stixId } } } }`, &reports)
	if len(reports.Data.Objects.Edges) == 0 {
		t.Error("the demo holds no report")
	}
	for _, e := range reports.Data.Objects.Edges {
		c := correlations(e.Node.StixID)
		for _, benign := range []string{`"google.com"`, `welivesecurity.com"`} {
			if strings.Contains(c, benign) {
				t.Errorf("%s is linked through %s: %s", e.Node.StixID, benign, c)
			}
		}
	}
	return out
}

// TestRunWithSharedData runs the demo on the shared data folder, as a user
// of a full checkout sees it: ATT&CK, ESET's campaigns and three Maltrail
// lists, clustered for the demo's organization, with the same checks as
// the embedded sample's.
func TestRunWithSharedData(t *testing.T) {
	shareddata.Dir(t, "eset")
	t.Setenv("TMPDIR", t.TempDir())
	banner := runDemo(t, false, func(url, banner string) {
		checkLinks(t, url, banner)
	})
	for _, want := range []string{"ATT&CK Enterprise (shared data folder)", "ESET", "Maltrail", "Clustered "} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
}
