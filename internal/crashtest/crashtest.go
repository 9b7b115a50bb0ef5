package crashtest

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Run starts the test binary re-executed into the test named child (run
// alone, once), with env added to its environment. It calls line with each
// line the child prints to stdout, in the caller's goroutine, until after
// has passed or the child's output ends; then it kills the child with
// SIGKILL and calls line with what the child printed before it died
// (killed true: such a line may be cut short). It waits for the child and
// returns whether the kill was sent and what the child wrote to stderr.
// If line stops the test (t.Fatal), the child is killed all the same.
func Run(t testing.TB, child string, env []string, after time.Duration, line func(l string, killed bool)) (killed bool, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	var errOut strings.Builder
	cmd.Stderr = &errOut
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	stopped := false
	defer func() {
		if !stopped { // line stopped the test
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	deadline := time.After(after)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				break wait
			}
			line(l, false)
		case <-deadline:
			break wait
		}
	}
	killed = cmd.Process.Signal(syscall.SIGKILL) == nil
	for l := range lines {
		line(l, true)
	}
	_ = cmd.Wait()
	stopped = true
	return killed, errOut.String()
}
