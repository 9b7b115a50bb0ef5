package detect_test

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/verband-cti/verband/ingest/detect"
	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/internal/shareddata"
)

// collectMaltrail decodes every shared maltrail file and collects its
// indicators and observables.
func collectMaltrail(tb testing.TB) (*detect.Collector, int) {
	tb.Helper()
	dir := shareddata.Dir(tb, "maltrail")
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no maltrail files: %v", err)
	}
	c := detect.NewCollector(detect.Options{Observables: true})
	objects := 0
	for _, f := range files {
		dec, err := lists.Open(f, lists.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		for {
			o, err := dec.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				tb.Fatal(err)
			}
			objects++
			c.Add(o, detect.Origin{Source: "maltrail"})
		}
		dec.Close()
	}
	return c, objects
}

// TestMaltrailExports writes every maltrail trail as Suricata rules and a
// Zeek intel file and checks each line against the formats.
func TestMaltrailExports(t *testing.T) {
	c, _ := collectMaltrail(t)
	entries := c.Entries()
	reasons := map[string]int{}
	for _, s := range c.Skipped() {
		switch {
		case errors.Is(s.Reason, detect.ErrNotSimple):
			reasons["not simple (path trails)"]++
		case errors.Is(s.Reason, detect.ErrReserved):
			reasons["reserved"]++
			t.Logf("left out: %s", s)
		default:
			t.Errorf("unexpected skip %s", s)
		}
	}
	var rules, intel bytes.Buffer
	sres, err := detect.WriteSuricata(&rules, entries, detect.SuricataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := validateSuricataFile(rules.String())
	if err != nil {
		t.Fatal(err)
	}
	zres, err := detect.WriteZeek(&intel, entries, detect.ZeekOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := validateZeekFile(intel.String())
	if err != nil {
		t.Fatal(err)
	}
	if n != sres.Rules || m != zres.Lines || n < 150_000 || m < 150_000 {
		t.Errorf("%d rules (%d written), %d intel lines (%d written)", n, sres.Rules, m, zres.Lines)
	}
	t.Logf("%d entries, %d Suricata rules, %d Zeek lines; skipped %v", len(entries), n, m, reasons)
}
