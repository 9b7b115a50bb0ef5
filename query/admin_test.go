package query_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/query"
)

// accounts is the fixture of the admin tests: the operator organization
// ncsc with its admin root, org-a with an admin and a reader, and org-b with
// an analyst, each with a token.
type accounts struct {
	s   *graph.Store
	api *query.API
	// secrets by user: root, a-admin, a-reader, b-analyst.
	secrets map[string]string
}

func openAccounts(t *testing.T) *accounts {
	t.Helper()
	s, api := openFixture(t, query.APIOptions{})
	if _, err := s.CreateOrganization(context.Background(), graph.OrganizationSpec{Name: "ncsc", Operator: true}); err != nil {
		t.Fatal(err)
	}
	return &accounts{s: s, api: api, secrets: map[string]string{
		"root":      graphtest.Token(t, s, "ncsc", "root", graph.RoleAdmin),
		"a-admin":   graphtest.Token(t, s, graphtest.OrgA, "a-admin", graph.RoleAdmin),
		"a-reader":  graphtest.Token(t, s, graphtest.OrgA, "a-reader", graph.RoleReader),
		"b-analyst": graphtest.Token(t, s, graphtest.OrgB, "b-analyst", graph.RoleAnalyst),
	}}
}

// answer is a GraphQL response: its data, and the code and field of its
// first error.
type answer struct {
	data        map[string]any
	code, field string
	message     string
}

// exec runs a request as the holder of a token secret, authenticated the
// way the HTTP middleware does it.
func (a *accounts) exec(t *testing.T, secret, q string, vars map[string]any) answer {
	t.Helper()
	v, p, err := a.s.Authenticate(secret)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	resp := a.api.Exec(context.Background(), v, p, query.Request{Query: q, Variables: vars})
	var ans answer
	if len(resp.Data) > 0 {
		if err := json.Unmarshal(resp.Data, &ans.data); err != nil {
			t.Fatal(err)
		}
	}
	if len(resp.Errors) > 0 {
		e := resp.Errors[0]
		ans.code, _ = e.Extensions["code"].(string)
		ans.field, _ = e.Extensions["field"].(string)
		ans.message = e.Message
	}
	return ans
}

// names returns the name (or id) of each object of a list in data.
func names(data map[string]any, field, key string) []string {
	list, _ := data[field].([]any)
	var out []string
	for _, o := range list {
		out = append(out, o.(map[string]any)[key].(string))
	}
	return out
}

func TestAdminForbidden(t *testing.T) {
	a := openAccounts(t)
	for _, user := range []string{"a-reader", "b-analyst"} {
		for _, q := range []string{
			`{ organizations { name } }`,
			`{ users { name } }`,
			`{ tokens { id } }`,
			`mutation { createUser(input: {name: "x", role: READER}) { name } }`,
			`mutation { createToken(input: {user: "` + user + `"}) { secret } }`,
			`mutation { disableUser(name: "a-admin") { name } }`,
			`mutation { revokeToken(id: "0123456789abcdef") { id } }`,
			`mutation { createOrganization(input: {name: "org-x"}) { name } }`,
			`mutation { disableOrganization(name: "org-a") { name } }`,
		} {
			if ans := a.exec(t, a.secrets[user], q, nil); ans.code != "FORBIDDEN" {
				t.Errorf("%s: %s = %+v, want FORBIDDEN", user, q, ans)
			}
		}
	}
	if _, err := a.s.Organization("org-x"); err == nil {
		t.Error("a forbidden createOrganization created org-x")
	}
}

func TestAdminOfAnOrganization(t *testing.T) {
	a := openAccounts(t)
	admin := a.secrets["a-admin"]

	// It administers org-a, and only org-a.
	ans := a.exec(t, admin, `{ organizations { name operator } users { name role organization disabled } }`, nil)
	if ans.code != "" || strings.Join(names(ans.data, "organizations", "name"), ",") != "org-a" ||
		strings.Join(names(ans.data, "users", "name"), ",") != "a-admin,a-reader" {
		t.Errorf("own organization: %+v", ans)
	}
	ans = a.exec(t, admin, `mutation { createUser(input: {name: "carla", role: ANALYST}) { name organization role disabled created } }`, nil)
	if u, _ := ans.data["createUser"].(map[string]any); ans.code != "" || u["organization"] != "org-a" || u["role"] != "ANALYST" || u["disabled"] != false {
		t.Errorf("createUser in its organization: %+v", ans)
	}
	for _, c := range []struct{ q, code, field string }{
		{`mutation { createUser(input: {name: "bert", organization: "org-b", role: READER}) { name } }`, "FORBIDDEN", ""},
		{`{ users(organization: "org-b") { name } }`, "FORBIDDEN", ""},
		{`{ tokens(user: "b-analyst") { id } }`, "FORBIDDEN", ""},
		{`mutation { disableUser(name: "b-analyst") { name } }`, "FORBIDDEN", ""},
		{`mutation { createToken(input: {user: "b-analyst"}) { secret } }`, "FORBIDDEN", ""},
		{`mutation { createOrganization(input: {name: "org-x"}) { name } }`, "FORBIDDEN", ""},
		{`mutation { disableOrganization(name: "org-b") { name } }`, "FORBIDDEN", ""},
		{`mutation { createUser(input: {name: "Bad Name", role: READER}) { name } }`, "VALIDATION", "input.name"},
		{`mutation { createUser(input: {name: "b-analyst", role: READER}) { name } }`, "VALIDATION", "input.name"},
		{`mutation { createToken(input: {user: "a-reader", role: ADMIN}) { secret } }`, "VALIDATION", "input.role"},
		{`mutation { createToken(input: {user: "nobody"}) { secret } }`, "NOT_FOUND", "input.user"},
		{`mutation { revokeToken(id: "nope") { id } }`, "VALIDATION", "id"},
		{`mutation { revokeToken(id: "0123456789abcdef") { id } }`, "NOT_FOUND", "id"},
	} {
		if ans := a.exec(t, admin, c.q, nil); ans.code != c.code || ans.field != c.field {
			t.Errorf("%s = %+v, want %s about %q", c.q, ans, c.code, c.field)
		}
	}
	b, err := a.s.Tokens(graph.TokenFilter{User: "b-analyst"})
	if err != nil || len(b) != 1 {
		t.Fatalf("tokens of b-analyst: %v, %v", b, err)
	}
	if ans := a.exec(t, admin, `mutation { revokeToken(id: "`+b[0].ID+`") { id } }`, nil); ans.code != "FORBIDDEN" {
		t.Errorf("revoke another organization's token: %+v", ans)
	}

	// It reads as a member of org-a: org-b's AMBER case stays hidden.
	ans = a.exec(t, admin, `query($id: ID!) { viewer { system organization } node(id: $id) { stixId } }`, map[string]any{"id": graphtest.FixtureIDs.Case})
	if v, _ := ans.data["viewer"].(map[string]any); ans.code != "" || v["system"] != false || v["organization"] != "org-a" || ans.data["node"] != nil {
		t.Errorf("an admin reads as its organization: %+v", ans)
	}

	// Disabling a user stops its token.
	if ans := a.exec(t, admin, `mutation { disableUser(name: "a-reader") { disabled disabledAt } }`, nil); ans.code != "" || ans.data["disableUser"].(map[string]any)["disabled"] != true {
		t.Errorf("disableUser: %+v", ans)
	}
	if _, _, err := a.s.Authenticate(a.secrets["a-reader"]); err == nil {
		t.Error("the disabled user's token still authenticates")
	}
}

func TestInstanceAdmin(t *testing.T) {
	a := openAccounts(t)
	root := a.secrets["root"]
	ans := a.exec(t, root, `mutation { createOrganization(input: {name: "org-d", displayName: "Police D"}) { name displayName operator disabled } }`, nil)
	if o, _ := ans.data["createOrganization"].(map[string]any); ans.code != "" || o["displayName"] != "Police D" || o["operator"] != false {
		t.Fatalf("createOrganization: %+v", ans)
	}
	// It gives the new organization its first admin and a token.
	ans = a.exec(t, root, `mutation { createUser(input: {name: "dora", organization: "org-d", role: ADMIN}) { organization } }`, nil)
	if ans.code != "" {
		t.Fatalf("createUser in org-d: %+v", ans)
	}
	ans = a.exec(t, root, `mutation { createToken(input: {user: "dora"}) { secret token { organization role } } }`, nil)
	p, _ := ans.data["createToken"].(map[string]any)
	dora, _ := p["secret"].(string)
	if ans.code != "" || dora == "" || p["token"].(map[string]any)["organization"] != "org-d" {
		t.Fatalf("createToken for dora: %+v", ans)
	}
	if ans := a.exec(t, dora, `{ users { name } }`, nil); strings.Join(names(ans.data, "users", "name"), ",") != "dora" {
		t.Errorf("dora's users: %+v", ans)
	}
	if ans := a.exec(t, dora, `mutation { createOrganization(input: {name: "org-e"}) { name } }`, nil); ans.code != "FORBIDDEN" {
		t.Errorf("an admin outside the operator organization creates organizations: %+v", ans)
	}

	ans = a.exec(t, root, `{ organizations { name operator } }`, nil)
	if got := strings.Join(names(ans.data, "organizations", "name"), ","); got != "ncsc,org-a,org-b,org-d" {
		t.Errorf("organizations = %s (%+v)", got, ans)
	}
	for _, c := range []struct{ q, code, field string }{
		{`mutation { createOrganization(input: {name: "Org D"}) { name } }`, "VALIDATION", "input.name"},
		{`mutation { createOrganization(input: {name: "org-d"}) { name } }`, "VALIDATION", "input.name"},
		{`mutation { createUser(input: {name: "x", organization: "org-x", role: READER}) { name } }`, "NOT_FOUND", "input.organization"},
		{`mutation { disableOrganization(name: "ncsc") { name } }`, "VALIDATION", "name"},
		{`mutation { disableOrganization(name: "org-x") { name } }`, "NOT_FOUND", "name"},
	} {
		if ans := a.exec(t, root, c.q, nil); ans.code != c.code || ans.field != c.field {
			t.Errorf("%s = %+v, want %s about %q", c.q, ans, c.code, c.field)
		}
	}
	ans = a.exec(t, root, `mutation { disableOrganization(name: "org-d") { disabled disabledAt } }`, nil)
	if o, _ := ans.data["disableOrganization"].(map[string]any); ans.code != "" || o["disabled"] != true || o["disabledAt"] == nil {
		t.Errorf("disableOrganization: %+v", ans)
	}
	if _, _, err := a.s.Authenticate(dora); err == nil {
		t.Error("a token of a disabled organization still authenticates")
	}
}

func TestAdminTokenOverHTTP(t *testing.T) {
	a := openAccounts(t)
	ts := httptest.NewServer(query.NewServer(a.s, query.ServerOptions{Logger: slog.New(slog.DiscardHandler)}).Handler())
	defer ts.Close()
	gql := ts.URL + "/graphql"
	post := func(secret, q string) (int, map[string]any) {
		body, _ := json.Marshal(map[string]string{"query": q})
		return do(t, "POST", gql, secret, "application/json", string(body))
	}

	// The admin makes a reader token for a dashboard; the secret comes back
	// once, in the createToken payload.
	code, body := post(a.secrets["a-admin"], `mutation { createToken(input: {user: "a-admin", role: READER, description: "wall"}) { secret token { id role active } } }`)
	if code != 200 || body["errors"] != nil {
		t.Fatalf("createToken: %d %v", code, body)
	}
	p := body["data"].(map[string]any)["createToken"].(map[string]any)
	secret, id := p["secret"].(string), p["token"].(map[string]any)["id"].(string)
	if !strings.HasPrefix(secret, "vbt_") || p["token"].(map[string]any)["role"] != "READER" {
		t.Fatalf("createToken payload: %v", p)
	}

	// The secret works, as the admin user with the reader role.
	code, body = post(secret, `{ viewer { user organization role system } }`)
	if code != 200 || body["errors"] != nil {
		t.Fatalf("request with the new token: %d %v", code, body)
	}
	if v := body["data"].(map[string]any)["viewer"].(map[string]any); v["user"] != "a-admin" || v["role"] != "reader" || v["system"] != false {
		t.Errorf("viewer = %v", v)
	}
	if code, body = post(secret, `{ tokens { id } }`); firstCode(body) != "FORBIDDEN" {
		t.Errorf("a reader token of an admin administers: %d %v", code, body)
	}

	// Listings never show it again.
	code, body = post(a.secrets["a-admin"], `{ tokens(user: "a-admin") { id description active } }`)
	raw, _ := json.Marshal(body)
	if code != 200 || body["errors"] != nil || !strings.Contains(string(raw), id) || strings.Contains(string(raw), secret[4:]) {
		t.Errorf("tokens: %d %s", code, raw)
	}

	// Revoked, it stops at once.
	if code, body = post(a.secrets["a-admin"], `mutation { revokeToken(id: "`+id+`") { active revoked } }`); code != 200 || body["errors"] != nil {
		t.Fatalf("revokeToken: %d %v", code, body)
	}
	if code, body = post(secret, `{ viewer { user } }`); code != http.StatusUnauthorized || firstCode(body) != "UNAUTHENTICATED" {
		t.Errorf("revoked token: %d %v", code, body)
	}

	// Mutations need POST.
	q := url.Values{"query": {`mutation { disableUser(name: "a-reader") { name } }`}}
	code, body = do(t, "GET", gql+"?"+q.Encode(), a.secrets["a-admin"], "", "")
	if firstCode(body) != "METHOD_NOT_ALLOWED" {
		t.Errorf("a mutation by GET: %d %v", code, body)
	}
	if u, err := a.s.User("a-reader"); err != nil || !u.Enabled() {
		t.Errorf("a mutation by GET disabled a-reader: %+v, %v", u, err)
	}
}

// TestOptimizeSearchIndex merges the search index through the API: only
// an admin of the operator organization may, and only it sees the merge in
// ingestStatus, which follows it to its end.
func TestOptimizeSearchIndex(t *testing.T) {
	a := openAccounts(t)
	const status = `{ ingestStatus { indexSegments indexDocs indexOptimize { running started finished segmentsBefore segmentsAfter error } } }`
	for _, who := range []string{"a-admin", "b-analyst"} {
		if ans := a.exec(t, a.secrets[who], `mutation { optimizeSearchIndex { indexSegments } }`, nil); ans.code != "FORBIDDEN" {
			t.Errorf("%s merges the search index: %+v", who, ans)
		}
	}
	ans := a.exec(t, a.secrets["root"], `mutation { optimizeSearchIndex { indexSegments indexOptimize { running started segmentsBefore } } }`, nil)
	st, _ := ans.data["optimizeSearchIndex"].(map[string]any)
	if ans.code != "" || st["indexOptimize"] == nil {
		t.Fatalf("optimizeSearchIndex as the operator's admin: %+v", ans)
	}
	deadline := time.Now().Add(time.Minute)
	var opt map[string]any
	for {
		ans = a.exec(t, a.secrets["root"], status, nil)
		opt, _ = ans.data["ingestStatus"].(map[string]any)["indexOptimize"].(map[string]any)
		if opt == nil || opt["running"] == false {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the merge still runs after a minute: %+v", opt)
		}
		time.Sleep(10 * time.Millisecond)
	}
	is := ans.data["ingestStatus"].(map[string]any)
	if opt == nil || opt["error"] != nil || opt["finished"] == nil || opt["segmentsAfter"] != float64(1) ||
		opt["segmentsBefore"].(float64) < 1 || is["indexSegments"] != float64(1) || is["indexDocs"].(float64) == 0 {
		t.Errorf("ingestStatus after the merge: %+v", is)
	}
	// Others see neither the segments nor the merge.
	ans = a.exec(t, a.secrets["a-admin"], status, nil)
	if is := ans.data["ingestStatus"].(map[string]any); ans.code != "" || is["indexSegments"] != float64(0) || is["indexOptimize"] != nil {
		t.Errorf("ingestStatus of an admin outside the operator organization: %+v", ans)
	}
	// A search still answers after the merge.
	ans = a.exec(t, a.secrets["a-reader"], `{ search(query: "lantern") { totalCount } }`, nil)
	if n, _ := ans.data["search"].(map[string]any)["totalCount"].(float64); ans.code != "" || n == 0 {
		t.Errorf("search after the merge: %+v", ans)
	}
}
