package pattern

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verband-cti/verband/internal/shareddata"
)

// TestSharedDataPatterns parses every indicator pattern in the shared STIX
// corpora (ATT&CK has none) and checks that each prints and parses back.
func TestSharedDataPatterns(t *testing.T) {
	dir := shareddata.Dir(t, "stix")
	n, named := 0, 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var doc struct {
			Objects []struct {
				Type        string `json:"type"`
				Pattern     string `json:"pattern"`
				PatternType string `json:"pattern_type"`
			} `json:"objects"`
		}
		if json.Unmarshal(raw, &doc) != nil {
			return nil // not a bundle (a bare object)
		}
		for _, o := range doc.Objects {
			if o.Type != "indicator" || (o.PatternType != "" && o.PatternType != "stix") {
				continue
			}
			n++
			p, err := Parse(o.Pattern)
			if err != nil {
				t.Errorf("%s: %s: %v", filepath.Base(path), o.Pattern, err)
				continue
			}
			checkRoundTrip(t, o.Pattern, p)
			ids, err := ObservableIDs(o.Pattern)
			if err != nil {
				t.Errorf("%s: ObservableIDs(%s): %v", filepath.Base(path), o.Pattern, err)
			}
			if len(ids) > 0 {
				named++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no indicator patterns found")
	}
	t.Logf("%d indicator patterns parsed, %d name observables", n, named)
}
