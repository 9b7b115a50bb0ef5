package pipeline

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/verband-cti/verband/ingest/lists"
)

// IsBundleFile reports whether a file name looks like JSON that a
// directory walk should pick up (a STIX bundle or object, a MISP event, MISP
// reference data): it ends in ".json" or ".json.gz", in any case, and is not
// a JSON schema ("schema.json", "_schema.json").
func IsBundleFile(name string) bool {
	n := strings.ToLower(name)
	if isSchema(n) {
		return false
	}
	return strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".json.gz")
}

// notData are the base names (without extension, in upper case) of the
// files that come with data sets but hold none: licences and notes.
var notData = map[string]bool{"LICENSE": true, "LICENCE": true, "COPYING": true, "NOTICE": true, "README": true, "CHANGELOG": true, "SOURCES": true, "AUTHORS": true}

// IsInputFile reports whether a directory walk should pick up a file:
// IsBundleFile, or a list file (lists.IsListFile: .txt, .csv, .tsv, .list),
// plain or gzip-compressed, unless its name says it is a licence or a note
// (LICENSE*.txt, README.txt, …).
func IsInputFile(name string) bool {
	if IsBundleFile(name) {
		return true
	}
	if IsNote(name) {
		return false
	}
	n := name
	if strings.HasSuffix(strings.ToLower(n), ".gz") {
		n = n[:len(n)-3]
	}
	return lists.IsListFile(n)
}

// isSchema reports whether a lower-case file name is that of a JSON schema.
func isSchema(n string) bool { return n == "schema.json" || n == "_schema.json" }

// IsNote reports whether a file's name says it is a licence, a note or a
// JSON schema that comes with a data set (LICENSE*.txt, README.adoc,
// NOTICE, schema.json, …).
func IsNote(name string) bool {
	if isSchema(strings.ToLower(name)) {
		return true
	}
	base := strings.ToUpper(name)
	if i := strings.IndexAny(base, ".-_"); i >= 0 {
		base = base[:i]
	}
	return notData[base]
}

// Files expands the command-line arguments of an ingest into the inputs to
// load: a file is taken as it is, whatever its name (its content decides its
// format); a directory that holds a manifest.json is a MISP feed, taken as
// one input; any other directory is walked, and every file under it for
// which IsInputFile holds is taken, in lexical order, as is every MISP feed
// folder below it. Hidden files and directories (names starting with ".")
// are skipped. A path named twice is loaded once. It fails when a path does
// not exist or a directory holds nothing to load.
//
// Skipped lists the other regular files the walks passed over, licences
// and notes aside (IsNote), so that a caller can say what was not loaded
// rather than leave it out silently: hash lists named samples.sha256, say,
// which load when named.
func Files(args []string) (files, skipped []string, err error) {
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
			return nil, nil, fmt.Errorf("find input files: %w", err)
		}
		if !st.IsDir() || isFeed(arg) {
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
			if d.IsDir() && p != arg && isFeed(p) {
				found = append(found, p)
				return filepath.SkipDir
			}
			if d.Type().IsRegular() {
				if IsInputFile(d.Name()) {
					found = append(found, p)
				} else if !IsNote(d.Name()) {
					skipped = append(skipped, p)
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("find input files under %s: %w", arg, err)
		}
		if len(found) == 0 {
			return nil, nil, fmt.Errorf("find input files: nothing to load under %s (no .json, .json.gz, .txt, .csv, .tsv or .list file)", arg)
		}
		slices.Sort(found)
		for _, p := range found {
			add(p)
		}
	}
	skipped = slices.DeleteFunc(skipped, func(p string) bool { return seen[p] })
	slices.Sort(skipped)
	return out, slices.Compact(skipped), nil
}

// isFeed reports whether dir is a MISP feed folder: it holds a
// manifest.json.
func isFeed(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "manifest.json"))
	return err == nil && st.Mode().IsRegular()
}
