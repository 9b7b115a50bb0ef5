package query_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/query"
)

// testServer starts a server on the fixture with one token per role and
// returns its base URL and the tokens by role.
func testServer(t *testing.T, opts query.ServerOptions) (*graph.Store, string, map[graph.Role]string) {
	t.Helper()
	s, _ := openFixture(t, query.APIOptions{})
	tokens := map[graph.Role]string{}
	for _, r := range graph.Roles {
		tokens[r] = graphtest.Token(t, s, graphtest.OrgA, "u-"+string(r), r)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	srv := query.NewServer(s, opts)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return s, ts.URL, tokens
}

// do sends a request and returns the status and decoded JSON body.
func do(t *testing.T, method, u, token, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %d %s: %v", method, u, resp.StatusCode, b, err)
	}
	return resp.StatusCode, out
}

func firstCode(body map[string]any) string {
	errs, _ := body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
	c, _ := ext["code"].(string)
	return c
}

func TestGraphQLHTTP(t *testing.T) {
	_, base, tokens := testServer(t, query.ServerOptions{Limits: query.Limits{MaxBodyBytes: 4096}})
	gql := base + "/graphql"
	reader, analyst := tokens[graph.RoleReader], tokens[graph.RoleAnalyst]

	// No token, a bad token, a malformed header: 401 with a JSON error.
	for _, tok := range []string{"", "vbt_nope", "x"} {
		code, body := do(t, "POST", gql, tok, "application/json", `{"query":"{ viewer { user } }"}`)
		if code != http.StatusUnauthorized || firstCode(body) != "UNAUTHENTICATED" {
			t.Errorf("token %q: %d %v", tok, code, body)
		}
	}

	// POST JSON with variables.
	code, body := do(t, "POST", gql, reader, "application/json", `{"query":"query V($n: Int!) { viewer { user role } objects(first: $n) { edges { cursor } } }","variables":{"n":2}}`)
	if code != 200 || body["errors"] != nil {
		t.Fatalf("POST: %d %v", code, body)
	}
	if v := body["data"].(map[string]any)["viewer"].(map[string]any); v["user"] != "u-reader" || v["role"] != "reader" {
		t.Errorf("viewer = %v", v)
	}

	// POST application/graphql.
	if code, body = do(t, "POST", gql, reader, "application/graphql", `{ viewer { organization } }`); code != 200 || body["errors"] != nil {
		t.Errorf("POST application/graphql: %d %v", code, body)
	}

	// GET a query.
	q := url.Values{"query": {`query Who { viewer { user } }`}}
	if code, body = do(t, "GET", gql+"?"+q.Encode(), reader, "", ""); code != 200 || body["errors"] != nil {
		t.Errorf("GET: %d %v", code, body)
	}

	// GET a mutation: refused.
	q = url.Values{"query": {`mutation { setLabels(id: "1", labels: []) { outcome } }`}}
	if code, body = do(t, "GET", gql+"?"+q.Encode(), analyst, "", ""); code != http.StatusMethodNotAllowed || firstCode(body) != "METHOD_NOT_ALLOWED" {
		t.Errorf("GET mutation: %d %v", code, body)
	}

	// A reader's mutation: forbidden.
	if code, body = do(t, "POST", gql, reader, "application/json", `{"query":"mutation { createCase(input: {name: \"x\"}) { case { name } } }"}`); firstCode(body) != "FORBIDDEN" {
		t.Errorf("reader mutation: %d %v", code, body)
	}

	// An analyst's mutation.
	if code, body = do(t, "POST", gql, analyst, "application/json", `{"query":"mutation { createCase(input: {name: \"x\"}) { case { owner } } }"}`); code != 200 || body["errors"] != nil {
		t.Errorf("analyst mutation: %d %v", code, body)
	}

	// Bodies over the limit, and not JSON.
	big := `{"query":"{ viewer { user } }","variables":{"x":"` + strings.Repeat("a", 5000) + `"}}`
	if code, body = do(t, "POST", gql, reader, "application/json", big); code != http.StatusRequestEntityTooLarge || firstCode(body) != "LIMIT" {
		t.Errorf("big body: %d %v", code, body)
	}
	if code, body = do(t, "POST", gql, reader, "application/json", `{nope`); code != http.StatusBadRequest || firstCode(body) != "BAD_QUERY" {
		t.Errorf("bad body: %d %v", code, body)
	}
	if code, body = do(t, "PUT", gql, reader, "application/json", `{}`); code != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d %v", code, body)
	}

	// Metrics, with the operation above counted.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`verband_graphql_request_duration_seconds_count{operation="Who"} 1`,
		`verband_graphql_errors_total{code="FORBIDDEN"} 1`,
		`verband_graphql_requests_total{operation="V",status="ok"} 1`,
		"verband_search_index_lag ",
		"verband_search_index_segments ",
		`verband_ingest_objects_total{outcome="created"} 0`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestServerHandleSeam(t *testing.T) {
	s, _ := openFixture(t, query.APIOptions{})
	secret := graphtest.Token(t, s, "o", "u", graph.RoleReader)
	srv := query.NewServer(s, query.ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	srv.Handle("GET /open/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"ok":true}`) }), false)
	srv.Handle("GET /closed/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, p, _ := query.PrincipalFrom(r.Context())
		json.NewEncoder(w).Encode(map[string]string{"user": p.User})
	}), true)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	if code, _ := do(t, "GET", ts.URL+"/open/x", "", "", ""); code != 200 {
		t.Errorf("open: %d", code)
	}
	if code, _ := do(t, "GET", ts.URL+"/closed/x", "", "", ""); code != 401 {
		t.Errorf("closed without token: %d", code)
	}
	if code, body := do(t, "GET", ts.URL+"/closed/x", secret, "", ""); code != 200 || body["user"] != "u" {
		t.Errorf("closed with token: %d %v", code, body)
	}
}

func TestServerTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := writeCert(t, certFile, keyFile)
	s := graphtest.Open(t)
	srv := query.NewServer(s, query.ServerOptions{Addr: "127.0.0.1:0", TLSCertFile: certFile, TLSKeyFile: keyFile, Logger: slog.New(slog.DiscardHandler)})
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	if !strings.HasPrefix(srv.URL(), "https://") {
		t.Fatalf("URL %s", srv.URL())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	resp, err := client.Get(srv.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Errorf("/healthz over TLS: %d", resp.StatusCode)
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and returns a
// pool that trusts it.
func writeCert(t *testing.T, certFile, keyFile string) *x509.CertPool {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "verband test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// TestServerShutsDownGracefully: when Run's context ends, a request under
// way is answered before Run returns, and the server takes no new ones.
func TestServerShutsDownGracefully(t *testing.T) {
	s := graphtest.Open(t)
	srv := query.NewServer(s, query.ServerOptions{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	started := make(chan struct{})
	srv.Handle("/slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "done")
	}), false)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	type answer struct {
		body string
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.Get(srv.URL() + "/slow")
		if err != nil {
			got <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- answer{string(b), err}
	}()
	<-started
	cancel()
	if a := <-got; a.err != nil || a.body != "done" {
		t.Errorf("the request under way at shutdown: %q, %v; want it answered", a.body, a.err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if _, err := http.Get(srv.URL() + "/healthz"); err == nil {
		t.Error("the server answered a request after it shut down")
	}
}
