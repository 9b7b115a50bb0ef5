package graph_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/internal/crashtest"
	"github.com/verband-cti/verband/schema"
)

// The crash test runs a bulk load in a child process (this test binary,
// re-executed into TestCrashChild), kills it with SIGKILL at random moments,
// and checks after every kill that the store reopens consistent, that every
// chunk the child acknowledged is fully present, that the chunk in flight
// is stored whole or not at all, and that the search index catches up.
// Every other child runs without SyncWrites, as a bulk ingest does: a
// commit that returned must survive the death of the process all the same.

const (
	crashDirEnv   = "VERBAND_CRASH_DIR"
	crashStartEnv = "VERBAND_CRASH_START"
	crashSyncEnv  = "VERBAND_CRASH_SYNC"
	crashChunk    = 60 // objects per chunk
)

// crashObjects returns chunk k of the crash workload: SDOs with text, SCOs,
// relationships within the chunk and to the previous chunk, and a report
// referring to objects of the previous and of the next chunk (a dangling
// reference until that chunk arrives).
func crashObjects(tb testing.TB, k int) []*schema.Object {
	tb.Helper()
	var out []*schema.Object
	id := func(typ string, chunk, i int) string {
		return fmt.Sprintf("%s--00000000-0000-4000-8000-%06d%06d", typ, chunk, i)
	}
	mk := func(props map[string]any) {
		raw, err := json.Marshal(props)
		if err != nil {
			tb.Fatal(err)
		}
		o, err := schema.ParseObject(raw)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, o)
	}
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(k) * time.Minute).Format(time.RFC3339Nano)
	for i := range crashChunk / 3 {
		mk(map[string]any{"type": "malware", "spec_version": "2.1", "id": id("malware", k, i), "created": ts, "modified": ts,
			"name": fmt.Sprintf("crash family %d %d", k, i), "is_family": true, "description": "sample text for the index"})
		mk(map[string]any{"type": "ipv4-addr", "spec_version": "2.1", "id": id("ipv4-addr", k, i),
			"value": fmt.Sprintf("10.%d.%d.%d", k/250%250, k%250, i)})
		target := id("malware", k, (i+1)%(crashChunk/3))
		if k > 0 {
			target = id("malware", k-1, i)
		}
		mk(map[string]any{"type": "relationship", "spec_version": "2.1", "id": id("relationship", k, i), "created": ts, "modified": ts,
			"relationship_type": "variant-of", "source_ref": id("malware", k, i), "target_ref": target})
	}
	mk(map[string]any{"type": "report", "spec_version": "2.1", "id": id("report", k, 0), "created": ts, "modified": ts,
		"name": fmt.Sprintf("crash report %d", k), "published": ts,
		"object_refs": []string{id("malware", k, 0), id("ipv4-addr", k, 1), id("malware", k+1, 0)}})
	return out
}

// TestCrashChild is the child process of TestCrashSafety; it does nothing
// unless started by it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run only as the child of TestCrashSafety")
	}
	start, err := strconv.Atoi(os.Getenv(crashStartEnv))
	if err != nil {
		t.Fatal(err)
	}
	opts := graph.DefaultOptions() // SyncWrites: a returned commit is durable
	opts.SyncWrites = os.Getenv(crashSyncEnv) != "off"
	s, err := graph.Open(dir, opts)
	if err != nil {
		fmt.Printf("open failed: %v\n", err)
		os.Exit(3)
	}
	meta := graph.Meta{Policy: graph.Policy{Owner: "org-a", TLP: schema.TLPGreen}, Provenance: graph.Provenance{Source: "crash"}}
	out := bufio.NewWriter(os.Stdout)
	// Each chunk of the workload is exactly one Bulk chunk, so the n-th
	// commit acknowledges workload chunk start+n. Puts do not wait for
	// commits: the next chunk is applied while the previous one commits.
	acked := start - 1
	b := s.NewBulk(graph.System(), graph.BulkOptions{ChunkObjects: crashChunk + 1, OnCommit: func(st graph.BulkStats) {
		if st.Objects != crashChunk+1 {
			fmt.Printf("chunk of %d objects\n", st.Objects)
			os.Exit(3)
		}
		acked++
		fmt.Fprintf(out, "ack %d\n", acked)
		out.Flush()
		// An audit entry per chunk: one whose append returned must survive
		// the kill, whether it was flushed to disk yet or not.
		if _, err := s.AppendAudit(context.Background(), graph.AuditEntry{Viewer: graph.AuditViewer{User: "crash", Org: "org-a"},
			Operation: fmt.Sprintf("crash chunk %d", acked)}); err != nil {
			fmt.Printf("audit failed: %v\n", err)
			os.Exit(3)
		}
		fmt.Fprintf(out, "audit %d\n", acked)
		out.Flush()
	}})
	for k := start; k < start+10_000; k++ {
		for _, o := range crashObjects(t, k) {
			if err := b.Put(o, meta); err != nil {
				fmt.Printf("put failed: %v\n", err)
				os.Exit(3)
			}
		}
	}
	if _, err := b.Close(); err != nil {
		fmt.Printf("close failed: %v\n", err)
		os.Exit(3)
	}
	os.Exit(0)
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-executes the test binary; skipped in -short mode")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 11))
	acked, audited := -1, map[int]bool{}
	kills := 0
	for round := 0; round < 24; round++ {
		sync := "on"
		if round%2 == 1 {
			sync = "off"
		}
		env := []string{crashDirEnv + "=" + dir, crashStartEnv + "=" + strconv.Itoa(acked+1), crashSyncEnv + "=" + sync}
		// Kill at a random moment: while opening, replaying the search
		// index, or in the middle of the load. Acks printed just before
		// the kill count too.
		killed, stderr := crashtest.Run(t, "TestCrashChild", env, time.Duration(20+rng.IntN(300))*time.Millisecond, func(l string, killed bool) {
			if !crashLine(l, &acked, audited) && !killed {
				t.Errorf("child: %s", l)
			}
		})
		if killed {
			kills++
		}
		verifyAfterCrash(t, dir, acked, audited)
		if t.Failed() {
			t.Fatalf("after kill %d (acked through chunk %d); child's stderr:\n%s", kills, acked, stderr)
		}
	}
	if kills < 20 || acked < 5 {
		t.Fatalf("only %d kills and %d chunks acknowledged: the test did not exercise crashes", kills, acked+1)
	}
	t.Logf("%d kills, %d chunks acknowledged", kills, acked+1)
}

// crashLine reads an acknowledgement the child printed, of a chunk's
// commit into acked or of its audit entry into audited, and reports
// whether the line was one.
func crashLine(l string, acked *int, audited map[int]bool) bool {
	if n, found := strings.CutPrefix(l, "ack "); found {
		if k, err := strconv.Atoi(n); err == nil {
			*acked = max(*acked, k)
			return true
		}
	}
	if n, found := strings.CutPrefix(l, "audit "); found {
		if k, err := strconv.Atoi(n); err == nil {
			audited[k] = true
			return true
		}
	}
	return false
}

func verifyAfterCrash(t *testing.T, dir string, acked int, audited map[int]bool) {
	t.Helper()
	opts := graph.DefaultOptions()
	opts.SyncWrites = false
	s, err := graph.Open(dir, opts)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatalf("search index did not catch up: %v", err)
	}
	graphtest.CheckStore(t, s) // includes the search index document count
	err = s.View(graph.System(), func(tx *graph.Tx) error {
		for k := 0; k <= acked+1; k++ {
			present := 0
			objs := crashObjects(t, k)
			for _, o := range objs {
				n, err := tx.NodeByStixID(o.ID)
				if err != nil {
					continue
				}
				want, _ := o.MarshalJSON()
				if string(n.Raw) != string(want) {
					t.Errorf("chunk %d: %s stored as %s", k, o.ID, n.Raw)
				}
				present++
			}
			switch {
			case k <= acked && present != len(objs):
				t.Errorf("acknowledged chunk %d: %d of %d objects present", k, present, len(objs))
			case k > acked && present != 0 && present != len(objs):
				t.Errorf("chunk %d in flight: %d of %d objects present (half-written)", k, present, len(objs))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st := s.IndexStatus()
	if st.Lag != 0 || st.Err != nil {
		t.Errorf("search index lag %d after catch-up, err %v", st.Lag, st.Err)
	}
	// Every audit append that returned is there, and the chain is whole.
	rep, err := s.AuditVerify(ctx)
	if err != nil || !rep.OK() {
		t.Errorf("audit log after the kill: %+v, %v", rep, err)
	}
	logged := map[string]bool{}
	if err := s.AuditEntries(ctx, graph.AuditFilter{}, func(e graph.AuditEntry) bool {
		logged[e.Operation] = true
		return true
	}); err != nil {
		t.Fatal(err)
	}
	for k := range audited {
		if !logged[fmt.Sprintf("crash chunk %d", k)] {
			t.Errorf("the audit entry of chunk %d, appended before the kill, is missing", k)
		}
	}
	if len(logged) < len(audited) {
		t.Errorf("%d audit entries for %d appends that returned", len(logged), len(audited))
	}
}
