package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestAdminTokens(t *testing.T) {
	dir := t.TempDir()
	r := ok(t, dir, "admin", "token", "create", "--user", "alice", "--org", "cert-a", "--role", "admin", "--expires", "720h")
	secret := regexp.MustCompile(`vbt_[A-Za-z0-9_-]{43}`).FindString(r.stdout)
	if secret == "" {
		t.Fatalf("create printed no token:\n%s", r.stdout)
	}
	contains(t, "create", r.stdout, "role admin", "not shown again")

	r = ok(t, dir, "--json", "admin", "token", "create", "--user", "job", "--org", "ncsc", "--role", "service")
	var created struct{ ID, Token string }
	if err := json.Unmarshal([]byte(r.stdout), &created); err != nil || created.ID == "" || !strings.HasPrefix(created.Token, "vbt_") {
		t.Fatalf("create --json: %v\n%s", err, r.stdout)
	}

	r = ok(t, dir, "admin", "token", "list")
	contains(t, "list", r.stdout, "alice", "cert-a", "admin", "job", "service", "active", "expires")
	if strings.Contains(r.stdout, secret) {
		t.Error("list shows a secret")
	}
	ok(t, dir, "admin", "token", "revoke", created.ID)
	r = ok(t, dir, "--json", "admin", "token", "list")
	var list []struct {
		ID      string
		Revoked string
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 2 {
		t.Fatalf("list --json: %v\n%s", err, r.stdout)
	}
	for _, tok := range list {
		if (tok.ID == created.ID) != (tok.Revoked != "") {
			t.Errorf("token %s revoked = %q", tok.ID, tok.Revoked)
		}
	}

	for _, args := range [][]string{
		{"admin", "token", "create", "--user", "x", "--org", "y"},
		{"admin", "token", "create", "--user", "x", "--org", "y", "--role", "boss"},
		{"admin", "token", "revoke", "zz"},
	} {
		if r := verband(t, dir, args...); r.code != 2 {
			t.Errorf("verband %s: exit %d, want 2 (%s)", strings.Join(args, " "), r.code, r.stderr)
		}
	}

	// The token works against the served GraphQL API.
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--data-dir", dir, "serve", "--addr", "127.0.0.1:0", "--timeout", "5s"}, &out, &errb)
	}()
	re := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+)`)
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		cancel()
		t.Fatalf("serve printed no URL: %s %s", out.String(), errb.String())
	}
	for _, c := range []struct {
		token string
		code  int
		want  string
	}{
		{secret, 200, `"system":true`},
		{created.Token, 401, `UNAUTHENTICATED`},
		{"", 401, `UNAUTHENTICATED`},
	} {
		req, _ := http.NewRequest("POST", url+"/graphql", strings.NewReader(`{"query":"{ viewer { user organization system } }"}`))
		req.Header.Set("Content-Type", "application/json")
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || !strings.Contains(string(body), c.want) {
			t.Errorf("token %.8q: %d %s", c.token, resp.StatusCode, body)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exit %d: %s", code, errb.String())
	}
	contains(t, "serve log", errb.String(), `msg="graphql request"`, "user=alice")
}
