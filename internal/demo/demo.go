package demo

//go:generate go run gen_sample.go
//go:generate go run gen_feeds.go

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/correlate"
	"github.com/verband-cti/verband/ingest/pipeline"
	"github.com/verband-cti/verband/ingest/refdata"
	"github.com/verband-cti/verband/internal/clusterjob"
	"github.com/verband-cti/verband/internal/shareddata"
	"github.com/verband-cti/verband/query"
	"github.com/verband-cti/verband/ui"
)

// The embedded sample and its licenses (see sample/NOTICE): ATT&CK, and
// ESET's events, Maltrail's lists and MISP warninglists on the same sets.
//
//go:embed sample/*.json.gz sample/maltrail/*.txt.gz sample/warninglists/*.json.gz sample/LICENSE-*.txt sample/NOTICE
var sampleFS embed.FS

const (
	samplePath = "sample/attack-sample.json.gz"
	esetPath   = "sample/eset-sample.json.gz"
	// demoOrg is the organization of the demo's user.
	demoOrg = "demo"
	// Source is the provenance source name of the demo data.
	Source = "mitre-attack"
)

// sampleTime is when the embedded sample's lists were published (the
// Maltrail commit in sample/NOTICE): an embedded file has no modification
// time to date the objects of a list by.
var sampleTime = time.Date(2026, 8, 23, 0, 0, 0, 0, time.UTC)

// trails returns the file names of the Maltrail families of the sample's
// intrusion sets (APT28, APT29, Turla): those gen_feeds.go embedded under
// sample/maltrail, less ".gz", which the shared data folder's maltrail/
// holds too.
func trails() []string {
	entries, _ := sampleFS.ReadDir("sample/maltrail") // embedded: it exists
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = strings.TrimSuffix(e.Name(), ".gz")
	}
	return out
}

// Dataset is the data a demo loads.
type Dataset struct {
	// Name describes the data for people.
	Name string
	// Paths are files or folders in the shared data folder. Without any,
	// Embedded names files of the embedded sample.
	Paths    []string
	Embedded []string
	// Source is the provenance source name; "" means Source.
	Source string
	// Containers says the data holds containers (reports, MISP events,
	// lists) that share evidence, worth a cluster run after loading.
	Containers bool
}

// Data is what a demo loads.
type Data struct {
	Sets []Dataset
	// Warninglists is a folder of MISP warninglists whose values link no
	// containers, in the cluster run and in the API, or "" for the ones
	// embedded in the sample.
	Warninglists string
}

// PickData returns what a demo loads. From the shared data folder, when it
// is there and useShared is set: ATT&CK Enterprise, ESET's campaigns as
// MISP events and the Maltrail lists of APT28, APT29 and Turla, whose
// shared indicators give the correlation and cluster queries something to
// find, and the MISP warninglists. Otherwise the embedded sample: part of
// ATT&CK around four intrusion sets, ESET's events on them and the same
// Maltrail lists.
func PickData(useShared bool) Data {
	if useShared {
		if root, ok := shareddata.Find(); ok {
			exists := func(dir bool, elem ...string) (string, bool) {
				p := filepath.Join(append([]string{root}, elem...)...)
				st, err := os.Stat(p)
				return p, err == nil && st.IsDir() == dir && (dir || st.Mode().IsRegular())
			}
			if p, ok := exists(false, "attack", "enterprise-attack.json.gz"); ok {
				d := Data{Sets: []Dataset{{Name: "MITRE ATT&CK Enterprise (shared data folder)", Paths: []string{p}}}}
				if eset, ok := exists(true, "eset"); ok {
					d.Sets = append(d.Sets, Dataset{Name: "ESET malware-ioc campaigns (shared data folder)", Paths: []string{eset}, Source: "eset", Containers: true})
				}
				var lists []string
				for _, t := range trails() {
					if p, ok := exists(false, "maltrail", t); ok {
						lists = append(lists, p)
					}
				}
				if len(lists) > 0 {
					d.Sets = append(d.Sets, Dataset{Name: "Maltrail lists of APT28, APT29 and Turla (shared data folder)", Paths: lists, Source: "maltrail", Containers: true})
				}
				if wl, ok := exists(true, "misp", "warninglists"); ok {
					d.Warninglists = wl
				}
				return d
			}
		}
	}
	var lists []string
	for _, t := range trails() {
		lists = append(lists, "sample/maltrail/"+t+".gz")
	}
	return Data{Sets: []Dataset{
		{Name: "MITRE ATT&CK sample embedded in Verband (4 intrusion sets)", Embedded: []string{samplePath}},
		{Name: "ESET's MISP events on those sets, embedded in Verband (12 events)", Embedded: []string{esetPath}, Source: "eset", Containers: true},
		{Name: "Maltrail lists of APT28, APT29 and Turla, embedded in Verband", Embedded: lists, Source: "maltrail", Containers: true},
	}}
}

// SampleLicense returns the license texts of the embedded sample.
func SampleLicense() string {
	var b strings.Builder
	for _, f := range []string{"NOTICE", "LICENSE-ATTACK.txt", "LICENSE-ESET.txt", "LICENSE-MALTRAIL.txt"} {
		t, _ := sampleFS.ReadFile("sample/" + f)
		b.Write(t)
		b.WriteString("\n")
	}
	return b.String()
}

// Load loads the dataset into store with the given loader options (Source
// defaults to the dataset's, or "mitre-attack").
func Load(ctx context.Context, store *graph.Store, d Dataset, opts pipeline.Options) (pipeline.Stats, error) {
	if opts.Source == "" {
		opts.Source = cmp.Or(d.Source, Source)
	}
	l := pipeline.New(store, opts)
	if len(d.Paths) > 0 {
		files, _, err := pipeline.Files(d.Paths)
		if err != nil {
			return pipeline.Stats{}, fmt.Errorf("load demo data: %w", err)
		}
		st, err := l.LoadFiles(ctx, files)
		if err != nil {
			return st, fmt.Errorf("load demo data: %w", err)
		}
		return st, nil
	}
	var streams []pipeline.Stream
	for _, name := range d.Embedded {
		b, err := sampleFS.ReadFile(name)
		if err != nil {
			return pipeline.Stats{}, fmt.Errorf("load demo data: read embedded %s: %w", name, err)
		}
		streams = append(streams, pipeline.Stream{Name: path.Base(name), R: bytes.NewReader(b), Size: int64(len(b)), ModTime: sampleTime})
	}
	st, err := l.LoadStreams(ctx, streams)
	if err != nil {
		return st, fmt.Errorf("load demo data: %w", err)
	}
	return st, nil
}

// LoadSample loads the embedded ATT&CK sample into store.
func LoadSample(ctx context.Context, store *graph.Store, opts pipeline.Options) (pipeline.Stats, error) {
	return Load(ctx, store, Dataset{Embedded: []string{samplePath}}, opts)
}

// warninglists reads the warninglists of data: the shared folder's, or
// the embedded ones.
func warninglists(data Data) (*refdata.Warninglists, error) {
	if data.Warninglists != "" {
		return refdata.LoadWarninglists(data.Warninglists)
	}
	entries, err := sampleFS.ReadDir("sample/warninglists")
	if err != nil {
		return nil, fmt.Errorf("read embedded warninglists: %w", err)
	}
	var lists []*refdata.Warninglist
	for _, e := range entries {
		name := "sample/warninglists/" + e.Name()
		b, err := sampleFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read embedded warninglist %s: %w", name, err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("read embedded warninglist %s: %w", name, err)
		}
		wl, err := refdata.ReadWarninglist(zr, name)
		if err != nil {
			return nil, err
		}
		lists = append(lists, wl)
	}
	return refdata.NewWarninglists(lists...)
}

// Options configure Run.
type Options struct {
	// Addr is the server's listen address. Default query.DefaultAddr.
	Addr string
	// DataDir is where the store goes. Default: a new temporary directory,
	// removed when Run returns unless Keep is set. A given DataDir is never
	// removed.
	DataDir string
	// Keep keeps the temporary data directory.
	Keep bool
	// NoSharedData uses the embedded sample even when the shared data
	// folder is present.
	NoSharedData bool
	// Store holds the store options (encryption, caches). Default
	// graph.DefaultOptions() with Logger.
	Store *graph.Options
	// Out receives the banner: the URL, the data, what to try.
	Out io.Writer
	// Logger receives the server's request logs.
	Logger *slog.Logger
	// Progress receives load progress.
	Progress func(pipeline.Progress)
	// OnReady, when set, is called with the server's URL once it serves.
	OnReady func(url string)
	// Command is how the user runs Verband, for the hints in the banner.
	// Default "verband".
	Command string
}

// Run loads the demo data into a fresh store, serves it until ctx ends, and
// cleans up.
func Run(ctx context.Context, opts Options) (err error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Command == "" {
		opts.Command = "verband"
	}
	dir := opts.DataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "verband-demo-"); err != nil {
			return fmt.Errorf("demo: make data directory: %w", err)
		}
		if !opts.Keep {
			defer func() {
				if rerr := os.RemoveAll(dir); rerr != nil {
					err = errors.Join(err, fmt.Errorf("demo: remove data directory: %w", rerr))
				} else {
					fmt.Fprintf(opts.Out, "Removed %s.\n", dir)
				}
			}()
		}
	}
	sopts := graph.DefaultOptions()
	if opts.Store != nil {
		sopts = *opts.Store
	}
	if sopts.Logger == nil {
		sopts.Logger = opts.Logger
	}
	store, err := graph.Open(dir, sopts)
	if err != nil {
		return fmt.Errorf("demo: open store: %w", err)
	}
	defer func() {
		if cerr := store.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("demo: close store: %w", cerr))
		}
	}()

	data := PickData(!opts.NoSharedData)
	containers := false
	for _, d := range data.Sets {
		fmt.Fprintf(opts.Out, "Loading %s into %s …\n", d.Name, dir)
		st, err := Load(ctx, store, d, pipeline.Options{Progress: opts.Progress})
		if err == nil {
			err = store.WaitIndexed(ctx)
		}
		if ctx.Err() != nil {
			fmt.Fprintln(opts.Out, "Demo stopped while loading.")
			return nil
		}
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		fmt.Fprintf(opts.Out, "Loaded %d objects in %s; all searchable.\n", st.Committed(), st.Duration.Round(1e6))
		containers = containers || d.Containers
	}

	// The API needs a token; the demo makes one for its own user, valid for
	// a day, and prints it.
	if _, err := store.EnsureUser(ctx, graph.UserSpec{Name: "demo", Org: demoOrg, Role: graph.RoleAnalyst}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	_, token, err := store.CreateToken(ctx, graph.TokenSpec{
		User: "demo", Expires: time.Now().Add(24 * time.Hour), Description: "verband demo",
	})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	// Values on the shared MISP warninglists (google.com, public
	// resolvers, …) link no containers, in the API as in the cluster run.
	wl, err := warninglists(data)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	// Nor do customers of one dynamic DNS provider through its domain.
	corr := correlate.Options{Warninglisted: wl.Listed, SharedParent: refdata.BuiltinSharedParents().Has}
	if containers {
		if err := clusterDemo(ctx, store, corr, opts.Out); err != nil {
			return err
		}
	}
	srv := query.NewServer(store, query.ServerOptions{Addr: opts.Addr, Logger: opts.Logger, Correlation: corr})
	ui.Mount(srv)
	if err := srv.Listen(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	banner(opts.Out, store, srv.URL(), dir, token, opts)
	if opts.OnReady != nil {
		opts.OnReady(srv.URL())
	}
	if err := srv.Run(ctx); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintln(opts.Out, "Demo stopped.")
	return nil
}

// clusterDemo runs the cluster job once for the demo's organization, as
// "verband cluster run" would, so that the playground's clusters query
// has a run to show.
func clusterDemo(ctx context.Context, store *graph.Store, corr correlate.Options, out io.Writer) error {
	job := &clusterjob.Job{Store: store, Audiences: []string{demoOrg}, Correlation: corr, Logger: slog.New(slog.DiscardHandler)}
	outs, err := job.Run(ctx)
	if err != nil {
		return fmt.Errorf("demo: cluster run: %w", err)
	}
	for _, o := range outs {
		t := o.Report.Totals
		fmt.Fprintf(out, "Clustered %d containers sharing evidence: %s, %s.\n", t.Containers, count(t.Links, "link"), count(t.Clusters, "cluster"))
	}
	return nil
}

// banner prints where the server is, a glimpse of the graph, and what to
// try next.
func banner(w io.Writer, store *graph.Store, url, dir, token string, opts Options) {
	fmt.Fprintf(w, "\nVerband demo is running at %s\n\n", url)
	fmt.Fprintf(w, "  curl %s/healthz\n\n", url)
	fmt.Fprintf(w, "Playground (GraphiQL, works offline), signed in for 24 hours; its example tabs are\n"+
		"filled in with objects of this demo (search, neighbourhood, paths, correlations, clusters):\n\n  %s/playground#token=%s\n\n", url, token)
	fmt.Fprintf(w, "GraphQL API token for this demo (user demo, analyst, valid 24 hours):\n\n  %s\n\n", token)
	fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \\\n"+
		"    -d '{\"query\":\"{ search(query: \\\"APT28\\\", first: 3) { totalCount edges { node { stixId type } } } }\"}' %s/graphql\n\n", token, url)
	example := glimpse(w, store)
	if example == "" {
		example = "<id from search>"
	}
	keep := "it is removed when the demo stops; run with --keep to keep it"
	if opts.Keep || opts.DataDir != "" {
		keep = "it is kept when the demo stops"
	}
	fmt.Fprintf(w, "Data directory: %s (%s).\n", dir, keep)
	fmt.Fprintf(w, "The store is locked while the demo runs. To explore it with the CLI, run the demo with\n"+
		"--keep, stop it with Ctrl-C, then for example:\n\n")
	for _, c := range []string{`search "spearphishing attachment"`, `search --type campaign,intrusion-set ukraine`, "neighbours --depth 2 --edge-type uses --limit 30 " + example, `check`} {
		fmt.Fprintf(w, "  %s --data-dir %s %s\n", opts.Command, dir, c)
	}
	fmt.Fprintf(w, "\nThe graph explorer comes in a later release. Press Ctrl-C to stop.\n")
}

// glimpse shows the node counts and one intrusion set with its neighbours.
func glimpse(w io.Writer, store *graph.Store) (example string) {
	v := graph.System()
	res, serr := store.Search(context.Background(), v, graph.SearchQuery{Text: "APT29", Types: []string{"intrusion-set"}, Size: 1})
	err := store.View(v, func(tx *graph.Tx) error {
		types, terr := tx.Types()
		if terr != nil {
			return terr
		}
		fmt.Fprintln(w, "In the graph:")
		slices.SortFunc(types, func(a, b graph.TypeCount) int { return cmp.Compare(b.Count, a.Count) })
		line := ""
		for i, t := range types {
			if t.Count == 0 {
				continue
			}
			part := fmt.Sprintf("%d %s", t.Count, t.Type)
			if i < len(types)-1 {
				part += ","
			}
			if line != "" && len(line)+len(part) > 76 {
				fmt.Fprintln(w, line)
				line = ""
			}
			if line == "" {
				line = " "
			}
			line += " " + part
		}
		fmt.Fprintf(w, "%s\n\n", line)
		if serr != nil || len(res.Hits) == 0 {
			return nil
		}
		n, nerr := tx.Node(res.Hits[0].ID)
		if nerr != nil {
			return nerr
		}
		counts := map[string]int{}
		qerr := tx.Neighbours(n.ID, graph.NeighbourQuery{Dir: graph.Out, EdgeTypes: []string{"uses"}}, func(e graph.Edge) bool {
			if m, err := tx.Node(e.To); err == nil {
				counts[m.Type]++
			}
			return true
		})
		if qerr != nil {
			return qerr
		}
		example = n.StixID
		fmt.Fprintf(w, "For example %s (%s) uses:\n", name(n), n.StixID)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, t := range []string{"attack-pattern", "malware", "tool"} {
			fmt.Fprintf(tw, "  %s\t%d\n", t, counts[t])
		}
		tw.Flush()
		fmt.Fprintln(w)
		return nil
	})
	if err != nil {
		fmt.Fprintf(w, "(could not read the graph: %v)\n", err)
	}
	return example
}

// count says n things, in the plural unless n is one.
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// name returns a node's name, or its STIX id.
func name(n *graph.Node) string {
	if o, err := n.Object(); err == nil {
		if s, ok := o.String("name"); ok {
			return s
		}
	}
	return n.StixID
}
