package taxii_test

import (
	"context"
	"slices"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/query/taxii"
)

func TestAuditRecordsTAXIIRequests(t *testing.T) {
	e := setup(t)
	all := objectsPath + taxii.FeedID("all") + "/"

	// The objects endpoint: every object of the page is recorded.
	a := e.get("b", all+"objects/?limit=5")
	got := graphtest.LastAuditEntry(t, e.store)
	want := ids(a.body["objects"])
	slices.Sort(want)
	if got.Operation != "taxii" || got.Viewer.Org != graphtest.OrgB || got.Outcome != graph.AuditOK ||
		!slices.Equal(got.IDs, want) || len(want) != 5 || !slices.Equal(got.Orgs, []string{graphtest.OrgB}) {
		t.Errorf("objects entry %+v, want ids %q", got, want)
	}

	// The manifest names objects too.
	a = e.get("a", all+"manifest/?match[type]=malware")
	if got := graphtest.LastAuditEntry(t, e.store); !slices.Equal(got.IDs, ids(a.body["objects"])) || len(got.IDs) != 1 {
		t.Errorf("manifest entry %+v", got)
	}

	// Listing collections names the cases the viewer may see.
	e.get("b", objectsPath)
	if got := graphtest.LastAuditEntry(t, e.store); !slices.Equal(got.IDs, []string{graphtest.FixtureIDs.Case}) {
		t.Errorf("collections entry of org-b %+v", got)
	}
	e.get("a", objectsPath)
	if got := graphtest.LastAuditEntry(t, e.store); len(got.IDs) != 0 {
		t.Errorf("collections entry of org-a %+v: it may not see the case", got)
	}

	// A request without a token is recorded, with its status.
	wantError(t, "no token", e.do("GET", "", "", all+"objects/"), 401)
	got = graphtest.LastAuditEntry(t, e.store)
	if got.Viewer != (graph.AuditViewer{}) || got.Outcome != graph.AuditError || !slices.Equal(got.Errors, []string{"HTTP 401"}) ||
		string(got.Args) != `{"method":"GET","path":"`+all+`objects/","query":""}` {
		t.Errorf("401 entry %+v", got)
	}
	if rep, err := e.store.AuditVerify(context.Background()); err != nil || !rep.OK() || rep.Entries != 5 {
		t.Errorf("verify: %+v %v", rep, err)
	}
}
