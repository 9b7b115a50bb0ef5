package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/internal/webhook"
)

const (
	clusterShared = "testdata/cluster-shared.json"
	clusterHidden = "testdata/cluster-hidden.json"
	hiddenReport  = "report--00000000-0000-4000-8000-000000000011"
)

// clusterStore makes a store with two organizations, GREEN reports both
// see and AMBER reports of org-a's.
func clusterStore(t *testing.T) string {
	dir := t.TempDir() + "/data"
	ok(t, dir, "admin", "org", "create", "org-a")
	ok(t, dir, "admin", "org", "create", "org-b")
	ok(t, dir, "ingest", "--tlp", "green", "--owner", "org-a", clusterShared)
	ok(t, dir, "ingest", "--tlp", "amber", "--owner", "org-a", clusterHidden)
	return dir
}

func TestClusterRun(t *testing.T) {
	dir := clusterStore(t)
	out := t.TempDir()
	r := ok(t, dir, "cluster", "run", "--out", out, "--instance", "--min-score", "0.1")
	contains(t, "cluster run output", r.stdout, "org-a: 6 containers", "org-b: 4 containers", "instance: 6 containers", "1 clusters (1 new", "wrote "+out)
	files, err := filepath.Glob(filepath.Join(out, "*", "*.json"))
	if err != nil || len(files) != 3 {
		t.Fatalf("report files %q %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		hidden := strings.Contains(string(b), hiddenReport) || strings.Contains(string(b), "203.0.113.7")
		if org := filepath.Base(filepath.Dir(f)); hidden != (org != "org-b") {
			t.Errorf("%s: mentions org-a's AMBER report or value: %v", f, hidden)
		}
	}

	pages, err := filepath.Glob(filepath.Join(out, "*", "*.html"))
	if err != nil || len(pages) != 3 {
		t.Errorf("report pages %q %v, want one per audience", pages, err)
	}

	// The second run posts org-b's report, signed, to a webhook.
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("hook-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	posted := make(chan []byte, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if !webhook.Verify([]byte("hook-key"), body, req.Header.Get(webhook.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		posted <- body
	}))
	defer hook.Close()
	r = ok(t, dir, "--json", "cluster", "run", "--out", out, "--audience", "org-b", "--min-score", "0.1",
		"--webhook", hook.URL, "--webhook-secret-file", secretFile)
	select {
	case body := <-posted:
		var rep struct{ Audience string }
		if err := json.Unmarshal(body, &rep); err != nil || rep.Audience != "org-b" || strings.Contains(string(body), hiddenReport) {
			t.Errorf("webhook body is not org-b's report:\n%s", body)
		}
	default:
		t.Error("nothing was posted to the webhook")
	}
	var lines []struct {
		Audience, Run, Previous, JSON string
		Changes                       map[string]int
		Totals                        struct{ Containers, Clusters int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &lines); err != nil {
		t.Fatalf("cluster run --json: %v\n%s", err, r.stdout)
	}
	if len(lines) != 1 || lines[0].Audience != "org-b" || lines[0].Previous == "" || lines[0].Totals.Containers != 4 ||
		lines[0].Changes["new"] != 0 || lines[0].JSON == "" {
		t.Errorf("second run --json: %+v", lines)
	}

	for _, bad := range [][]string{
		{"cluster", "run", "--min-overlap", "2"},
		{"cluster", "run", "--audience", "nobody"},
		{"cluster", "run", "--webhook", "ftp://example.org/x"},
		{"cluster", "run", "extra"},
	} {
		if r := verband(t, dir, bad...); r.code != 2 {
			t.Errorf("verband %s: exit %d, want 2 (usage)\n%s", strings.Join(bad, " "), r.code, r.stderr)
		}
	}
	if r := verband(t, t.TempDir()+"/none", "cluster", "run"); r.code != 1 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("cluster run without a store: exit %d %s", r.code, r.stderr)
	}
}

// TestServeClusterSchedule runs serve with a one-second cluster schedule
// and waits for the first report.
func TestServeClusterSchedule(t *testing.T) {
	dir := clusterStore(t)
	out := t.TempDir()
	srv := serve(t, dir, "--cluster-schedule", "@every 1s", "--cluster-out", out, "--cluster-audience", "org-b", "--cluster-min-score", "0.1")
	var files []string
	for deadline := time.Now().Add(15 * time.Second); len(files) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		files, _ = filepath.Glob(filepath.Join(out, "org-b", "*.json"))
	}
	code := srv.stop()
	if len(files) == 0 {
		t.Fatalf("no scheduled report within 15 s\n%s", srv.log.String())
	}
	if code != 0 {
		t.Errorf("serve exit %d: %s", code, srv.log.String())
	}
	contains(t, "serve log", srv.log.String(), "cluster reports scheduled", `msg="cluster run" run=`, "audience=org-b")
	if r := verband(t, dir, "serve", "--cluster-schedule", "not a schedule"); r.code != 2 {
		t.Errorf("serve with a bad schedule: exit %d %s", r.code, r.stderr)
	}
}

// TestClusterRunSharedParents checks the shared-parent flags: two list
// files with subdomains of different customers of linkpc.net (on the
// built-in list) and of a dynamic DNS service under example.net (on no
// list) link through example.net only, until a file of the operator's
// names dyn.example.net too; and a bad file fails naming its line.
func TestClusterRunSharedParents(t *testing.T) {
	feeds, tmp := t.TempDir(), t.TempDir()
	write := func(dir, name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(feeds, "family_a.txt", "# Family A\nc2-alpha.linkpc.net\nupdate.dyn.example.net\n")
	write(feeds, "family_b.txt", "# Family B\nc2-bravo.linkpc.net\ngate.dyn.example.net\n")
	dir := t.TempDir() + "/data"
	ok(t, dir, "ingest", feeds)
	evidence := func(args ...string) []string {
		t.Helper()
		out := t.TempDir()
		ok(t, dir, append([]string{"cluster", "run", "--instance", "--min-score", "0.01", "--out", out}, args...)...)
		files, err := filepath.Glob(filepath.Join(out, "instance", "*.json"))
		if err != nil || len(files) != 1 {
			t.Fatalf("report files %q %v", files, err)
		}
		b, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Clusters []struct {
				Links []struct{ Evidence []struct{ Value string } }
			}
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		var values []string
		for _, c := range rep.Clusters {
			for _, l := range c.Links {
				for _, e := range l.Evidence {
					values = append(values, e.Value)
				}
			}
		}
		slices.Sort(values)
		return values
	}
	if got := evidence(); !slices.Equal(got, []string{"example.net"}) {
		t.Errorf("with the built-in list the families link through %v, want example.net only", got)
	}
	if got := evidence("--builtin-shared-parents=false"); !slices.Equal(got, []string{"example.net", "linkpc.net"}) {
		t.Errorf("without the built-in list the families link through %v, want example.net and linkpc.net", got)
	}
	mine := write(tmp, "mine.txt", "# our dynamic DNS provider\ndyn.example.net\n")
	if got := evidence("--shared-parents", mine); len(got) != 0 {
		t.Errorf("with both lists the families link through %v, want nothing", got)
	}
	bad := write(tmp, "bad.txt", "ok.example\nnot a domain\n")
	if r := verband(t, dir, "cluster", "run", "--instance", "--out", t.TempDir(), "--shared-parents", bad); r.code != 1 || !strings.Contains(r.stderr, bad+":2") {
		t.Errorf("bad shared-parents file: exit %d, stderr %s; want 1 naming %s:2", r.code, r.stderr, bad)
	}
}
