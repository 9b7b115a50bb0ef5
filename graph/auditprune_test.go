package graph

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAuditClock makes entry i (from 1) appended at base + i minutes, and
// returns base.
func fakeAuditClock(t *testing.T) time.Time {
	t.Helper()
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	tick := 0
	old := auditClock
	auditClock = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		tick++
		return base.Add(time.Duration(tick) * time.Minute)
	}
	t.Cleanup(func() { auditClock = old })
	return base
}

// auditSeqs returns the sequence numbers AuditEntries lists for f.
func auditSeqs(t *testing.T, s *Store, f AuditFilter) []uint64 {
	t.Helper()
	var out []uint64
	if err := s.AuditEntries(context.Background(), f, func(e AuditEntry) bool { out = append(out, e.Seq); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPruneAudit prunes the oldest entries of a log and checks what an
// oversight body relies on: the entries before the cutoff are gone, with
// their organization index; the rest remain and verify from the base,
// which names the last entry removed; the log goes on from its head; and
// the base survives a reopen.
func TestPruneAudit(t *testing.T) {
	base := fakeAuditClock(t)
	var entries []AuditEntry
	s := reopened(t, func(s *Store) { entries = appendN(t, s, 10) })

	// Entries 1 to 4 were appended before base + 5 minutes.
	res, err := s.PruneAudit(context.Background(), base.Add(5*time.Minute), nil)
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	want := AuditBase{Seq: 4, Hash: entries[3].Hash, Time: entries[3].Time}
	if res.Pruned != 4 || res.Base != want {
		t.Fatalf("prune: %+v, want 4 pruned and base %+v", res, want)
	}
	if got := auditSeqs(t, s, AuditFilter{}); !slices.Equal(got, []uint64{5, 6, 7, 8, 9, 10}) {
		t.Errorf("entries after the prune: %v", got)
	}
	if got := auditSeqs(t, s, AuditFilter{Org: "org-a"}); !slices.Equal(got, []uint64{5, 7, 9}) {
		t.Errorf("org-a's entries after the prune: %v", got)
	}
	rep := verifyReport(t, s)
	if !rep.OK() || rep.Entries != 6 || rep.Base == nil || *rep.Base != want {
		t.Errorf("verify after the prune: %+v", rep)
	}

	// Pruning again with the same cutoff removes nothing.
	if res, err := s.PruneAudit(context.Background(), base.Add(5*time.Minute), nil); err != nil || res.Pruned != 0 || res.Base != want {
		t.Errorf("second prune: %+v, %v", res, err)
	}

	// The log goes on from its head, and the base is kept across a reopen.
	more := appendN(t, s, 1)
	if more[0].Seq != 11 || more[0].Prev != entries[9].Hash {
		t.Errorf("append after the prune: seq %d prev %s", more[0].Seq, more[0].Prev)
	}
	if b, err := s.AuditBase(); err != nil || b != want {
		t.Errorf("AuditBase: %+v, %v", b, err)
	}

	// Pruning everything leaves a log that is all base and head.
	res, err = s.PruneAudit(context.Background(), auditClock(), nil)
	if err != nil || res.Pruned != 7 || res.Base.Seq != 11 || res.Base.Hash != more[0].Hash {
		t.Fatalf("prune everything: %+v, %v", res, err)
	}
	rep = verifyReport(t, s)
	if !rep.OK() || rep.Entries != 0 || rep.HeadSeq != 11 {
		t.Errorf("verify the emptied log: %+v", rep)
	}
	if next := appendN(t, s, 1); next[0].Seq != 12 || next[0].Prev != more[0].Hash {
		t.Errorf("append to the emptied log: seq %d prev %s", next[0].Seq, next[0].Prev)
	}
	if rep := verifyReport(t, s); !rep.OK() || rep.Entries != 1 {
		t.Errorf("verify after appending to the emptied log: %+v", rep)
	}
}

// TestPruneAuditInBatches prunes more entries than one transaction takes:
// each batch moves the base, and the whole prune verifies.
func TestPruneAuditInBatches(t *testing.T) {
	fakeAuditClock(t)
	s := openAuditStore(t, t.TempDir(), false)
	entries := appendN(t, s, auditPruneBatch+auditPruneBatch/2+3)
	cut := entries[auditPruneBatch+auditPruneBatch/2].Time // keep the last 3
	var steps []int
	res, err := s.PruneAudit(context.Background(), cut, func(n int) { steps = append(steps, n) })
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{auditPruneBatch, auditPruneBatch + auditPruneBatch/2}; !slices.Equal(steps, want) {
		t.Errorf("progress %v, want %v", steps, want)
	}
	last := entries[auditPruneBatch+auditPruneBatch/2-1]
	if res.Pruned != auditPruneBatch+auditPruneBatch/2 || res.Base.Seq != last.Seq || res.Base.Hash != last.Hash {
		t.Errorf("prune: %+v, want %d pruned up to %d", res, auditPruneBatch+auditPruneBatch/2, last.Seq)
	}
	if rep := verifyReport(t, s); !rep.OK() || rep.Entries != 3 {
		t.Errorf("verify: %+v", rep)
	}
}

// TestPruneAuditRefusesUnverifiedEntries checks that pruning stops at an
// entry that does not verify, instead of destroying the evidence, and that
// it names the entry.
func TestPruneAuditRefusesUnverifiedEntries(t *testing.T) {
	base := fakeAuditClock(t)
	s := tamperStore(t)
	appendN(t, s, 6)
	s = tamper(t, s, rewrite(3, false, func(body []byte) []byte { return append(body[:len(body)-1], ' ', '}') }))
	res, err := s.PruneAudit(context.Background(), base.Add(7*time.Minute), nil)
	if !errors.Is(err, ErrCorrupt) || res.Pruned != 2 || res.Base.Seq != 2 {
		t.Fatalf("prune over an altered entry: %+v, %v; want entries 1 and 2 pruned and ErrCorrupt", res, err)
	}
	if err == nil || !containsAll(err.Error(), "entry 3", "verband audit verify") {
		t.Errorf("error %q does not name entry 3 and the verify command", err)
	}
	if got := auditSeqs(t, s, AuditFilter{}); !slices.Equal(got, []uint64{3, 4, 5, 6}) {
		t.Errorf("entries after the refused prune: %v", got)
	}
	rep := verifyReport(t, s)
	if rep.OK() || rep.Problems[0].Seq != 3 || rep.Problems[0].Kind != AuditAltered {
		t.Errorf("verify after the refused prune: %+v", rep)
	}

	// A missing entry stops it too.
	s = tamper(t, s, removeFiles(3))
	if _, err := s.PruneAudit(context.Background(), base.Add(7*time.Minute), nil); !errors.Is(err, ErrCorrupt) || !containsAll(err.Error(), "entry 3 is missing") {
		t.Errorf("prune over a missing entry: %v", err)
	}
}

// TestPruneAuditRejects checks the cutoffs and stores PruneAudit refuses.
func TestPruneAuditRejects(t *testing.T) {
	s := openAuditStore(t, t.TempDir(), false)
	appendN(t, s, 2)
	if _, err := s.PruneAudit(context.Background(), time.Now().Add(time.Hour), nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("a cutoff in the future: %v, want ErrInvalid", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.PruneAudit(ctx, time.Now(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled context: %v", err)
	}
	if got := auditSeqs(t, s, AuditFilter{}); len(got) != 2 {
		t.Errorf("entries after the refused prunes: %v", got)
	}
}

// TestAuditPrunedEntriesStayHidden: pruning removes entries from every
// answer at once, though the segment that holds the first entry kept
// still holds those before it on disk until all of its entries are
// pruned.
func TestAuditPrunedEntriesStayHidden(t *testing.T) {
	base := fakeAuditClock(t)
	var s *Store
	s = reopened(t, func(s *Store) {
		appendN(t, s, 4)
		if res, err := s.PruneAudit(context.Background(), base.Add(3*time.Minute), nil); err != nil || res.Pruned != 2 || res.SegmentsRemoved != 0 {
			t.Fatalf("prune: %+v, %v; want 2 entries pruned in a segment that stays", res, err)
		}
	})
	for _, f := range []AuditFilter{{}, {Org: "org-a"}, {Newest: true}, {Since: base}} {
		if got := auditSeqs(t, s, f); len(got) == 0 || slices.Min(got) != 3 {
			t.Errorf("%+v after the prune and a reopen: %v, want nothing before entry 3", f, got)
		}
	}
	if rep := verifyReport(t, s); !rep.OK() || rep.Entries != 2 || rep.Base == nil || rep.Base.Seq != 2 {
		t.Errorf("verify after the prune: %+v", rep)
	}
}

// TestAuditRetention checks Options.AuditRetention: the store prunes on
// its own what is older than the retention.
func TestAuditRetention(t *testing.T) {
	if got := auditPruneEvery(90 * 24 * time.Hour); got != time.Hour {
		t.Errorf("pruning every %v for a retention of 90 days, want hourly", got)
	}
	if got := auditPruneEvery(time.Second); got != time.Second {
		t.Errorf("pruning every %v for a retention of a second, want every second", got)
	}
	dir := t.TempDir()
	opts := DefaultOptions()
	opts.Search, opts.SyncWrites = false, false
	opts.AuditRetention = 2 * time.Second
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	appendN(t, s, 3)
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := s.AuditBase()
		if err != nil {
			t.Fatal(err)
		}
		if b.Seq >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("entries older than the retention still there after 30 s; base %+v", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The retention recorded what it did in the log: after the three
	// entries appended here, only its own records follow.
	var rec []AuditEntry
	if err := s.AuditEntries(context.Background(), AuditFilter{}, func(e AuditEntry) bool { rec = append(rec, e); return true }); err != nil {
		t.Fatal(err)
	}
	if len(rec) == 0 || rec[0].Seq < 4 || rec[0].Operation != "audit retention" || !strings.Contains(string(rec[0].Result), `"base_seq":`) {
		t.Errorf("entries after retention: %+v, want the retention's record of the pruning", rec)
	}
	if rep := verifyReport(t, s); !rep.OK() || rep.Base == nil || rep.Base.Seq < 3 {
		t.Errorf("verify after retention: %+v", rep)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
