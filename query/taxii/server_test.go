package taxii_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/ingest/pipeline"
	client "github.com/verband-cti/verband/ingest/taxii"
	"github.com/verband-cti/verband/query"
	"github.com/verband-cti/verband/query/taxii"
	"github.com/verband-cti/verband/schema"
)

// tokens maps test bearer tokens to organizations.
type tokens map[string]string

func (tk tokens) Authenticate(secret string) (graph.Viewer, graph.Principal, error) {
	org, ok := tk[secret]
	if !ok {
		return graph.Viewer{}, graph.Principal{}, graph.ErrUnauthenticated
	}
	p := graph.Principal{User: "u-" + org, Org: org, Role: graph.RoleAnalyst}
	return p.Viewer(), p, nil
}

type env struct {
	t     *testing.T
	store *graph.Store
	url   string
}

// setup serves the fixture over TAXII behind the query server's
// authentication, with tokens "a", "b" and "c" for org-a, org-b and org-c.
func setup(t *testing.T) *env {
	t.Helper()
	s := graphtest.Open(t)
	graphtest.Load(t, s, graphtest.Fixture(t))
	srv := query.NewServer(s, query.ServerOptions{Auth: tokens{"a": graphtest.OrgA, "b": graphtest.OrgB, "c": graphtest.OrgC}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	tx, err := taxii.New(s, taxii.Options{Authenticate: srv.Authenticated, Feeds: append(taxii.DefaultFeeds(), taxii.TypeFeeds("indicator")...)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Handle(taxii.Prefix, tx, false)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &env{t: t, store: s, url: ts.URL}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

// do sends a request with a token (none when empty) and an Accept header
// (the TAXII media type when empty).
func (e *env) do(method, token, accept, path string) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if accept == "" {
		accept = taxii.MediaType
	}
	req.Header.Set("Accept", accept)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		e.t.Fatalf("%s %s: body %q: %v", method, path, raw, err)
	}
	return a
}

// get expects 200 with the TAXII media type.
func (e *env) get(token, path string) answer {
	e.t.Helper()
	a := e.do(http.MethodGet, token, "", path)
	if a.status != http.StatusOK {
		e.t.Fatalf("GET %s = %d %v", path, a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != taxii.MediaType {
		e.t.Fatalf("GET %s: content type %q", path, ct)
	}
	return a
}

// wantError expects a TAXII error body with the status.
func wantError(t *testing.T, what string, a answer, status int) {
	t.Helper()
	if a.status != status || a.body["http_status"] != strconv(status) || a.body["title"] == "" || a.header.Get("Content-Type") != taxii.MediaType {
		t.Errorf("%s = %d %v (%s); want a TAXII error %d", what, a.status, a.body, a.header.Get("Content-Type"), status)
	}
}

func strconv(n int) string { b, _ := json.Marshal(n); return string(b) }

func ids(objs any) []string {
	var out []string
	for _, o := range objs.([]any) {
		out = append(out, o.(map[string]any)["id"].(string))
	}
	return out
}

func collectionIDs(a answer) []string { return ids(a.body["collections"]) }

const objectsPath = taxii.APIRoot + "collections/"

func TestDiscoveryAndAPIRoot(t *testing.T) {
	e := setup(t)
	d := e.get("a", taxii.Prefix)
	roots := d.body["api_roots"].([]any)
	if len(roots) != 1 || roots[0] != e.url+taxii.APIRoot || d.body["default"] != e.url+taxii.APIRoot || d.body["title"] != "Verband" {
		t.Errorf("discovery = %v", d.body)
	}
	r := e.get("a", taxii.APIRoot)
	if v := r.body["versions"].([]any); len(v) != 1 || v[0] != taxii.MediaType || r.body["max_content_length"] == nil {
		t.Errorf("API root = %v", r.body)
	}
}

func TestCollectionsFilteredByViewer(t *testing.T) {
	e := setup(t)
	all, ind := taxii.FeedID("all"), taxii.FeedID("indicator")
	caseColl := taxii.CollectionID(graphtest.FixtureIDs.Case)
	if got := collectionIDs(e.get("a", objectsPath)); !slices.Equal(got, []string{all, ind}) {
		t.Errorf("org-a collections = %v; want the two feeds only", got)
	}
	for _, tok := range []string{"b", "c"} {
		got := collectionIDs(e.get(tok, objectsPath))
		if !slices.Equal(got, []string{all, ind, caseColl}) {
			t.Errorf("org-%s collections = %v; want the feeds and the case", tok, got)
		}
	}
	c := e.get("c", objectsPath+caseColl+"/").body
	if c["title"] != "Case 7" || c["can_read"] != true || c["can_write"] != false || c["id"] != caseColl {
		t.Errorf("case collection = %v", c)
	}
	f := e.get("a", objectsPath+all+"/").body
	if f["alias"] != "all" || f["can_write"] != false || f["media_types"].([]any)[0] != taxii.STIXMediaType {
		t.Errorf("feed collection = %v", f)
	}
	for _, p := range []string{"/", "/objects/", "/manifest/", "/objects/" + graphtest.FixtureIDs.Incident + "/"} {
		wantError(t, "org-a GET case collection"+p, e.do(http.MethodGet, "a", "", objectsPath+caseColl+p), http.StatusNotFound)
	}
	got := ids(e.get("c", objectsPath+caseColl+"/objects/").body["objects"])
	for _, want := range []string{graphtest.FixtureIDs.Case, graphtest.FixtureIDs.Incident, graphtest.FixtureIDs.IP, graphtest.FixtureIDs.Identity} {
		if !slices.Contains(got, want) {
			t.Errorf("org-c case objects %v lack %s", got, want)
		}
	}
	if slices.Contains(got, graphtest.FixtureIDs.Campaign) {
		t.Errorf("case objects %v hold a non-member", got)
	}
	// The "all" feed shows org-a nothing AMBER.
	for _, id := range ids(e.get("a", objectsPath+all+"/objects/").body["objects"]) {
		if id == graphtest.FixtureIDs.Incident || id == graphtest.FixtureIDs.Case {
			t.Errorf("org-a sees %s in the all feed", id)
		}
	}
}

func TestPagination(t *testing.T) {
	e := setup(t)
	base := objectsPath + taxii.FeedID("all") + "/"
	full := e.get("a", base+"objects/")
	want := ids(full.body["objects"])
	if len(want) != 11 || full.body["more"] != false || full.body["next"] != nil {
		t.Fatalf("all objects as org-a: %d, more %v next %v; want 11 in one page", len(want), full.body["more"], full.body["next"])
	}
	for _, endpoint := range []string{"objects/", "manifest/"} {
		var got []string
		next := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			q := url.Values{"limit": {"3"}}
			if next != "" {
				q.Set("next", next)
			}
			a := e.get("a", base+endpoint+"?"+q.Encode())
			page := ids(a.body["objects"])
			if len(page) == 0 || len(page) > 3 || a.header.Get("X-TAXII-Date-Added-First") == "" || a.header.Get("X-TAXII-Date-Added-Last") == "" {
				t.Fatalf("%s page %d: %v, headers %v", endpoint, pages, page, a.header)
			}
			got = append(got, page...)
			if a.body["more"] != true {
				if a.body["next"] != nil {
					t.Errorf("last page has next %v", a.body["next"])
				}
				break
			}
			next, _ = a.body["next"].(string)
			if next == "" {
				t.Fatal("more without next")
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s paged = %v\nwant %v", endpoint, got, want)
		}
	}
	// The manifest's records are ordered by date added.
	m := e.get("a", base+"manifest/")
	var last string
	for _, r := range m.body["objects"].([]any) {
		rec := r.(map[string]any)
		if rec["media_type"] != taxii.STIXMediaType || rec["version"] == "" || rec["date_added"].(string) < last {
			t.Errorf("manifest record %v", rec)
		}
		last = rec["date_added"].(string)
	}
	if last != m.header.Get("X-TAXII-Date-Added-Last") {
		t.Errorf("X-TAXII-Date-Added-Last = %q; want %q", m.header.Get("X-TAXII-Date-Added-Last"), last)
	}
	wantError(t, "next of another collection", e.do(http.MethodGet, "a", "", objectsPath+taxii.FeedID("indicator")+"/objects/?next="+url.QueryEscape(firstNext(t, e, base))), http.StatusBadRequest)
}

func firstNext(t *testing.T, e *env, base string) string {
	t.Helper()
	n, _ := e.get("a", base+"objects/?limit=1").body["next"].(string)
	if n == "" {
		t.Fatal("no next")
	}
	return n
}

// addIndicator stores one more indicator, later than everything before.
func addIndicator(t *testing.T, s *graph.Store, id string) {
	t.Helper()
	time.Sleep(2 * time.Millisecond)
	raw, _ := json.Marshal(map[string]any{"type": "indicator", "spec_version": "2.1", "id": id, "created": "2024-04-01T00:00:00Z", "modified": "2024-04-01T00:00:00Z",
		"pattern": "[domain-name:value = 'x.example']", "pattern_type": "stix", "valid_from": "2024-04-01T00:00:00Z"})
	o, err := schema.ParseObject(raw)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(graph.System(), func(tx *graph.Tx) error {
		_, _, err := tx.Put(o, graph.Meta{Policy: graph.Policy{Owner: graphtest.OrgA, TLP: schema.TLPGreen}, Provenance: graph.Provenance{Source: "test"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAddedAfter(t *testing.T) {
	e := setup(t)
	base := objectsPath + taxii.FeedID("all") + "/objects/"
	first := e.get("a", base)
	last := first.header.Get("X-TAXII-Date-Added-Last")
	none := e.get("a", base+"?added_after="+url.QueryEscape(last))
	if none.body["objects"] != nil || none.body["more"] != false || none.header.Get("X-TAXII-Date-Added-Last") != "" {
		t.Errorf("added_after the last = %v", none.body)
	}
	const newID = "indicator--11111111-2222-4333-8444-555555555555"
	addIndicator(t, e.store, newID)
	got := e.get("a", base+"?added_after="+url.QueryEscape(last))
	if ids := ids(got.body["objects"]); !slices.Equal(ids, []string{newID}) {
		t.Errorf("added_after %s = %v; want only the new indicator", last, ids)
	}
	if got.header.Get("X-TAXII-Date-Added-First") <= last {
		t.Errorf("new object's date added %s is not after %s", got.header.Get("X-TAXII-Date-Added-First"), last)
	}
	wantError(t, "bad added_after", e.do(http.MethodGet, "a", "", base+"?added_after=yesterday"), http.StatusBadRequest)
}

func TestMatchFilters(t *testing.T) {
	e := setup(t)
	ids := func(a answer) []string {
		if a.body["objects"] == nil {
			return nil
		}
		out := slices.Clone(ids(a.body["objects"]))
		slices.Sort(out)
		return out
	}
	base := objectsPath + taxii.FeedID("all") + "/"
	fx := graphtest.FixtureIDs
	got := ids(e.get("a", base+"objects/?match[type]=indicator,malware"))
	if !slices.Equal(got, []string{fx.Indicator, fx.Malware}) {
		t.Errorf("match[type] = %v", got)
	}
	got = ids(e.get("a", base+"objects/?match[type]=indicator&match[type]=campaign&match[version]=last"))
	if !slices.Equal(got, []string{fx.Campaign, fx.Indicator}) {
		t.Errorf("repeated match[type] = %v", got)
	}
	got = ids(e.get("a", base+"manifest/?match[id]="+fx.Campaign+","+fx.Incident))
	if !slices.Equal(got, []string{fx.Campaign}) {
		t.Errorf("match[id] as org-a = %v; want the campaign only", got)
	}
	one := e.get("a", base+"objects/"+fx.Malware+"/")
	if got := ids(one); !slices.Equal(got, []string{fx.Malware}) {
		t.Errorf("object endpoint = %v", got)
	}
	v := e.get("a", base+"objects/"+fx.Malware+"/versions/")
	if vs := v.body["versions"].([]any); len(vs) != 1 || vs[0] != "2024-03-01T10:00:00.000000Z" {
		t.Errorf("versions = %v", v.body)
	}
	// The indicator feed holds indicators and what they need.
	got = ids(e.get("a", objectsPath+taxii.FeedID("indicator")+"/objects/"))
	if !slices.Equal(got, []string{fx.Identity, fx.Indicator}) {
		t.Errorf("indicator feed = %v", got)
	}
	wantError(t, "match[version]=first", e.do(http.MethodGet, "a", "", base+"objects/?match[version]=first"), http.StatusBadRequest)
	wantError(t, "object not in collection", e.do(http.MethodGet, "a", "", base+"objects/"+fx.Incident+"/"), http.StatusNotFound)
	wantError(t, "bad limit", e.do(http.MethodGet, "a", "", base+"objects/?limit=0"), http.StatusBadRequest)
}

func TestErrors(t *testing.T) {
	e := setup(t)
	coll := objectsPath + taxii.FeedID("all") + "/objects/"
	wantError(t, "no token", e.do(http.MethodGet, "", "", coll), http.StatusUnauthorized)
	wantError(t, "bad token", e.do(http.MethodGet, "zzz", "", coll), http.StatusUnauthorized)
	wantError(t, "Accept text/html", e.do(http.MethodGet, "a", "text/html", coll), http.StatusNotAcceptable)
	wantError(t, "Accept TAXII 2.0", e.do(http.MethodGet, "a", "application/taxii+json;version=2.0", coll), http.StatusNotAcceptable)
	post := e.do(http.MethodPost, "a", "", coll)
	wantError(t, "POST", post, http.StatusMethodNotAllowed)
	if post.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("Allow = %q", post.header.Get("Allow"))
	}
	wantError(t, "unknown collection", e.do(http.MethodGet, "a", "", objectsPath+"00000000-0000-4000-8000-000000000000/"), http.StatusNotFound)
	wantError(t, "unknown API root", e.do(http.MethodGet, "a", "", taxii.Prefix+"other/"), http.StatusNotFound)
	wantError(t, "unknown endpoint", e.do(http.MethodGet, "a", "", objectsPath+taxii.FeedID("all")+"/status/"), http.StatusNotFound)
	wantError(t, "garbage query", e.do(http.MethodGet, "a", "", coll+"?next=%%%"), http.StatusBadRequest)
	wantError(t, "garbage next", e.do(http.MethodGet, "a", "", coll+"?next=!!!"), http.StatusBadRequest)
	s := e.do(http.MethodGet, "a", taxii.STIXMediaType, coll)
	if s.status != http.StatusOK || s.header.Get("Content-Type") != taxii.STIXMediaType {
		t.Errorf("Accept STIX = %d %s", s.status, s.header.Get("Content-Type"))
	}
	if s := e.do(http.MethodGet, "a", "text/html, */*;q=0.8", coll); s.status != http.StatusOK {
		t.Errorf("Accept */* = %d", s.status)
	}
}

// TestClientPull pulls collections with Verband's TAXII client into a second
// store.
func TestClientPull(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	for _, tc := range []struct {
		token, collection string
		want              []string
		not               []string
	}{
		{"c", taxii.CollectionID(graphtest.FixtureIDs.Case), []string{graphtest.FixtureIDs.Case, graphtest.FixtureIDs.Incident, graphtest.FixtureIDs.IP}, []string{graphtest.FixtureIDs.Campaign}},
		{"a", taxii.FeedID("all"), []string{graphtest.FixtureIDs.Campaign, graphtest.FixtureIDs.Report, graphtest.FixtureIDs.Domain}, []string{graphtest.FixtureIDs.Incident}},
	} {
		dst := graphtest.Open(t)
		c := client.NewClient(client.Options{Credentials: client.Credentials{Token: tc.token}, MaxRetries: -1})
		root, err := c.Resolve(ctx, e.url+taxii.Prefix)
		if err != nil {
			t.Fatal(err)
		}
		positions := client.NewFilePositions(filepath.Join(t.TempDir(), "positions.json"))
		loader := pipeline.New(dst, pipeline.Options{Source: "taxii-pull"})
		st, err := client.Pull(ctx, c, root, loader, positions, client.PullOptions{Collection: tc.collection, Limit: 2})
		if err != nil {
			t.Fatalf("pull %s as %s: %v", tc.collection, tc.token, err)
		}
		if st.Pages < 2 || st.Load.Created != st.Objects || st.Load.Rejected != 0 {
			t.Errorf("pull %s: %+v", tc.collection, st)
		}
		err = dst.View(graph.System(), func(tx *graph.Tx) error {
			for _, id := range tc.want {
				if _, err := tx.NodeByStixID(id); err != nil {
					t.Errorf("pulled store lacks %s: %v", id, err)
				}
			}
			for _, id := range tc.not {
				if n, err := tx.NodeByStixID(id); err == nil && len(n.Raw) > 0 {
					t.Errorf("pulled store holds %s", id)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// A second pull resumes after the last object and finds nothing.
		st, err = client.Pull(ctx, c, root, loader, positions, client.PullOptions{Collection: tc.collection, Limit: 2})
		if err != nil || st.Objects != 0 {
			t.Errorf("second pull = %+v, %v; want nothing new", st, err)
		}
		if !strings.Contains(st.From, "T") {
			t.Errorf("second pull started at %q; want the saved added_after", st.From)
		}
	}
}
