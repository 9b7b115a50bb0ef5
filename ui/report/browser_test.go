package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/verband-cti/verband/internal/browsertest"
)

// TestBrowser opens a page with small and big drawings from a file in
// headless Chromium and reads back what it rendered: every drawing has as
// many node groups as it says and a real size, the hostile name reads back
// as text, and the page ran no script and fetched nothing.
func TestBrowser(t *testing.T) {
	bctx := browsertest.Context(t, 45*time.Second)
	r := sample()
	b := big(220).Clusters[0]
	r.Clusters = append(r.Clusters, b)
	r.Changes.New = append(r.Changes.New, b.ID)
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, render(t, r), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate("file://"+path)); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	got, err := chromedp.Run(bctx, chromedp.Evaluate[string](`JSON.stringify({
		figures: [...document.querySelectorAll('figure > svg')].map(s => {
			const box = s.querySelector('g.nodes').getBBox();
			return {nodes: s.querySelectorAll('g.node').length, says: Number(s.dataset.nodes), w: box.width, h: box.height, shown: s.getBoundingClientRect().width};
		}),
		scripts: document.scripts.length,
		resources: performance.getEntriesByType('resource').length,
		names: [...document.querySelectorAll('td')].map(td => td.textContent),
	})`))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	var page struct {
		Figures []struct {
			Nodes, Says int
			W, H, Shown float64
		}
		Scripts, Resources int
		Names              []string
	}
	if err := json.Unmarshal([]byte(got), &page); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	var nodes []int
	for i, f := range page.Figures {
		nodes = append(nodes, f.Nodes)
		if f.Nodes != f.Says || f.Shown < 300 || f.Nodes > 1 && (f.W < 100 || f.H < 50) {
			t.Errorf("drawing %d: %+v", i+1, f)
		}
	}
	if want := fmt.Sprint([]int{5, 9, maxDrawn}); fmt.Sprint(nodes) != want {
		t.Errorf("drawings of %v nodes, want %s", nodes, want)
	}
	if page.Scripts != 0 || page.Resources != 0 {
		t.Errorf("the page has %d scripts and fetched %d resources", page.Scripts, page.Resources)
	}
	found := false
	for _, n := range page.Names {
		found = found || n == hostileName
	}
	if !found {
		t.Errorf("no table cell reads %q", hostileName)
	}
}
