package cluster

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Status says how a cluster came to be in a run.
type Status string

// The statuses of a cluster.
const (
	// StatusNew: no cluster of the previous run leads to it.
	StatusNew Status = "new"
	// StatusGrown: it kept the id of a previous cluster and gained members.
	StatusGrown Status = "grown"
	// StatusMerged: it took most of the members of several previous
	// clusters.
	StatusMerged Status = "merged"
	// StatusSplit: it is one of several clusters made mostly of the members
	// of one previous cluster.
	StatusSplit Status = "split"
	// StatusShrunk: it kept an id and lost members, gaining none.
	StatusShrunk Status = "shrunk"
	// StatusUnchanged: it kept an id and its members.
	StatusUnchanged Status = "unchanged"
)

// Prior is a cluster of the previous run, as Identify compares it.
type Prior struct {
	ID      string
	Members []string
}

// Growth is a cluster that kept its id and gained members.
type Growth struct {
	ID         string   `json:"id"`
	NewMembers []string `json:"new_members"`
}

// Merge is a cluster that took in several previous clusters.
type Merge struct {
	ID   string   `json:"id"`
	From []string `json:"from"`
}

// Split is a previous cluster whose members went to several clusters.
type Split struct {
	From string   `json:"from"`
	Into []string `json:"into"`
}

// Identity is what Identify decides for the clusters of a run.
type Identity struct {
	// IDs, Status and NewMembers hold, for every cluster of the run, its
	// id, its status, and the members that were not in the previous
	// cluster of the same id (every member, for a cluster with a new id).
	IDs        []string
	Status     []Status
	NewMembers [][]string
	// New lists the ids of the clusters with status new; Grown the
	// clusters with status grown; Merged every merged cluster with the
	// previous clusters it took in; Split every previous cluster that
	// split, with the clusters it went to; Dissolved the previous clusters
	// that left no successor (none kept the id, and the cluster neither
	// merged into another nor split). Every list is sorted by id.
	New       []string
	Grown     []Growth
	Merged    []Merge
	Split     []Split
	Dissolved []string
}

// Identify gives the clusters of a run (cur, each a set of member ids) their
// ids, matching them with the clusters of the previous run by their members.
//
// With |c∩p| the members a cluster c of this run shares with a cluster p of
// the previous one:
//
//   - c takes "most of" p when |c∩p| > |p|/2, and p makes "most of" c when
//     |c∩p| > |c|/2.
//   - c is merged when it takes most of two or more previous clusters; it
//     keeps the id of the largest of them (of equally large ones, the
//     smallest id).
//   - p is split when it makes most of two or more clusters of this run;
//     the largest of them (of equally large ones, the first) keeps its id,
//     the others take new ids.
//   - Otherwise c keeps the id of p when their Jaccard overlap
//     |c∩p| / |c∪p| is at least minOverlap.
//
// Where these claims conflict, ids go first to the merge and split claims
// and then to the pairs of highest overlap (ties: larger intersection, then
// smaller previous id, then earlier cluster), each previous id to at most
// one cluster and each cluster to at most one id. A cluster that keeps no id
// gets a new one derived from its members (see NewID), never one the
// previous run used. The result depends only on the member sets, so runs on
// the same data give the same ids.
func Identify(prev []Prior, cur [][]string, minOverlap float64) Identity {
	prevOf := map[string]int{}
	for pi, p := range prev {
		for _, m := range p.Members {
			prevOf[m] = pi
		}
	}
	type pair struct {
		p, c, inter int
		jaccard     float64
		claim       bool
	}
	var pairs []pair
	mergeFrom := make([][]int, len(cur)) // previous clusters c takes most of
	splitInto := make([][]int, len(prev))
	for ci, members := range cur {
		counts := map[int]int{}
		for _, m := range members {
			if pi, ok := prevOf[m]; ok {
				counts[pi]++
			}
		}
		for _, pi := range slices.Sorted(maps.Keys(counts)) {
			n, np, nc := counts[pi], len(prev[pi].Members), len(members)
			pairs = append(pairs, pair{p: pi, c: ci, inter: n, jaccard: float64(n) / float64(np+nc-n)})
			if 2*n > np {
				mergeFrom[ci] = append(mergeFrom[ci], pi)
			}
			if 2*n > nc {
				splitInto[pi] = append(splitInto[pi], ci)
			}
		}
	}
	// largest picks the largest of some clusters; ties go to the one that
	// less orders first.
	largest := func(ids []int, size func(int) int, less func(a, b int) bool) int {
		best := ids[0]
		for _, i := range ids[1:] {
			if size(i) > size(best) || size(i) == size(best) && less(i, best) {
				best = i
			}
		}
		return best
	}
	prevSize := func(i int) int { return len(prev[i].Members) }
	curSize := func(i int) int { return len(cur[i]) }
	prevLess := func(a, b int) bool { return prev[a].ID < prev[b].ID }
	curLess := func(a, b int) bool { return a < b }
	for i := range pairs {
		pr := &pairs[i]
		if len(mergeFrom[pr.c]) > 1 && largest(mergeFrom[pr.c], prevSize, prevLess) == pr.p ||
			len(splitInto[pr.p]) > 1 && largest(splitInto[pr.p], curSize, curLess) == pr.c {
			pr.claim = true
		}
	}
	slices.SortStableFunc(pairs, func(a, b pair) int {
		if a.claim != b.claim {
			if a.claim {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.jaccard, a.jaccard); c != 0 {
			return c
		}
		if c := cmp.Compare(b.inter, a.inter); c != 0 {
			return c
		}
		if c := cmp.Compare(prev[a.p].ID, prev[b.p].ID); c != 0 {
			return c
		}
		return cmp.Compare(a.c, b.c)
	})
	heir := make([]int, len(cur)) // previous cluster whose id c keeps, or -1
	for i := range heir {
		heir[i] = -1
	}
	taken := make([]bool, len(prev))
	for _, pr := range pairs {
		if heir[pr.c] >= 0 || taken[pr.p] || !(pr.claim || pr.jaccard >= minOverlap) {
			continue
		}
		heir[pr.c], taken[pr.p] = pr.p, true
	}

	used := map[string]bool{}
	for _, p := range prev {
		used[p.ID] = true
	}
	id := Identity{IDs: make([]string, len(cur)), Status: make([]Status, len(cur)), NewMembers: make([][]string, len(cur))}
	for ci, members := range cur {
		if pi := heir[ci]; pi >= 0 {
			id.IDs[ci] = prev[pi].ID
			had := map[string]bool{}
			for _, m := range prev[pi].Members {
				had[m] = true
			}
			for _, m := range members {
				if !had[m] {
					id.NewMembers[ci] = append(id.NewMembers[ci], m)
				}
			}
			slices.Sort(id.NewMembers[ci])
			switch {
			case len(mergeFrom[ci]) > 1:
				id.Status[ci] = StatusMerged
			case len(splitInto[pi]) > 1:
				id.Status[ci] = StatusSplit
			case len(id.NewMembers[ci]) > 0:
				id.Status[ci] = StatusGrown
			case len(members) < len(prev[pi].Members):
				id.Status[ci] = StatusShrunk
			default:
				id.Status[ci] = StatusUnchanged
			}
			continue
		}
		id.IDs[ci] = uniqueID(NewID(members), used)
		id.NewMembers[ci] = slices.Sorted(slices.Values(members))
		id.Status[ci] = StatusNew
		if len(mergeFrom[ci]) > 1 {
			id.Status[ci] = StatusMerged
		}
		for pi := range prev {
			if len(splitInto[pi]) > 1 && slices.Contains(splitInto[pi], ci) {
				id.Status[ci] = StatusSplit
			}
		}
	}
	absorbed := make([]bool, len(prev))
	for ci, status := range id.Status {
		switch status {
		case StatusNew:
			id.New = append(id.New, id.IDs[ci])
		case StatusGrown:
			id.Grown = append(id.Grown, Growth{ID: id.IDs[ci], NewMembers: id.NewMembers[ci]})
		}
		if len(mergeFrom[ci]) > 1 {
			m := Merge{ID: id.IDs[ci]}
			for _, pi := range mergeFrom[ci] {
				m.From = append(m.From, prev[pi].ID)
				absorbed[pi] = true
			}
			slices.Sort(m.From)
			id.Merged = append(id.Merged, m)
		}
	}
	for pi, into := range splitInto {
		if len(into) > 1 {
			s := Split{From: prev[pi].ID}
			for _, ci := range into {
				s.Into = append(s.Into, id.IDs[ci])
			}
			slices.Sort(s.Into)
			id.Split = append(id.Split, s)
			absorbed[pi] = true
		}
	}
	for pi, p := range prev {
		if !taken[pi] && !absorbed[pi] {
			id.Dissolved = append(id.Dissolved, p.ID)
		}
	}
	slices.Sort(id.New)
	slices.Sort(id.Dissolved)
	slices.SortFunc(id.Grown, func(a, b Growth) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(id.Merged, func(a, b Merge) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(id.Split, func(a, b Split) int { return cmp.Compare(a.From, b.From) })
	return id
}

// NewID returns the id a cluster with these members is born with: "cl-" and
// 16 hex digits of the SHA-256 of its sorted member ids, so that the same
// members always give the same id.
func NewID(members []string) string {
	sorted := slices.Sorted(slices.Values(members))
	sum := sha256.Sum256([]byte(strings.Join(sorted, "\n")))
	return "cl-" + hex.EncodeToString(sum[:8])
}

// uniqueID returns id, or id with the first free suffix "-2", "-3", … when
// it is used, and marks the result used.
func uniqueID(id string, used map[string]bool) string {
	out := id
	for n := 2; used[out]; n++ {
		out = fmt.Sprintf("%s-%d", id, n)
	}
	used[out] = true
	return out
}
