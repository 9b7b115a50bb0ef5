package taxii_test

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/ingest/pipeline"
	"github.com/verband-cti/verband/ingest/taxii"
)

func client(opts taxii.Options) *taxii.Client {
	opts.MinBackoff, opts.MaxBackoff = time.Millisecond, 5*time.Millisecond
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 2
	}
	return taxii.NewClient(opts)
}

func openStore(t *testing.T) *graph.Store {
	opts := graph.DefaultOptions()
	opts.SyncWrites, opts.Search = false, false
	return graphtest.OpenWith(t, t.TempDir(), opts)
}

func count(t *testing.T, s *graph.Store, typ string) int {
	t.Helper()
	n := 0
	err := s.View(graph.System(), func(tx *graph.Tx) error {
		return tx.ByType(typ, 0, func(graph.ID) bool { n++; return true })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDiscovery(t *testing.T) {
	srv := newServer(t)
	c := client(taxii.Options{})
	ctx := context.Background()
	d, err := c.Discover(ctx, srv.ts.URL+"/taxii2/")
	if err != nil {
		t.Fatal(err)
	}
	if d.Title != "Test TAXII" || len(d.APIRoots) != 1 || d.APIRoots[0] != srv.ts.URL+"/api1/" {
		t.Errorf("discovery = %+v (relative API roots must be made absolute)", d)
	}
	for _, u := range []string{srv.ts.URL + "/taxii2/", srv.ts.URL + "/taxii2", srv.ts.URL + "/api1"} {
		root, err := c.Resolve(ctx, u)
		if err != nil || root != srv.ts.URL+"/api1/" {
			t.Errorf("Resolve(%s) = %s, %v", u, root, err)
		}
	}
	info, err := c.APIRoot(ctx, srv.ts.URL+"/api1/")
	if err != nil || info.Title != "API 1" || info.MaxContentLength == 0 {
		t.Errorf("API root = %+v, %v", info, err)
	}
	cols, err := c.Collections(ctx, srv.ts.URL+"/api1/")
	if err != nil || len(cols) != 1 || cols[0].ID != collectionID || !cols[0].CanRead {
		t.Errorf("collections = %+v, %v", cols, err)
	}
	_, err = c.Objects(ctx, srv.ts.URL+"/api1/", "no-such-collection", taxii.ObjectsQuery{})
	var he *taxii.HTTPError
	if !errors.As(err, &he) || he.Status != 404 || !strings.Contains(err.Error(), "no such collection") {
		t.Errorf("missing collection: %v", err)
	}
}

// TestPullResumeAndIdempotence pulls a collection in pages, is cut off
// after the first page, resumes from the saved position, and then pulls
// again to find nothing new; objects added later arrive with the next pull.
func TestPullResumeAndIdempotence(t *testing.T) {
	for _, useNext := range []bool{true, false} {
		name := "next"
		if !useNext {
			name = "added_after"
		}
		t.Run(name, func(t *testing.T) {
			srv := newServer(t)
			srv.useNext = useNext
			srv.add(indicators(0, 12)...) // 24 objects
			s := openStore(t)
			ctx := context.Background()
			c := client(taxii.Options{})
			loader := pipeline.New(s, pipeline.Options{Source: "taxii-test"})
			posFile := filepath.Join(t.TempDir(), "taxii-positions.json")
			positions := taxii.NewFilePositions(posFile)
			root := srv.ts.URL + "/api1/"
			opts := taxii.PullOptions{Collection: collectionID, Limit: 10}

			// The server breaks down after the first page.
			srv.failFrom = 2
			st, err := taxii.Pull(ctx, c, root, loader, positions, opts)
			var he *taxii.HTTPError
			if !errors.As(err, &he) || he.Status != 500 || st.Pages != 1 || st.Load.Created != 10 {
				t.Fatalf("interrupted pull: %+v, %v; want page 1 stored, then a 500", st, err)
			}
			pos, ok, err := positions.Load(root, collectionID)
			if err != nil || !ok || pos.AddedAfter != "2024-06-01T12:00:00.010Z" || pos.Objects != 10 {
				t.Fatalf("saved position = %+v, %v, %v; want the 10th object's date_added", pos, ok, err)
			}

			// It recovers; the pull (another process, say) resumes after the
			// first page.
			positions = taxii.NewFilePositions(posFile)
			srv.failFrom = 0
			srv.requests = nil
			st, err = taxii.Pull(ctx, c, root, loader, positions, opts)
			if err != nil {
				t.Fatal(err)
			}
			if st.Objects != 14 || st.Load.Created != 14 || st.From != "2024-06-01T12:00:00.010Z" || st.To != "2024-06-01T12:00:00.024Z" {
				t.Errorf("resumed pull = %+v, want the 14 remaining objects", st)
			}
			if q, _ := url.ParseQuery(srv.requests[0]); q.Get("added_after") != "2024-06-01T12:00:00.010Z" {
				t.Errorf("resumed with query %q, want added_after of the saved position", srv.requests[0])
			}
			if n := count(t, s, "indicator") + count(t, s, "ipv4-addr"); n != 24 {
				t.Errorf("store holds %d objects, want 24", n)
			}

			// Nothing new: the pull reads nothing and adds nothing.
			st, err = taxii.Pull(ctx, c, root, loader, positions, opts)
			if err != nil || st.Objects != 0 || st.Load.Created+st.Load.Updated != 0 || st.Pages != 1 {
				t.Errorf("pull with nothing new = %+v, %v", st, err)
			}
			// Reading everything again changes nothing either.
			st, err = taxii.Pull(ctx, c, root, loader, positions, taxii.PullOptions{Collection: collectionID, Restart: true})
			if err != nil || st.Objects != 24 || st.Load.Unchanged != 24 {
				t.Errorf("full re-pull = %+v, %v; want all 24 unchanged", st, err)
			}

			// New objects arrive with the next pull.
			srv.add(indicators(100, 2)...)
			st, err = taxii.Pull(ctx, c, root, loader, positions, opts)
			if err != nil || st.Objects != 4 || st.Load.Created != 4 {
				t.Errorf("pull after additions = %+v, %v", st, err)
			}
			if pos, _, _ := positions.Load(root, collectionID); pos.Objects != 24+24+4 {
				t.Errorf("position counts %d objects", pos.Objects)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	srv := newServer(t)
	srv.add(indicators(0, 1)...)
	srv.failTimes = 2 // 429 twice, then fine
	c := client(taxii.Options{MaxRetries: 3})
	p, err := c.Objects(context.Background(), srv.ts.URL+"/api1/", collectionID, taxii.ObjectsQuery{})
	if err != nil || len(p.Objects) != 2 || p.DateAddedFirst == "" || p.DateAddedLast == "" {
		t.Fatalf("after two 429s: %+v, %v", p, err)
	}
	srv.failTimes = 5
	_, err = client(taxii.Options{MaxRetries: 2}).Objects(context.Background(), srv.ts.URL+"/api1/", collectionID, taxii.ObjectsQuery{})
	var he *taxii.HTTPError
	if !errors.As(err, &he) || he.Status != 429 || !strings.Contains(err.Error(), "after 2 retries") {
		t.Errorf("retries exhausted: %v", err)
	}
}

func TestAuth(t *testing.T) {
	srv := newServer(t)
	srv.user, srv.pass = "analyst", "s3cret"
	ctx := context.Background()
	if _, err := client(taxii.Options{Credentials: taxii.Credentials{Username: "analyst", Password: "wrong"}}).Collections(ctx, srv.ts.URL+"/api1/"); !errors.Is(err, taxii.ErrUnauthorized) {
		t.Errorf("wrong password: %v, want ErrUnauthorized", err)
	}
	if _, err := client(taxii.Options{Credentials: taxii.Credentials{Username: "analyst", Password: "s3cret"}}).Collections(ctx, srv.ts.URL+"/api1/"); err != nil {
		t.Errorf("basic auth: %v", err)
	}
	srv.token = "tok-123"
	if _, err := client(taxii.Options{Credentials: taxii.Credentials{Token: "tok-123"}}).Collections(ctx, srv.ts.URL+"/api1/"); err != nil {
		t.Errorf("bearer token: %v", err)
	}
}

func TestNotTAXII(t *testing.T) {
	srv := newServer(t)
	_, err := client(taxii.Options{}).Resolve(context.Background(), srv.ts.URL+"/nothing-here")
	var he *taxii.HTTPError
	if !errors.As(err, &he) || he.Status != 404 {
		t.Errorf("resolve a wrong URL: %v", err)
	}
}

func TestPullBadObjects(t *testing.T) {
	srv := newServer(t)
	objs := indicators(0, 2)
	delete(objs[2], "pattern") // the second indicator
	srv.add(objs...)
	s := openStore(t)
	loader := pipeline.New(s, pipeline.Options{OnError: pipeline.Skip})
	positions := taxii.NewFilePositions(filepath.Join(t.TempDir(), "p.json"))
	st, err := taxii.Pull(context.Background(), client(taxii.Options{}), srv.ts.URL+"/api1/", loader, positions, taxii.PullOptions{Collection: collectionID})
	if err != nil {
		t.Fatal(err)
	}
	if st.Load.Rejected != 1 || st.Load.Created != 3 || len(st.Load.Errors) != 1 {
		t.Fatalf("stats = %+v", st)
	}
	msg := st.Load.Errors[0].Error()
	for _, want := range []string{"page 1", "object 2", "indicator--00000000-0000-4000-8000-000000000001", "pattern"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	// In stop mode the page is not stored and the position does not move.
	s2 := openStore(t)
	positions2 := taxii.NewFilePositions(filepath.Join(t.TempDir(), "p.json"))
	_, err = taxii.Pull(context.Background(), client(taxii.Options{}), srv.ts.URL+"/api1/", pipeline.New(s2, pipeline.Options{}), positions2, taxii.PullOptions{Collection: collectionID})
	if err == nil {
		t.Fatal("stop mode: no error")
	}
	if _, ok, _ := positions2.Load(srv.ts.URL+"/api1/", collectionID); ok {
		t.Error("stop mode: position saved past a page that was not stored")
	}
}
