package clusterjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/cluster"
	"github.com/verband-cti/verband/graph/correlate"
	"github.com/verband-cti/verband/ui/report"
)

// Instance is the audience name of the operator's report over everything
// the instance holds (the System viewer).
const Instance = cluster.InstanceAudience

// DefaultKeep is how many snapshots an audience keeps unless Job.Keep says
// otherwise.
const DefaultKeep = 30

// Errors of the package.
var (
	// ErrBusy means Run was called while another Run of the same Job was
	// under way.
	ErrBusy = errors.New("a cluster run is already under way")
	// ErrConfig means the Job cannot run as configured; the error says
	// which field is wrong.
	ErrConfig = errors.New("bad cluster job configuration")
)

// Job is one configuration of the cluster run. Set the fields, then call
// Run as often as needed; fields must not change while a Run is under way.
type Job struct {
	// Store is the store read and written.
	Store *graph.Store
	// Out is the folder reports are written to, one subfolder per
	// audience; "" writes no files (the snapshots are still stored).
	Out string
	// Audiences names the organizations to report for; empty means every
	// enabled organization.
	Audiences []string
	// Instance adds the operator's report over everything (audience
	// Instance, the System viewer).
	Instance bool
	// Options configure the clusters; Correlation the projection.
	Options     cluster.Options
	Correlation correlate.Options
	// Keep is how many snapshots each audience keeps; 0 means DefaultKeep.
	Keep int
	// WebhookURL, when set, receives each report's JSON through Post.
	WebhookURL string
	// RenderHTML, when set, draws each report as a self-contained HTML
	// page written beside its JSON.
	RenderHTML func(io.Writer, *report.Report) error
	// Post sends a report's JSON to a webhook URL (with its own retries);
	// it must be set when WebhookURL is.
	Post func(ctx context.Context, url string, body []byte) error
	// Logger receives one line per audience; nil means slog.Default().
	Logger *slog.Logger
	// Auditor is who runs the job, as the audit log records it: each
	// audience's report is an answer given to that audience, so each is
	// appended to the store's audit log, with the containers it names.
	// The zero value records the role "scheduler".
	Auditor graph.AuditViewer
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu sync.Mutex
}

// Outcome is what one audience's run produced.
type Outcome struct {
	Audience string
	// Report is the document written and posted.
	Report *report.Report
	// JSON and HTML are the files written ("" when none).
	JSON, HTML string
	// Posted says the webhook accepted the report.
	Posted bool
	// Pruned counts the old snapshots removed.
	Pruned int
}

// Validate checks the configuration without running it.
func (j *Job) Validate() error {
	if j.Store == nil {
		return fmt.Errorf("no store: %w", ErrConfig)
	}
	if _, err := j.Options.WithDefaults(); err != nil {
		return fmt.Errorf("cluster options: %w: %w", err, ErrConfig)
	}
	if j.Keep < 0 {
		return fmt.Errorf("keep %d: want at least 1 (0 for the default %d): %w", j.Keep, DefaultKeep, ErrConfig)
	}
	if j.WebhookURL != "" && j.Post == nil {
		return fmt.Errorf("webhook %s: this build has no webhook sender: %w", j.WebhookURL, ErrConfig)
	}
	return nil
}

// audiences returns the audiences of a run, checked against the store's
// organizations.
func (j *Job) audiences() ([]string, error) {
	orgs, err := j.Store.Organizations()
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	known := map[string]graph.Organization{}
	for _, o := range orgs {
		known[o.Name] = o
	}
	var out []string
	if len(j.Audiences) == 0 {
		for _, o := range orgs {
			if o.Enabled() {
				out = append(out, o.Name)
			}
		}
	}
	for _, a := range j.Audiences {
		o, ok := known[a]
		switch {
		case !ok:
			return nil, fmt.Errorf("audience %q: no such organization: %w", a, ErrConfig)
		case !o.Enabled():
			return nil, fmt.Errorf("audience %q: the organization is disabled: %w", a, ErrConfig)
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if j.Instance {
		if _, clash := known[Instance]; clash {
			return nil, fmt.Errorf("an organization is named %q, which is the instance report's audience; rename it or leave out the instance report: %w", Instance, ErrConfig)
		}
		out = append(out, Instance)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no audience: the store has no enabled organization, and the instance report was not asked for: %w", ErrConfig)
	}
	return out, nil
}

// viewer is the viewer an audience's report is computed as.
func viewer(audience string) graph.Viewer {
	if audience == Instance {
		return graph.System()
	}
	return graph.Viewer{Org: audience}
}

// Run runs the job once for every audience. An audience that fails does not
// stop the others: Run returns the outcomes of those that succeeded and
// every failure joined. It fails with ErrBusy when another Run is under way.
func (j *Job) Run(ctx context.Context) ([]Outcome, error) {
	if !j.mu.TryLock() {
		return nil, ErrBusy
	}
	defer j.mu.Unlock()
	if err := j.Validate(); err != nil {
		return nil, err
	}
	audiences, err := j.audiences()
	if err != nil {
		return nil, err
	}
	now := time.Now
	if j.Now != nil {
		now = j.Now
	}
	log := j.Logger
	if log == nil {
		log = slog.Default()
	}
	started := now().UTC()
	runID := cluster.RunID(started)
	var outs []Outcome
	var errs []error
	for _, a := range audiences {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("cluster run %s: %w", runID, err))
			break
		}
		out, err := j.runAudience(ctx, a, runID, started)
		if aerr := j.audit(ctx, a, runID, out, err); aerr != nil {
			// A report the log cannot hold must not stand as given.
			err = errors.Join(err, aerr)
		}
		if err != nil {
			log.Error("cluster run failed", "run", runID, "audience", a, "err", err)
			errs = append(errs, err)
			continue
		}
		r := out.Report
		log.Info("cluster run", "run", runID, "audience", a, "containers", r.Totals.Containers, "clusters", r.Totals.Clusters,
			"new", len(r.Changes.New), "grown", len(r.Changes.Grown), "merged", len(r.Changes.Merged), "split", len(r.Changes.Split),
			"dissolved", len(r.Changes.Dissolved), "new_links", len(r.Changes.NewLinks), "json", out.JSON, "posted", out.Posted)
		outs = append(outs, out)
	}
	return outs, errors.Join(errs...)
}

// audit appends one audience's run to the audit log: the report's run,
// where it went, what it counted, and the STIX ids of the containers it
// names, as an entry concerning the audience.
func (j *Job) audit(ctx context.Context, audience, runID string, out Outcome, runErr error) error {
	who := j.Auditor
	if who.Role == "" {
		who.Role = "scheduler"
	}
	e := graph.AuditEntry{Viewer: who, Operation: "cluster report", Outcome: graph.AuditOK}
	if audience != Instance {
		e.Orgs = []string{audience}
	}
	args := map[string]any{"run": runID, "audience": audience, "json": out.JSON, "html": out.HTML, "posted": out.Posted}
	if j.WebhookURL != "" {
		if u, err := url.Parse(j.WebhookURL); err == nil {
			args["webhook_host"] = u.Host // the URL itself may carry a secret
		}
	}
	var err error
	if e.Args, err = json.Marshal(args); err != nil {
		return fmt.Errorf("audit cluster run %s for %s: %w", runID, audience, err)
	}
	if r := out.Report; r != nil {
		if e.Result, err = json.Marshal(r.Totals); err != nil {
			return fmt.Errorf("audit cluster run %s for %s: %w", runID, audience, err)
		}
		seen := map[string]bool{}
		note := func(id string) {
			if !seen[id] {
				seen[id] = true
				e.IDCount++
				if len(e.IDs) < graph.MaxAuditIDs {
					e.IDs = append(e.IDs, id)
				}
			}
		}
		for _, c := range r.Clusters {
			for _, m := range c.Members {
				note(m.StixID)
			}
		}
		for _, l := range r.Changes.NewLinks {
			note(l.Recent.StixID)
			note(l.Past.StixID)
		}
	}
	if runErr != nil {
		e.Outcome, e.Errors = graph.AuditError, []string{runErr.Error()}
	}
	if _, err := j.Store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		return fmt.Errorf("audit cluster run %s for %s: %w", runID, audience, err)
	}
	return nil
}

// runAudience runs one audience: projection, clusters, snapshot, files and
// webhook.
func (j *Job) runAudience(ctx context.Context, audience, runID string, started time.Time) (Outcome, error) {
	out := Outcome{Audience: audience}
	fail := func(step string, err error) (Outcome, error) {
		return out, fmt.Errorf("cluster run %s for %s: %s: %w", runID, audience, step, err)
	}
	v := viewer(audience)
	p, err := correlate.Build(ctx, j.Store, v, j.Correlation)
	if err != nil {
		return fail("build projection", err)
	}
	res, err := cluster.Compute(ctx, p, j.Options)
	if err != nil {
		return fail("cluster", err)
	}
	first, err := cluster.FirstSeen(ctx, j.Store, v, p)
	if err != nil {
		return fail("read first-seen times", err)
	}
	prev, err := cluster.Latest(j.Store, audience)
	if errors.Is(err, graph.ErrNotFound) {
		prev, err = nil, nil
	}
	if err != nil {
		return fail("read previous snapshot", err)
	}
	maxDF := j.Correlation.MaxDF
	if maxDF <= 0 {
		maxDF = correlate.DefaultMaxDF
	}
	snap := cluster.NewSnapshot(p, res, first, prev, cluster.RunInfo{ID: runID, Audience: audience, Started: started, MaxDF: maxDF})
	if err := cluster.Save(ctx, j.Store, snap); err != nil {
		return fail("store snapshot", err)
	}
	keep := j.Keep
	if keep == 0 {
		keep = DefaultKeep
	}
	if out.Pruned, err = j.Store.PruneRuns(ctx, cluster.Kind, audience, keep); err != nil {
		return fail("prune old snapshots", err)
	}
	out.Report = ToReport(snap)
	body, err := json.MarshalIndent(out.Report, "", "  ")
	if err != nil {
		return fail("encode report", err)
	}
	if j.Out != "" {
		dir := filepath.Join(j.Out, audience)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fail("create report folder", err)
		}
		out.JSON = filepath.Join(dir, runID+".json")
		if err := writeFile(out.JSON, func(w io.Writer) error { _, err := w.Write(append(body, '\n')); return err }); err != nil {
			return fail("write JSON report", err)
		}
		if j.RenderHTML != nil {
			out.HTML = filepath.Join(dir, runID+".html")
			if err := writeFile(out.HTML, func(w io.Writer) error { return j.RenderHTML(w, out.Report) }); err != nil {
				return fail("write HTML report", err)
			}
		}
	}
	if j.WebhookURL != "" {
		if err := j.Post(ctx, j.WebhookURL, body); err != nil {
			return fail("post report to webhook", err)
		}
		out.Posted = true
	}
	return out, nil
}

// writeFile writes a file through a temporary file in the same folder and
// renames it into place, so a reader never sees half a report.
func writeFile(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Chmod(0o640); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
