package misp

import (
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/internal/shareddata"
	"github.com/verband-cti/verband/schema"
)

// decoded is everything a source yielded.
type decoded struct {
	objs  []*schema.Object
	hints []ingest.Hints
	errs  []*ingest.ObjectError
}

func (d decoded) byType(typ string) []*schema.Object {
	var out []*schema.Object
	for _, o := range d.objs {
		if o.Type == typ {
			out = append(out, o)
		}
	}
	return out
}

func (d decoded) byID(id string) *schema.Object {
	for _, o := range d.objs {
		if o.ID == id {
			return o
		}
	}
	return nil
}

// drain reads a source to its end; it fails the test on an error that is
// not an *ingest.ObjectError, and on a source that does not end.
func drain(t testing.TB, s ingest.Source) decoded {
	t.Helper()
	var d decoded
	for i := 0; ; i++ {
		if i > 1_000_000 {
			t.Fatalf("%s: source does not end", s.Name())
		}
		o, err := s.Next()
		if err == io.EOF {
			return d
		}
		if err != nil {
			var oe *ingest.ObjectError
			if !errors.As(err, &oe) {
				t.Fatalf("%s: error %v (%T) is not an *ingest.ObjectError", s.Name(), err, err)
			}
			d.errs = append(d.errs, oe)
			if ingest.IsFatal(err) {
				if _, err := s.Next(); err == nil || err == io.EOF {
					t.Fatalf("%s: Next after a fatal error returned %v, want the error again", s.Name(), err)
				}
				return d
			}
			continue
		}
		d.objs = append(d.objs, o)
		if h, ok := s.(ingest.Hinter); ok {
			d.hints = append(d.hints, h.Hints())
		}
	}
}

func decodeString(t testing.TB, name, input string) decoded {
	t.Helper()
	s, err := NewSource(strings.NewReader(input), name, Options{})
	if err != nil {
		var oe *ingest.ObjectError
		if errors.As(err, &oe) {
			return decoded{errs: []*ingest.ObjectError{oe}}
		}
		t.Fatalf("NewSource: %v", err)
	}
	return drain(t, s)
}

func decodeFile(t testing.TB, path string) decoded {
	t.Helper()
	s, c, err := OpenFile(path, Options{})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer c.Close()
	return drain(t, s)
}

// mispFiles returns every MISP JSON file of the shared data: the events
// under misp/events and the MISP files under eset (found with DetectFile,
// which the test checks against the names).
func mispFiles(t testing.TB) []string {
	t.Helper()
	events := shareddata.Dir(t, "misp", "events")
	eset := shareddata.Dir(t, "eset")
	files, err := filepath.Glob(filepath.Join(events, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var esetFiles []string
	err = filepath.WalkDir(eset, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n := strings.ToLower(d.Name())
		if !d.IsDir() && (strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".json.gz")) {
			esetFiles = append(esetFiles, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(esetFiles)
	return append(files, esetFiles...)
}
