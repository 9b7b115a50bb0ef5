package correlate_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/correlate"
	"github.com/verband-cti/verband/ingest/refdata"
)

func TestScratch(t *testing.T) {
	opts := graph.DefaultOptions()
	s, err := graph.Open("/tmp/corr/real", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	files, _ := filepath.Glob("/work/shared/data/misp/warninglists/[a-z]*.json")
	wl, err := refdata.LoadWarninglists(files...)
	if err != nil {
		t.Fatal(err)
	}
	co := correlate.DefaultOptions()
	co.Warninglisted = func(typ, v string) (string, bool) {
		m := wl.Match(typ, v)
		if len(m) == 0 {
			return "", false
		}
		return m[0].Name, true
	}
	v := graph.Viewer{Org: "ncsc", User: "x"}
	t0 := time.Now()
	p, err := correlate.Build(context.Background(), s, v, co)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("build", time.Since(t0), fmt.Sprintf("%+v", p.Stats()))
	for i := int32(0); i < int32(p.Len()); i++ {
		c := p.Container(i)
		if !strings.HasPrefix(c.Name, "eset/gamaredon") && !strings.HasPrefix(c.Name, "eset/sednit") && !strings.Contains(c.Name, "Turla") {
			continue
		}
		r, err := p.Correlate(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("== %s (%s) ev=%d related=%d sup=%d\n", c.Name, c.Type, c.Evidence, len(r.Related), len(r.Suppressed))
		for j, rel := range r.Related {
			if j >= 6 {
				break
			}
			rules := map[correlate.Rule]int{}
			for _, e := range rel.Evidence {
				rules[e.Rule]++
			}
			var rs []string
			for k, n := range rules {
				rs = append(rs, fmt.Sprintf("%s=%d", k, n))
			}
			sort.Strings(rs)
			fmt.Printf("   %.2f %s [%s] ev=%d %v first=%s\n", rel.Score, rel.Container.Name, rel.Container.Type, len(rel.Evidence), rs, rel.Evidence[0].Key)
		}
	}
}
