package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// drawing is the picture of one cluster, in SVG user units.
type drawing struct {
	Width, Height int
	Nodes         []drawnNode
	Edges         []drawnEdge
	// Shown and Total count the members drawn and the members of the
	// cluster; LeftOut is the difference.
	Shown, Total, LeftOut int
	// EdgesLeftOut counts the cluster's links that are not drawn because
	// one of their ends is not.
	EdgesLeftOut int
	// Unlabelled counts the drawn members without a label.
	Unlabelled int
	// Types are the member types drawn, for the legend.
	Types []typeColor
}

type drawnNode struct {
	X, Y, R string
	// LabelX and Anchor place the label: right of the node in the left
	// half of the picture, left of it in the right half.
	LabelX, Anchor string
	Label, Type    string
	Color          string
	New            bool
	Labelled       bool
	Title          string
}

type drawnEdge struct {
	X1, Y1, X2, Y2 string
	Width          string
	Title          string
}

type typeColor struct{ Type, Color string }

// typeColors are the fills of the container types; other types are grey.
var typeColors = map[string]string{
	"report":         "#4e79a7",
	"incident":       "#e15759",
	"x-verband-case": "#b07aa1",
	"grouping":       "#59a14f",
	"campaign":       "#edc948",
	"observed-data":  "#76b7b2",
}

const otherColor = "#9d9d9d"

func colorOf(typ string) string {
	if c, ok := typeColors[typ]; ok {
		return c
	}
	return otherColor
}

// draw lays out cluster c: at most maxDrawn members, the new ones (isNew)
// first and then the others by rank, and the links between drawn members,
// as wide as their score.
func draw(c *Cluster, isNew map[string]bool) drawing {
	n := len(c.Members)
	d := drawing{Width: 960, Height: 640, Total: n}
	switch {
	case n <= 2:
		d.Height = 220
	case n <= 8:
		d.Height = 380
	case n <= 30:
		d.Height = 520
	}

	// Pick the members to draw; picked keeps Members' (rank) order.
	var picked []int
	for i, m := range c.Members {
		if isNew[m.StixID] && len(picked) < maxDrawn {
			picked = append(picked, i)
		}
	}
	for i, m := range c.Members {
		if !isNew[m.StixID] && len(picked) < maxDrawn {
			picked = append(picked, i)
		}
	}
	slices.Sort(picked)
	node := make(map[int]int, len(picked)) // member index to node index
	for j, i := range picked {
		node[i] = j
	}
	d.Shown, d.LeftOut = len(picked), n-len(picked)

	var edges []edge
	var drawnLinks []Link
	maxScore := 0.0
	for _, l := range c.Links {
		a, okA := node[l.A]
		b, okB := node[l.B]
		if !okA || !okB {
			d.EdgesLeftOut++
			continue
		}
		drawnLinks = append(drawnLinks, l)
		edges = append(edges, edge{a: a, b: b})
		maxScore = max(maxScore, l.Score)
	}
	for i, l := range drawnLinks {
		edges[i].strength = 0.5 + ratio(l.Score, maxScore)
	}
	pos := springLayout(len(picked), edges, c.ID)
	fit(pos, float64(d.Width), float64(d.Height), 40)

	maxRank := 0.0
	for _, i := range picked {
		maxRank = max(maxRank, c.Members[i].Rank)
	}
	// The best ranked and the new members carry labels.
	labelled := 0
	for j, i := range picked {
		m := c.Members[i]
		r := 5 + 9*math.Sqrt(ratio(m.Rank, maxRank))
		nd := drawnNode{
			X: num(pos[j].x, 1), Y: num(pos[j].y, 1), R: num(r, 1),
			Label: cut(m.Name, labelRunes), Type: m.Type, Color: colorOf(m.Type), New: isNew[m.StixID],
			LabelX: num(pos[j].x+r+4, 1), Anchor: "start",
			Title: memberTitle(m, isNew[m.StixID]),
		}
		if pos[j].x > float64(d.Width)/2 {
			nd.LabelX, nd.Anchor = num(pos[j].x-r-4, 1), "end"
		}
		if len(picked) <= maxLabelled || nd.New || labelled < maxLabelled {
			nd.Labelled = true
			labelled++
		}
		d.Nodes = append(d.Nodes, nd)
		if !slices.ContainsFunc(d.Types, func(t typeColor) bool { return t.Type == m.Type }) {
			d.Types = append(d.Types, typeColor{m.Type, nd.Color})
		}
	}
	d.Unlabelled = len(picked) - labelled
	slices.SortFunc(d.Types, func(a, b typeColor) int { return strings.Compare(a.Type, b.Type) })

	for i, l := range drawnLinks {
		a, b := pos[edges[i].a], pos[edges[i].b]
		d.Edges = append(d.Edges, drawnEdge{
			X1: num(a.x, 1), Y1: num(a.y, 1), X2: num(b.x, 1), Y2: num(b.y, 1),
			Width: num(1+5*ratio(l.Score, maxScore), 1),
			Title: linkTitle(c, l),
		})
	}
	return d
}

// ratio is x/of, or 1 when of is not positive (every value is the
// largest).
func ratio(x, of float64) float64 {
	if of <= 0 {
		return 1
	}
	return math.Max(0, x/of)
}

// memberTitle is the tooltip of a node.
func memberTitle(m Container, isNew bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s · %s\nrank %s", m.Name, m.Type, m.StixID, num(m.Rank, 4))
	if !m.FirstSeen.IsZero() {
		fmt.Fprintf(&b, " · first seen %s", formatDate(m.FirstSeen))
	}
	if isNew {
		b.WriteString("\nnew in this cluster")
	}
	return b.String()
}

// linkTitle is the tooltip of an edge: its ends, its score and its
// evidence.
func linkTitle(c *Cluster, l Link) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s ↔ %s\nscore %s", c.Members[l.A].Name, c.Members[l.B].Name, num(l.Score, 2))
	for i, e := range l.Evidence {
		if i == maxTitleEvidence {
			fmt.Fprintf(&b, "\n… and %d more", len(l.Evidence)-i)
			break
		}
		fmt.Fprintf(&b, "\n%s %s (%s, weight %s)", e.Kind, e.Value, e.Rule, num(e.Weight, 2))
	}
	return b.String()
}
