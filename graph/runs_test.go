package graph

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestRunKeysRoundTrip(t *testing.T) {
	for _, c := range [][3]string{{"clusters", "org-a", "20260301T101500.000000000Z"}, {"k", "instance", "x"}, {"a\u00e9", "b", "c:d/e"}} {
		kind, aud, id, err := parseRunKey(runKey(c[0], c[1], c[2]))
		if err != nil || kind != c[0] || aud != c[1] || id != c[2] {
			t.Errorf("%q: parsed %q %q %q %v", c, kind, aud, id, err)
		}
	}
	// One audience's prefix must not cover another audience whose name
	// starts with it.
	if p, k := runPrefix("clusters", "org"), runKey("clusters", "org-a", "1"); string(k[:len(p)]) == string(p) {
		t.Errorf("prefix of org covers org-a's key %x", k)
	}
	for _, bad := range [][]byte{{tagRun}, {tagRun, 0, 3, 'a'}, {tagRun, 0, 1, 'a', 0, 1, 'b'}, {tagNode, 0, 0, 0, 0}} {
		if _, _, _, err := parseRunKey(bad); err == nil {
			t.Errorf("parsed malformed run key %x", bad)
		}
	}
}

func TestRunsAppendListAndPrune(t *testing.T) {
	s, _ := smallStore(t)
	ctx := context.Background()
	if _, _, err := s.LatestRun("clusters", "org-a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("latest run of an empty namespace: %v, want ErrNotFound", err)
	}
	for i := 1; i <= 5; i++ {
		if err := s.PutRun(ctx, "clusters", "org-a", fmt.Sprintf("run%02d", i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Another audience, another kind, and an audience whose name extends
	// org-a's must stay apart.
	for _, p := range [][2]string{{"clusters", "org-ab"}, {"other", "org-a"}, {"clusters", "instance"}} {
		if err := s.PutRun(ctx, p[0], p[1], "run99", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutRun(ctx, "clusters", "org-a", "run03", []byte("again")); !errors.Is(err, ErrExists) {
		t.Errorf("second put of run03: %v, want ErrExists", err)
	}
	id, data, err := s.LatestRun("clusters", "org-a")
	if err != nil || id != "run05" || string(data) != "\x05" {
		t.Fatalf("latest: %q %q %v", id, data, err)
	}
	list := func(q RunQuery) []string {
		var ids []string
		err := s.Runs("clusters", "org-a", q, func(id string, data []byte) bool {
			if q.IDsOnly != (data == nil) {
				t.Errorf("run %s: IDsOnly %v, data %q", id, q.IDsOnly, data)
			}
			ids = append(ids, id)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := list(RunQuery{}); !slices.Equal(got, []string{"run05", "run04", "run03", "run02", "run01"}) {
		t.Errorf("runs newest first: %q", got)
	}
	if got := list(RunQuery{Before: "run03", IDsOnly: true}); !slices.Equal(got, []string{"run02", "run01"}) {
		t.Errorf("runs before run03: %q", got)
	}
	if got := list(RunQuery{Before: "run025"}); !slices.Equal(got, []string{"run02", "run01"}) {
		t.Errorf("runs before an id that is not stored: %q", got)
	}
	if data, err := s.GetRun("clusters", "org-a", "run02"); err != nil || string(data) != "\x02" {
		t.Errorf("get run02: %q %v", data, err)
	}
	if _, err := s.GetRun("clusters", "org-b", "run02"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get another audience's run: %v, want ErrNotFound", err)
	}
	auds, err := s.RunAudiences("clusters")
	if err != nil || !slices.Equal(auds, []string{"instance", "org-a", "org-ab"}) {
		t.Errorf("audiences: %q %v", auds, err)
	}
	if n, err := s.PruneRuns(ctx, "clusters", "org-a", 2); err != nil || n != 3 {
		t.Fatalf("prune: %d %v", n, err)
	}
	if got := list(RunQuery{}); !slices.Equal(got, []string{"run05", "run04"}) {
		t.Errorf("runs after pruning to 2: %q", got)
	}
	if _, err := s.PruneRuns(ctx, "clusters", "org-a", 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("prune keeping none: %v, want ErrInvalid", err)
	}
	if _, data, _ := s.LatestRun("clusters", "org-ab"); string(data) != "x" {
		t.Errorf("pruning org-a touched org-ab: %q", data)
	}
	rep, err := s.Check(ctx)
	if err != nil || !rep.OK() || rep.Runs != 5 {
		t.Errorf("check with runs stored: %v %+v", err, rep)
	}
}

func TestRunsRejectBadNames(t *testing.T) {
	s, _ := smallStore(t)
	ctx := context.Background()
	long := string(make([]byte, MaxRunPart+1))
	for _, c := range [][3]string{{"", "a", "1"}, {"k", "", "1"}, {"k", "a", ""}, {"k", "a\n", "1"}, {"k", "a", "\xff"}, {long, "a", "1"}} {
		if err := s.PutRun(ctx, c[0], c[1], c[2], nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("put %q: %v, want ErrInvalid", c, err)
		}
	}
}
