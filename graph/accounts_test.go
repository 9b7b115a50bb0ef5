package graph

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openAccountsStore(t *testing.T) *Store {
	t.Helper()
	opts := DefaultOptions()
	opts.SyncWrites, opts.Search = false, false
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestTokens(t *testing.T) {
	s := openAccountsStore(t)
	ctx := context.Background()
	tok, secret, err := s.CreateToken(ctx, TokenSpec{User: "alice", Org: "org-a", Role: RoleAnalyst, Description: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) < len(tokenPrefix)+43 {
		t.Fatalf("secret %q too short", secret)
	}
	v, p, err := s.Authenticate(secret)
	if err != nil {
		t.Fatal(err)
	}
	if v.IsSystem() || v.Org != "org-a" || v.User != "alice" || p.Role != RoleAnalyst || p.TokenID != tok.ID {
		t.Errorf("Authenticate = %+v, %+v", v, p)
	}
	for _, bad := range []string{"", "vbt_", secret + "x", strings.TrimPrefix(secret, tokenPrefix)} {
		if _, _, err := s.Authenticate(bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("Authenticate(%q) = %v", bad, err)
		}
	}

	admin, adminSecret, err := s.CreateToken(ctx, TokenSpec{User: "root", Org: "ncsc", Role: "ADMIN", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if v, _, err := s.Authenticate(adminSecret); err != nil || !v.IsSystem() {
		t.Errorf("admin viewer = %+v, %v", v, err)
	}

	list, err := s.Tokens()
	if err != nil || len(list) != 2 {
		t.Fatalf("Tokens = %v, %v", list, err)
	}
	if list[1].ID != admin.ID && list[0].ID != admin.ID {
		t.Errorf("Tokens = %+v, missing %s", list, admin.ID)
	}

	if err := s.RevokeToken(tok.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(tok.ID); err != nil {
		t.Errorf("second revoke: %v", err)
	}
	if _, _, err := s.Authenticate(secret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked token authenticates: %v", err)
	}
	if err := s.RevokeToken("0123456789abcdef"); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke unknown = %v", err)
	}
	if err := s.RevokeToken("nope"); !errors.Is(err, ErrInvalid) {
		t.Errorf("revoke bad id = %v", err)
	}

	// Expiry.
	_, expSecret, err := s.CreateToken(ctx, TokenSpec{User: "bob", Org: "org-b", Role: RoleReader, Expires: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	old := tokenClock
	tokenClock = func() time.Time { return time.Now().Add(2 * time.Minute) }
	_, _, err = s.Authenticate(expSecret)
	tokenClock = old
	if !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("expired token authenticates: %v", err)
	}

	for _, spec := range []TokenSpec{
		{Org: "o", Role: RoleReader},
		{User: "u", Role: RoleReader},
		{User: "u", Org: "o", Role: "boss"},
		{User: "u", Org: "o", Role: RoleReader, Expires: time.Now().Add(-time.Hour)},
	} {
		if _, _, err := s.CreateToken(ctx, spec); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateToken(%+v) = %v", spec, err)
		}
	}
}

func TestTokenSecretNotStored(t *testing.T) {
	s := openAccountsStore(t)
	_, secret, err := s.CreateToken(context.Background(), TokenSpec{User: "u", Org: "o", Role: RoleService})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Scan every file of the data directory for the secret's random part.
	found := false
	err = walkFiles(s.Dir(), func(b []byte) {
		if bytes.Contains(b, []byte(strings.TrimPrefix(secret, tokenPrefix))) {
			found = true
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if found {
		t.Error("the token secret is stored in the data directory")
	}
}

func TestTokenKeysRoundTrip(t *testing.T) {
	h := hashSecret("x")
	if got, err := parseTokenHashKey(tokenHashKey(h)); err != nil || got != h {
		t.Errorf("token hash key round trip: %x, %v", got, err)
	}
	if got, err := parseTokenIDKey(tokenIDKey(42)); err != nil || got != 42 {
		t.Errorf("token id key round trip: %d, %v", got, err)
	}
	tok := Token{ID: formatTokenID(7), User: "u", Org: "o", Role: RoleAdmin, Description: "d", Created: time.Unix(1, 0).UTC()}
	got, err := decodeToken(encodeToken(tok, 7))
	if err != nil || got != tok {
		t.Errorf("token record round trip: %+v, %v", got, err)
	}
}

func FuzzTokenKeys(f *testing.F) {
	f.Add(tokenHashKey(hashSecret("a")))
	f.Add(tokenIDKey(3))
	f.Add(encodeToken(Token{User: "u"}, 1))
	f.Fuzz(func(t *testing.T, k []byte) {
		if h, err := parseTokenHashKey(k); err == nil && !bytes.Equal(tokenHashKey(h), k) {
			t.Errorf("token hash key %x mismatch", k)
		}
		if id, err := parseTokenIDKey(k); err == nil && !bytes.Equal(tokenIDKey(id), k) {
			t.Errorf("token id key %x mismatch", k)
		}
		_, _ = decodeToken(k)
	})
}

// walkFiles calls fn with the content of every file under dir.
func walkFiles(dir string, fn func([]byte)) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fn(b)
		return nil
	})
}
