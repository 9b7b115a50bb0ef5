package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/correlate"
)

// Timeouts of the HTTP server.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// DefaultAddr is the listen address when ServerOptions.Addr is empty:
// loopback only, so that a server is not exposed by accident.
const DefaultAddr = "127.0.0.1:8080"

// ServerOptions configure a Server.
type ServerOptions struct {
	// Addr is the TCP address to listen on. Default DefaultAddr.
	Addr string
	// Logger receives one structured line per request and the server's own
	// messages. Default slog.Default().
	Logger *slog.Logger
	// TLSCertFile and TLSKeyFile, when both are set, make the server speak
	// HTTPS with that certificate and key (PEM files).
	TLSCertFile, TLSKeyFile string
	// ShutdownGrace is how long Run waits for requests in flight once its
	// context ends. Default 10 s.
	ShutdownGrace time.Duration
	// Auth checks bearer tokens. Default: the store's API tokens (see
	// graph.Store.CreateToken).
	Auth Authenticator
	// Limits bound each GraphQL request; zero fields take their defaults
	// (DefaultLimits).
	Limits Limits
	// Reader, when set, is what GraphQL resolvers read through instead of
	// the store (for tests that count reads).
	Reader Reader
	// Correlation configures Query.correlations (see APIOptions).
	Correlation correlate.Options
}

// Server is Verband's HTTP server.
type Server struct {
	store   *graph.Store
	opts    ServerOptions
	log     *slog.Logger
	http    *http.Server
	mux     *http.ServeMux
	api     *API
	apiErr  error // why the GraphQL API could not be built
	metrics *metrics

	mu       sync.Mutex
	ln       net.Listener
	ran      bool
	ready    atomic.Bool
	readyAt  uint64 // the outbox position the index must reach for /readyz
	stopping atomic.Bool
}

// NewServer returns a server for store. It does not listen yet.
func NewServer(store *graph.Store, opts ServerOptions) *Server {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 10 * time.Second
	}
	if opts.Auth == nil {
		opts.Auth = store
	}
	s := &Server{store: store, opts: opts, log: opts.Logger, metrics: newMetrics(store)}
	s.api, s.apiErr = NewAPI(store, APIOptions{Limits: opts.Limits, Reader: opts.Reader, Logger: opts.Logger, Correlation: opts.Correlation, metrics: s.metrics})
	mux := http.NewServeMux()
	s.mux = mux
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn)}))
	if s.apiErr == nil {
		mux.Handle("/graphql", s.Authenticated(s.api))
	}
	s.http = &http.Server{
		Handler:           s.logRequests(mux),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler returns the server's HTTP handler, for tests and for mounting the
// server inside another one.
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Handle mounts h at pattern (http.ServeMux syntax, such as "/playground/"
// or "GET /taxii2/"). With auth, requests must carry a valid bearer token,
// and h finds the viewer with PrincipalFrom. Mount handlers before Run.
// The playground, the graph explorer and the TAXII server mount here.
func (s *Server) Handle(pattern string, h http.Handler, auth bool) {
	if auth {
		h = s.Authenticated(h)
	}
	s.mux.Handle(pattern, h)
}

// Authenticated wraps h with the bearer-token middleware: requests without
// a valid token get 401 with a JSON error, the others carry their viewer
// and principal in the context (PrincipalFrom). Every request, the 401s
// included, is appended to the store's audit log before it is answered
// (see AuditRecord).
func (s *Server) Authenticated(h http.Handler) http.Handler {
	return audited(s.store, s.log, authenticate(s.opts.Auth, h))
}

// API returns the GraphQL API, or nil when it could not be built (Run then
// reports why).
func (s *Server) API() *API { return s.api }

// Registry returns the Prometheus registry served at /metrics, where other
// handlers register their own metrics.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// Listen binds the listen address. Run calls it when it has not been
// called; calling it first lets the caller learn the address (Addr) before
// serving.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.opts.Addr, err)
	}
	s.ln = ln
	return nil
}

// Addr returns the address the server listens on, or nil before Listen.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// URL returns the base URL of the server, such as "http://127.0.0.1:8080",
// or "" before Listen.
func (s *Server) URL() string {
	a := s.Addr()
	if a == nil {
		return ""
	}
	scheme := "http"
	if s.tls() {
		scheme = "https"
	}
	return scheme + "://" + a.String()
}

func (s *Server) tls() bool { return s.opts.TLSCertFile != "" && s.opts.TLSKeyFile != "" }

// Run serves until ctx ends, then stops accepting connections, waits up to
// ShutdownGrace for requests in flight, and returns nil. It returns an
// error when the server cannot listen or fails while serving.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.ran {
		s.mu.Unlock()
		return errors.New("run query server: already run")
	}
	s.ran = true
	s.mu.Unlock()
	if s.apiErr != nil {
		return fmt.Errorf("run query server: %w", s.apiErr)
	}
	defer s.api.Close()
	if (s.opts.TLSCertFile == "") != (s.opts.TLSKeyFile == "") {
		return errors.New("run query server: TLS needs both a certificate file and a key file")
	}
	if err := s.Listen(); err != nil {
		return fmt.Errorf("run query server: %w", err)
	}
	s.readyAt = s.store.IndexStatus().Committed
	s.ready.Store(true)

	errc := make(chan error, 1)
	go func() {
		var err error
		if s.tls() {
			err = s.http.ServeTLS(s.ln, s.opts.TLSCertFile, s.opts.TLSKeyFile)
		} else {
			err = s.http.Serve(s.ln)
		}
		errc <- err
	}()
	s.log.Info("query server listening", "url", s.URL())

	select {
	case err := <-errc:
		s.ready.Store(false)
		return fmt.Errorf("run query server: serve: %w", err)
	case <-ctx.Done():
	}
	s.stopping.Store(true)
	s.ready.Store(false)
	s.log.Info("query server shutting down", "grace", s.opts.ShutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownGrace)
	defer cancel()
	if err := s.http.Shutdown(sctx); err != nil {
		s.http.Close()
		return fmt.Errorf("run query server: shut down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("run query server: serve: %w", err)
	}
	return nil
}

// health is the body of /healthz.
type health struct {
	Status    string `json:"status"`
	IndexLag  uint64 `json:"index_lag"`
	Nodes     int64  `json:"nodes"`
	IndexDocs uint64 `json:"index_docs"`
	Error     string `json:"error,omitempty"`
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	st := s.store.IndexStatus()
	h := health{Status: "ok", IndexLag: st.Lag, IndexDocs: st.Docs}
	code := http.StatusOK
	err := s.store.View(graph.System(), func(tx *graph.Tx) error {
		types, err := tx.Types()
		for _, t := range types {
			h.Nodes += t.Count
		}
		return err
	})
	aerr := s.store.AuditErr()
	switch {
	case st.Err != nil:
		h.Status, h.Error, code = "failing", "search indexer: "+st.Err.Error(), http.StatusServiceUnavailable
	case err != nil:
		h.Status, h.Error, code = "failing", "read store: "+err.Error(), http.StatusServiceUnavailable
	case aerr != nil:
		h.Status, h.Error, code = "failing", aerr.Error(), http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	st := s.store.IndexStatus()
	aerr := s.store.AuditErr()
	switch {
	case s.stopping.Load():
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "stopping"})
	case !s.ready.Load():
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting"})
	case st.Err != nil:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "failing", "error": st.Err.Error()})
	case aerr != nil:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "failing", "error": aerr.Error()})
	case st.Indexed < s.readyAt:
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "indexing", "index_lag": st.Lag})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// logRequests writes one log line per request: method, path, status, bytes,
// duration and remote address.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rw, r)
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rw.status),
			slog.Int64("bytes", rw.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
		)
	})
}

// statusWriter records the status code and body size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
