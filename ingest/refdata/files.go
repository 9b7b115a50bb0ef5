package refdata

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// jsonFiles expands paths into the files to read: a file is taken as it is;
// a directory is walked for *.json files, in lexical order, skipping hidden
// entries and JSON schema files ("schema.json", "_schema.json").
func jsonFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if q != p && strings.HasPrefix(name, ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && strings.HasSuffix(strings.ToLower(name), ".json") && !isSchemaFile(name) {
				found = append(found, q)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walk %s: %w", p, err)
		}
		slices.Sort(found)
		out = append(out, found...)
	}
	return out, nil
}

func isSchemaFile(name string) bool {
	n := strings.ToLower(name)
	return n == "schema.json" || n == "_schema.json"
}

// readAll decodes each file with read, which gets the file's path as the
// name to give in errors.
func readAll[T any](files []string, read func(io.Reader, string) (T, error)) ([]T, error) {
	out := make([]T, 0, len(files))
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		v, err := read(f, p)
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
