package demo_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/ingest/pipeline"
	"github.com/verband-cti/verband/internal/demo"
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

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestRunServesAndCleansUp(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	urls := make(chan string, 1)
	opts := graph.DefaultOptions()
	opts.SyncWrites = false
	done := make(chan error, 1)
	go func() {
		done <- demo.Run(ctx, demo.Options{
			Addr: "127.0.0.1:0", NoSharedData: true, Store: &opts, Out: &out,
			Logger: slog.New(slog.DiscardHandler), OnReady: func(u string) { urls <- u },
		})
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("Run returned early: %v\n%s", err, out.String())
	case <-time.After(60 * time.Second):
		t.Fatal("demo not ready after 60 s")
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"ok"`) {
		t.Errorf("/healthz: %d %s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	banner := out.String()
	for _, want := range []string{"running at " + url, "embedded", "intrusion-set", "APT29", "Removed "} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
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
