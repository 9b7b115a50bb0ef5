package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/cluster"
	"github.com/verband-cti/verband/graph/correlate"
	"github.com/verband-cti/verband/internal/clusterjob"
	"github.com/verband-cti/verband/internal/webhook"
	"github.com/verband-cti/verband/ui/report"
)

// clusterFlags are the settings of a cluster run, shared by `verband
// cluster run` and the schedule of `verband serve`.
type clusterFlags struct {
	out       string
	audiences []string
	instance  bool
	opts      cluster.Options
	keep      int
	webhook   string
	// webhookSecretFile holds the key that signs each post (see
	// webhook.SignatureHeader).
	webhookSecretFile string
}

// add defines the flags on f, each name prefixed with prefix.
func (c *clusterFlags) add(f *pflag.FlagSet, prefix string) {
	f.StringVar(&c.out, prefix+"out", "./verband-reports", "folder the reports are written to, one subfolder per audience")
	f.StringSliceVar(&c.audiences, prefix+"audience", nil, "organizations to report for (default: every enabled organization)")
	f.BoolVar(&c.instance, prefix+"instance", false, `also write the operator's report over everything the instance holds (audience "instance")`)
	f.Float64Var(&c.opts.MinScore, prefix+"min-score", cluster.DefaultMinScore, "link score below which links join no cluster")
	f.IntVar(&c.opts.LouvainAbove, prefix+"louvain-above", cluster.DefaultLouvainAbove, "component size above which Louvain splits a component into communities")
	f.Float64Var(&c.opts.Resolution, prefix+"resolution", 1, "Louvain resolution: above 1 gives more, smaller communities")
	f.Uint64Var(&c.opts.Seed, prefix+"seed", 1, "seed of Louvain and of sampled betweenness (the same data and seed give the same clusters)")
	f.Float64Var(&c.opts.MinOverlap, prefix+"min-overlap", cluster.DefaultMinOverlap, "Jaccard member overlap a cluster needs to keep the id of a cluster of the previous run")
	f.IntVar(&c.opts.RecentDays, prefix+"recent-days", 7, "new links are reported between containers first seen within this many days of the run…")
	f.IntVar(&c.opts.PastDays, prefix+"past-days", 30, "…and containers first seen more than this many days before it")
	f.IntVar(&c.keep, prefix+"keep", clusterjob.DefaultKeep, "snapshots kept per audience in the store")
	f.StringVar(&c.webhook, prefix+"webhook", "", "URL to POST each report's JSON to (retried with backoff on network errors, 429 and 5xx)")
	f.StringVar(&c.webhookSecretFile, prefix+"webhook-secret-file", "", "file holding a key that signs each post: header "+webhook.SignatureHeader+" is sha256= and the hex HMAC-SHA256 of the body")
}

// job returns the job the flags describe over the app's store, or a usage
// error naming a flag out of range; auditor is who the audit log records as
// running it.
func (c *clusterFlags) job(prefix string, corr correlate.Options, log *slog.Logger, auditor graph.AuditViewer) (*clusterjob.Job, error) {
	if c.opts.MinScore <= 0 {
		return nil, usagef("--%smin-score %v: want a score above 0", prefix, c.opts.MinScore)
	}
	if c.opts.Resolution <= 0 {
		return nil, usagef("--%sresolution %v: want a number above 0", prefix, c.opts.Resolution)
	}
	if c.opts.MinOverlap <= 0 || c.opts.MinOverlap > 1 {
		return nil, usagef("--%smin-overlap %v: want a share in (0, 1]", prefix, c.opts.MinOverlap)
	}
	if c.opts.LouvainAbove < 1 || c.opts.RecentDays < 1 || c.opts.PastDays < 1 || c.keep < 1 {
		return nil, usagef("--%slouvain-above, --%srecent-days, --%spast-days and --%skeep must be at least 1", prefix, prefix, prefix, prefix)
	}
	if c.webhook != "" {
		u, err := url.Parse(c.webhook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, usagef("--%swebhook %q: want an http or https URL", prefix, c.webhook)
		}
	}
	var wopts webhook.Options
	if c.webhookSecretFile != "" {
		if c.webhook == "" {
			return nil, usagef("--%swebhook-secret-file needs --%swebhook", prefix, prefix)
		}
		secret, err := os.ReadFile(c.webhookSecretFile)
		if err != nil {
			return nil, usagef("--%swebhook-secret-file: %w", prefix, err)
		}
		if wopts.Secret = bytes.TrimSpace(secret); len(wopts.Secret) == 0 {
			return nil, usagef("--%swebhook-secret-file %s is empty", prefix, c.webhookSecretFile)
		}
	}
	post := func(ctx context.Context, url string, body []byte) error { return webhook.Post(ctx, url, body, wopts) }
	return &clusterjob.Job{Out: c.out, Audiences: c.audiences, Instance: c.instance, Options: c.opts, Correlation: corr,
		Keep: c.keep, WebhookURL: c.webhook, RenderHTML: report.HTML, Post: post, Logger: log, Auditor: auditor}, nil
}

func newClusterCmd(a *app) *cobra.Command {
	return groupCmd(&cobra.Command{
		Use:   "cluster",
		Short: "Cluster linked containers and report what changed",
		Long: `Cluster groups the containers (cases, incidents, reports, groupings, campaigns,
observed-data) that share evidence into clusters, keeps each cluster's id from
one run to the next, and reports new, grown, merged, split and dissolved
clusters and new links between recent and past containers.

Reports are computed per audience: an organization's report holds only what
that organization may see.`,
		Example: `  verband cluster run --out /var/lib/verband/reports
  verband cluster run --audience cert-a --recent-days 3 --past-days 90`,
	}, newClusterRunCmd(a))
}

func newClusterRunCmd(a *app) *cobra.Command {
	var c clusterFlags
	var lists correlationFlags
	var maxDF int
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the cluster report once, for cron or a systemd timer",
		Long: `Run computes the clusters once for every audience: each enabled organization
(or those named with --audience), and with --instance the operator's view of
everything. For each audience it builds the correlation projection as that
audience sees it, clusters it (connected components of the links scoring at
least --min-score, split by seeded Louvain above --louvain-above containers,
members ranked by PageRank, bridging values by betweenness), compares it
with the audience's previous run (clusters keep their id while their members
overlap by at least --min-overlap), and stores the new snapshot in the store,
keeping the last --keep. Values on the --warninglists and values held by more
than --max-df containers link nothing; registered domains stop below shared
parent domains such as linkpc.net (the built-in list and --shared-parents
files), so customers of one dynamic DNS provider do not link through it.

It writes <out>/<audience>/<run>.json (the report document) and <run>.html
beside it (a self-contained page that draws each new or grown cluster and opens
with no network), and POSTs the JSON to --webhook when given, retrying with
backoff, signed when --webhook-secret-file names a key. Run ids are the UTC start time, so files sort by time.

An audience that fails does not stop the others; the exit status is 1 when
any failed. "verband serve --cluster-schedule" runs the same job on a cron
schedule inside the server.`,
		Example: `  verband cluster run
  verband cluster run --out reports --instance --seed 7
  verband cluster run --audience cert-a --audience police --min-score 2
  verband --json cluster run --warninglists misp-warninglists/lists`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			log, err := a.logger(slog.LevelWarn)
			if err != nil {
				return err
			}
			corr := correlate.Options{MaxDF: maxDF}
			if err := lists.apply("cluster run", &corr); err != nil {
				return err
			}
			job, err := c.job("", corr, log, operator())
			if err != nil {
				return err
			}
			store, err := a.openStore(true)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			job.Store = store
			outs, runErr := job.Run(cmd.Context())
			if errors.Is(runErr, clusterjob.ErrConfig) {
				return usageError{runErr}
			}
			if err := a.printClusterOutcomes(outs); err != nil {
				return errors.Join(err, runErr)
			}
			if runErr != nil {
				return fmt.Errorf("cluster run: %w", runErr)
			}
			return nil
		},
	}
	f := cmd.Flags()
	c.add(f, "")
	lists.add(f)
	f.IntVar(&maxDF, "max-df", correlate.DefaultMaxDF, "values held by more containers than this link none of them")
	return cmd
}

// clusterOutcomeJSON is one audience's line of `cluster run --json`.
type clusterOutcomeJSON struct {
	Audience string         `json:"audience"`
	Run      string         `json:"run"`
	Previous string         `json:"previous,omitempty"`
	Totals   report.Totals  `json:"totals"`
	Changes  map[string]int `json:"changes"`
	JSON     string         `json:"json,omitempty"`
	HTML     string         `json:"html,omitempty"`
	Posted   bool           `json:"posted"`
	Pruned   int            `json:"pruned"`
}

// printClusterOutcomes prints what each audience's run produced.
func (a *app) printClusterOutcomes(outs []clusterjob.Outcome) error {
	if a.json {
		lines := make([]clusterOutcomeJSON, 0, len(outs))
		for _, o := range outs {
			r := o.Report
			lines = append(lines, clusterOutcomeJSON{Audience: o.Audience, Run: r.Run, Previous: r.Previous, Totals: r.Totals,
				Changes: map[string]int{"new": len(r.Changes.New), "grown": len(r.Changes.Grown), "merged": len(r.Changes.Merged),
					"split": len(r.Changes.Split), "dissolved": len(r.Changes.Dissolved), "new_links": len(r.Changes.NewLinks)},
				JSON: o.JSON, HTML: o.HTML, Posted: o.Posted, Pruned: o.Pruned})
		}
		return a.printJSON(lines)
	}
	for _, o := range outs {
		r := o.Report
		fmt.Fprintf(a.stdout, "%s: %d containers, %d links, %d clusters (%d new, %d grown, %d merged, %d split, %d dissolved), %d new links between recent and past containers\n",
			o.Audience, r.Totals.Containers, r.Totals.Links, r.Totals.Clusters, len(r.Changes.New), len(r.Changes.Grown),
			len(r.Changes.Merged), len(r.Changes.Split), len(r.Changes.Dissolved), len(r.Changes.NewLinks))
		for _, f := range []string{o.JSON, o.HTML} {
			if f != "" {
				fmt.Fprintf(a.stdout, "  wrote %s\n", f)
			}
		}
		if o.Posted {
			fmt.Fprintln(a.stdout, "  posted to the webhook")
		}
	}
	return nil
}
