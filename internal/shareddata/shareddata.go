// Package shareddata finds the large real-data corpora that live beside the
// repository in ../shared/data, for tests and benchmarks that read them.
//
// The folder is present in CI and on developer machines, and absent on a
// user's fresh clone; tests that need it call Dir, which skips the test with
// a clear message when it cannot be found.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// EnvVar names the environment variable that overrides where the shared data
// folder is looked for.
const EnvVar = "VERBAND_SHARED_DATA"

// Find returns the path of the shared data folder and whether it exists. It
// honours VERBAND_SHARED_DATA, then looks for shared/data beside each parent
// of the working directory, so it works from any package directory.
func Find() (string, bool) {
	if dir := os.Getenv(EnvVar); dir != "" {
		if isDir(dir) {
			return dir, true
		}
		return dir, false
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for dir := wd; ; {
		cand := filepath.Join(dir, "..", "shared", "data")
		if isDir(cand) {
			abs, err := filepath.Abs(cand)
			if err != nil {
				return cand, true
			}
			return abs, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Dir returns the shared data folder joined with elem, or skips the test
// when the folder (or the named entry) is absent.
func Dir(tb testing.TB, elem ...string) string {
	tb.Helper()
	root, ok := Find()
	if !ok {
		tb.Skipf("shared data folder not found (looked for ../shared/data beside the repository, or $%s): skipping test of real corpora", EnvVar)
	}
	p := filepath.Join(append([]string{root}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("shared data entry %s not found: %v", p, err)
	}
	return p
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
