package query_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/query"
)

func TestServerHealth(t *testing.T) {
	store := graphtest.Open(t)
	graphtest.Load(t, store, graphtest.Fixture(t))
	var logs graphtest.SyncBuffer
	srv := query.NewServer(store, query.ServerOptions{
		Addr:   "127.0.0.1:0",
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	}()
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") || strings.HasSuffix(srv.URL(), ":0") {
		t.Fatalf("URL = %q, want the bound loopback port", srv.URL())
	}

	resp, err := http.Get(srv.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("/healthz: %d %s", resp.StatusCode, body)
	}
	var h struct {
		Status   string  `json:"status"`
		IndexLag *uint64 `json:"index_lag"`
		Nodes    *uint64 `json:"nodes"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatalf("/healthz body %s: %v", body, err)
	}
	if h.Status != "ok" || h.IndexLag == nil || h.Nodes == nil {
		t.Errorf("/healthz = %s", body)
	}

	// Ready once the index caught up with what was stored before start.
	if err := store.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(srv.URL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ready"`) {
		t.Errorf("/readyz: %d %s", resp.StatusCode, body)
	}

	resp, err = http.Get(srv.URL() + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/nope: %d", resp.StatusCode)
	}

	// One structured line per request.
	var sawHealth bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "http request" && rec["path"] == "/healthz" && rec["status"] == float64(200) && rec["method"] == "GET" {
			sawHealth = true
		}
	}
	if !sawHealth {
		t.Errorf("no request log line for /healthz in:\n%s", logs.String())
	}
}

func TestServerRejectsHalfTLS(t *testing.T) {
	store := graphtest.Open(t)
	srv := query.NewServer(store, query.ServerOptions{Addr: "127.0.0.1:0", TLSCertFile: "cert.pem", Logger: slog.New(slog.DiscardHandler)})
	if err := srv.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Errorf("Run with a certificate but no key = %v", err)
	}
}
