package query_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/query"
	"github.com/verband-cti/verband/schema"
)

// introspectionQuery is the standard introspection query of GraphiQL.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`

// TestIntrospectionGolden compares the schema's introspection with
// testdata/introspection.golden.json; -update rewrites the file.
func TestIntrospectionGolden(t *testing.T) {
	_, api := openFixture(t, query.APIOptions{})
	v, p := viewerOf(t, "org-a/alice/reader")
	resp := api.Exec(context.Background(), v, p, query.Request{Query: introspectionQuery})
	if len(resp.Errors) > 0 {
		t.Fatalf("introspection: %v", resp.Errors)
	}
	got := prettyJSON(t, resp.Data)
	const golden = "testdata/introspection.golden.json"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("introspection differs from %s; run go test ./query -run Introspection -update and review the diff", golden)
	}
}

// TestDescriptions checks that every type, field, argument, input field
// and enum value of the schema has a description.
func TestDescriptions(t *testing.T) {
	_, api := openFixture(t, query.APIOptions{})
	v, p := viewerOf(t, "system")
	resp := api.Exec(context.Background(), v, p, query.Request{Query: introspectionQuery})
	var s struct {
		Schema struct {
			Types []struct {
				Name, Description string
				Fields            []struct {
					Name, Description string
					Args              []struct{ Name, Description string }
				}
				InputFields []struct{ Name, Description string }
				EnumValues  []struct{ Name, Description string }
			}
		} `json:"__schema"`
	}
	if err := json.Unmarshal(resp.Data, &s); err != nil {
		t.Fatal(err)
	}
	for _, ty := range s.Schema.Types {
		if strings.HasPrefix(ty.Name, "__") || ty.Name == "String" || ty.Name == "Int" || ty.Name == "Float" || ty.Name == "Boolean" || ty.Name == "ID" {
			continue
		}
		if ty.Description == "" {
			t.Errorf("type %s has no description", ty.Name)
		}
		for _, f := range ty.Fields {
			if f.Description == "" {
				t.Errorf("field %s.%s has no description", ty.Name, f.Name)
			}
			for _, a := range f.Args {
				if a.Description == "" && ty.Name != "Mutation" {
					t.Errorf("argument %s.%s(%s) has no description", ty.Name, f.Name, a.Name)
				}
			}
		}
		for _, f := range ty.InputFields {
			if f.Description == "" {
				t.Errorf("input field %s.%s has no description", ty.Name, f.Name)
			}
		}
		for _, e := range ty.EnumValues {
			if e.Description == "" {
				t.Errorf("enum value %s.%s has no description", ty.Name, e.Name)
			}
		}
	}
}

// codes returns the extensions.code of every error of a response.
func codes(resp *query.Response) []string {
	var out []string
	for _, e := range resp.Errors {
		c, _ := e.Extensions["code"].(string)
		out = append(out, c)
	}
	return out
}

func TestLimits(t *testing.T) {
	s, _ := openFixture(t, query.APIOptions{})
	ids := fixtureNames(t)
	for _, c := range []struct {
		name   string
		limits query.Limits
		query  string
		want   string
	}{
		{"depth", query.Limits{MaxDepth: 4}, `{ node(id: "1") { neighbours { edges { node { neighbours { edges { node { stixId } } } } } } } }`, "exceeds max depth 4"},
		{"selections", query.Limits{MaxSelections: 30}, "{" + strings.Repeat(" a: __typename", 40) + "}", "selections"},
		{"length", query.Limits{MaxQueryLength: 100}, "{ __typename }" + strings.Repeat(" ", 200), "query length"},
		{"page size", query.Limits{MaxPageSize: 10}, `{ objects(first: 11) { totalCount } }`, "page size limit of 10"},
		{"nodes", query.Limits{MaxNodes: 5}, fmt.Sprintf(`{ neighbours(id: %q, depth: 2, first: 50) { nodes { edges { node { stixId } } } } }`, ids["Report"]), "more than 5 objects"},
		{"neighbour depth", query.Limits{MaxNeighbourDepth: 2}, fmt.Sprintf(`{ neighbours(id: %q, depth: 3) { root { stixId } } }`, ids["Report"]), "limit of 2"},
		{"path depth", query.Limits{MaxPathDepth: 2}, fmt.Sprintf(`{ paths(from: %q, to: %q, maxDepth: 3) { totalCount } }`, ids["Report"], ids["IP"]), "limit of 2"},
		{"path visits", query.Limits{MaxPathVisits: 3}, fmt.Sprintf(`{ paths(from: %q, to: %q, maxDepth: 4, k: 5) { totalCount } }`, ids["Indicator"], ids["Domain"]), "too many edges"},
		{"scan", query.Limits{MaxScan: 2}, `{ objects(filter: {labels: ["x"]}) { totalCount } }`, "more than 2 objects"},
	} {
		api, err := query.NewAPI(s, query.APIOptions{Limits: c.limits})
		if err != nil {
			t.Fatal(err)
		}
		v, p := viewerOf(t, "system")
		start := time.Now()
		resp := api.Exec(context.Background(), v, p, query.Request{Query: c.query})
		if cs := codes(resp); len(cs) == 0 || cs[0] != "LIMIT" || !strings.Contains(resp.Errors[0].Message, c.want) {
			t.Errorf("%s: codes %v, errors %v", c.name, cs, resp.Errors)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %s to fail", c.name, d)
		}
	}
}

// TestScanBudgetPages checks that a listing cut short by the scan budget
// says there is more and lets the client go on.
func TestScanBudgetPages(t *testing.T) {
	s, _ := openFixture(t, query.APIOptions{})
	api, err := query.NewAPI(s, query.APIOptions{Limits: query.Limits{MaxScan: 3}})
	if err != nil {
		t.Fatal(err)
	}
	v, p := viewerOf(t, "system")
	seen := 0
	var after any
	for range 20 {
		resp := api.Exec(context.Background(), v, p, query.Request{
			Query:     `query($after: String) { objects(filter: {markings: [GREEN]}, first: 100, after: $after) { edges { node { stixId } } pageInfo { hasNextPage endCursor } } }`,
			Variables: map[string]any{"after": after},
		})
		if len(resp.Errors) > 0 {
			t.Fatal(resp.Errors)
		}
		var out struct {
			Objects struct {
				Edges    []struct{ Node struct{ StixID string } }
				PageInfo struct {
					HasNextPage bool
					EndCursor   string
				}
			}
		}
		if err := json.Unmarshal(resp.Data, &out); err != nil {
			t.Fatal(err)
		}
		seen += len(out.Objects.Edges)
		if !out.Objects.PageInfo.HasNextPage {
			break
		}
		after = out.Objects.PageInfo.EndCursor
	}
	// Every fixture object but the two AMBER ones is GREEN.
	if want := len(graphtest.Fixture(t)) - 2; seen != want {
		t.Errorf("paged through %d GREEN objects, want %d", seen, want)
	}
}

// TestTimeout checks that a request ends at its time limit.
func TestTimeout(t *testing.T) {
	_, api := openFixture(t, query.APIOptions{Limits: query.Limits{Timeout: time.Nanosecond}})
	v, p := viewerOf(t, "system")
	resp := api.Exec(context.Background(), v, p, query.Request{Query: `{ objects { totalCount } }`})
	if c := codes(resp); len(c) == 0 || c[0] != "LIMIT" || !strings.Contains(resp.Errors[0].Message, "time") {
		t.Errorf("codes %v, errors %v", c, resp.Errors)
	}
}

// countingReader counts the snapshots and searches resolvers open.
type countingReader struct {
	s      *graph.Store
	views  atomic.Int64
	search atomic.Int64
}

func (c *countingReader) View(v graph.Viewer, fn func(tx *graph.Tx) error) error {
	c.views.Add(1)
	return c.s.View(v, fn)
}

func (c *countingReader) Search(ctx context.Context, v graph.Viewer, q graph.SearchQuery) (*graph.SearchResult, error) {
	c.search.Add(1)
	return c.s.Search(ctx, v, q)
}

// loadMalware stores n malware objects, each created by the fixture's
// identity and used by its campaign.
func loadMalware(tb testing.TB, s *graph.Store, n int) {
	ids := fixtureNames(tb)
	meta := graph.Meta{Policy: graph.Policy{Owner: graphtest.OrgA, TLP: schema.TLPGreen}, Provenance: graph.Provenance{Source: "test"}}
	var items []graphtest.Item
	for i := range n {
		mid := fmt.Sprintf("malware--00000000-0000-4000-8000-%012d", i)
		for _, props := range []map[string]any{
			{"type": "malware", "id": mid, "name": fmt.Sprintf("Sample %d", i), "is_family": false, "created_by_ref": ids["Identity"]},
			{"type": "relationship", "id": fmt.Sprintf("relationship--00000000-0000-4000-8000-%012d", i), "relationship_type": "uses", "source_ref": ids["Campaign"], "target_ref": mid},
		} {
			props["spec_version"], props["created"], props["modified"] = "2.1", "2024-03-05T00:00:00Z", "2024-03-05T00:00:00Z"
			raw, _ := json.Marshal(props)
			o, err := schema.ParseObject(raw)
			if err != nil {
				tb.Fatal(err)
			}
			items = append(items, graphtest.Item{Object: o, Meta: meta})
		}
	}
	graphtest.Load(tb, s, items)
}

// TestNoNPlusOne lists n malware objects with their neighbours, the
// relationships behind the edges and the far ends' creators, and checks
// that the number of store snapshots does not grow with n.
func TestNoNPlusOne(t *testing.T) {
	const q = `{ objects(filter: {types: ["malware"]}, first: 200) {
		edges { node { stixId createdBy { stixId }
			neighbours(first: 5) { totalCount edges { type node { stixId createdBy { stixId } } via { relationshipType } } } } } } }`
	views := map[int]int64{}
	for _, n := range []int{10, 100} {
		start := time.Now()
		s := graphtest.Open(t)
		graphtest.Load(t, s, graphtest.Fixture(t))
		loadMalware(t, s, n)
		cr := &countingReader{s: s}
		api, err := query.NewAPI(s, query.APIOptions{Reader: cr})
		if err != nil {
			t.Fatal(err)
		}
		v, p := viewerOf(t, "org-a/alice/reader")
		resp := api.Exec(context.Background(), v, p, query.Request{Query: q})
		if len(resp.Errors) > 0 {
			t.Fatal(resp.Errors)
		}
		var out struct {
			Objects struct {
				Edges []struct {
					Node struct {
						Neighbours struct{ TotalCount int }
					}
				}
			}
		}
		if err := json.Unmarshal(resp.Data, &out); err != nil {
			t.Fatal(err)
		}
		if got := len(out.Objects.Edges); got != n+1 {
			t.Fatalf("n=%d: listed %d malware", n, got)
		}
		views[n] = cr.views.Load()
		t.Logf("n=%d: %d snapshots in %s", n, views[n], time.Since(start))
	}
	if views[100] != views[10] || views[100] > 8 {
		t.Errorf("snapshots: %d for 10 objects, %d for 100; want the same small number", views[10], views[100])
	}
}

// TestIngestMISP sends a MISP event through the ingest mutation.
func TestIngestMISP(t *testing.T) {
	_, api := openFixture(t, query.APIOptions{})
	const event = `{"Event":{"uuid":"5b6464ca-3e3c-4f2b-9d1e-d0350acd0835","info":"C2 seen","date":"2024-05-03","timestamp":"1714720000",
"published":true,"distribution":"1","analysis":"2","threat_level_id":"1","Orgc":{"name":"CERT-X","uuid":"55f6ea5e-51ac-4344-bc8c-4170950d210f"},
"Tag":[{"name":"tlp:green"}],
"Attribute":[{"uuid":"5b6464ca-1111-4f2b-9d1e-d0350acd0835","type":"ip-dst","category":"Network activity","value":"192.0.2.44","to_ids":true,"timestamp":"1714720000"}]}}`
	v, p := viewerOf(t, "org-a/alice/analyst")
	resp := api.Exec(context.Background(), v, p, query.Request{
		Query:     `mutation I($d: String!) { ingest(input: {data: $d, name: "event.json", source: "misp:cert-x"}) { objects created rejected errors { message } } }`,
		Variables: map[string]any{"d": event},
	})
	if len(resp.Errors) > 0 {
		t.Fatal(resp.Errors)
	}
	var out struct {
		Ingest struct{ Objects, Created, Rejected int }
	}
	if err := json.Unmarshal(resp.Data, &out); err != nil {
		t.Fatal(err)
	}
	if out.Ingest.Created == 0 || out.Ingest.Rejected != 0 {
		t.Fatalf("ingest = %s", resp.Data)
	}
	resp = api.Exec(context.Background(), v, p, query.Request{Query: `{ objects(filter: {types: ["ipv4-addr"]}) { edges { node { ... on IPv4Address { value } owner provenance { source file } } } } }`})
	if !strings.Contains(string(resp.Data), `"value":"192.0.2.44","owner":"org-a","provenance":[{"source":"misp:cert-x","file":"event.json"}]`) {
		t.Errorf("ingested IP: %s %v", resp.Data, resp.Errors)
	}
}
