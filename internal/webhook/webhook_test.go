package webhook

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a test server that answers each request with the next of its
// handlers (the last one repeats) and records what it received.
type receiver struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	handlers []http.HandlerFunc
	got      []*http.Request
	bodies   [][]byte
}

func newReceiver(t *testing.T, handlers ...http.HandlerFunc) *receiver {
	t.Helper()
	r := &receiver{t: t, handlers: handlers}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	b, err := io.ReadAll(req.Body)
	if err != nil {
		r.t.Errorf("server: read body: %v", err)
	}
	r.mu.Lock()
	r.got = append(r.got, req)
	r.bodies = append(r.bodies, b)
	h := r.handlers[min(len(r.got), len(r.handlers))-1]
	r.mu.Unlock()
	h(w, req)
}

func (r *receiver) requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func status(code int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// sleeps records the waits Post asks for instead of waiting.
type sleeps []time.Duration

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	*s = append(*s, d)
	return nil
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	return e
}

var body = []byte(`{"version":1,"run":"r1","name":"<script>\"x\""}`)

// TestRetriesThenSucceeds fails twice with 5xx and then accepts; the waits
// grow and stay within their jitter, and every attempt carries the same
// body, headers and a verifiable signature.
func TestRetriesThenSucceeds(t *testing.T) {
	r := newReceiver(t, status(503, "busy"), status(502, "bad gateway"), status(204, ""))
	var s sleeps
	secret := []byte("s3cret")
	err := Post(context.Background(), r.srv.URL+"/hook?token=x", body, Options{Secret: secret, Sleep: s.sleep})
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if r.requests() != 3 {
		t.Fatalf("%d requests, want 3", r.requests())
	}
	if len(s) != 2 || s[0] < 500*time.Millisecond || s[0] > time.Second || s[1] < time.Second || s[1] > 2*time.Second {
		t.Errorf("waits %v, want one in [0.5s, 1s] then one in [1s, 2s]", s)
	}
	for i, req := range r.got {
		if req.Method != http.MethodPost || req.URL.Path != "/hook" || req.URL.Query().Get("token") != "x" {
			t.Errorf("attempt %d: %s %s", i+1, req.Method, req.URL)
		}
		if ct := req.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("attempt %d: Content-Type %q", i+1, ct)
		}
		if ua := req.Header.Get("User-Agent"); !strings.Contains(ua, "Verband") {
			t.Errorf("attempt %d: User-Agent %q does not name Verband", i+1, ua)
		}
		if string(r.bodies[i]) != string(body) {
			t.Errorf("attempt %d: body %q", i+1, r.bodies[i])
		}
		sig := req.Header.Get(SignatureHeader)
		if !Verify(secret, r.bodies[i], sig) {
			t.Errorf("attempt %d: signature %q does not verify", i+1, sig)
		}
		if Verify([]byte("other"), r.bodies[i], sig) || Verify(secret, append(r.bodies[i], ' '), sig) {
			t.Errorf("attempt %d: signature %q verifies with another secret or body", i+1, sig)
		}
	}
}

// TestSignatureRecipe checks the documented recipe against a value
// computed independently (printf '%s' '{}' | openssl dgst -sha256 -hmac key).
func TestSignatureRecipe(t *testing.T) {
	const want = "sha256=a777724d943eb48dc69bca8a4a6d57a04db3f9ec7e1de4e581e860265bdf3032"
	if got := Sign([]byte("key"), []byte("{}")); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
	r := newReceiver(t, status(200, ""))
	if err := Post(context.Background(), r.srv.URL, []byte("{}"), Options{}); err != nil {
		t.Fatal(err)
	}
	if h := r.got[0].Header.Get(SignatureHeader); h != "" {
		t.Errorf("no secret, yet a signature header %q", h)
	}
}

// TestClientErrorNotRetried sends once on a 4xx other than 429 and reports
// the status and the start of the answer.
func TestClientErrorNotRetried(t *testing.T) {
	r := newReceiver(t, status(400, "bad\n  report:\tno clusters"))
	var s sleeps
	err := Post(context.Background(), r.srv.URL, body, Options{Sleep: s.sleep})
	e := asError(t, err)
	if r.requests() != 1 || e.Attempts != 1 || len(s) != 0 {
		t.Fatalf("%d requests, %d attempts, %d waits; want 1, 1, 0", r.requests(), e.Attempts, len(s))
	}
	if e.Status != 400 || e.Body != "bad report: no clusters" {
		t.Errorf("status %d body %q", e.Status, e.Body)
	}
	for _, want := range []string{"1 attempt:", "400", `"bad report: no clusters"`, "127.0.0.1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestRedirectNotFollowed fails at once on a redirect, so that the POST is
// not replayed as a GET somewhere else.
func TestRedirectNotFollowed(t *testing.T) {
	r := newReceiver(t, status(302, "", "Location", "/elsewhere"))
	e := asError(t, Post(context.Background(), r.srv.URL, body, Options{Sleep: (&sleeps{}).sleep}))
	if r.requests() != 1 || e.Status != 302 {
		t.Errorf("%d requests, status %d; want 1 request answered 302", r.requests(), e.Status)
	}
}

// TestGivesUp stops after Attempts and says so, with the last status and
// body; the waits double up to MaxBackoff.
func TestGivesUp(t *testing.T) {
	r := newReceiver(t, status(500, "first"), status(500, "still down"))
	var s sleeps
	err := Post(context.Background(), r.srv.URL, body, Options{Attempts: 4, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 250 * time.Millisecond, Sleep: s.sleep})
	e := asError(t, err)
	if r.requests() != 4 || e.Attempts != 4 || e.Status != 500 || e.Body != "still down" {
		t.Fatalf("%d requests, error %+v", r.requests(), e)
	}
	if !strings.Contains(err.Error(), "4 attempts") || !strings.Contains(err.Error(), "still down") {
		t.Errorf("error %q does not say the attempts and the last body", err)
	}
	caps := []time.Duration{100, 200, 250}
	if len(s) != 3 {
		t.Fatalf("waits %v, want 3", s)
	}
	for i, c := range caps {
		if c *= time.Millisecond; s[i] < c/2 || s[i] > c {
			t.Errorf("wait %d = %v, want in [%v, %v]", i+1, s[i], c/2, c)
		}
	}
}

// TestRetryAfter waits as long as a 429 or 503 asks when that is longer
// than the backoff, and gives up when it asks for more than MaxBackoff.
func TestRetryAfter(t *testing.T) {
	r := newReceiver(t, status(429, "slow down", "Retry-After", "7"), status(200, ""))
	var s sleeps
	if err := Post(context.Background(), r.srv.URL, body, Options{Sleep: s.sleep}); err != nil {
		t.Fatal(err)
	}
	if len(s) != 1 || s[0] != 7*time.Second {
		t.Errorf("waits %v, want [7s]", s)
	}

	r = newReceiver(t, status(503, "maintenance", "Retry-After", "3600"), status(200, ""))
	s = nil
	err := Post(context.Background(), r.srv.URL, body, Options{Sleep: s.sleep})
	e := asError(t, err)
	if r.requests() != 1 || len(s) != 0 || !strings.Contains(err.Error(), "retry after 1h0m0s") {
		t.Errorf("%d requests, waits %v, error %v; want one request and an error naming the wait", r.requests(), s, e)
	}

	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"-3":                            0,
		"12":                            12 * time.Second,
		" 2 ":                           2 * time.Second,
		"soon":                          0,
		"Sun, 01 Mar 2026 12:00:30 GMT": 30 * time.Second,
		"Sun, 01 Mar 2026 11:00:00 GMT": 0,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestNetworkErrorRetried retries when nothing answers, and reports no
// status.
func TestNetworkErrorRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	var s sleeps
	e := asError(t, Post(context.Background(), url, body, Options{Attempts: 3, Sleep: s.sleep}))
	if e.Attempts != 3 || e.Status != 0 || len(s) != 2 || !strings.Contains(e.Error(), "send:") {
		t.Errorf("error %v after %d waits; want 3 attempts, no status, 2 waits", e, len(s))
	}
}

// TestAttemptTimeout gives up on an attempt that hangs and succeeds on the
// next one.
func TestAttemptTimeout(t *testing.T) {
	hang := func(w http.ResponseWriter, req *http.Request) { <-req.Context().Done() }
	r := newReceiver(t, hang, status(200, ""))
	var s sleeps
	start := time.Now()
	if err := Post(context.Background(), r.srv.URL, body, Options{AttemptTimeout: 100 * time.Millisecond, Sleep: s.sleep}); err != nil {
		t.Fatal(err)
	}
	if r.requests() != 2 || len(s) != 1 {
		t.Errorf("%d requests, waits %v; want 2 requests, 1 wait", r.requests(), s)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestContextCancel stops waiting when the caller's context ends, with the
// real timer between attempts, and the error says so.
func TestContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	r := newReceiver(t, func(w http.ResponseWriter, req *http.Request) {
		once.Do(func() { time.AfterFunc(50*time.Millisecond, cancel) })
		w.WriteHeader(503)
	})
	start := time.Now()
	err := Post(ctx, r.srv.URL, body, Options{InitialBackoff: 30 * time.Second, MaxBackoff: time.Hour})
	e := asError(t, err)
	if !errors.Is(err, context.Canceled) || e.Attempts != 1 || r.requests() != 1 {
		t.Errorf("error %v, %d requests; want context.Canceled after 1 attempt", err, r.requests())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Post returned %v after the cancel", d)
	}

	// A context that has already ended sends nothing that succeeds.
	err = Post(ctx, r.srv.URL, body, Options{Sleep: (&sleeps{}).sleep})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Post on a cancelled context: %v", err)
	}
}

// TestBadInput rejects a URL that is not absolute http(s) and nonsense
// options before sending anything.
func TestBadInput(t *testing.T) {
	r := newReceiver(t, status(200, ""))
	for _, u := range []string{"", "ftp://example.org/x", "/relative", "http://", "http://a b/", "https://user:pass@%zz/"} {
		if err := Post(context.Background(), u, body, Options{}); err == nil {
			t.Errorf("Post(%q) succeeded", u)
		} else if strings.Contains(err.Error(), "pass") {
			t.Errorf("Post(%q): error %q shows the password", u, err)
		}
	}
	for _, o := range []Options{{Attempts: -1}, {InitialBackoff: time.Minute, MaxBackoff: time.Second}, {AttemptTimeout: -time.Second}} {
		if err := Post(context.Background(), r.srv.URL, body, o); err == nil || !strings.Contains(err.Error(), "options") {
			t.Errorf("Post with %+v: %v", o, err)
		}
	}
	if r.requests() != 0 {
		t.Errorf("%d requests sent on bad input", r.requests())
	}
}
