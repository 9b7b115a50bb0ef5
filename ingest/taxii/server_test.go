package taxii_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/verband-cti/verband/ingest/taxii"
)

// server is a small TAXII 2.1 server for tests: one API root (/api1/) with
// one collection, objects kept in the order they were added, each with its
// own date_added. It implements discovery, the API root, collections and
// the objects endpoint with added_after, limit, next and match[type], the
// X-TAXII-Date-Added-First/Last headers, the TAXII media type, and HTTP
// basic or bearer authentication.
type server struct {
	t  *testing.T
	ts *httptest.Server

	mu      sync.Mutex
	objects []stored
	clock   time.Time
	// useNext makes the server page with "next" tokens; without it, it
	// says only "more" and the client must use added_after.
	useNext bool
	// maxLimit caps the page size.
	maxLimit int
	// user/pass or token, when set, are required.
	user, pass, token string
	// failFrom makes every objects request from the failFrom-th on (1-based)
	// answer 500; failTimes makes the next failTimes requests answer 429.
	failFrom, failTimes int
	// requests logs the query of every objects request.
	requests []string
}

type stored struct {
	dateAdded string
	raw       json.RawMessage
	typ       string
}

const collectionID = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"

func newServer(t *testing.T) *server {
	s := &server{t: t, clock: time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC), useNext: true, maxLimit: 100}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /taxii2/", s.wrap(func(w http.ResponseWriter, r *http.Request) {
		s.json(w, map[string]any{"title": "Test TAXII", "default": s.ts.URL + "/api1/", "api_roots": []string{"/api1/"}})
	}))
	mux.HandleFunc("GET /api1/{$}", s.wrap(func(w http.ResponseWriter, r *http.Request) {
		s.json(w, map[string]any{"title": "API 1", "versions": []string{taxii.MediaType}, "max_content_length": 10 << 20})
	}))
	mux.HandleFunc("GET /api1/collections/{$}", s.wrap(func(w http.ResponseWriter, r *http.Request) {
		s.json(w, map[string]any{"collections": []map[string]any{{"id": collectionID, "title": "Indicators", "can_read": true, "can_write": false, "media_types": []string{"application/stix+json;version=2.1"}}}})
	}))
	mux.HandleFunc("GET /api1/collections/{id}/objects/{$}", s.wrap(s.handleObjects))
	s.ts = httptest.NewServer(mux)
	t.Cleanup(s.ts.Close)
	return s
}

// add adds objects, each one millisecond after the last.
func (s *server) add(objs ...map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range objs {
		raw, err := json.Marshal(o)
		if err != nil {
			s.t.Fatal(err)
		}
		s.clock = s.clock.Add(time.Millisecond)
		s.objects = append(s.objects, stored{dateAdded: s.clock.Format("2006-01-02T15:04:05.000Z"), raw: raw, typ: fmt.Sprint(o["type"])})
	}
}

func (s *server) wrap(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept"), "application/taxii+json;version=2.1") {
			s.error(w, http.StatusNotAcceptable, "Accept must be "+taxii.MediaType)
			return
		}
		switch {
		case s.token != "":
			if r.Header.Get("Authorization") != "Bearer "+s.token {
				s.error(w, http.StatusUnauthorized, "bad token")
				return
			}
		case s.user != "":
			if u, p, ok := r.BasicAuth(); !ok || u != s.user || p != s.pass {
				s.error(w, http.StatusUnauthorized, "bad credentials")
				return
			}
		}
		h(w, r)
	}
}

func (s *server) json(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", taxii.MediaType)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.t.Error(err)
	}
}

func (s *server) error(w http.ResponseWriter, status int, title string) {
	w.Header().Set("Content-Type", taxii.MediaType)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"title": title, "http_status": strconv.Itoa(status)})
}

func (s *server) handleObjects(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.PathValue("id") != collectionID {
		s.error(w, http.StatusNotFound, "no such collection")
		return
	}
	q := r.URL.Query()
	s.requests = append(s.requests, r.URL.RawQuery)
	if s.failFrom > 0 && len(s.requests) >= s.failFrom {
		s.error(w, http.StatusInternalServerError, "down for maintenance")
		return
	}
	if s.failTimes > 0 {
		s.failTimes--
		w.Header().Set("Retry-After", "0")
		s.error(w, http.StatusTooManyRequests, "slow down")
		return
	}
	limit := s.maxLimit
	if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 && l < limit {
		limit = l
	}
	var types []string
	if t := q.Get("match[type]"); t != "" {
		types = strings.Split(t, ",")
	}
	after := q.Get("added_after")
	start := 0
	if next := q.Get("next"); next != "" {
		b, err := base64.RawURLEncoding.DecodeString(next)
		if err != nil {
			s.error(w, http.StatusBadRequest, "bad next")
			return
		}
		if start, err = strconv.Atoi(string(b)); err != nil {
			s.error(w, http.StatusBadRequest, "bad next")
			return
		}
	}
	var match []stored
	for _, o := range s.objects {
		if (after == "" || o.dateAdded > after) && (types == nil || slices.Contains(types, o.typ)) {
			match = append(match, o)
		}
	}
	if start > len(match) {
		start = len(match)
	}
	end := min(start+limit, len(match))
	page := match[start:end]
	env := map[string]any{"more": end < len(match)}
	if s.useNext && end < len(match) {
		env["next"] = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	objs := make([]json.RawMessage, len(page))
	for i, o := range page {
		objs[i] = o.raw
	}
	if len(objs) > 0 {
		env["objects"] = objs
		w.Header().Set("X-TAXII-Date-Added-First", page[0].dateAdded)
		w.Header().Set("X-TAXII-Date-Added-Last", page[len(page)-1].dateAdded)
	}
	s.json(w, env)
}

// indicators returns n indicators with ids numbered from first, and the SCO
// of each one's IP.
func indicators(first, n int) []map[string]any {
	var out []map[string]any
	for i := first; i < first+n; i++ {
		ip := fmt.Sprintf("203.0.113.%d", i%250)
		out = append(out,
			map[string]any{
				"type": "indicator", "spec_version": "2.1", "id": fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i),
				"created": "2024-06-01T00:00:00.000Z", "modified": "2024-06-01T00:00:00.000Z",
				"pattern": "[ipv4-addr:value = '" + ip + "']", "pattern_type": "stix", "valid_from": "2024-06-01T00:00:00Z",
			},
			map[string]any{"type": "ipv4-addr", "spec_version": "2.1", "id": fmt.Sprintf("ipv4-addr--00000000-0000-4000-8000-%012d", i), "value": ip},
		)
	}
	return out
}
