package query_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/query"
)

// auditToken is a token of the audit tests.
type auditToken struct {
	secret string
	tok    graph.Token
}

// auditServer serves the fixture with tokens named role-org, such as
// "reader-a" or "admin-b".
func auditServer(t *testing.T) (*graph.Store, string, map[string]auditToken) {
	t.Helper()
	s, _ := openFixture(t, query.APIOptions{})
	tokens := map[string]auditToken{}
	for _, name := range []string{"reader-a", "analyst-a", "admin-a", "reader-b", "admin-b"} {
		role, org, _ := strings.Cut(name, "-")
		if _, err := s.EnsureUser(context.Background(), graph.UserSpec{Name: "u-" + name, Org: "org-" + org, Role: graph.Role(role)}); err != nil {
			t.Fatal(err)
		}
		tok, secret, err := s.CreateToken(context.Background(), graph.TokenSpec{User: "u-" + name})
		if err != nil {
			t.Fatal(err)
		}
		tokens[name] = auditToken{secret, tok}
	}
	srv := query.NewServer(s, query.ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return s, ts.URL, tokens
}

// stixIDs collects every stixId value of a decoded response.
func stixIDs(v any, into map[string]bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, m := range t {
			if s, ok := m.(string); ok && k == "stixId" {
				into[s] = true
			}
			stixIDs(m, into)
		}
	case []any:
		for _, m := range t {
			stixIDs(m, into)
		}
	}
}

func TestAuditRecordsGraphQLRequests(t *testing.T) {
	s, base, tokens := auditServer(t)
	ids := graphtest.FixtureIDs
	cases := []struct {
		token, name, query string
		vars               map[string]any
	}{
		{"reader-b", "Hood", `query Hood($id: ID!) { neighbours(id: $id, depth: 2) {
			root { stixId } nodes { edges { node { stixId } } }
			links { edges { node { from { stixId } to { stixId } via { stixId } } } } } }`, map[string]any{"id": ids.Campaign}},
		{"reader-b", "Find", `query Find($q: String!) { search(query: $q, first: 3) { edges { node { stixId createdBy { stixId } } } } }`,
			map[string]any{"q": "lantern"}},
		{"reader-b", "List", `query List { objects(first: 4) { edges { node { stixId
			neighbours(first: 2) { edges { node { stixId } via { stixId } } } } } } }`, nil},
		{"reader-b", "Route", `query Route($from: ID!, $to: ID!) { paths(from: $from, to: $to) { edges { node {
			nodes { stixId } links { from { stixId } to { stixId } via { stixId } } } } } }`, map[string]any{"from": ids.Campaign, "to": ids.IP}},
		// Only the page of the timeline is returned, so only it is audited.
		{"reader-b", "Timeline", `query Timeline($id: ID!) { case(id: $id) { stixId timeline(first: 1) { edges { node { object { stixId } } } } } }`,
			map[string]any{"id": ids.Case}},
		// A related container is returned, so it is audited.
		{"reader-b", "Related", `query Related($id: ID!) { correlations(id: $id) { edges { node { container { stixId } } } } }`,
			map[string]any{"id": ids.Report}},
		{"analyst-a", "Create", `mutation Create($m: [ID!]) { createCase(input: {name: "Audit me", members: $m}) {
			case { stixId members { edges { node { stixId } } } } } }`, map[string]any{"m": []string{ids.IP}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := tokens[c.token]
			body, _ := json.Marshal(map[string]any{"query": c.query, "operationName": c.name, "variables": c.vars})
			code, resp := do(t, "POST", base+"/graphql", tok.secret, "application/json", string(body))
			if code != http.StatusOK || resp["errors"] != nil {
				t.Fatalf("%d %v", code, resp)
			}
			want := map[string]bool{}
			stixIDs(resp["data"], want)
			if len(want) == 0 {
				t.Fatalf("the response names no objects: %v", resp)
			}
			e := graphtest.LastAuditEntry(t, s)
			wantViewer := graph.AuditViewer{Org: tok.tok.Org, User: tok.tok.User, Role: string(tok.tok.Role), TokenID: tok.tok.ID}
			if e.Operation != "graphql:"+c.name || e.Viewer != wantViewer || e.Outcome != graph.AuditOK ||
				!slices.Equal(e.Orgs, []string{tok.tok.Org}) || len(e.Errors) != 0 {
				t.Errorf("entry %+v: want operation graphql:%s by %+v, ok", e, c.name, wantViewer)
			}
			if got := slices.Sorted(maps.Keys(want)); !slices.Equal(e.IDs, got) || e.IDCount != int64(len(got)) {
				t.Errorf("audited ids %q (count %d), the response returned %q", e.IDs, e.IDCount, got)
			}
			var args struct {
				Query         string
				OperationName string
				Variables     map[string]any
			}
			if err := json.Unmarshal(e.Args, &args); err != nil {
				t.Fatal(err)
			}
			wantVars, _ := json.Marshal(c.vars)
			gotVars, _ := json.Marshal(args.Variables)
			if args.Query != c.query || args.OperationName != c.name || string(gotVars) != string(wantVars) {
				t.Errorf("audited arguments %s, want the query, name and variables %s", e.Args, wantVars)
			}
		})
	}

	// GET requests are audited as well, and error codes are recorded.
	q := url.Values{"query": {`query One($id: ID!) { node(id: $id) { stixId } }`}, "variables": {`{"id":"` + ids.Malware + `"}`}}
	if code, resp := do(t, "GET", base+"/graphql?"+q.Encode(), tokens["reader-a"].secret, "", ""); code != http.StatusOK || resp["errors"] != nil {
		t.Fatalf("GET: %d %v", code, resp)
	}
	if e := graphtest.LastAuditEntry(t, s); e.Operation != "graphql:One" || !slices.Equal(e.IDs, []string{ids.Malware}) || e.Viewer.User != "u-reader-a" {
		t.Errorf("GET entry %+v", e)
	}
	if code, _ := do(t, "POST", base+"/graphql", tokens["reader-a"].secret, "application/json", `{"query":"{ nope }"}`); code != http.StatusOK {
		t.Fatalf("bad query: %d", code)
	}
	if e := graphtest.LastAuditEntry(t, s); e.Operation != "graphql" || e.Outcome != graph.AuditError || !slices.Equal(e.Errors, []string{"BAD_QUERY"}) || len(e.IDs) != 0 {
		t.Errorf("bad query entry %+v", e)
	}
	if rep, err := s.AuditVerify(context.Background()); err != nil || !rep.OK() {
		t.Errorf("verify: %+v %v", rep, err)
	}
}

func TestAuditRecordsFailedAuthentication(t *testing.T) {
	s, base, _ := auditServer(t)
	for _, tok := range []string{"", "vbt_not-a-token"} {
		code, body := do(t, "POST", base+"/graphql", tok, "application/json", `{"query":"{ viewer { user } }"}`)
		if code != http.StatusUnauthorized || firstCode(body) != "UNAUTHENTICATED" {
			t.Fatalf("token %q: %d %v", tok, code, body)
		}
		e := graphtest.LastAuditEntry(t, s)
		if e.Viewer != (graph.AuditViewer{}) || e.Operation != "http" || e.Outcome != graph.AuditError ||
			!slices.Equal(e.Errors, []string{"HTTP 401"}) || len(e.Orgs) != 0 ||
			string(e.Args) != `{"method":"POST","path":"/graphql","query":""}` {
			t.Errorf("token %q: entry %+v", tok, e)
		}
	}
}

// auditLogQuery lists the caller's audit log, oldest first.
const auditLogQuery = `query Log($after: String) { auditLog(first: 50, newestFirst: false, after: $after) {
	edges { cursor node { seq operation organizations viewer { user organization role tokenId } ids idCount prev hash arguments } }
	pageInfo { hasNextPage endCursor } totalCount } }`

type logPage struct {
	Data struct {
		AuditLog struct {
			Edges []struct {
				Cursor string
				Node   struct {
					Seq, Operation, Prev, Hash string
					Organizations, IDs         []string
					IDCount                    float64
					Viewer                     *struct{ User, Organization, Role, TokenID string }
					Arguments                  map[string]any
				}
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   string
			}
			TotalCount int
		}
	}
	Errors []struct {
		Extensions struct{ Code string }
	}
}

func readLog(t *testing.T, base, secret, query string, vars map[string]any) logPage {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", base+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p logPage
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAuditLogQuery(t *testing.T) {
	_, base, tokens := auditServer(t)
	node := `query Mine($id: ID!) { node(id: $id) { stixId } }`
	readLog(t, base, tokens["reader-a"].secret, node, map[string]any{"id": graphtest.FixtureIDs.Malware})
	readLog(t, base, tokens["reader-b"].secret, node, map[string]any{"id": graphtest.FixtureIDs.Campaign})

	// Readers may not read the audit log.
	if p := readLog(t, base, tokens["reader-a"].secret, auditLogQuery, nil); len(p.Errors) == 0 || p.Errors[0].Extensions.Code != "FORBIDDEN" {
		t.Errorf("reader: errors %+v, want FORBIDDEN", p.Errors)
	}

	// An admin sees the entries of the own organization only.
	for _, c := range []struct{ admin, org, reader, id string }{
		{"admin-a", "org-a", "u-reader-a", graphtest.FixtureIDs.Malware},
		{"admin-b", "org-b", "u-reader-b", graphtest.FixtureIDs.Campaign},
	} {
		p := readLog(t, base, tokens[c.admin].secret, auditLogQuery, nil)
		if len(p.Errors) > 0 {
			t.Fatalf("%s: %+v", c.admin, p.Errors)
		}
		var sawReader, sawForbidden bool
		for _, e := range p.Data.AuditLog.Edges {
			n := e.Node
			if !slices.Contains(n.Organizations, c.org) || n.Viewer == nil || n.Viewer.Organization != c.org || n.Hash == "" || n.Prev == "" {
				t.Errorf("%s sees entry %+v", c.admin, n)
			}
			if n.Operation == "graphql:Mine" && n.Viewer.User == c.reader && slices.Equal(n.IDs, []string{c.id}) && n.IDCount == 1 {
				sawReader = true
				if vars, _ := n.Arguments["variables"].(map[string]any); vars["id"] != c.id {
					t.Errorf("%s: arguments %v", c.admin, n.Arguments)
				}
			}
			sawForbidden = sawForbidden || (n.Viewer.User == "u-reader-a" && n.Operation == "graphql:Log")
		}
		if !sawReader {
			t.Errorf("%s does not see the request of %s: %+v", c.admin, c.reader, p.Data.AuditLog.Edges)
		}
		if l := p.Data.AuditLog; l.PageInfo.HasNextPage || l.TotalCount != len(l.Edges) {
			t.Errorf("%s: totalCount %d of a list of %d entries on one page", c.admin, l.TotalCount, len(l.Edges))
		}
		if sawForbidden != (c.org == "org-a") {
			t.Errorf("%s: sees the forbidden auditLog request of u-reader-a: %v", c.admin, sawForbidden)
		}
	}

	// Paging: newest first, one at a time, with decreasing sequence numbers.
	pageQuery := `query Page($after: String) { auditLog(first: 1, after: $after) { edges { cursor node { seq } } pageInfo { hasNextPage endCursor } totalCount } }`
	first := readLog(t, base, tokens["admin-a"].secret, pageQuery, nil)
	second := readLog(t, base, tokens["admin-a"].secret, pageQuery, map[string]any{"after": first.Data.AuditLog.PageInfo.EndCursor})
	seq := func(p logPage) int {
		if len(p.Data.AuditLog.Edges) != 1 {
			return 0
		}
		n, _ := strconv.Atoi(p.Data.AuditLog.Edges[0].Node.Seq)
		return n
	}
	if !first.Data.AuditLog.PageInfo.HasNextPage || seq(second) == 0 || seq(second) >= seq(first) {
		t.Errorf("pages %+v then %+v", first.Data.AuditLog, second.Data.AuditLog)
	}
	// The count is of the whole list, not the page: the second page's
	// count takes in the request for the first.
	if n := first.Data.AuditLog.TotalCount; n < 2 || second.Data.AuditLog.TotalCount != n+1 {
		t.Errorf("totalCount %d on the first page and %d on the second", n, second.Data.AuditLog.TotalCount)
	}
}

// orgTokens authenticates secret "x" as an analyst of org-a.
type orgTokens struct{}

func (orgTokens) Authenticate(secret string) (graph.Viewer, graph.Principal, error) {
	if secret != "x" {
		return graph.Viewer{}, graph.Principal{}, graph.ErrUnauthenticated
	}
	p := graph.Principal{User: "alice", Org: graphtest.OrgA, Role: graph.RoleAnalyst}
	return p.Viewer(), p, nil
}

func TestAuditFailureWithholdsTheAnswer(t *testing.T) {
	s := graphtest.Open(t)
	graphtest.Load(t, s, graphtest.Fixture(t))
	srv := query.NewServer(s, query.ServerOptions{Auth: orgTokens{}, Logger: slog.New(slog.DiscardHandler)})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	if code, _ := do(t, "POST", ts.URL+"/graphql", "x", "application/json", `{"query":"{ viewer { user } }"}`); code != http.StatusOK {
		t.Fatalf("before: %d", code)
	}
	// A closed store cannot append: the request must fail, not be answered.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendAudit(context.Background(), graph.AuditEntry{}); !errors.Is(err, graph.ErrClosed) {
		t.Fatalf("append to a closed store: %v", err)
	}
	code, body := do(t, "POST", ts.URL+"/graphql", "x", "application/json", `{"query":"{ viewer { user } }"}`)
	if code != http.StatusInternalServerError || firstCode(body) != "INTERNAL" || body["data"] != nil {
		t.Errorf("%d %v, want 500 INTERNAL without data", code, body)
	}
	msg, _ := body["errors"].([]any)[0].(map[string]any)["message"].(string)
	if !strings.Contains(msg, "audit log") {
		t.Errorf("message %q does not say the audit log failed", msg)
	}
}
