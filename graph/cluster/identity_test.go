package cluster_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/verband-cti/verband/graph/cluster"
)

// members returns ids "x1".."xn" of prefix x, for sets of made-up members.
func members(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, prefix+string(rune('a'+i)))
	}
	return out
}

func TestIdentifyKeepsIDsOfGrownAndUnchangedClusters(t *testing.T) {
	prev := []cluster.Prior{{ID: "cl-x", Members: members("m", 0, 3)}, {ID: "cl-y", Members: members("n", 0, 2)}}
	cur := [][]string{append(members("m", 0, 3), "new1"), members("n", 0, 2)}
	id := cluster.Identify(prev, cur, 0.5)
	if !slices.Equal(id.IDs, []string{"cl-x", "cl-y"}) {
		t.Fatalf("ids %q", id.IDs)
	}
	if id.Status[0] != cluster.StatusGrown || id.Status[1] != cluster.StatusUnchanged {
		t.Errorf("status %q", id.Status)
	}
	if len(id.Grown) != 1 || id.Grown[0].ID != "cl-x" || !slices.Equal(id.Grown[0].NewMembers, []string{"new1"}) {
		t.Errorf("grown %+v", id.Grown)
	}
	if len(id.New)+len(id.Merged)+len(id.Split)+len(id.Dissolved) != 0 {
		t.Errorf("unexpected changes %+v", id)
	}
}

func TestIdentifyMergeKeepsLargestPredecessor(t *testing.T) {
	prev := []cluster.Prior{
		{ID: "cl-small", Members: members("s", 0, 2)},
		{ID: "cl-big", Members: members("b", 0, 5)},
		{ID: "cl-other", Members: members("o", 0, 2)},
	}
	// The merge takes all of cl-big and two thirds of cl-small; the rest
	// of cl-small goes nowhere. Its Jaccard with cl-big is 6/9 and with
	// cl-small 2/9: only cl-big passes 0.7, and merges keep its id anyway.
	cur := [][]string{append(members("b", 0, 5), members("s", 0, 1)...), members("o", 0, 2)}
	id := cluster.Identify(prev, cur, 0.7)
	if id.IDs[0] != "cl-big" || id.Status[0] != cluster.StatusMerged {
		t.Errorf("merged cluster: id %s status %s", id.IDs[0], id.Status[0])
	}
	if len(id.Merged) != 1 || id.Merged[0].ID != "cl-big" || !slices.Equal(id.Merged[0].From, []string{"cl-big", "cl-small"}) {
		t.Errorf("merged %+v", id.Merged)
	}
	if len(id.Dissolved) != 0 {
		t.Errorf("a merged predecessor counts as dissolved: %q", id.Dissolved)
	}
	// Three equal clusters merged: every Jaccard is 1/3, below the overlap,
	// and the id still goes to one predecessor (the smallest id of the
	// equally large).
	prev = []cluster.Prior{{ID: "cl-2", Members: members("p", 0, 1)}, {ID: "cl-1", Members: members("q", 0, 1)}, {ID: "cl-3", Members: members("r", 0, 1)}}
	cur = [][]string{slices.Concat(members("p", 0, 1), members("q", 0, 1), members("r", 0, 1))}
	id = cluster.Identify(prev, cur, 0.5)
	if id.IDs[0] != "cl-1" || len(id.Merged) != 1 || len(id.Merged[0].From) != 3 {
		t.Errorf("three-way merge: ids %q merged %+v", id.IDs, id.Merged)
	}
}

func TestIdentifySplitLargestSuccessorKeepsID(t *testing.T) {
	prev := []cluster.Prior{{ID: "cl-whole", Members: members("w", 0, 9)}}
	cur := [][]string{members("w", 0, 3), members("w", 4, 9), {"w" + string(rune('a'+10)), "fresh"}}
	id := cluster.Identify(prev, cur, 0.5)
	if id.IDs[1] != "cl-whole" {
		t.Fatalf("largest successor has id %s, ids %q", id.IDs[1], id.IDs)
	}
	if id.Status[0] != cluster.StatusSplit || id.Status[1] != cluster.StatusSplit || id.Status[2] != cluster.StatusNew {
		t.Errorf("status %q", id.Status)
	}
	if id.IDs[0] == "cl-whole" || !strings.HasPrefix(id.IDs[0], "cl-") {
		t.Errorf("smaller successor id %q", id.IDs[0])
	}
	if len(id.Split) != 1 || id.Split[0].From != "cl-whole" || len(id.Split[0].Into) != 2 || !slices.Contains(id.Split[0].Into, id.IDs[0]) {
		t.Errorf("split %+v", id.Split)
	}
	if !slices.Equal(id.New, []string{id.IDs[2]}) {
		t.Errorf("new %q", id.New)
	}
}

func TestIdentifyDissolvedAndNew(t *testing.T) {
	prev := []cluster.Prior{{ID: "cl-gone", Members: members("g", 0, 3)}, {ID: "cl-faded", Members: members("f", 0, 5)}}
	// cl-gone's members are in no cluster now; two of cl-faded's six join
	// a cluster of eight others: it takes neither most of cl-faded nor
	// overlaps it enough.
	cur := [][]string{append(members("z", 0, 7), members("f", 0, 1)...)}
	id := cluster.Identify(prev, cur, 0.5)
	if !slices.Equal(id.Dissolved, []string{"cl-faded", "cl-gone"}) {
		t.Errorf("dissolved %q", id.Dissolved)
	}
	if id.Status[0] != cluster.StatusNew || !slices.Equal(id.New, id.IDs) {
		t.Errorf("status %q new %q", id.Status, id.New)
	}
	if len(id.NewMembers[0]) != 10 {
		t.Errorf("a new cluster's new members: %q", id.NewMembers[0])
	}
}

func TestIdentifyNewIDsAreStableAndUnique(t *testing.T) {
	cur := [][]string{{"a", "b"}, {"c", "d"}}
	one, two := cluster.Identify(nil, cur, 0.5), cluster.Identify(nil, [][]string{{"b", "a"}, {"d", "c"}}, 0.5)
	if !slices.Equal(one.IDs, two.IDs) || one.IDs[0] == one.IDs[1] {
		t.Errorf("ids %q and %q", one.IDs, two.IDs)
	}
	if one.IDs[0] != cluster.NewID([]string{"a", "b"}) {
		t.Errorf("id %s is not NewID of its members", one.IDs[0])
	}
	// A new cluster whose members hash to an id the previous run used
	// (here a dissolved cluster that had the same members when it was
	// born) gets a suffix rather than the old id.
	prev := []cluster.Prior{{ID: cluster.NewID([]string{"a", "b"}), Members: []string{"x", "y"}}}
	id := cluster.Identify(prev, [][]string{{"a", "b"}}, 0.5)
	if id.IDs[0] != cluster.NewID([]string{"a", "b"})+"-2" {
		t.Errorf("id %s", id.IDs[0])
	}
}
