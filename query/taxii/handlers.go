package taxii

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/ingest/export"
	"github.com/verband-cti/verband/query"
	"github.com/verband-cti/verband/schema"
)

// errBadRequest marks a request the server cannot read.
var errBadRequest = errors.New("bad request")

// request is one TAXII request, routed and negotiated.
type request struct {
	w  http.ResponseWriter
	r  *http.Request
	v  graph.Viewer
	ct string // the content type to answer with

	audit *query.AuditRecord // notes the objects returned; nil when not audited
}

func (q *request) ok(v any) { writeJSON(q.w, q.ct, http.StatusOK, v) }

// serve routes a request under Prefix.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "this TAXII server is read-only: collections accept GET only")
		return
	}
	ct, ok := negotiate(r.Header.Get("Accept"))
	if !ok {
		writeError(w, http.StatusNotAcceptable, "accept "+MediaType+" or "+STIXMediaType)
		return
	}
	v, ok := s.opts.Viewer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="verband"`)
		writeError(w, http.StatusUnauthorized, "send an API token: Authorization: Bearer <token>")
		return
	}
	q := &request{w: w, r: r, v: v, ct: ct, audit: query.AuditRecordFrom(r.Context())}
	q.audit.SetOperation("taxii")
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		writeError(w, http.StatusNotFound, "no TAXII endpoint at "+r.URL.Path)
		return
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if parts[0] == "" {
		parts = nil
	}
	for i, p := range parts {
		if u, err := url.PathUnescape(p); err == nil {
			parts[i] = u
		}
	}
	switch {
	case len(parts) == 0:
		s.discovery(q)
	case parts[0] != "api":
		writeError(w, http.StatusNotFound, "no API root at "+r.URL.Path+"; the API root is "+APIRoot)
	case len(parts) == 1:
		s.apiRoot(q)
	case parts[1] != "collections":
		writeError(w, http.StatusNotFound, "no TAXII endpoint at "+r.URL.Path)
	case len(parts) == 2:
		s.collections(q)
	default:
		s.collectionEndpoint(q, parts[2], parts[3:])
	}
}

// baseURL returns the scheme and host the request came to.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) discovery(q *request) {
	root := baseURL(q.r) + APIRoot
	q.ok(map[string]any{"title": s.opts.Title, "description": s.opts.Description, "default": root, "api_roots": []string{root}})
}

func (s *Server) apiRoot(q *request) {
	q.ok(map[string]any{"title": s.opts.Title, "description": s.opts.Description, "versions": []string{MediaType}, "max_content_length": maxContentLength})
}

// collection is a TAXII collection resource.
type collection struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types"`

	sel export.Selection // what the collection holds
}

func (s *Server) feedCollection(f Feed) collection {
	return collection{ID: f.ID, Title: f.Title, Description: f.Description, Alias: f.Name, CanRead: true, MediaTypes: []string{STIXMediaType},
		sel: export.Selection{Types: f.Types}}
}

func caseCollection(n *graph.Node) collection {
	title := n.StixID
	if o, err := n.Object(); err == nil {
		if name, ok := o.String("name"); ok && name != "" {
			title = name
		}
	}
	return collection{ID: CollectionID(n.StixID), Title: title, Description: "Case " + n.StixID + ": the case, its members, the relationships between them and their sightings.",
		CanRead: true, MediaTypes: []string{STIXMediaType}, sel: export.Selection{Case: n.StixID}}
}

func (s *Server) collections(q *request) {
	out := make([]collection, 0, len(s.feeds))
	for _, f := range s.feeds {
		out = append(out, s.feedCollection(f))
	}
	var cases []collection
	err := s.store.View(q.v, func(tx *graph.Tx) error {
		var ids []graph.ID
		if err := tx.ByType(caseType, 0, func(id graph.ID) bool { ids = append(ids, id); return true }); err != nil {
			return err
		}
		for _, id := range ids {
			n, err := tx.Node(id)
			if errors.Is(err, graph.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			cases = append(cases, caseCollection(n))
			q.audit.Returned(n.StixID)
		}
		return nil
	})
	if err != nil {
		s.fail(q, fmt.Errorf("list cases: %w", err))
		return
	}
	slices.SortFunc(cases, func(a, b collection) int { return strings.Compare(a.ID, b.ID) })
	q.ok(map[string]any{"collections": append(out, cases...)})
}

// collection finds a collection the viewer may see by id.
func (s *Server) collection(v graph.Viewer, id string) (collection, error) {
	if i, ok := s.byID[id]; ok {
		return s.feedCollection(s.feeds[i]), nil
	}
	if id == "" || strings.ContainsAny(id, "/?#") {
		return collection{}, fmt.Errorf("collection %q: %w", id, graph.ErrNotFound)
	}
	var c collection
	err := s.store.View(v, func(tx *graph.Tx) error {
		n, err := tx.NodeByStixID(caseType + "--" + id)
		if err != nil {
			return err
		}
		c = caseCollection(n)
		return nil
	})
	if err != nil {
		return collection{}, fmt.Errorf("collection %q: %w", id, err)
	}
	return c, nil
}

// fail answers with the error's TAXII status.
func (s *Server) fail(q *request, err error) {
	switch {
	case errors.Is(err, errBadRequest), errors.Is(err, graph.ErrInvalid):
		writeError(q.w, http.StatusBadRequest, err.Error())
	case errors.Is(err, graph.ErrNotFound):
		writeError(q.w, http.StatusNotFound, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeError(q.w, http.StatusServiceUnavailable, "the request was cancelled or timed out")
	default:
		writeError(q.w, http.StatusInternalServerError, "cannot read the store")
	}
}

// collectionEndpoint serves a collection and the endpoints below it.
func (s *Server) collectionEndpoint(q *request, id string, rest []string) {
	c, err := s.collection(q.v, id)
	if err != nil {
		s.fail(q, err)
		return
	}
	switch {
	case len(rest) == 0:
		if c.sel.Case != "" {
			q.audit.Returned(c.sel.Case)
		}
		q.ok(c)
	case len(rest) == 1 && rest[0] == "objects":
		s.objects(q, c, "", false)
	case len(rest) == 1 && rest[0] == "manifest":
		s.objects(q, c, "", true)
	case len(rest) == 2 && rest[0] == "objects":
		s.objects(q, c, rest[1], false)
	case len(rest) == 3 && rest[0] == "objects" && rest[2] == "versions":
		s.versions(q, c, rest[1])
	default:
		writeError(q.w, http.StatusNotFound, "no TAXII endpoint at "+q.r.URL.Path)
	}
}

// entry is one object of a collection, as the manifest describes it.
type entry struct {
	node    graph.ID
	id      string
	typ     string
	added   time.Time
	version string
}

// filter is what a request asks of a collection's objects.
type filter struct {
	addedAfter time.Time
	types, ids []string
	limit      int
	after      *cursor
}

// cursor is the position after the last envelope sent: its date added and
// id, bound to its collection.
type cursor struct {
	collection string
	added      time.Time
	id         string
}

func (c cursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.collection + "|" + strconv.FormatInt(c.added.UnixMicro(), 10) + "|" + c.id))
}

func decodeCursor(s, coll string) (*cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("next %q: %w", s, errBadRequest)
	}
	parts := strings.SplitN(string(b), "|", 3)
	if len(parts) != 3 || parts[0] != coll {
		return nil, fmt.Errorf("next %q does not belong to collection %s: %w", s, coll, errBadRequest)
	}
	us, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("next %q: %w", s, errBadRequest)
	}
	return &cursor{collection: coll, added: time.UnixMicro(us).UTC(), id: parts[2]}, nil
}

// matchValues returns the comma-separated values of a repeated parameter.
func matchValues(qv url.Values, key string) []string {
	var out []string
	for _, v := range qv[key] {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// parseFilter reads the query parameters of the objects and manifest
// endpoints.
func (s *Server) parseFilter(qv url.Values, coll string) (filter, error) {
	f := filter{limit: s.opts.PageSize, types: matchValues(qv, "match[type]"), ids: matchValues(qv, "match[id]")}
	if v := qv.Get("added_after"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, fmt.Errorf("added_after %q is not an RFC 3339 timestamp: %w", v, errBadRequest)
		}
		f.addedAfter = t.UTC()
	}
	for _, v := range matchValues(qv, "match[version]") {
		if v != "last" {
			return f, fmt.Errorf("match[version]=%s: only \"last\" is supported (Verband keeps the newest version of each object): %w", v, errBadRequest)
		}
	}
	if v := qv.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return f, fmt.Errorf("limit %q is not a positive integer: %w", v, errBadRequest)
		}
		f.limit = min(n, s.opts.MaxPage)
	}
	if v := qv.Get("next"); v != "" {
		c, err := decodeCursor(v, coll)
		if err != nil {
			return f, err
		}
		f.after = c
	}
	return f, nil
}

// taxiiTime formats a TAXII timestamp (microsecond precision, UTC).
func taxiiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// dateAdded is when Verband stored a node: its newest provenance entry, to
// the microsecond.
func dateAdded(n *graph.Node) time.Time {
	var t time.Time
	for _, p := range n.Provenance {
		if p.At.After(t) {
			t = p.At
		}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// list returns the entries of a collection that pass f (all but the page
// bounds), ordered by date added, then id.
func (s *Server) list(ctx context.Context, v graph.Viewer, c collection, f filter) ([]entry, error) {
	ids, err := export.Select(ctx, s.store, v, c.sel)
	if err != nil {
		return nil, fmt.Errorf("collection %s: %w", c.ID, err)
	}
	var out []entry
	_, err = export.Objects(ctx, s.store, v, ids, export.Options{Form: export.Canonical, SkipRestricted: true}, func(o *schema.Object, n *graph.Node) error {
		e := entry{node: n.ID, id: o.ID, typ: o.Type, added: dateAdded(n)}
		switch {
		case len(f.types) > 0 && !slices.Contains(f.types, e.typ),
			len(f.ids) > 0 && !slices.Contains(f.ids, e.id),
			!f.addedAfter.IsZero() && !e.added.After(f.addedAfter):
			return nil
		}
		switch {
		case !o.Modified.IsZero():
			e.version = taxiiTime(o.Modified)
		case !o.Created.IsZero():
			e.version = taxiiTime(o.Created)
		default:
			e.version = taxiiTime(e.added)
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("collection %s: %w", c.ID, err)
	}
	slices.SortFunc(out, func(a, b entry) int {
		if c := a.added.Compare(b.added); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return out, nil
}

// page cuts one page out of entries after f's cursor.
func page(entries []entry, f filter) (out []entry, more bool) {
	start := 0
	if f.after != nil {
		start, _ = slices.BinarySearchFunc(entries, *f.after, func(e entry, c cursor) int {
			if d := e.added.Compare(c.added); d != 0 {
				return d
			}
			return strings.Compare(e.id, c.id)
		})
		for start < len(entries) && entries[start].added.Equal(f.after.added) && entries[start].id == f.after.id {
			start++
		}
	}
	end := min(start+f.limit, len(entries))
	return entries[start:end], end < len(entries)
}

// objects serves the objects endpoint (one object when objectID is set) or
// the manifest.
func (s *Server) objects(q *request, c collection, objectID string, manifest bool) {
	qv, err := url.ParseQuery(q.r.URL.RawQuery)
	if err != nil {
		s.fail(q, fmt.Errorf("query string: %w: %w", errBadRequest, err))
		return
	}
	f, err := s.parseFilter(qv, c.ID)
	if err != nil {
		s.fail(q, err)
		return
	}
	if objectID != "" {
		f.ids = []string{objectID}
	}
	ctx := q.r.Context()
	all, err := s.list(ctx, q.v, c, f)
	if err != nil {
		s.fail(q, err)
		return
	}
	if objectID != "" && len(all) == 0 {
		writeError(q.w, http.StatusNotFound, fmt.Sprintf("no object %s in collection %s", objectID, c.ID))
		return
	}
	pg, more := page(all, f)
	env := map[string]any{"more": more}
	if more {
		last := pg[len(pg)-1]
		env["next"] = cursor{collection: c.ID, added: last.added, id: last.id}.encode()
	}
	if len(pg) > 0 {
		q.w.Header().Set("X-TAXII-Date-Added-First", taxiiTime(pg[0].added))
		q.w.Header().Set("X-TAXII-Date-Added-Last", taxiiTime(pg[len(pg)-1].added))
	}
	if manifest {
		recs := make([]map[string]string, 0, len(pg))
		for _, e := range pg {
			recs = append(recs, map[string]string{"id": e.id, "date_added": taxiiTime(e.added), "version": e.version, "media_type": STIXMediaType})
			q.audit.Returned(e.id)
		}
		if len(recs) > 0 {
			env["objects"] = recs
		}
		q.ok(env)
		return
	}
	if len(pg) > 0 {
		objs, err := s.load(ctx, q.v, pg)
		if err != nil {
			s.fail(q, err)
			return
		}
		env["objects"] = objs
		for _, o := range objs {
			q.audit.Returned(o.ID)
		}
	}
	q.ok(env)
}

// load reads the canonical objects of a page's entries, in the page's order.
func (s *Server) load(ctx context.Context, v graph.Viewer, pg []entry) ([]*schema.Object, error) {
	ids := make([]graph.ID, len(pg))
	for i, e := range pg {
		ids[i] = e.node
	}
	byID := make(map[string]*schema.Object, len(pg))
	_, err := export.Objects(ctx, s.store, v, ids, export.Options{Form: export.Canonical, SkipRestricted: true}, func(o *schema.Object, _ *graph.Node) error {
		byID[o.ID] = o
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read page: %w", err)
	}
	out := make([]*schema.Object, 0, len(pg))
	for _, e := range pg {
		if o := byID[e.id]; o != nil { // gone since the listing: left out
			out = append(out, o)
		}
	}
	return out, nil
}

// versions serves the versions endpoint: Verband keeps one version of each
// object.
func (s *Server) versions(q *request, c collection, objectID string) {
	all, err := s.list(q.r.Context(), q.v, c, filter{ids: []string{objectID}})
	if err != nil {
		s.fail(q, err)
		return
	}
	if len(all) == 0 {
		writeError(q.w, http.StatusNotFound, fmt.Sprintf("no object %s in collection %s", objectID, c.ID))
		return
	}
	vs := make([]string, 0, len(all))
	for _, e := range all {
		vs = append(vs, e.version)
		q.audit.Returned(e.id)
	}
	q.w.Header().Set("X-TAXII-Date-Added-First", taxiiTime(all[0].added))
	q.w.Header().Set("X-TAXII-Date-Added-Last", taxiiTime(all[len(all)-1].added))
	q.ok(map[string]any{"more": false, "versions": vs})
}
