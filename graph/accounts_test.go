package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func openAccountsStore(t *testing.T) *Store {
	t.Helper()
	return openAccountsStoreIn(t, t.TempDir())
}

func openAccountsStoreIn(t *testing.T, dir string) *Store {
	t.Helper()
	opts := DefaultOptions()
	opts.SyncWrites, opts.Search = false, false
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// wantAccountErr fails unless err matches kind and is an *AccountError
// about field.
func wantAccountErr(t *testing.T, what string, err, kind error, field string) {
	t.Helper()
	var ae *AccountError
	if !errors.Is(err, kind) || !errors.As(err, &ae) || ae.Field != field {
		t.Errorf("%s = %v, want %v about %q", what, err, kind, field)
	}
}

func mustOrg(t *testing.T, s *Store, spec OrganizationSpec) Organization {
	t.Helper()
	o, err := s.CreateOrganization(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func mustUser(t *testing.T, s *Store, name, org string, role Role) User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), UserSpec{Name: name, Org: org, Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustToken(t *testing.T, s *Store, spec TokenSpec) (Token, string) {
	t.Helper()
	tok, secret, err := s.CreateToken(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return tok, secret
}

func TestOrganizations(t *testing.T) {
	s := openAccountsStore(t)
	ctx := context.Background()
	ncsc := mustOrg(t, s, OrganizationSpec{Name: "ncsc", DisplayName: " National CSC ", Operator: true})
	if ncsc.DisplayName != "National CSC" || !ncsc.Operator || ncsc.Created.IsZero() || !ncsc.Enabled() {
		t.Errorf("created %+v", ncsc)
	}
	certA := mustOrg(t, s, OrganizationSpec{Name: "cert-a"})
	if certA.DisplayName != "cert-a" || certA.Operator {
		t.Errorf("created %+v", certA)
	}

	_, err := s.CreateOrganization(ctx, OrganizationSpec{Name: "cert-a"})
	wantAccountErr(t, "second cert-a", err, ErrExists, "name")
	_, err = s.CreateOrganization(ctx, OrganizationSpec{Name: "police", Operator: true})
	wantAccountErr(t, "second operator", err, ErrExists, "operator")
	if _, err := s.Organization("police"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a failed create left organization police: %v", err)
	}
	for _, bad := range []string{"", "Cert-A", "cert a", "-cert", ".x", "ü", "a/b", strings.Repeat("a", 65)} {
		_, err := s.CreateOrganization(ctx, OrganizationSpec{Name: bad})
		wantAccountErr(t, fmt.Sprintf("CreateOrganization(%q)", bad), err, ErrInvalid, "name")
	}
	_, err = s.CreateOrganization(ctx, OrganizationSpec{Name: "x", DisplayName: "bad\nname"})
	wantAccountErr(t, "display name with a newline", err, ErrInvalid, "displayName")
	if _, err := s.CreateOrganization(ctx, OrganizationSpec{Name: strings.Repeat("a", 64) + ""}); err != nil {
		t.Errorf("64-character name: %v", err)
	}

	list, err := s.Organizations()
	if err != nil || len(list) != 3 || list[1].Name != "cert-a" || list[2].Name != "ncsc" || !list[2].Operator || list[1].Operator {
		t.Fatalf("Organizations = %+v, %v", list, err)
	}
	got, err := s.Organization("ncsc")
	if err != nil || got != ncsc {
		t.Errorf("Organization(ncsc) = %+v, %v; want %+v", got, err, ncsc)
	}
	_, err = s.Organization("nope")
	wantAccountErr(t, "Organization(nope)", err, ErrNotFound, "name")

	d, err := s.DisableOrganization(ctx, "cert-a")
	if err != nil || d.Enabled() {
		t.Fatalf("DisableOrganization = %+v, %v", d, err)
	}
	again, err := s.DisableOrganization(ctx, "cert-a")
	if err != nil || !again.Disabled.Equal(d.Disabled) {
		t.Errorf("second disable = %+v, %v; want the first time kept", again, err)
	}
	_, err = s.DisableOrganization(ctx, "ncsc")
	wantAccountErr(t, "disable the operator organization", err, ErrInvalid, "name")
	_, err = s.DisableOrganization(ctx, "nope")
	wantAccountErr(t, "disable nope", err, ErrNotFound, "name")
}

func TestUsers(t *testing.T) {
	s := openAccountsStore(t)
	ctx := context.Background()
	mustOrg(t, s, OrganizationSpec{Name: "cert-a"})
	mustOrg(t, s, OrganizationSpec{Name: "cert-b"})
	alice := mustUser(t, s, "alice", "cert-a", "Analyst")
	if alice.Role != RoleAnalyst || alice.Org != "cert-a" || !alice.Enabled() || alice.Created.IsZero() {
		t.Errorf("created %+v", alice)
	}
	mustUser(t, s, "bob@cert-b.example", "cert-b", RoleAdmin)
	mustUser(t, s, "carol", "cert-a", RoleReader)

	_, err := s.CreateUser(ctx, UserSpec{Name: "bob", Org: "cert-x", Role: RoleReader})
	wantAccountErr(t, "user in a missing organization", err, ErrNotFound, "org")
	if err == nil || err.Error() != "create user bob: organization cert-x does not exist" {
		t.Errorf("message = %v", err)
	}
	_, err = s.CreateUser(ctx, UserSpec{Name: "alice", Org: "cert-b", Role: RoleReader})
	wantAccountErr(t, "alice again in another organization", err, ErrExists, "name")
	for _, c := range []struct {
		spec  UserSpec
		field string
	}{
		{UserSpec{Org: "cert-a", Role: RoleReader}, "name"},
		{UserSpec{Name: "Dave", Org: "cert-a", Role: RoleReader}, "name"},
		{UserSpec{Name: "dave", Role: RoleReader}, "org"},
		{UserSpec{Name: "dave", Org: "cert-a"}, "role"},
		{UserSpec{Name: "dave", Org: "cert-a", Role: "boss"}, "role"},
	} {
		_, err := s.CreateUser(ctx, c.spec)
		wantAccountErr(t, fmt.Sprintf("CreateUser(%+v)", c.spec), err, ErrInvalid, c.field)
	}

	all, err := s.Users("")
	if err != nil || len(all) != 3 || all[0].Name != "alice" || all[1].Name != "bob@cert-b.example" {
		t.Errorf("Users() = %+v, %v", all, err)
	}
	a, err := s.Users("cert-a")
	if err != nil || len(a) != 2 || a[0].Name != "alice" || a[1].Name != "carol" {
		t.Errorf("Users(cert-a) = %+v, %v", a, err)
	}
	_, err = s.Users("cert-x")
	wantAccountErr(t, "Users(cert-x)", err, ErrNotFound, "org")
	if got, err := s.User("alice"); err != nil || got != alice {
		t.Errorf("User(alice) = %+v, %v", got, err)
	}

	d, err := s.DisableUser(ctx, "carol")
	if err != nil || d.Enabled() {
		t.Errorf("DisableUser = %+v, %v", d, err)
	}
	_, err = s.DisableUser(ctx, "nobody")
	wantAccountErr(t, "disable nobody", err, ErrNotFound, "name")

	if _, err := s.DisableOrganization(ctx, "cert-b"); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateUser(ctx, UserSpec{Name: "erin", Org: "cert-b", Role: RoleReader})
	wantAccountErr(t, "user in a disabled organization", err, ErrDisabled, "org")
}

func TestEnsureUser(t *testing.T) {
	s := openAccountsStore(t)
	ctx := context.Background()
	spec := UserSpec{Name: "demo", Org: "demo", Role: RoleAnalyst}
	u, err := s.EnsureUser(ctx, spec)
	if err != nil || u.Org != "demo" || u.Role != RoleAnalyst {
		t.Fatalf("EnsureUser = %+v, %v", u, err)
	}
	if o, err := s.Organization("demo"); err != nil || o.Operator {
		t.Errorf("organization demo = %+v, %v", o, err)
	}
	again, err := s.EnsureUser(ctx, spec)
	if err != nil || again != u {
		t.Errorf("second EnsureUser = %+v, %v; want %+v", again, err, u)
	}
	_, err = s.EnsureUser(ctx, UserSpec{Name: "demo", Org: "demo", Role: RoleAdmin})
	wantAccountErr(t, "EnsureUser with another role", err, ErrExists, "name")
	_, err = s.EnsureUser(ctx, UserSpec{Name: "demo", Org: "other", Role: RoleAnalyst})
	wantAccountErr(t, "EnsureUser in another organization", err, ErrExists, "name")
	if _, err := s.Organization("other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a failed EnsureUser left organization other: %v", err)
	}
	_, err = s.EnsureUser(ctx, UserSpec{Name: "x", Org: "Bad Org", Role: RoleAnalyst})
	wantAccountErr(t, "EnsureUser with a bad organization name", err, ErrInvalid, "org")
	if _, err := s.DisableUser(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	_, err = s.EnsureUser(ctx, spec)
	wantAccountErr(t, "EnsureUser of a disabled user", err, ErrDisabled, "name")
}

func TestRoleCovers(t *testing.T) {
	covers := map[Role][]Role{
		RoleReader:   {RoleReader},
		RoleAnalyst:  {RoleReader, RoleAnalyst},
		RoleReviewer: {RoleReader, RoleAnalyst, RoleReviewer},
		RoleService:  {RoleReader, RoleService},
		RoleAdmin:    Roles,
	}
	for _, r := range Roles {
		for _, tr := range Roles {
			want := false
			for _, c := range covers[r] {
				want = want || c == tr
			}
			if got := r.Covers(tr); got != want {
				t.Errorf("%s.Covers(%s) = %v", r, tr, got)
			}
		}
	}
	for _, c := range [][3]Role{
		{RoleReader, RoleAnalyst, RoleAnalyst}, {RoleAnalyst, RoleReviewer, RoleReviewer},
		{RoleService, RoleReader, RoleService}, {RoleService, RoleAnalyst, RoleAdmin}, {RoleReviewer, RoleAdmin, RoleAdmin},
	} {
		if got := joinRoles(c[0], c[1]); got != c[2] {
			t.Errorf("joinRoles(%s, %s) = %s, want %s", c[0], c[1], got, c[2])
		}
	}
}

func TestTokens(t *testing.T) {
	s := openAccountsStore(t)
	ctx := context.Background()
	mustOrg(t, s, OrganizationSpec{Name: "ncsc", Operator: true})
	mustOrg(t, s, OrganizationSpec{Name: "org-a"})
	mustUser(t, s, "root", "ncsc", RoleAdmin)
	mustUser(t, s, "alice", "org-a", RoleAnalyst)
	mustUser(t, s, "anna", "org-a", RoleAdmin)

	tok, secret := mustToken(t, s, TokenSpec{User: "alice", Description: "test"})
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) < len(tokenPrefix)+43 {
		t.Fatalf("secret %q too short", secret)
	}
	if tok.Role != RoleAnalyst || tok.Org != "org-a" {
		t.Errorf("token %+v: want the user's role and organization", tok)
	}
	v, p, err := s.Authenticate(secret)
	if err != nil {
		t.Fatal(err)
	}
	if v.IsSystem() || v.Org != "org-a" || v.User != "alice" || p.Role != RoleAnalyst || p.TokenID != tok.ID || p.InstanceAdmin {
		t.Errorf("Authenticate = %+v, %+v", v, p)
	}
	for _, bad := range []string{"", "vbt_", secret + "x", strings.TrimPrefix(secret, tokenPrefix)} {
		if _, _, err := s.Authenticate(bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("Authenticate(%q) = %v", bad, err)
		}
	}

	// Admins read as their organization; only the operator organization's
	// admins are instance admins, and only with an admin token.
	_, rootSecret := mustToken(t, s, TokenSpec{User: "root", Expires: time.Now().Add(time.Hour)})
	_, rootReader := mustToken(t, s, TokenSpec{User: "root", Role: RoleReader})
	_, annaSecret := mustToken(t, s, TokenSpec{User: "anna", Role: "ADMIN"})
	for _, c := range []struct {
		secret, org string
		role        Role
		instance    bool
	}{{rootSecret, "ncsc", RoleAdmin, true}, {rootReader, "ncsc", RoleReader, false}, {annaSecret, "org-a", RoleAdmin, false}} {
		v, p, err := s.Authenticate(c.secret)
		if err != nil || v.IsSystem() || v != (Viewer{Org: c.org, User: p.User}) || p.Role != c.role || p.InstanceAdmin != c.instance {
			t.Errorf("Authenticate = %+v, %+v, %v; want org %s, role %s, instance admin %v", v, p, err, c.org, c.role, c.instance)
		}
	}

	_, _, err = s.CreateToken(ctx, TokenSpec{User: "alice", Role: RoleAdmin})
	wantAccountErr(t, "token above its user's role", err, ErrInvalid, "role")
	_, _, err = s.CreateToken(ctx, TokenSpec{User: "alice", Role: RoleService})
	wantAccountErr(t, "service token of an analyst", err, ErrInvalid, "role")
	_, _, err = s.CreateToken(ctx, TokenSpec{User: "bob"})
	wantAccountErr(t, "token of an unknown user", err, ErrNotFound, "user")
	for _, c := range []struct {
		spec  TokenSpec
		field string
	}{
		{TokenSpec{Role: RoleReader}, "user"},
		{TokenSpec{User: "alice", Role: "boss"}, "role"},
		{TokenSpec{User: "alice", Expires: time.Now().Add(-time.Hour)}, "expires"},
		{TokenSpec{User: "alice", Description: strings.Repeat("x", 1001)}, "description"},
	} {
		_, _, err := s.CreateToken(ctx, c.spec)
		wantAccountErr(t, fmt.Sprintf("CreateToken(%+v)", c.spec), err, ErrInvalid, c.field)
	}

	list, err := s.Tokens(TokenFilter{})
	if err != nil || len(list) != 4 || !slices.ContainsFunc(list, func(l Token) bool { return l == tok }) {
		t.Fatalf("Tokens = %+v, %v", list, err)
	}
	if l, err := s.Tokens(TokenFilter{Org: "org-a"}); err != nil || len(l) != 2 {
		t.Errorf("Tokens(org-a) = %+v, %v", l, err)
	}
	if l, err := s.Tokens(TokenFilter{User: "root"}); err != nil || len(l) != 2 || l[0].User != "root" {
		t.Errorf("Tokens(root) = %+v, %v", l, err)
	}
	_, err = s.Tokens(TokenFilter{User: "nobody"})
	wantAccountErr(t, "Tokens(nobody)", err, ErrNotFound, "user")
	if got, err := s.Token(tok.ID); err != nil || got != tok {
		t.Errorf("Token(%s) = %+v, %v", tok.ID, got, err)
	}

	if _, _, err := s.Authenticate(secret); err != nil {
		t.Fatalf("token before its revocation: %v", err)
	}
	revoked, err := s.RevokeToken(ctx, tok.ID)
	if err != nil || revoked.Revoked.IsZero() {
		t.Fatalf("RevokeToken = %+v, %v", revoked, err)
	}
	if again, err := s.RevokeToken(ctx, tok.ID); err != nil || !again.Revoked.Equal(revoked.Revoked) {
		t.Errorf("second revoke = %+v, %v", again, err)
	}
	if _, _, err := s.Authenticate(secret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked token authenticates: %v", err)
	}
	_, err = s.RevokeToken(ctx, "0123456789abcdef")
	wantAccountErr(t, "revoke unknown", err, ErrNotFound, "id")
	_, err = s.RevokeToken(ctx, "nope")
	wantAccountErr(t, "revoke bad id", err, ErrInvalid, "id")

	// Expiry.
	_, expSecret := mustToken(t, s, TokenSpec{User: "root", Role: RoleReader, Expires: time.Now().Add(time.Minute)})
	// Authenticated once, the token is remembered; its expiry still holds.
	if _, _, err := s.Authenticate(expSecret); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	old := accountClock
	accountClock = func() time.Time { return time.Now().Add(2 * time.Minute) }
	_, _, err = s.Authenticate(expSecret)
	accountClock = old
	if !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("expired token authenticates: %v", err)
	}
	if _, _, err := s.Authenticate(expSecret); err != nil {
		t.Errorf("token before its expiry: %v", err)
	}
}

func TestDisabledAccountsDoNotAuthenticate(t *testing.T) {
	s := openAccountsStore(t)
	ctx := context.Background()
	mustOrg(t, s, OrganizationSpec{Name: "org-a"})
	mustOrg(t, s, OrganizationSpec{Name: "org-b"})
	mustUser(t, s, "alice", "org-a", RoleAnalyst)
	mustUser(t, s, "adam", "org-a", RoleReader)
	mustUser(t, s, "bea", "org-b", RoleReader)
	_, alice := mustToken(t, s, TokenSpec{User: "alice"})
	_, adam := mustToken(t, s, TokenSpec{User: "adam"})
	_, bea := mustToken(t, s, TokenSpec{User: "bea"})
	// Every token has authenticated, so each is remembered: disabling must
	// still stop it at once.
	for _, secret := range []string{alice, adam, bea} {
		if _, _, err := s.Authenticate(secret); err != nil {
			t.Fatal(err)
		}
	}

	for _, c := range []struct {
		what                 string
		disable              func() error
		stopped, kept, owner string
	}{
		{"user alice", func() error { _, err := s.DisableUser(ctx, "alice"); return err }, alice, adam, "alice"},
		{"organization org-a", func() error { _, err := s.DisableOrganization(ctx, "org-a"); return err }, adam, bea, "adam"},
	} {
		if err := c.disable(); err != nil {
			t.Fatalf("disable %s: %v", c.what, err)
		}
		if _, _, err := s.Authenticate(c.stopped); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("after disabling %s, the token of %s authenticates: %v", c.what, c.owner, err)
		}
		if _, _, err := s.Authenticate(c.kept); err != nil {
			t.Errorf("after disabling %s, a token outside it fails: %v", c.what, err)
		}
		_, _, err := s.CreateToken(ctx, TokenSpec{User: c.owner})
		wantAccountErr(t, "token after disabling "+c.what, err, ErrDisabled, "user")
	}
}

func TestTokenSecretNotStored(t *testing.T) {
	s := openAccountsStore(t)
	mustOrg(t, s, OrganizationSpec{Name: "o"})
	mustUser(t, s, "u", "o", RoleService)
	_, secret := mustToken(t, s, TokenSpec{User: "u"})
	random := []byte(strings.TrimPrefix(secret, tokenPrefix))
	hash := hashSecret(secret)

	// No key or value of the store holds the secret; the token record sits
	// under the secret's hash.
	hashed := false
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if bytes.Contains(k, random) || bytes.Contains(v, random) {
				t.Errorf("key %q or its value holds the secret", k)
			}
			hashed = hashed || bytes.Equal(k, tokenHashKey(hash))
		}
		return nil
	})
	if err != nil || !hashed {
		t.Fatalf("scan: %v; token stored under its hash: %v", err, hashed)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Nor does any file of the data directory.
	err = walkFiles(s.Dir(), func(b []byte) {
		if bytes.Contains(b, random) {
			t.Error("the token secret is stored in the data directory")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// putLegacyToken writes a token the way stores did before organizations and
// users were records, and returns its secret.
func putLegacyToken(t *testing.T, s *Store, user, org string, role Role, created time.Time) string {
	t.Helper()
	id := uint64(created.UnixNano())
	secret := fmt.Sprintf("%s%043d", tokenPrefix, id)
	hash := hashSecret(secret)
	tok := Token{ID: formatTokenID(id), User: user, Org: org, Role: role, Created: created}
	err := s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(tokenHashKey(hash), encodeToken(tok, id)); err != nil {
			return err
		}
		return txn.Set(tokenIDKey(id), hash[:])
	})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func TestAdoptLegacyTokens(t *testing.T) {
	dir := t.TempDir()
	s := openAccountsStoreIn(t, dir)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	root := putLegacyToken(t, s, "root", "ncsc", RoleAdmin, t0)
	jobRead := putLegacyToken(t, s, "job", "org-a", RoleReader, t0.Add(time.Hour))
	jobService := putLegacyToken(t, s, "job", "org-a", RoleService, t0.Add(2*time.Hour))
	second := putLegacyToken(t, s, "job", "org-b", RoleReader, t0.Add(3*time.Hour))
	putLegacyToken(t, s, "anna", "org-b", RoleAdmin, t0.Add(4*time.Hour))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAccountsStoreIn(t, dir)
	orgs, err := s.Organizations()
	if err != nil || len(orgs) != 3 {
		t.Fatalf("Organizations = %+v, %v", orgs, err)
	}
	for _, o := range orgs {
		if o.Operator != (o.Name == "ncsc") {
			t.Errorf("organization %+v: want ncsc, of the oldest admin token, as operator", o)
		}
	}
	if u, err := s.User("job"); err != nil || u.Org != "org-a" || u.Role != RoleService || !u.Created.Equal(t0.Add(time.Hour)) {
		t.Errorf("user job = %+v, %v; want org-a, service", u, err)
	}
	if u, err := s.User("anna"); err != nil || u.Org != "org-b" || u.Role != RoleAdmin {
		t.Errorf("user anna = %+v, %v", u, err)
	}
	for _, c := range []struct {
		secret   string
		instance bool
	}{{root, true}, {jobRead, false}, {jobService, false}} {
		if v, p, err := s.Authenticate(c.secret); err != nil || v.IsSystem() || p.InstanceAdmin != c.instance {
			t.Errorf("adopted token: %+v, %+v, %v", v, p, err)
		}
	}
	if _, _, err := s.Authenticate(second); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("a token naming job in a second organization authenticates: %v", err)
	}

	// Opening again adopts nothing new and keeps what was adopted.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAccountsStoreIn(t, dir)
	if users, err := s.Users(""); err != nil || len(users) != 3 {
		t.Errorf("users after reopening = %+v, %v", users, err)
	}
}

func TestAccountKeysRoundTrip(t *testing.T) {
	h := hashSecret("x")
	if got, err := parseTokenHashKey(tokenHashKey(h)); err != nil || got != h {
		t.Errorf("token hash key round trip: %x, %v", got, err)
	}
	if got, err := parseTokenIDKey(tokenIDKey(42)); err != nil || got != 42 {
		t.Errorf("token id key round trip: %d, %v", got, err)
	}
	for _, sub := range []byte{subOrg, subUser} {
		if got, err := parseAccountNameKey(sub, accountNameKey(sub, "cert-a")); err != nil || got != "cert-a" {
			t.Errorf("account key %c round trip: %q, %v", sub, got, err)
		}
	}
	if _, err := parseAccountNameKey(subUser, accountNameKey(subOrg, "x")); err == nil {
		t.Error("an organization key parses as a user key")
	}
	created := time.Unix(1, 0).UTC()
	tok := Token{ID: formatTokenID(7), User: "u", Org: "o", Role: RoleAdmin, Description: "d", Created: created}
	if got, err := decodeToken(encodeToken(tok, 7)); err != nil || got != tok {
		t.Errorf("token record round trip: %+v, %v", got, err)
	}
	o := Organization{Name: "o", DisplayName: "O", Created: created, Disabled: created.Add(time.Hour)}
	if got, err := decodeOrg(encodeOrg(o)); err != nil || got != o {
		t.Errorf("organization record round trip: %+v, %v", got, err)
	}
	u := User{Name: "u", Org: "o", Role: RoleReviewer, Created: created}
	if got, err := decodeUser(encodeUser(u)); err != nil || got != u {
		t.Errorf("user record round trip: %+v, %v", got, err)
	}
	if _, err := decodeUser(encodeOrg(o)[:5]); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short user record: %v", err)
	}
}

func FuzzAccountKeys(f *testing.F) {
	f.Add(tokenHashKey(hashSecret("a")))
	f.Add(tokenIDKey(3))
	f.Add(accountNameKey(subOrg, "cert-a"))
	f.Add(accountNameKey(subUser, "alice"))
	f.Add(encodeToken(Token{User: "u"}, 1))
	f.Add(encodeUser(User{Name: "u"}))
	f.Fuzz(func(t *testing.T, k []byte) {
		if h, err := parseTokenHashKey(k); err == nil && !bytes.Equal(tokenHashKey(h), k) {
			t.Errorf("token hash key %x mismatch", k)
		}
		if id, err := parseTokenIDKey(k); err == nil && !bytes.Equal(tokenIDKey(id), k) {
			t.Errorf("token id key %x mismatch", k)
		}
		for _, sub := range []byte{subOrg, subUser} {
			if name, err := parseAccountNameKey(sub, k); err == nil && !bytes.Equal(accountNameKey(sub, name), k) {
				t.Errorf("account key %x mismatch", k)
			}
		}
		_, _ = decodeToken(k)
		_, _ = decodeOrg(k)
		_, _ = decodeUser(k)
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
