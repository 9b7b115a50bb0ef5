package pipeline

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// IsBundleFile reports whether a file name looks like a STIX bundle that a
// directory walk should pick up: it ends in ".json" or ".json.gz", in any
// case.
func IsBundleFile(name string) bool {
	n := strings.ToLower(name)
	return strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".json.gz")
}

// Files expands the command-line arguments of an ingest into the files to
// load: a file is taken as it is, whatever its name; a directory is walked,
// and every file under it for which IsBundleFile holds is taken, in lexical
// order. Hidden files and directories (names starting with ".") are
// skipped. A path named twice is loaded once. It fails when a path does not
// exist or a directory holds no bundle file.
func Files(args []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, arg := range args {
		st, err := os.Stat(arg)
		if err != nil {
			return nil, fmt.Errorf("find input files: %w", err)
		}
		if !st.IsDir() {
			add(filepath.Clean(arg))
			continue
		}
		var found []string
		err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != arg && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && IsBundleFile(d.Name()) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("find input files under %s: %w", arg, err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("find input files: no .json or .json.gz file under %s", arg)
		}
		slices.Sort(found)
		for _, p := range found {
			add(p)
		}
	}
	return out, nil
}
