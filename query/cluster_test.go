package query_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/cluster"
	"github.com/verband-cti/verband/graph/correlate"
	"github.com/verband-cti/verband/graph/graphtest"
)

// clusterRun stores a cluster snapshot of the fixture for an organization,
// as `verband cluster run` does.
func clusterRun(t *testing.T, s *graph.Store, org string, at time.Time) *cluster.Snapshot {
	t.Helper()
	ctx := context.Background()
	v := graph.Viewer{Org: org}
	p, err := correlate.Build(ctx, s, v, correlate.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	res, err := cluster.Compute(ctx, p, cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := cluster.FirstSeen(ctx, s, v, p)
	if err != nil {
		t.Fatal(err)
	}
	prev, _ := cluster.Latest(s, org)
	snap := cluster.NewSnapshot(p, res, first, prev, cluster.RunInfo{ID: cluster.RunID(at), Audience: org, Started: at, MaxDF: correlate.DefaultMaxDF})
	if err := cluster.Save(ctx, s, snap); err != nil {
		t.Fatal(err)
	}
	return snap
}

// TestClustersPerOrganization checks Query.clusters, cluster, clusterReports
// and correlationPaths: org-b, which sees the AMBER case, reads the cluster
// linking it to the report through 203.0.113.7 (and the report to the
// campaign it names, through their malware); org-a, which does not see the
// case, reads its own run (two containers, whose one link of ln 2 is below
// the minimum score) without a trace
// of the case or the value, cannot open
// org-b's cluster by id, and finds no path to the case. Every container the
// answers name is in the request's audit entry.
func TestClustersPerOrganization(t *testing.T) {
	s, base, tokens := auditServer(t)
	ids := graphtest.FixtureIDs
	gql := func(token, q string, vars map[string]any) (map[string]any, string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
		code, resp := do(t, "POST", base+"/graphql", tokens[token].secret, "application/json", string(body))
		raw, _ := json.Marshal(resp)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", token, code, raw)
		}
		return resp, string(raw)
	}
	const list = `{ clusters { totalCount report { run previous totals { containers clusters singletons } changes { new grown { id } } }
		edges { node { id status run size score members { stixId type name rank new object { stixId } }
			links { a b score evidence { kind value rule weight } } bridges { kind value clusters } } } } }`
	resp, _ := gql("reader-b", list, nil)
	if c := resp["data"].(map[string]any)["clusters"].(map[string]any); c["totalCount"] != 0.0 || c["report"] != nil {
		t.Errorf("clusters before the first run: %v", c)
	}

	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clusterRun(t, s, "org-a", at)
	snapB := clusterRun(t, s, "org-b", at)
	if len(snapB.Clusters) != 1 {
		t.Fatalf("org-b's run: %+v", snapB.Clusters)
	}
	clusterID := snapB.Clusters[0].ID

	resp, raw := gql("reader-b", list, nil)
	var b struct {
		Data struct {
			Clusters struct {
				TotalCount int
				Report     struct {
					Run    string
					Totals struct{ Containers, Clusters int }
				}
				Edges []struct {
					Node struct {
						ID, Status string
						Size       int
						Members    []struct {
							StixID string
							New    bool
							Object *struct{ StixID string }
						}
						Links []struct {
							A, B     int
							Evidence []struct{ Value, Rule string }
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(raw), &b); err != nil {
		t.Fatal(err)
	}
	c := b.Data.Clusters
	if c.TotalCount != 1 || c.Report.Run != snapB.Run || len(c.Edges) != 1 {
		t.Fatalf("org-b clusters: %s", raw)
	}
	n := c.Edges[0].Node
	var members []string
	for _, m := range n.Members {
		members = append(members, m.StixID)
		if m.Object == nil || m.Object.StixID != m.StixID || !m.New {
			t.Errorf("member %+v", m)
		}
	}
	slices.Sort(members)
	if n.ID != clusterID || n.Status != "NEW" || n.Size != 3 || !slices.Equal(members, []string{ids.Campaign, ids.Report, ids.Case}) {
		t.Errorf("org-b cluster %+v", n)
	}
	if len(n.Links) != 2 || !strings.Contains(raw, `"value":"203.0.113.7"`) {
		t.Errorf("org-b links %+v", n.Links)
	}
	e := graphtest.LastAuditEntry(t, s)
	if !slices.Contains(e.IDs, ids.Case) || !slices.Contains(e.IDs, ids.Report) {
		t.Errorf("audit entry of the clusters query lists %q, not the members", e.IDs)
	}

	_, raw = gql("reader-a", list, nil)
	if strings.Contains(raw, ids.Case) || strings.Contains(raw, "203.0.113.7") || strings.Contains(raw, clusterID) {
		t.Errorf("org-a's clusters mention org-b's case, its value or its cluster: %s", raw)
	}
	if !strings.Contains(raw, `"totalCount":0`) || !strings.Contains(raw, `"containers":2`) || !strings.Contains(raw, `"run":"`+cluster.RunID(at)) {
		t.Errorf("org-a's clusters: %s", raw)
	}

	one := `query One($id: ID!) { cluster(id: $id) { id size members { stixId } } }`
	if resp, _ := gql("reader-b", one, map[string]any{"id": clusterID}); resp["data"].(map[string]any)["cluster"] == nil {
		t.Errorf("org-b cannot open its own cluster: %v", resp)
	}
	if resp, _ := gql("reader-a", one, map[string]any{"id": clusterID}); resp["data"].(map[string]any)["cluster"] != nil {
		t.Errorf("org-a opened org-b's cluster: %v", resp)
	}

	clusterRun(t, s, "org-b", at.Add(time.Hour))
	_, raw = gql("reader-b", `{ clusterReports(first: 1) { totalCount pageInfo { hasNextPage endCursor }
		edges { node { run previous changes { new dissolved } clusters { edges { node { id status } } } } } } }`, nil)
	if !strings.Contains(raw, `"totalCount":2`) || !strings.Contains(raw, `"previous":"`+snapB.Run) || !strings.Contains(raw, `"status":"UNCHANGED"`) ||
		!strings.Contains(raw, `"hasNextPage":true`) {
		t.Errorf("org-b's cluster reports: %s", raw)
	}

	route := `query Route($from: ID!, $to: ID!) { correlationPaths(from: $from, to: $to) { totalCount
		edges { node { cost containers { stixId } hops { score evidence { value rule here { stixId } there { stixId } } } } } } }`
	resp, raw = gql("reader-b", route, map[string]any{"from": ids.Report, "to": ids.Case})
	if resp["errors"] != nil || !strings.Contains(raw, `"totalCount":1`) || !strings.Contains(raw, `"value":"203.0.113.7"`) {
		t.Errorf("org-b's path from the report to the case: %s", raw)
	}
	got := map[string]bool{}
	stixIDs(resp["data"], got)
	if e := graphtest.LastAuditEntry(t, s); !slices.Equal(e.IDs, slices.Sorted(maps.Keys(got))) {
		t.Errorf("audit entry of correlationPaths lists %q, the answer %q", e.IDs, slices.Sorted(maps.Keys(got)))
	}
	resp, raw = gql("reader-a", route, map[string]any{"from": ids.Report, "to": ids.Case})
	if resp["errors"] == nil || !strings.Contains(raw, "NOT_FOUND") || strings.Contains(raw, "203.0.113.7") {
		t.Errorf("org-a's path to the case it may not see: %s", raw)
	}
	resp, raw = gql("reader-b", route, map[string]any{"from": ids.Report, "to": ids.IP})
	if resp["errors"] == nil || !strings.Contains(raw, "not a container") {
		t.Errorf("path to an observable: %s", raw)
	}
}
