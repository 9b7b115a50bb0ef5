package report

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The limits of the page, so that a cluster of hundreds of members still
// makes a drawing one can read and a page of reasonable size.
const (
	// maxDrawn is how many members a drawing shows at most: the new ones
	// first, then the others by rank.
	maxDrawn = 150
	// maxLabelled is how many drawn members carry a label when the
	// drawing holds more: the new ones and the best ranked. The others
	// show theirs on hover.
	maxLabelled = 25
	// maxEvidenceRows is how many values the evidence table of a cluster
	// lists.
	maxEvidenceRows = 25
	// maxTitleEvidence is how many values the tooltip of an edge lists.
	maxTitleEvidence = 12
	// labelRunes is where a label is cut.
	labelRunes = 28
)

//go:embed page.html
var pageSource string

var page = template.Must(template.New("page").Parse(pageSource))

// HTML writes r as one self-contained HTML page for people: a header with
// the audience, the run and its settings; a summary of what changed since
// the previous run; for each new or grown cluster a drawing of its members
// and links, with a table of its members and of its heaviest evidence; and
// a compact list of the other clusters.
//
// The page loads nothing: its style sheet and drawings (SVG) are inline and
// it has no script, so it opens from a file or an e-mail with no network.
// All text from the report (container names, evidence values) is escaped,
// as it comes from threat feeds and may be hostile. The same report always
// yields the same bytes: drawings are laid out here, with a seeded spring
// layout, not in the browser.
//
// HTML returns an error naming the problem when r is nil, of another
// FormatVersion, or has a link to a member that is not there; it writes
// nothing to w then.
func HTML(w io.Writer, r *Report) error {
	if err := check(r); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, newPageView(r)); err != nil {
		return fmt.Errorf("report: html: execute template: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("report: html: write: %w", err)
	}
	return nil
}

// check reports what in r would make a wrong page.
func check(r *Report) error {
	if r == nil {
		return errors.New("nil report")
	}
	if r.Version != FormatVersion {
		return fmt.Errorf("report version %d, this page draws version %d", r.Version, FormatVersion)
	}
	for _, c := range r.Clusters {
		for i, l := range c.Links {
			if l.A < 0 || l.A >= len(c.Members) || l.B < 0 || l.B >= len(c.Members) || l.A == l.B {
				return fmt.Errorf("cluster %q link %d: members %d and %d, of %d members", c.ID, i, l.A, l.B, len(c.Members))
			}
		}
	}
	return nil
}

// pageView is what the template draws.
type pageView struct {
	Version                 int
	Audience, Run, Previous string
	Started, Finished       string
	Duration                string
	Params                  []keyValue
	Totals                  []keyValue
	Changes                 changesView
	Drawn                   []clusterView
	Others                  []otherView
}

type keyValue struct{ Key, Value string }

type changesView struct {
	None      bool
	New       []clusterRef
	Grown     []growthView
	Merged    []Merge
	Split     []Split
	Dissolved []string
	NewLinks  []newLinkView
}

// clusterRef names a cluster in the summary: its id, its size and its best
// ranked members.
type clusterRef struct {
	ID      string
	Size    int
	Leaders string
}

type growthView struct {
	ID         string
	NewMembers []string
}

type newLinkView struct {
	Recent, Past containerView
	Score        string
	Evidence     []evidenceView
	Cluster      string
}

type containerView struct {
	Name, Type, ID, FirstSeen string
}

type evidenceView struct {
	Kind, Value, Rule, Weight string
}

type clusterView struct {
	ID, Status     string
	Size, NewCount int
	Score          string
	Drawing        drawing
	Members        []memberRow
	Evidence       []evidenceRow
	EvidenceLeft   int
	Bridges        []bridgeRow
}

type memberRow struct {
	Pos                       int
	Name, Type, ID, FirstSeen string
	Rank                      string
	New                       bool
}

type evidenceRow struct {
	Kind, Value, Rules string
	Weight, Total      string
	Links              int
}

type bridgeRow struct {
	Kind, Value, Betweenness, Clusters string
}

type otherView struct {
	ID, Status string
	Size       int
	Score      string
	Leaders    string
}

func newPageView(r *Report) pageView {
	v := pageView{
		Version:  r.Version,
		Audience: r.Audience,
		Run:      r.Run,
		Previous: r.Previous,
		Started:  formatTime(r.Started),
		Finished: formatTime(r.Finished),
		Params: []keyValue{
			{"minimum link score", num(r.Params.MinScore, 2)},
			{"Louvain above (members)", strconv.Itoa(r.Params.LouvainAbove)},
			{"Louvain resolution", num(r.Params.Resolution, 2)},
			{"seed", strconv.FormatInt(r.Params.Seed, 10)},
			{"minimum overlap to keep an id", num(r.Params.MinOverlap, 2)},
			{"recent (days)", strconv.Itoa(r.Params.RecentDays)},
			{"past (days)", strconv.Itoa(r.Params.PastDays)},
			{"document-frequency cap", strconv.Itoa(r.Params.MaxDF)},
		},
		Totals: []keyValue{
			{"containers", strconv.Itoa(r.Totals.Containers)},
			{"links", strconv.Itoa(r.Totals.Links)},
			{"clusters", strconv.Itoa(r.Totals.Clusters)},
			{"unlinked containers", strconv.Itoa(r.Totals.Singletons)},
		},
	}
	if !r.Started.IsZero() && !r.Finished.IsZero() {
		v.Duration = r.Finished.Sub(r.Started).Round(time.Millisecond).String()
	}
	byID := make(map[string]*Cluster, len(r.Clusters))
	for i := range r.Clusters {
		byID[r.Clusters[i].ID] = &r.Clusters[i]
	}
	v.Changes = newChangesView(r.Changes, byID)
	for i := range r.Clusters {
		c := &r.Clusters[i]
		if c.Status == StatusNew || c.Status == StatusGrown {
			v.Drawn = append(v.Drawn, newClusterView(c))
			continue
		}
		v.Others = append(v.Others, otherView{ID: c.ID, Status: string(c.Status), Size: len(c.Members), Score: num(c.Score, 2), Leaders: leaders(c)})
	}
	return v
}

func newChangesView(ch Changes, byID map[string]*Cluster) changesView {
	v := changesView{Merged: ch.Merged, Split: ch.Split, Dissolved: ch.Dissolved}
	for _, id := range ch.New {
		ref := clusterRef{ID: id}
		if c := byID[id]; c != nil {
			ref.Size, ref.Leaders = len(c.Members), leaders(c)
		}
		v.New = append(v.New, ref)
	}
	for _, g := range ch.Grown {
		names := make(map[string]string)
		if c := byID[g.ID]; c != nil {
			for _, m := range c.Members {
				names[m.StixID] = m.Name
			}
		}
		gv := growthView{ID: g.ID}
		for _, id := range g.NewMembers {
			if n := names[id]; n != "" {
				gv.NewMembers = append(gv.NewMembers, n)
			} else {
				gv.NewMembers = append(gv.NewMembers, id)
			}
		}
		v.Grown = append(v.Grown, gv)
	}
	for _, l := range ch.NewLinks {
		v.NewLinks = append(v.NewLinks, newLinkView{
			Recent:   newContainerView(l.Recent),
			Past:     newContainerView(l.Past),
			Score:    num(l.Score, 2),
			Evidence: evidenceViews(l.Evidence),
			Cluster:  l.Cluster,
		})
	}
	v.None = len(v.New)+len(v.Grown)+len(v.Merged)+len(v.Split)+len(v.Dissolved)+len(v.NewLinks) == 0
	return v
}

func newContainerView(c Container) containerView {
	return containerView{Name: c.Name, Type: c.Type, ID: c.StixID, FirstSeen: formatDate(c.FirstSeen)}
}

func evidenceViews(es []Evidence) []evidenceView {
	out := make([]evidenceView, len(es))
	for i, e := range es {
		out[i] = evidenceView{Kind: e.Kind, Value: e.Value, Rule: e.Rule, Weight: num(e.Weight, 2)}
	}
	return out
}

func newClusterView(c *Cluster) clusterView {
	isNew := make(map[string]bool, len(c.NewMembers))
	for _, id := range c.NewMembers {
		isNew[id] = true
	}
	v := clusterView{ID: c.ID, Status: string(c.Status), Size: len(c.Members), Score: num(c.Score, 2)}
	for i, m := range c.Members {
		v.Members = append(v.Members, memberRow{
			Pos: i + 1, Name: m.Name, Type: m.Type, ID: m.StixID,
			FirstSeen: formatDate(m.FirstSeen), Rank: num(m.Rank, 4), New: isNew[m.StixID],
		})
		if isNew[m.StixID] {
			v.NewCount++
		}
	}
	v.Drawing = draw(c, isNew)
	v.Evidence, v.EvidenceLeft = heaviestEvidence(c.Links)
	for _, b := range c.Bridges {
		v.Bridges = append(v.Bridges, bridgeRow{Kind: b.Kind, Value: b.Value, Betweenness: num(b.Betweenness, 3), Clusters: strings.Join(b.Clusters, ", ")})
	}
	return v
}

// heaviestEvidence sums the weight each value brings to the cluster's
// links and returns the heaviest values and how many others there are.
func heaviestEvidence(links []Link) ([]evidenceRow, int) {
	type key struct{ kind, value string }
	type sum struct {
		rules  []string
		weight float64
		total  float64
		links  int
	}
	sums := make(map[key]*sum)
	var keys []key
	for _, l := range links {
		for _, e := range l.Evidence {
			k := key{e.Kind, e.Value}
			s := sums[k]
			if s == nil {
				s = &sum{}
				sums[k] = s
				keys = append(keys, k)
			}
			if !slices.Contains(s.rules, e.Rule) {
				s.rules = append(s.rules, e.Rule)
			}
			s.weight = max(s.weight, e.Weight)
			s.total += e.Weight
			s.links++
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if sa, sb := sums[a].total, sums[b].total; sa != sb {
			if sa > sb {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.kind, b.kind); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	left := max(0, len(keys)-maxEvidenceRows)
	keys = keys[:len(keys)-left]
	rows := make([]evidenceRow, len(keys))
	for i, k := range keys {
		s := sums[k]
		slices.Sort(s.rules)
		rows[i] = evidenceRow{Kind: k.kind, Value: k.value, Rules: strings.Join(s.rules, ", "), Weight: num(s.weight, 2), Total: num(s.total, 2), Links: s.links}
	}
	return rows, left
}

// leaders names the three best ranked members of c.
func leaders(c *Cluster) string {
	var names []string
	for _, m := range c.Members[:min(3, len(c.Members))] {
		names = append(names, cut(m.Name, labelRunes))
	}
	s := strings.Join(names, "; ")
	if len(c.Members) > 3 {
		s += "; …"
	}
	return s
}

// num formats x with prec decimals.
func num(x float64, prec int) string { return strconv.FormatFloat(x, 'f', prec, 64) }

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

// cut shortens s to at most n runes, ending it with an ellipsis when it
// was longer.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
