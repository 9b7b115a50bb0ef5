package textindex

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	crashDirEnv  = "TEXTINDEX_CRASH_DIR"
	crashBatch   = 200 // new documents per batch: DocCount = crashBatch × HWM
	crashRewrite = 20  // earlier documents re-indexed per batch
)

// TestCrashConsistency SIGKILLs a child process that applies batches as fast
// as it can, at a random moment, then reopens its index: the index must
// open with a high-water mark that matches its documents exactly and is not
// behind the last DurableHWM the child reported (or, which has not been
// seen, report ErrCorrupt).
func TestCrashConsistency(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 2; round++ {
		dir := filepath.Join(t.TempDir(), "ix")
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashConsistency$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		mustDo(t, err)
		mustDo(t, cmd.Start())

		killAfter := 5 + rng.IntN(30)
		var lines int
		var durable uint64
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 2 || f[0] != "durable" {
				continue
			}
			d, _ := strconv.ParseUint(f[1], 10, 64)
			durable = d
			if lines++; lines == killAfter {
				break
			}
		}
		mustDo(t, cmd.Process.Kill())
		_ = cmd.Wait()
		if lines < killAfter {
			t.Fatalf("round %d: child stopped after %d batches", round, lines)
		}

		ix, err := Open(dir, testOptions())
		if errors.Is(err, ErrCorrupt) {
			t.Logf("round %d: killed after %d batches, reopened as corrupt: %v", round, lines, err)
			continue
		}
		mustDo(t, err)
		h, herr := ix.HWM()
		n, nerr := ix.DocCount()
		mustDo(t, errors.Join(herr, nerr, ix.Close()))
		t.Logf("round %d: killed after %d batches; reopened at HWM %d (last reported durable %d) with %d documents", round, lines, h, durable, n)
		if n != h*crashBatch {
			t.Errorf("round %d: HWM %d but %d documents, want %d", round, h, n, h*crashBatch)
		}
		if h < durable {
			t.Errorf("round %d: reopened at HWM %d, behind the reported durable %d", round, h, durable)
		}
	}
}

// crashChild applies batches until it is killed, printing DurableHWM after
// each one.
func crashChild(dir string) {
	opts := DefaultOptions()
	opts.PersisterNap = 20 * time.Millisecond
	ix, err := Open(dir, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	deadline := time.Now().Add(60 * time.Second)
	for hwm := uint64(1); time.Now().Before(deadline); hwm++ {
		docs := make([]Doc, 0, crashBatch+crashRewrite)
		for i := uint64(0); i < crashBatch; i++ {
			id := (hwm-1)*crashBatch + i + 1
			docs = append(docs, Doc{ID: id, Type: "domain-name", Class: uint32(id % 3), Keywords: []string{fmt.Sprintf("host%d.example", id)}})
		}
		for i := 0; i < crashRewrite && hwm > 1; i++ {
			id := rand.Uint64N((hwm-1)*crashBatch) + 1
			docs = append(docs, Doc{ID: id, Type: "domain-name", Class: 1, Keywords: []string{fmt.Sprintf("host%d.example", id)}, Name: "rewritten"})
		}
		if err := ix.Apply(docs, nil, hwm); err != nil {
			fmt.Fprintln(os.Stderr, "child apply:", err)
			os.Exit(2)
		}
		fmt.Printf("durable %d\n", ix.DurableHWM())
		time.Sleep(2 * time.Millisecond)
	}
	os.Exit(3)
}
