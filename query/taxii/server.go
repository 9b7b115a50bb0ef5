package taxii

import (
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/query"
)

// Media types of TAXII 2.1 and STIX 2.1.
const (
	MediaType     = "application/taxii+json;version=2.1"
	STIXMediaType = "application/stix+json;version=2.1"
)

// Paths of the discovery endpoint and of the one API root.
const (
	Prefix  = "/taxii2/"
	APIRoot = Prefix + "api/"
)

// Page sizes of the objects and manifest endpoints.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// maxContentLength is what the API root announces; the server takes no
// uploads, so it only bounds what a client should expect to send.
const maxContentLength = 10 << 20

// caseType is the STIX type of Verband's cases.
const caseType = "x-verband-case"

// Feed is a configured collection: every object of the given types the
// viewer may see (every visible object when Types is empty), with what those
// objects need (their creators and markings), as an export gives them.
type Feed struct {
	// Name is the feed's alias, such as "all" or "indicator"; required and
	// unique.
	Name string
	// ID is the collection id; empty means a UUID derived from Name, stable
	// across restarts.
	ID string
	// Title and Description describe the collection.
	Title, Description string
	// Types keeps only objects of these STIX types.
	Types []string
}

// DefaultFeeds returns the feeds served when Options.Feeds is nil: one
// collection of every object the viewer may see.
func DefaultFeeds() []Feed {
	return []Feed{{Name: "all", Title: "All objects", Description: "Every object the viewer may see."}}
}

// TypeFeeds returns one feed per STIX type, named after the type.
func TypeFeeds(types ...string) []Feed {
	out := make([]Feed, 0, len(types))
	for _, t := range types {
		out = append(out, Feed{Name: t, Title: "Objects of type " + t, Description: "Every " + t + " object the viewer may see.", Types: []string{t}})
	}
	return out
}

// FeedID returns the collection id derived from a feed name: a name-based
// UUID (version 5 layout over SHA-1).
func FeedID(name string) string {
	h := sha1.Sum([]byte("verband-taxii-feed:" + name))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// CollectionID returns the collection id of a case: the UUID part of its
// STIX id.
func CollectionID(caseStixID string) string {
	return strings.TrimPrefix(caseStixID, caseType+"--")
}

// Options configure a Server.
type Options struct {
	// Title and Description describe the server in discovery and the API
	// root. Default title "Verband".
	Title, Description string
	// Feeds are the configured collections; nil means DefaultFeeds().
	Feeds []Feed
	// Viewer finds the viewer of a request. Default: the viewer the
	// authentication middleware of package query put in the context
	// (query.PrincipalFrom); requests without one get 401.
	Viewer func(r *http.Request) (graph.Viewer, bool)
	// Authenticate, when set, wraps the server (query.Server.Authenticated):
	// its error answers are rewritten into TAXII error bodies.
	Authenticate func(http.Handler) http.Handler
	// PageSize is the page size when a request gives no limit, MaxPage the
	// largest it may ask for. Defaults DefaultPageSize and MaxPageSize.
	PageSize, MaxPage int
}

// Server is the TAXII 2.1 server; it is an http.Handler to mount at Prefix.
type Server struct {
	store *graph.Store
	opts  Options
	feeds []Feed
	byID  map[string]int // collection id → index in feeds
	h     http.Handler
}

// New returns a TAXII server over store. It fails when two feeds share a
// name or an id, or a feed has no name.
func New(store *graph.Store, opts Options) (*Server, error) {
	if opts.Title == "" {
		opts.Title = "Verband"
	}
	if opts.Feeds == nil {
		opts.Feeds = DefaultFeeds()
	}
	if opts.Viewer == nil {
		opts.Viewer = func(r *http.Request) (graph.Viewer, bool) {
			v, _, ok := query.PrincipalFrom(r.Context())
			return v, ok
		}
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.MaxPage <= 0 {
		opts.MaxPage = MaxPageSize
	}
	opts.PageSize = min(opts.PageSize, opts.MaxPage)
	s := &Server{store: store, opts: opts, byID: map[string]int{}}
	names := map[string]bool{}
	for _, f := range opts.Feeds {
		if f.Name == "" {
			return nil, errors.New("taxii server: a feed has no name")
		}
		if f.ID == "" {
			f.ID = FeedID(f.Name)
		}
		if f.Title == "" {
			f.Title = f.Name
		}
		if _, dup := s.byID[f.ID]; dup || names[f.Name] {
			return nil, fmt.Errorf("taxii server: feed %q: duplicate name or id %s", f.Name, f.ID)
		}
		names[f.Name] = true
		s.byID[f.ID] = len(s.feeds)
		s.feeds = append(s.feeds, f)
	}
	s.h = http.HandlerFunc(s.serve)
	if opts.Authenticate != nil {
		s.h = rewriteErrors(opts.Authenticate(s.h))
	}
	return s, nil
}

// Feeds returns the configured feeds with their ids.
func (s *Server) Feeds() []Feed { return append([]Feed(nil), s.feeds...) }

// ServeHTTP serves the TAXII endpoints under Prefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

// taxiiError is a TAXII error message.
type taxiiError struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	HTTPStatus  string `json:"http_status"`
}

// writeError answers with a TAXII error body.
func writeError(w http.ResponseWriter, status int, desc string) {
	writeJSON(w, MediaType, status, taxiiError{Title: http.StatusText(status), Description: desc, HTTPStatus: fmt.Sprint(status)})
}

// writeJSON answers with v as JSON of content type ct.
func writeJSON(w http.ResponseWriter, ct string, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"title":"Internal Server Error","http_status":"500"}`)
		ct = MediaType
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// negotiate returns the content type to answer with for an Accept header,
// or false when the header allows neither TAXII nor STIX 2.1 JSON.
func negotiate(accept string) (string, bool) {
	if strings.TrimSpace(accept) == "" {
		return MediaType, true
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q := strings.TrimSpace(params["q"]); q == "0" || q == "0.0" || q == "0.00" || q == "0.000" {
			continue
		}
		v := params["version"]
		switch {
		case mt == "*/*" || mt == "application/*":
			return MediaType, true
		case mt == "application/taxii+json" && (v == "" || v == "2.1"):
			return MediaType, true
		case mt == "application/stix+json" && (v == "" || v == "2.1"):
			return STIXMediaType, true
		}
	}
	return "", false
}

// errorRewriter turns the error answers of the wrapped middleware (which
// are not TAXII bodies) into TAXII error bodies; answers of the TAXII
// handler itself pass through.
type errorRewriter struct {
	http.ResponseWriter
	status  int
	rewrite bool
	body    bytes.Buffer
}

func (e *errorRewriter) WriteHeader(code int) {
	if e.status != 0 {
		return
	}
	e.status = code
	ct, _, _ := mime.ParseMediaType(e.Header().Get("Content-Type"))
	if code >= 400 && ct != "application/taxii+json" {
		e.rewrite = true
		return
	}
	e.ResponseWriter.WriteHeader(code)
}

func (e *errorRewriter) Write(b []byte) (int, error) {
	if e.status == 0 {
		e.WriteHeader(http.StatusOK)
	}
	if e.rewrite {
		return e.body.Write(b)
	}
	return e.ResponseWriter.Write(b)
}

// finish writes the rewritten error, taking the description from the
// middleware's GraphQL-style error body when it has one.
func (e *errorRewriter) finish() {
	if !e.rewrite {
		return
	}
	var msg struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	desc := ""
	if json.Unmarshal(e.body.Bytes(), &msg) == nil && len(msg.Errors) > 0 {
		desc = msg.Errors[0].Message
	}
	e.Header().Del("Content-Length")
	writeError(e.ResponseWriter, e.status, desc)
}

func rewriteErrors(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ew := &errorRewriter{ResponseWriter: w}
		h.ServeHTTP(ew, r)
		ew.finish()
	})
}
