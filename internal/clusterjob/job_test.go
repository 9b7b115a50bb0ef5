package clusterjob_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/cluster"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/internal/clusterjob"
	"github.com/verband-cti/verband/schema"
	"github.com/verband-cti/verband/ui/report"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ip(tb testing.TB, v string) *schema.Object {
	return graphtest.SCO(tb, map[string]any{"type": "ipv4-addr", "spec_version": "2.1", "value": v})
}

func reportObj(tb testing.TB, id string, t time.Time, members ...*schema.Object) *schema.Object {
	refs := make([]string, len(members))
	for i, m := range members {
		refs[i] = m.ID
	}
	ts := t.Format(time.RFC3339)
	return graphtest.Object(tb, map[string]any{"type": "report", "spec_version": "2.1", "id": id, "name": id,
		"created": ts, "modified": ts, "published": ts, "object_refs": refs})
}

const (
	g1 = "report--00000000-0000-4000-8000-000000000001"
	g2 = "report--00000000-0000-4000-8000-000000000002"
	h1 = "report--00000000-0000-4000-8000-000000000011"
	h2 = "report--00000000-0000-4000-8000-000000000012"
	// hiddenValue is held only by org-a's AMBER objects.
	hiddenValue = "203.0.113.7"
)

// twoOrgs stores what both organizations see (g1, g2 sharing 198.51.100.1)
// and what only org-a sees (h1 and h2, AMBER, sharing hiddenValue, and h1
// also holding the shared address).
func twoOrgs(t *testing.T) *graph.Store {
	s := graphtest.Open(t)
	ctx := context.Background()
	for _, org := range []string{"org-a", "org-b"} {
		if _, err := s.CreateOrganization(ctx, graph.OrganizationSpec{Name: org}); err != nil {
			t.Fatal(err)
		}
	}
	x, y := ip(t, "198.51.100.1"), ip(t, hiddenValue)
	old := now.AddDate(0, -3, 0)
	green := graph.Meta{Policy: graph.Policy{Owner: "org-a", TLP: schema.TLPGreen}}
	amber := graph.Meta{Policy: graph.Policy{Owner: "org-a", TLP: schema.TLPAmber}}
	err := s.Update(graph.System(), func(tx *graph.Tx) error {
		for _, o := range []*schema.Object{x, reportObj(t, g1, old, x), reportObj(t, g2, old, x)} {
			if _, _, err := tx.Put(o, green); err != nil {
				return err
			}
		}
		for _, o := range []*schema.Object{y, reportObj(t, h1, now.Add(-time.Hour), x, y), reportObj(t, h2, old, y)} {
			if _, _, err := tx.Put(o, amber); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRunPerAudience runs the job for both organizations and the instance:
// org-b's report, file and webhook body never mention org-a's AMBER
// containers or the value only they hold, while org-a's and the
// instance's do.
func TestRunPerAudience(t *testing.T) {
	s := twoOrgs(t)
	out := t.TempDir()
	var mu sync.Mutex
	posted := map[string][]byte{}
	job := &clusterjob.Job{Store: s, Out: out, Instance: true, Options: cluster.Options{MinScore: 0.1},
		WebhookURL: "https://hooks.example/cluster",
		Post: func(_ context.Context, url string, body []byte) error {
			var r report.Report
			if err := json.Unmarshal(body, &r); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			posted[r.Audience] = body
			return nil
		},
		RenderHTML: func(w io.Writer, r *report.Report) error {
			_, err := fmt.Fprintf(w, "<html><body>%d clusters for %s</body></html>", len(r.Clusters), r.Audience)
			return err
		},
		Now: func() time.Time { return now },
	}
	outs, err := job.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 3 {
		t.Fatalf("%d outcomes, want org-a, org-b and instance", len(outs))
	}
	byAudience := map[string]clusterjob.Outcome{}
	for _, o := range outs {
		byAudience[o.Audience] = o
		file, err := os.ReadFile(o.JSON)
		if err != nil {
			t.Fatal(err)
		}
		if o.JSON != filepath.Join(out, o.Audience, cluster.RunID(now)+".json") {
			t.Errorf("%s: JSON at %s", o.Audience, o.JSON)
		}
		if !o.Posted || !bytes.Equal(bytes.TrimSpace(file), posted[o.Audience]) {
			t.Errorf("%s: webhook body differs from the file, or was not posted", o.Audience)
		}
		if html, err := os.ReadFile(o.HTML); err != nil || !strings.Contains(string(html), "for "+o.Audience) {
			t.Errorf("%s: HTML %q %v", o.Audience, html, err)
		}
	}
	mentions := func(audience string) (hidden bool) {
		b, err := os.ReadFile(byAudience[audience].JSON)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := cluster.Latest(s, audience)
		if err != nil {
			t.Fatal(err)
		}
		snap, _ := stored.Encode()
		for _, text := range []string{string(b), string(snap), string(posted[audience])} {
			for _, secret := range []string{h1, h2, hiddenValue} {
				hidden = hidden || strings.Contains(text, secret)
			}
		}
		return hidden
	}
	if mentions("org-b") {
		t.Error("org-b's report mentions a container or value only org-a may see")
	}
	if !mentions("org-a") || !mentions(clusterjob.Instance) {
		t.Error("org-a's or the instance's report misses org-a's own containers")
	}
	b := byAudience["org-b"].Report
	if len(b.Clusters) != 1 || len(b.Clusters[0].Members) != 2 || b.Totals.Containers != 2 {
		t.Errorf("org-b: %+v", b.Clusters)
	}
	a := byAudience["org-a"].Report
	if len(a.Clusters) != 1 || len(a.Clusters[0].Members) != 4 || a.Totals.Containers != 4 || a.Audience != "org-a" {
		t.Errorf("org-a: %+v", a.Clusters)
	}
	// h1 is recent and links the past g1, g2 and h2: new links, for org-a
	// only.
	if len(a.Changes.NewLinks) != 3 || len(b.Changes.NewLinks) != 0 {
		t.Errorf("new links: org-a %d, org-b %d", len(a.Changes.NewLinks), len(b.Changes.NewLinks))
	}

	// Each report is in the audit log, concerning its audience, with the
	// containers it names: org-b's without org-a's hidden ones.
	audited := map[string][]string{}
	err = s.AuditEntries(context.Background(), graph.AuditFilter{}, func(e graph.AuditEntry) bool {
		if e.Operation == "cluster report" && e.Viewer.Role == "scheduler" {
			var args struct{ Audience string }
			if json.Unmarshal(e.Args, &args) == nil {
				audited[args.Audience] = e.IDs
				if args.Audience != clusterjob.Instance && !slices.Equal(e.Orgs, []string{args.Audience}) {
					t.Errorf("audit entry of %s's report concerns %v", args.Audience, e.Orgs)
				}
			}
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(audited["org-a"]) != 4 || len(audited["org-b"]) != 2 || slices.Contains(audited["org-b"], h1) {
		t.Errorf("audited ids: %v", audited)
	}

	// A second run keeps the ids and compares with the first.
	job.Now = func() time.Time { return now.Add(time.Hour) }
	outs2, err := job.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs2 {
		prev := byAudience[o.Audience].Report
		if o.Report.Previous != prev.Run || o.Report.Clusters[0].ID != prev.Clusters[0].ID || o.Report.Clusters[0].Status != report.StatusUnchanged {
			t.Errorf("%s: second run previous %q cluster %+v", o.Audience, o.Report.Previous, o.Report.Clusters[0])
		}
		if len(o.Report.Changes.NewLinks) != 0 {
			t.Errorf("%s: second run repeats new links", o.Audience)
		}
	}
}

func TestRunRejectsBadConfiguration(t *testing.T) {
	s := twoOrgs(t)
	ctx := context.Background()
	for name, job := range map[string]*clusterjob.Job{
		"unknown audience":         {Store: s, Audiences: []string{"org-z"}},
		"webhook without a sender": {Store: s, WebhookURL: "https://x.example"},
		"bad overlap":              {Store: s, Options: cluster.Options{MinOverlap: 2}},
		"negative keep":            {Store: s, Keep: -1},
	} {
		if _, err := job.Run(ctx); !errors.Is(err, clusterjob.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	if _, err := s.CreateOrganization(ctx, graph.OrganizationSpec{Name: clusterjob.Instance}); err != nil {
		t.Fatal(err)
	}
	if _, err := (&clusterjob.Job{Store: s, Instance: true}).Run(ctx); !errors.Is(err, clusterjob.ErrConfig) || !strings.Contains(err.Error(), "named") {
		t.Errorf("instance report beside an organization named instance: %v", err)
	}
}

// TestRunNeverOverlaps checks that a run started while another is under
// way fails with ErrBusy, and that a failing webhook keeps the snapshot
// and the JSON file.
func TestRunNeverOverlaps(t *testing.T) {
	s := twoOrgs(t)
	out := t.TempDir()
	inPost, release := make(chan struct{}), make(chan struct{})
	job := &clusterjob.Job{Store: s, Out: out, Audiences: []string{"org-b"}, WebhookURL: "https://hooks.example/x",
		Post: func(context.Context, string, []byte) error {
			close(inPost)
			<-release
			return errors.New("webhook down")
		}}
	done := make(chan error, 1)
	go func() { _, err := job.Run(context.Background()); done <- err }()
	<-inPost
	if _, err := job.Run(context.Background()); !errors.Is(err, clusterjob.ErrBusy) {
		t.Errorf("overlapping run: %v, want ErrBusy", err)
	}
	close(release)
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "webhook down") {
		t.Errorf("run with a failing webhook: %v", err)
	}
	if _, err := cluster.Latest(s, "org-b"); err != nil {
		t.Errorf("snapshot lost with the webhook failure: %v", err)
	}
	if files, _ := filepath.Glob(filepath.Join(out, "org-b", "*.json")); len(files) != 1 {
		t.Errorf("JSON files after a failed post: %q", files)
	}
}

// TestScheduleRunsAndStops runs the job on a one-second schedule, and
// checks that it ran and that the schedule stops when its context ends.
func TestScheduleRunsAndStops(t *testing.T) {
	s := twoOrgs(t)
	ran := make(chan struct{}, 10)
	job := &clusterjob.Job{Store: s, Audiences: []string{"org-a"}, WebhookURL: "https://hooks.example/x",
		Post: func(context.Context, string, []byte) error { ran <- struct{}{}; return nil }}
	ctx, cancel := context.WithCancel(context.Background())
	sched, err := clusterjob.Schedule(ctx, "@every 1s", job, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("the scheduled job did not run within 10 s")
	}
	cancel()
	select {
	case <-sched.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the schedule did not stop")
	}
	if _, err := clusterjob.Schedule(context.Background(), "61 * * * *", job, nil); !errors.Is(err, clusterjob.ErrConfig) {
		t.Errorf("bad cron expression: %v", err)
	}
}
