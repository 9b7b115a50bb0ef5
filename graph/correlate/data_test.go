package correlate_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/cluster"
	"github.com/verband-cti/verband/graph/correlate"
	"github.com/verband-cti/verband/ingest/pipeline"
	"github.com/verband-cti/verband/ingest/refdata"
	"github.com/verband-cti/verband/internal/shareddata"
	"github.com/verband-cti/verband/schema"
)

// The real-data store is loaded once per test binary (the load takes half
// a minute) and removed by TestMain.
var realData struct {
	once  sync.Once
	dir   string
	store *graph.Store
	wl    *refdata.Warninglists
	took  time.Duration
	err   error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if realData.store != nil {
		if err := realData.store.Close(); err != nil {
			code = 1
		}
	}
	if realData.dir != "" {
		os.RemoveAll(realData.dir)
	}
	os.Exit(code)
}

// loadSharedData loads ../shared/data into a store in a temporary folder,
// the first time it is called: MITRE ATT&CK, the Maltrail families (source
// "maltrail"), the MISP events and galaxies, the STIX examples and every
// file of each ESET campaign folder (source "eset/<campaign>"; the
// AsciiDoc IoC tables are read as plain lists, line by line, with lines
// that hold no indicator skipped). It loads the MISP warninglists for the
// correlation, not into the store: they are reference data.
func loadSharedData(t *testing.T) (*graph.Store, *refdata.Warninglists) {
	t.Helper()
	root := shareddata.Dir(t)
	realData.once.Do(func() { realData.err = loadInto(root) })
	if realData.err != nil {
		t.Fatalf("load shared data: %v", realData.err)
	}
	t.Logf("shared data loaded in %s", realData.took.Round(time.Millisecond))
	return realData.store, realData.wl
}

func loadInto(root string) error {
	start := time.Now()
	dir, err := os.MkdirTemp("", "verband-correlate-")
	if err != nil {
		return err
	}
	realData.dir = dir
	opts := graph.DefaultOptions()
	opts.SyncWrites = false
	s, err := graph.Open(dir, opts)
	if err != nil {
		return err
	}
	realData.store = s
	ctx := context.Background()
	load := func(source string, paths ...string) error {
		_, err := pipeline.New(s, pipeline.Options{Source: source, OnError: pipeline.Skip}).LoadFiles(ctx, paths)
		if err != nil {
			return errors.New(source + ": " + err.Error())
		}
		return nil
	}
	for _, l := range []struct{ source, path string }{
		{"mitre-attack", "attack"}, {"maltrail", "maltrail"}, {"misp", "misp/events"}, {"misp-galaxy", "misp/galaxy/threat-actor.json"},
		{"misp-galaxy", "misp/galaxy/botnet.json"}, {"stix", "stix"},
	} {
		files, _, err := pipeline.Files([]string{filepath.Join(root, l.path)})
		if err != nil {
			return err
		}
		files = dropLicenses(files)
		if err := load(l.source, files...); err != nil {
			return err
		}
	}
	campaigns, err := os.ReadDir(filepath.Join(root, "eset"))
	if err != nil {
		return err
	}
	for _, c := range campaigns {
		if !c.IsDir() {
			continue
		}
		var files []string
		err := filepath.WalkDir(filepath.Join(root, "eset", c.Name()), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			return err
		}
		if err := load("eset/"+c.Name(), dropLicenses(files)...); err != nil {
			return err
		}
	}
	if realData.wl, err = refdata.LoadWarninglists(filepath.Join(root, "misp", "warninglists")); err != nil {
		return err
	}
	realData.took = time.Since(start)
	return nil
}

func dropLicenses(files []string) []string {
	out := files[:0]
	for _, f := range files {
		if !strings.HasPrefix(filepath.Base(f), "LICENSE") && filepath.Base(f) != "SOURCES.md" {
			out = append(out, f)
		}
	}
	return out
}

// TestSharedData correlates the real corpus as an analyst of an
// organization sees it, with the warninglists and the built-in shared
// parents as the server uses them: each ESET campaign's containers must be
// related, above every other Maltrail family, to the family that tracks
// the same actor, no warninglisted value may be evidence of any link, and
// no dynamic DNS or free hosting domain on the shared-parents list may
// link customers of its provider.
func TestSharedData(t *testing.T) {
	s, wl := loadSharedData(t)
	listed := wl.Listed
	opts := correlate.DefaultOptions()
	opts.Warninglisted = listed
	shared := refdata.BuiltinSharedParents()
	opts.SharedParent = shared.Has
	analyst := graph.Viewer{Org: "ncsc", User: "analyst"}
	p := build(t, s, analyst, opts)
	st := p.Stats()
	t.Logf("projection built in %s: %d containers (%d observed-data folded), %d evidence objects, %d values (%d linking), %d links, suppressed %v",
		st.Took.Round(time.Millisecond), st.Containers, st.Folded, st.Evidence, st.Keys, st.Linking, st.Links, st.Suppressed)
	if st.Suppressed[correlate.ReasonWarninglist] == 0 {
		t.Error("no value of the corpus is on a warninglist; the check below would prove nothing")
	}

	// Which campaign or family each container belongs to.
	campaign := map[graph.ID]string{}
	err := s.View(analyst, func(tx *graph.Tx) error {
		for i := int32(0); i < int32(p.Len()); i++ {
			c := p.Container(i)
			n, err := tx.Node(c.ID)
			if err != nil {
				return err
			}
			for _, pr := range n.Provenance {
				if strings.HasPrefix(pr.Source, "eset/") {
					campaign[c.ID] = strings.TrimPrefix(pr.Source, "eset/")
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	family := func(c correlate.Container) string {
		if f, ok := strings.CutPrefix(c.Name, "maltrail: "); ok {
			return strings.TrimSuffix(strings.Fields(f)[0], ".txt")
		}
		return ""
	}

	for eset, want := range map[string]string{"gamaredon": "apt_gamaredon", "oceanlotus": "apt_oceanlotus", "turla": "apt_turla", "sednit": "apt_sofacy"} {
		scores := map[string]float64{}
		for id, c := range campaign {
			if c != eset {
				continue
			}
			res, err := p.Correlate(id)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res.Related {
				if f := family(r.Container); f != "" {
					scores[f] += r.Score
				}
			}
		}
		fams := make([]string, 0, len(scores))
		for f := range scores {
			fams = append(fams, f)
		}
		sort.Slice(fams, func(i, j int) bool { return scores[fams[i]] > scores[fams[j]] })
		if len(fams) == 0 || fams[0] != want {
			t.Errorf("ESET %s: Maltrail families by score %v (scores %v), want %s first", eset, fams, scores, want)
			continue
		}
		t.Logf("ESET %s: %s first with %.1f, next %v", eset, want, scores[want], fams[1:min(4, len(fams))])
	}

	// No warninglisted value is evidence of any link (every correlation's
	// evidence is some link's), nor the value of a member that gave it.
	checked, members := 0, map[graph.ID]bool{}
	for _, l := range p.Links() {
		for _, ev := range l.Evidence {
			checked++
			if list, ok := listed(ev.Kind, ev.Value); ok {
				t.Errorf("%s links %s and %s although it is on %q", ev.Key, p.Container(l.A).Name, p.Container(l.B).Name, list)
			}
			if ev.Kind == "domain-name" && shared.Has(ev.Value) {
				t.Errorf("%s links %s and %s although it is a shared parent", ev.Key, p.Container(l.A).Name, p.Container(l.B).Name)
			}
			for _, m := range append(slices.Clone(ev.Here), ev.There...) {
				members[m] = true
			}
		}
	}
	if checked == 0 {
		t.Fatal("no evidence at all")
	}
	err = s.View(analyst, func(tx *graph.Tx) error {
		for m := range members {
			n, err := tx.Node(m)
			if err != nil {
				return err
			}
			o, err := n.Object()
			if err != nil {
				return err
			}
			typ := n.Type
			if typ == "artifact" {
				typ = "file"
			}
			for _, v := range schema.IndexValues(o) {
				if list, ok := listed(typ, v); ok {
					t.Errorf("member %s (%s) gives evidence although it is on %q", n.StixID, v, list)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d pieces of evidence and %d member objects checked against the warninglists", checked, len(members))
	res := checkSharedClusters(t, s, analyst, p, campaign, family, listed)

	// Lazarus shares dynamic DNS providers (linkpc.net, publicvm.com,
	// mooo.com, …) with a dozen commodity RAT families; through them alone
	// it would share their cluster.
	clusterOf := map[string]int32{}
	for i := int32(0); i < int32(p.Len()); i++ {
		if f := family(p.Container(i)); f != "" && res.Of[i] >= 0 {
			clusterOf[f] = res.Of[i]
		}
	}
	for _, rat := range []string{"luminositylinkrat", "nanocore", "quasarrat", "remcos", "netwire", "adwind"} {
		if c, ok := clusterOf["apt_lazarus"]; ok && clusterOf[rat] == c {
			t.Errorf("apt_lazarus shares cluster %d with the commodity RAT family %s", c, rat)
		}
	}
}

// checkSharedClusters runs the cluster report over the shared data's
// projection (issue 6, point 7): each ESET campaign shares a cluster with
// its Maltrail family, and no value on a warninglist is evidence of any
// link the report shows, bridges or new links included. It returns the
// clusters, for further checks.
func checkSharedClusters(t *testing.T, s *graph.Store, v graph.Viewer, p *correlate.Projection, campaign map[graph.ID]string,
	family func(correlate.Container) string, listed func(typ, value string) (string, bool)) *cluster.Result {
	ctx := context.Background()
	start := time.Now()
	res, err := cluster.Compute(ctx, p, cluster.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	first, err := cluster.FirstSeen(ctx, s, v, p)
	if err != nil {
		t.Fatal(err)
	}
	snap := cluster.NewSnapshot(p, res, first, nil, cluster.RunInfo{ID: cluster.RunID(start), Audience: "ncsc", Started: start})
	t.Logf("clusters in %s: %d clusters over %d links, %d singletons", time.Since(start).Round(time.Millisecond), len(res.Clusters), res.Links, res.Singletons)
	for eset, want := range map[string]string{"gamaredon": "apt_gamaredon", "oceanlotus": "apt_oceanlotus", "turla": "apt_turla", "sednit": "apt_sofacy"} {
		together := false
		for id, c := range campaign {
			i, ok := p.Index(id)
			if c != eset || !ok || res.Of[i] < 0 {
				continue
			}
			for _, m := range res.Clusters[res.Of[i]].Members {
				together = together || family(p.Container(m)) == want
			}
		}
		if !together {
			t.Errorf("ESET %s shares no cluster with Maltrail %s", eset, want)
		}
	}
	check := func(where, kind, value string) {
		if list, ok := listed(kind, value); ok {
			t.Errorf("%s: %s:%s is on %q", where, kind, value, list)
		}
	}
	for _, c := range snap.Clusters {
		for _, l := range c.Links {
			for _, e := range l.Evidence {
				check("cluster "+c.ID+" link", e.Kind, e.Value)
			}
		}
		for _, b := range c.Bridges {
			check("cluster "+c.ID+" bridge", b.Kind, b.Value)
		}
	}
	for _, nl := range snap.Changes.NewLinks {
		for _, e := range nl.Evidence {
			check("new link", e.Kind, e.Value)
		}
	}
	return res
}
