package report

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Hostile strings as a threat feed may carry them, in names and values.
const (
	hostileName  = `<script>alert(1)</script>`
	hostileValue = `evil.example" onmouseover="alert('x')`
)

var t0 = time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)

func member(id, typ, name string, daysAgo int, rank float64) Container {
	return Container{StixID: id, Type: typ, Name: name, FirstSeen: t0.AddDate(0, 0, -daysAgo), Rank: rank}
}

func ev(kind, value, rule string, weight float64) Evidence {
	return Evidence{Kind: kind, Value: value, Rule: rule, Weight: weight}
}

// sample is a small report with every kind of change: a new cluster whose
// members and evidence carry hostile strings, a grown one, a merged, a
// split and an unchanged one, a dissolved id, and a new link between a
// recent and a past container.
func sample() *Report {
	recent := member("x-verband-case--0001", "x-verband-case", "Case 2026-031: phishing at ministry", 2, 0.31)
	past := member("incident--0002", "incident", "2023 Gamaredon intrusion", 900, 0.24)
	newLinkEv := []Evidence{ev("domain-name", "update-check.example", "shared", 2.31), ev("domain-name", "cdn.update-check.example", "registered-domain", 1.15)}
	c1 := Cluster{
		ID: "cl-7f3a", Status: StatusNew, Score: 9.87,
		Members: []Container{
			recent,
			past,
			member("report--0003", "report", hostileName, 400, 0.18),
			member("grouping--0004", "grouping", "maltrail apt_gamaredon", 30, 0.15),
			member("report--0005", "report", `ESET "Gamaredon" report, part 2 & annex`, 200, 0.12),
		},
		Links: []Link{
			{A: 0, B: 1, Score: 3.46, Evidence: newLinkEv},
			{A: 1, B: 3, Score: 2.9, Evidence: []Evidence{ev("ipv4-addr", "203.0.113.7", "shared", 2.9)}},
			{A: 2, B: 3, Score: 1.7, Evidence: []Evidence{ev("domain-name", hostileValue, "shared", 1.7)}},
			{A: 3, B: 4, Score: 1.2, Evidence: []Evidence{ev("url", "http://update-check.example/a.php?q='1'", "url-domain", 0.6), ev("file", "d41d8cd98f00b204e9800998ecf8427e", "hash-equivalence", 0.6)}},
			{A: 0, B: 4, Score: 0.61, Evidence: []Evidence{ev("domain-name", "update-check.example", "shared", 0.61)}},
		},
		Bridges: []Bridge{{Kind: "domain-name", Value: "update-check.example", Betweenness: 4.5, Clusters: []string{"cl-7f3a", "cl-2b91"}}},
	}
	var grownMembers []Container
	var grownLinks []Link
	for i := range 9 {
		grownMembers = append(grownMembers, member(fmt.Sprintf("report--1%03d", i), "report", fmt.Sprintf("Turla report %d", i), 100+10*i, 0.2-0.02*float64(i)))
		if i > 0 {
			grownLinks = append(grownLinks, Link{A: i - 1, B: i, Score: 1 + 0.1*float64(i), Evidence: []Evidence{ev("domain-name", fmt.Sprintf("turla-%d.example", i), "shared", 1+0.1*float64(i))}})
		}
	}
	grownLinks = append(grownLinks, Link{A: 0, B: 8, Score: 0.8, Evidence: []Evidence{ev("ipv4-addr", "198.51.100.9", "resolves-to", 0.8)}})
	c2 := Cluster{ID: "cl-2b91", Status: StatusGrown, Score: 12.4, Members: grownMembers, Links: grownLinks, NewMembers: []string{"report--1007", "report--1008"}}
	other := func(id string, s Status, n int) Cluster {
		c := Cluster{ID: id, Status: s, Score: float64(n)}
		for i := range n {
			c.Members = append(c.Members, member(fmt.Sprintf("report--%s-%d", id, i), "report", fmt.Sprintf("%s member %d", id, i), 50, 1/float64(n)))
		}
		return c
	}
	return &Report{
		Version: FormatVersion, Run: "run-20260302T060000Z", Previous: "run-20260301T060000Z", Audience: "org-cert-a",
		Started: t0, Finished: t0.Add(3*time.Second + 250*time.Millisecond),
		Params:   Params{MinScore: 0.5, LouvainAbove: 200, Resolution: 1, Seed: 42, MinOverlap: 0.5, RecentDays: 14, PastDays: 180, MaxDF: 50},
		Totals:   Totals{Containers: 120, Links: 340, Clusters: 5, Singletons: 61},
		Clusters: []Cluster{c1, c2, other("cl-0042", StatusMerged, 7), other("cl-0060", StatusSplit, 4), other("cl-0051", StatusUnchanged, 3)},
		Changes: Changes{
			New:       []string{"cl-7f3a"},
			Grown:     []Growth{{ID: "cl-2b91", NewMembers: []string{"report--1007", "report--1008"}}},
			Merged:    []Merge{{ID: "cl-0042", From: []string{"cl-0040", "cl-0041"}}},
			Split:     []Split{{From: "cl-0059", Into: []string{"cl-0060", "cl-0061"}}},
			Dissolved: []string{"cl-0013"},
			NewLinks:  []NewLink{{Recent: recent, Past: past, Score: 3.46, Evidence: newLinkEv, Cluster: "cl-7f3a"}},
		},
	}
}

// big is a report with one new cluster of n members linked at random by a
// seeded generator, three of the lowest ranked members new.
func big(n int) *Report {
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	c := Cluster{ID: fmt.Sprintf("cl-big-%d", n), Status: StatusNew, Score: 1}
	for i := range n {
		c.Members = append(c.Members, member(fmt.Sprintf("report--%05d", i), "report", fmt.Sprintf("report %d", i), i, 1/float64(i+1)))
	}
	for i := 1; i < n; i++ {
		for range 2 {
			j := rng.IntN(i)
			c.Links = append(c.Links, Link{A: j, B: i, Score: 0.5 + rng.Float64(), Evidence: []Evidence{ev("ipv4-addr", fmt.Sprintf("192.0.2.%d", i%250), "shared", 0.5)}})
		}
	}
	for i := max(0, n-3); i < n; i++ {
		c.NewMembers = append(c.NewMembers, c.Members[i].StixID)
	}
	return &Report{Version: FormatVersion, Run: "r", Audience: "instance", Started: t0, Finished: t0, Clusters: []Cluster{c}, Changes: Changes{New: []string{c.ID}}}
}

func render(t *testing.T, r *Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := HTML(&b, r); err != nil {
		t.Fatalf("HTML: %v", err)
	}
	return b.Bytes()
}

// TestGolden compares the page of the sample report with
// testdata/sample.html; go test -update rewrites it. A second rendering
// must give the same bytes.
func TestGolden(t *testing.T) {
	got := render(t, sample())
	if again := render(t, sample()); !bytes.Equal(got, again) {
		t.Fatal("two renderings of one report differ")
	}
	path := filepath.Join("testdata", "sample.html")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the page differs from %s; if the change is meant, run go test ./ui/report -update and review the diff", path)
	}
}

// walk calls f on every node of the tree under n.
func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func parse(t *testing.T, page []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("parse page: %v", err)
	}
	return doc
}

func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return b.String()
}

// TestEscaping renders hostile names and values and checks, on the raw
// bytes and on the parsed page, that they come out as text: no script
// element, no event-handler attribute, and the strings read back intact
// from table cells and SVG tooltips.
func TestEscaping(t *testing.T) {
	r := sample()
	r.Audience = `org"><script>alert(2)</script>`
	r.Clusters[0].ID = `cl-"x'<b>`
	page := render(t, r)
	if m := regexp.MustCompile(`(?i)<script|<b>|onmouseover="`).Find(page); m != nil {
		t.Errorf("the page holds %q unescaped", m)
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "evil.example&#34; onmouseover=&#34;alert(&#39;x&#39;)"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the page does not hold the escaped %s", want)
		}
	}
	doc := parse(t, page)
	var cells, titles, attrs []string
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		if n.Data == "script" {
			t.Error("the page has a script element")
		}
		for _, a := range n.Attr {
			attrs = append(attrs, a.Val)
			if strings.HasPrefix(strings.ToLower(a.Key), "on") {
				t.Errorf("<%s> has the attribute %s=%q", n.Data, a.Key, a.Val)
			}
		}
		switch n.Data {
		case "td":
			cells = append(cells, text(n))
		case "title":
			titles = append(titles, text(n))
		}
	})
	has := func(list []string, s string) bool {
		for _, x := range list {
			if strings.Contains(x, s) {
				return true
			}
		}
		return false
	}
	for _, s := range []string{hostileName, hostileValue} {
		if !has(cells, s) {
			t.Errorf("no table cell reads %q", s)
		}
		if !has(titles, s) {
			t.Errorf("no SVG tooltip reads %q", s)
		}
	}
	if !has(attrs, `cluster-cl-"x'<b>`) {
		t.Errorf("the hostile cluster id is not an intact id attribute")
	}
}

// TestNoRemoteResources checks that nothing in the page makes the browser
// fetch: no attribute that loads a URL except in-page anchors, no element
// that embeds another resource, and no @import or url( in its style.
func TestNoRemoteResources(t *testing.T) {
	for name, r := range map[string]*Report{"sample": sample(), "big": big(220)} {
		doc := parse(t, render(t, r))
		walk(doc, func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			switch n.Data {
			case "script", "link", "img", "iframe", "object", "embed", "base", "image", "use", "audio", "video", "source", "foreignobject":
				t.Errorf("%s: <%s> element", name, n.Data)
			case "style":
				if css := strings.ToLower(text(n)); strings.Contains(css, "@import") || strings.Contains(css, "url(") {
					t.Errorf("%s: the style sheet imports or names a url", name)
				}
			case "meta":
				for _, a := range n.Attr {
					if a.Key == "http-equiv" && strings.EqualFold(a.Val, "refresh") {
						t.Errorf("%s: meta refresh", name)
					}
				}
			}
			for _, a := range n.Attr {
				key, val := strings.ToLower(a.Key), strings.ToLower(strings.TrimSpace(a.Val))
				switch {
				case key == "src" || key == "href" || strings.HasSuffix(key, ":href") || key == "action" || key == "srcset" || key == "poster" || key == "data" || key == "xmlns":
					if !strings.HasPrefix(val, "#") {
						t.Errorf("%s: <%s %s=%q> points outside the page", name, n.Data, a.Key, a.Val)
					}
				case key == "style":
					if strings.Contains(val, "url(") || strings.Contains(val, "@import") {
						t.Errorf("%s: <%s style=%q>", name, n.Data, a.Val)
					}
				}
				if strings.Contains(val, "http:") || strings.Contains(val, "https:") || strings.HasPrefix(val, "//") {
					t.Errorf("%s: <%s %s=%q> names a remote url", name, n.Data, a.Key, a.Val)
				}
			}
		})
	}
}

// svgStats counts the nodes and edges of each drawing on a page and checks
// every coordinate lies on its canvas.
func svgStats(t *testing.T, page []byte) (nodes, edges []int) {
	t.Helper()
	walk(parse(t, page), func(n *html.Node) {
		if n.Type != html.ElementNode || n.Data != "svg" || attr(n, "data-nodes") == "" {
			return
		}
		var w, h float64
		fmt.Sscan(attr(n, "width"), &w)
		fmt.Sscan(attr(n, "height"), &h)
		nn, ne := 0, 0
		walk(n, func(c *html.Node) {
			if c.Type != html.ElementNode {
				return
			}
			switch c.Data {
			case "circle":
				nn++
				checkOn(t, c, "cx", w)
				checkOn(t, c, "cy", h)
			case "line":
				ne++
				for _, k := range []string{"x1", "x2"} {
					checkOn(t, c, k, w)
				}
				for _, k := range []string{"y1", "y2"} {
					checkOn(t, c, k, h)
				}
			}
		})
		if fmt.Sprint(nn) != attr(n, "data-nodes") || fmt.Sprint(ne) != attr(n, "data-edges") {
			t.Errorf("drawing with %d circles and %d lines says %s and %s", nn, ne, attr(n, "data-nodes"), attr(n, "data-edges"))
		}
		nodes, edges = append(nodes, nn), append(edges, ne)
	})
	return nodes, edges
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func checkOn(t *testing.T, n *html.Node, key string, limit float64) {
	t.Helper()
	var v float64
	if _, err := fmt.Sscan(attr(n, key), &v); err != nil || math.IsNaN(v) || v < 0 || v > limit {
		t.Errorf("<%s %s=%q> is off the %v canvas", n.Data, key, attr(n, key), limit)
	}
}

// TestDrawings checks that the new and grown clusters, and only those, are
// drawn with all their members and links when they are small, and that a
// big cluster is cut to maxDrawn members, the new ones kept, with a caption
// saying how many are left out.
func TestDrawings(t *testing.T) {
	nodes, edges := svgStats(t, render(t, sample()))
	if fmt.Sprint(nodes, edges) != "[5 9] [5 9]" {
		t.Errorf("drawings of %v nodes and %v edges, want [5 9] and [5 9]", nodes, edges)
	}

	for _, n := range []int{1, 2, 3, 60, 220} {
		r := big(n)
		page := render(t, r)
		nodes, _ := svgStats(t, page)
		want := min(n, maxDrawn)
		if len(nodes) != 1 || nodes[0] != want {
			t.Errorf("%d members: drawn %v, want [%d]", n, nodes, want)
		}
		if n > maxDrawn {
			caption := fmt.Sprintf("%d of the %d are left out", n-maxDrawn, n)
			if !bytes.Contains(page, []byte(caption)) {
				t.Errorf("%d members: the caption does not say %q", n, caption)
			}
			for _, id := range r.Clusters[0].NewMembers {
				// A new member's tooltip names its id.
				if !bytes.Contains(page, []byte(" · "+id+"\n")) {
					t.Errorf("%d members: new member %s is not drawn", n, id)
				}
			}
		}
	}
}

// TestLayoutSpreads checks that the spring layout keeps the nodes of a
// small cluster apart and puts linked nodes closer than unlinked ones.
func TestLayoutSpreads(t *testing.T) {
	// Two triangles joined by one edge.
	edges := []edge{{0, 1, 1}, {1, 2, 1}, {0, 2, 1}, {3, 4, 1}, {4, 5, 1}, {3, 5, 1}, {2, 3, 1}}
	pos := springLayout(6, edges, "seed")
	fit(pos, 960, 640, 40)
	dist := func(a, b int) float64 { return math.Hypot(pos[a].x-pos[b].x, pos[a].y-pos[b].y) }
	for i := range 6 {
		for j := i + 1; j < 6; j++ {
			if dist(i, j) < 30 {
				t.Errorf("nodes %d and %d are %.1f apart", i, j, dist(i, j))
			}
		}
	}
	if in, across := dist(0, 1), dist(0, 5); in >= across {
		t.Errorf("within a triangle %.1f, across %.1f: the triangles do not separate", in, across)
	}
}

// TestBadInput refuses reports that would draw a wrong page, and writes
// nothing for them.
func TestBadInput(t *testing.T) {
	outOfRange := sample()
	outOfRange.Clusters[1].Links[0].B = 99
	self := sample()
	self.Clusters[0].Links[0].B = self.Clusters[0].Links[0].A
	version := sample()
	version.Version = FormatVersion + 1
	for name, tc := range map[string]struct {
		r    *Report
		want string
	}{
		"nil":          {nil, "nil report"},
		"version":      {version, "report version 2"},
		"out of range": {outOfRange, `cluster "cl-2b91" link 0: members 0 and 99, of 9 members`},
		"self link":    {self, `cluster "cl-7f3a" link 0`},
	} {
		var b bytes.Buffer
		err := HTML(&b, tc.r)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "report: html: ") {
			t.Errorf("%s: error %v, want one saying %q", name, err, tc.want)
		}
		if b.Len() != 0 {
			t.Errorf("%s: wrote %d bytes", name, b.Len())
		}
	}
}
