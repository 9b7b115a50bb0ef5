package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPull serves one store's TAXII collections and pulls the default
// feed into another with "verband pull", twice: the second pull resumes at
// the saved position and adds nothing. Both pulls are in the audit log,
// without the token.
func TestPull(t *testing.T) {
	served := t.TempDir()
	ok(t, served, "admin", "org", "create", "ncsc", "--operator")
	ok(t, served, "admin", "user", "create", "feeder", "--org", "ncsc", "--role", "service")
	r := ok(t, served, "admin", "token", "create", "--user", "feeder")
	token := regexp.MustCompile(`vbt_[A-Za-z0-9_-]{43}`).FindString(r.stdout)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok(t, served, "ingest", "--tlp", "green", actorFile)

	url := serve(t, served).url

	local := t.TempDir()
	// Without --collection, pull lists the collections and asks for one.
	r = verband(t, local, "pull", url+"/taxii2/", "--token-file", tokenFile)
	if r.code != 2 || !strings.Contains(r.stderr, "--collection") {
		t.Errorf("pull without a collection: exit %d, stderr %s", r.code, r.stderr)
	}
	feed := regexp.MustCompile(`(?m)^\s+(\S+)\s`).FindStringSubmatch(strings.SplitN(r.stdout, "\n", 2)[1])
	if feed == nil {
		t.Fatalf("pull listed no collection:\n%s", r.stdout)
	}
	r = ok(t, local, "pull", url+"/taxii2/", "--token-file", tokenFile, "--collection", feed[1], "--owner", "cert-b")
	contains(t, "first pull", r.stdout, "7 created", "Position saved")
	r = ok(t, local, "pull", url+"/taxii2/", "--token-file", tokenFile, "--collection", feed[1], "--owner", "cert-b")
	contains(t, "second pull", r.stdout, "0 created")
	r = ok(t, local, "audit", "export")
	if n := strings.Count(r.stdout, `"operation":"cli pull"`); n != 2 {
		t.Errorf("%d pulls in the audit log, want 2:\n%s", n, r.stdout)
	}
	if strings.Contains(r.stdout, token) {
		t.Error("the audit log holds the TAXII token")
	}
}
