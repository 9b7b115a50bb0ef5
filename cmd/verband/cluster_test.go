package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
