package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestAdminAccounts(t *testing.T) {
	dir := t.TempDir()

	// Bootstrap an empty store as the admin help says.
	r := ok(t, dir, "admin", "org", "create", "ncsc", "--display-name", "National CSC", "--operator")
	contains(t, "org create", r.stdout, "Created operator organization ncsc (National CSC)")
	ok(t, dir, "admin", "user", "create", "alice", "--org", "ncsc", "--role", "admin")
	r = ok(t, dir, "admin", "token", "create", "--user", "alice", "--expires", "720h")
	secret := regexp.MustCompile(`vbt_[A-Za-z0-9_-]{43}`).FindString(r.stdout)
	if secret == "" {
		t.Fatalf("create printed no token:\n%s", r.stdout)
	}
	contains(t, "token create", r.stdout, "alice of ncsc, role admin", "not shown again")

	// A second organization with an analyst, who gets a reader token.
	ok(t, dir, "admin", "org", "create", "cert-a")
	r = ok(t, dir, "--json", "admin", "user", "create", "bob", "--org", "cert-a", "--role", "analyst")
	var user struct{ Name, Org, Role string }
	if err := json.Unmarshal([]byte(r.stdout), &user); err != nil || user != (struct{ Name, Org, Role string }{"bob", "cert-a", "analyst"}) {
		t.Fatalf("user create --json: %v\n%s", err, r.stdout)
	}
	r = ok(t, dir, "--json", "admin", "token", "create", "--user", "bob", "--role", "reader", "--description", "dashboard")
	var bob struct{ ID, Token, Org, Role string }
	if err := json.Unmarshal([]byte(r.stdout), &bob); err != nil || bob.ID == "" || !strings.HasPrefix(bob.Token, "vbt_") || bob.Org != "cert-a" || bob.Role != "reader" {
		t.Fatalf("token create --json: %v\n%s", err, r.stdout)
	}
	r = ok(t, dir, "--json", "admin", "token", "create", "--user", "bob")
	var bob2 struct{ ID, Token string }
	if err := json.Unmarshal([]byte(r.stdout), &bob2); err != nil || bob2.Token == "" {
		t.Fatalf("token create --json: %v\n%s", err, r.stdout)
	}

	// Listings.
	r = ok(t, dir, "admin", "org", "list")
	contains(t, "org list", r.stdout, "NAME", "cert-a", "National CSC", "yes", "active")
	r = ok(t, dir, "--json", "admin", "org", "list")
	var orgs []struct {
		Name     string
		Operator bool
	}
	if err := json.Unmarshal([]byte(r.stdout), &orgs); err != nil || len(orgs) != 2 || orgs[0].Name != "cert-a" || orgs[0].Operator || !orgs[1].Operator {
		t.Errorf("org list --json: %v\n%s", err, r.stdout)
	}
	r = ok(t, dir, "--json", "admin", "user", "list", "--org", "cert-a")
	var users []struct{ Name string }
	if err := json.Unmarshal([]byte(r.stdout), &users); err != nil || len(users) != 1 || users[0].Name != "bob" {
		t.Errorf("user list --org cert-a --json: %v\n%s", err, r.stdout)
	}
	r = ok(t, dir, "admin", "user", "list")
	contains(t, "user list", r.stdout, "alice", "ncsc", "admin", "bob", "cert-a", "analyst")
	r = ok(t, dir, "admin", "token", "list")
	contains(t, "token list", r.stdout, "alice", "ncsc", "bob", "reader", "dashboard", "active", "expires")
	if strings.Contains(r.stdout, secret) || strings.Contains(r.stdout, bob.Token) {
		t.Error("token list shows a secret")
	}
	r = ok(t, dir, "--json", "admin", "token", "list", "--user", "bob")
	var list []struct{ ID, User, Revoked string }
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 2 || list[0].User != "bob" || list[1].User != "bob" {
		t.Fatalf("token list --user bob --json: %v\n%s", err, r.stdout)
	}

	// Revoke one of bob's tokens; disable bob, whose other token stops too.
	ok(t, dir, "admin", "token", "revoke", bob.ID)
	r = ok(t, dir, "--json", "admin", "token", "list", "--org", "cert-a")
	list = nil
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 2 {
		t.Fatalf("token list --org --json: %v\n%s", err, r.stdout)
	}
	for _, tok := range list {
		if (tok.ID == bob.ID) != (tok.Revoked != "") {
			t.Errorf("token %s revoked = %q", tok.ID, tok.Revoked)
		}
	}
	r = ok(t, dir, "admin", "user", "disable", "bob")
	contains(t, "user disable", r.stdout, "Disabled user bob")
	r = ok(t, dir, "admin", "user", "list", "--org", "cert-a")
	contains(t, "user list after disable", r.stdout, "disabled ")

	// Mistakes: usage errors exit 2, failures 1, each with a clear message.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"admin", "user", "create", "carol", "--org", "cert-x", "--role", "reader"}, 1, "create user carol: organization cert-x does not exist"},
		{[]string{"admin", "user", "create", "alice", "--org", "cert-a", "--role", "reader"}, 1, "user name alice is taken"},
		{[]string{"admin", "user", "create", "carol", "--org", "cert-a"}, 2, "--org and --role are required"},
		{[]string{"admin", "user", "create", "carol", "--org", "cert-a", "--role", "boss"}, 2, `role "boss"`},
		{[]string{"admin", "org", "create", "Cert B"}, 2, `organization name "Cert B"`},
		{[]string{"admin", "org", "create", "cert-a"}, 1, "organization cert-a already exists"},
		{[]string{"admin", "org", "create", "cert-b", "--operator"}, 1, "the operator organization is already ncsc"},
		{[]string{"admin", "org", "disable", "ncsc"}, 2, "operator organization and cannot be disabled"},
		{[]string{"admin", "org", "disable", "cert-x"}, 1, "organization cert-x does not exist"},
		{[]string{"admin", "token", "create", "--user", "bob"}, 1, "user bob is disabled"},
		{[]string{"admin", "token", "create", "--user", "alice", "--role", "boss"}, 2, `role "boss"`},
		{[]string{"admin", "token", "create", "--role", "reader"}, 2, "--user is required"},
		{[]string{"admin", "token", "revoke", "zz"}, 2, `token id "zz"`},
		{[]string{"admin", "token", "revoke", "0123456789abcdef"}, 1, "token 0123456789abcdef does not exist"},
	} {
		r := verband(t, dir, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("verband %s: exit %d, want %d with %q; stderr: %s", strings.Join(c.args, " "), r.code, c.code, c.want, r.stderr)
		}
	}

	// The tokens work, or not, against the served GraphQL API; the admin
	// reads as its organization, not as the system.
	srv := serve(t, dir, "--timeout", "5s")
	url := srv.url
	const who = `{ viewer { user organization system } organizations { name operator } }`
	for _, c := range []struct {
		token string
		code  int
		want  string
	}{
		{secret, 200, `"viewer":{"user":"alice","organization":"ncsc","system":false},"organizations":[{"name":"cert-a","operator":false},{"name":"ncsc","operator":true}]`},
		{bob.Token, 401, `UNAUTHENTICATED`},
		{bob2.Token, 401, `UNAUTHENTICATED`},
		{"", 401, `UNAUTHENTICATED`},
	} {
		body, _ := json.Marshal(map[string]string{"query": who})
		req, _ := http.NewRequest("POST", url+"/graphql", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || !strings.Contains(string(b), c.want) {
			t.Errorf("token %.8q: %d %s", c.token, resp.StatusCode, b)
		}
	}
	if code := srv.stop(); code != 0 {
		t.Errorf("serve exit %d: %s", code, srv.log.String())
	}
	contains(t, "serve log", srv.log.String(), `msg="graphql request"`, "user=alice")
}

// TestAdminSourceSettings runs the default-marking and protection commands
// as an operator would, and checks that an ingest from the source takes the
// marking and that every change is in the audit log.
func TestAdminSourceSettings(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, "admin", "org", "create", "ncsc", "--operator")
	ok(t, dir, "admin", "org", "create", "cert-b")
	r := ok(t, dir, "admin", "source", "list")
	contains(t, "empty source list", r.stdout, "No import source has a default marking")
	r = ok(t, dir, "admin", "source", "set", "partner", "--tlp", "amber", "--share", "cert-b")
	contains(t, "source set", r.stdout, "partner", "TLP:AMBER", "cert-b")
	if r := verband(t, dir, "admin", "source", "set", "partner", "--tlp", "amber", "--share", "cert-z"); r.code == 0 || !strings.Contains(r.stderr, "cert-z") {
		t.Errorf("unknown sharing organization: exit %d, stderr %s", r.code, r.stderr)
	}
	if r := verband(t, dir, "admin", "source", "set", "partner", "--tlp", "purple"); r.code != 2 {
		t.Errorf("bad TLP: exit %d, want 2 (usage)", r.code)
	}
	r = ok(t, dir, "admin", "source", "list")
	contains(t, "source list", r.stdout, "SOURCE", "partner", "TLP:AMBER", "cert-b")

	ok(t, dir, "ingest", "--owner", "ncsc", "--source", "partner", infraFile)
	r = ok(t, dir, "--json", "get", "infrastructure--d09c50cf-5bab-465e-9e2d-543912148b73")
	contains(t, "get after ingest from the source", r.stdout, `"TLP:AMBER"`, `"cert-b"`)

	r = ok(t, dir, "admin", "protect", "add", "x_informant", "--source", "humint")
	contains(t, "protect add", r.stdout, "x_informant now protected in the contributions of humint")
	if r := verband(t, dir, "admin", "protect", "add", "type"); r.code != 2 || !strings.Contains(r.stderr, "cannot be protected") {
		t.Errorf("protect type: exit %d, stderr %s", r.code, r.stderr)
	}
	r = ok(t, dir, "admin", "protect", "list")
	contains(t, "protect list", r.stdout, "x_source", "(every source)", "x_informant", "humint")
	ok(t, dir, "admin", "protect", "remove", "x_informant", "--source", "humint")
	ok(t, dir, "admin", "source", "remove", "partner")
	if r := verband(t, dir, "admin", "source", "remove", "partner"); r.code != 2 {
		t.Errorf("removing an unset marking: exit %d, want 2", r.code)
	}
	r = ok(t, dir, "audit", "export")
	contains(t, "audit log", r.stdout, "cli admin source set", "cli admin protect add", "cli admin protect remove", "cli admin source remove")
}
