package auditseg

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/internal/crashtest"
)

// The crash test appends in a child process (this test binary, re-executed
// into TestCrashChild), kills it with SIGKILL at random moments, and checks
// after every kill that the log opens, that every record whose Append
// returned is there and reads back as written, that nothing follows the
// last record, and that reads by organization (through indexes a kill may
// have left half-written or missing) find what a full scan finds. Segments
// are small, so kills fall while segments are sealed and indexes written.

const (
	crashDirEnv = "VERBAND_AUDITSEG_CRASH_DIR"
	crashSegLen = 16 << 10
)

func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run only as the child of TestCrashSafety")
	}
	l, _, err := Open(dir, Options{SegmentBytes: crashSegLen})
	if err != nil {
		fmt.Printf("open failed: %v\n", err)
		os.Exit(3)
	}
	go func() {
		for {
			if err := l.Sync(); err != nil {
				fmt.Printf("sync failed: %v\n", err)
				os.Exit(3)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	out := bufio.NewWriter(os.Stdout)
	next := max(l.Next(), 1)
	rng := rand.New(rand.NewPCG(next, 3))
	for {
		batch := make([]Record, 1+rng.IntN(12))
		for i := range batch {
			batch[i] = rec(next + uint64(i))
		}
		if err := l.Append(batch...); err != nil {
			fmt.Printf("append failed: %v\n", err)
			os.Exit(3)
		}
		next += uint64(len(batch))
		fmt.Fprintf(out, "ack %d\n", next-1)
		out.Flush()
		// Some thousands of records a second: enough for kills to fall in
		// every step, few enough that the log stays small for the checks.
		time.Sleep(time.Millisecond)
	}
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-executes the test binary; skipped in -short mode")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 9))
	var acked uint64
	for round := range 24 {
		var failure string
		_, stderr := crashtest.Run(t, "TestCrashChild", []string{crashDirEnv + "=" + dir}, time.Duration(30+rng.IntN(200))*time.Millisecond, func(l string, killed bool) {
			n, ok := strings.CutPrefix(l, "ack ")
			if !ok {
				failure += l + "\n"
				return
			}
			got, err := strconv.ParseUint(n, 10, 64)
			if err == nil {
				acked = got
			} else if !killed {
				t.Fatal(err)
			}
		})
		if failure != "" {
			t.Fatalf("round %d: the child failed:\n%s%s", round, failure, stderr)
		}

		l, r, err := Open(dir, Options{SegmentBytes: crashSegLen})
		if err != nil {
			t.Fatalf("round %d: reopen after the kill: %v", round, err)
		}
		last := l.Next() - 1
		if last < acked {
			t.Fatalf("round %d: the log ends at %d, but %d was acknowledged (recovery %+v)", round, last, acked, r)
		}
		// Every record reads back, in order, both ways.
		checkRange(t, collect(t, l, 1, 1<<40, false), 1, last, false)
		checkRange(t, collect(t, l, 1, 1<<40, true), 1, last, true)
		for _, org := range []string{"cert-a", "org-2", "org-6"} {
			f := Filter{Lo: 1, Hi: 1 << 40, Org: org, Reverse: round%2 == 1}
			if got, want := seqs(find(t, l, f)), brute(1, last, f); !slices.Equal(got, want) {
				t.Fatalf("round %d: %s: %d records by its index, %d by a scan", round, org, len(got), len(want))
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		acked = last
	}
	segs, _ := listSegments(dir)
	t.Logf("%d records in %d segments after 24 kills", acked, len(segs))
	if acked < 200 || len(segs) < 5 {
		t.Fatalf("the children appended %d records in %d segments; the kills fell too early to test much", acked, len(segs))
	}
}
