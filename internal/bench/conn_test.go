package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestAPIConn checks the load generator's connection: it reuses one
// connection while the server keeps it, dials again after the server
// closed it or a request failed, reads chunked and sized answers whole,
// and reports errors instead of answers.
func TestAPIConn(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		if _, err := body.ReadFrom(r.Body); err != nil {
			t.Errorf("read the request body: %v", err)
		}
		switch r.URL.Path {
		case "/close":
			w.Header().Set("Connection", "close")
			fmt.Fprintf(w, "closing after %s", body.String())
		case "/chunked":
			// Flushing before the end makes the server send chunks.
			fmt.Fprint(w, strings.Repeat("a", 5000))
			w.(http.Flusher).Flush()
			fmt.Fprint(w, strings.Repeat("b", 5000))
		case "/slow":
			time.Sleep(2 * time.Second)
		case "/missing":
			http.Error(w, "no such thing", http.StatusNotFound)
		default:
			fmt.Fprintf(w, "echo %s", body.String())
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	c := newAPIConn(addr, 500*time.Millisecond)
	defer c.Close()
	ctx := context.Background()
	do := func(path, body string) (int, string, error) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		status, _, err := c.roundTrip(ctx, req, &out)
		return status, out.String(), err
	}

	for i := range 3 {
		status, got, err := do("/", fmt.Sprint(i))
		if err != nil || status != http.StatusOK || got != fmt.Sprint("echo ", i) {
			t.Fatalf("request %d: status %d, body %q, error %v", i, status, got, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("three requests used %d connections, want 1 kept alive", n)
	}

	if status, got, err := do("/chunked", ""); err != nil || status != http.StatusOK || got != strings.Repeat("a", 5000)+strings.Repeat("b", 5000) {
		t.Fatalf("chunked answer: status %d, %d bytes, error %v", status, len(got), err)
	}
	if status, got, err := do("/missing", ""); err != nil || status != http.StatusNotFound || !strings.Contains(got, "no such thing") {
		t.Fatalf("404: status %d, body %q, error %v", status, got, err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("after a chunked answer and a 404: %d connections, want 1", n)
	}

	if status, got, err := do("/close", "x"); err != nil || status != http.StatusOK || got != "closing after x" {
		t.Fatalf("closing answer: status %d, body %q, error %v", status, got, err)
	}
	if status, _, err := do("/", "y"); err != nil || status != http.StatusOK {
		t.Fatalf("request after the server closed: status %d, error %v", status, err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("after the server closed the connection: %d connections, want 2", n)
	}

	// The timeout covers the whole request; the connection is dropped
	// and the next request dials again.
	if _, _, err := do("/slow", ""); err == nil {
		t.Fatal("a request slower than the timeout succeeded")
	} else if ne := net.Error(nil); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("slow request: %v, want a timeout", err)
	}
	if status, _, err := do("/", "z"); err != nil || status != http.StatusOK {
		t.Fatalf("request after a timeout: status %d, error %v", status, err)
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("after a timeout: %d connections, want 3", n)
	}

	// A cancelled context interrupts a request in flight.
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, srv.URL+"/slow", nil)
	if err != nil {
		t.Fatal(err)
	}
	long := newAPIConn(addr, time.Minute)
	defer long.Close()
	began := time.Now()
	if _, _, err := long.roundTrip(cctx, req, &bytes.Buffer{}); err == nil {
		t.Fatal("a cancelled request succeeded")
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("the cancelled request returned after %v, want at once", d)
	}

	// Nothing listens: the dial fails with the address in the error.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, "http://"+dead+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := newAPIConn(dead, time.Second).roundTrip(ctx, req, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), dead) {
		t.Fatalf("dial to a closed port: %v, want an error naming %s", err, dead)
	}
}
