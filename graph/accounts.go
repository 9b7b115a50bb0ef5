package graph

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Accounts. This is the minimal account model the API's authentication
// needs: organizations and users are names, and API tokens tie a user of an
// organization to a role. Only the SHA-256 hash of a token's secret is
// stored; the secret is shown once, when the token is created. The
// access-control layer refines what roles may do; for now a token of role
// admin reads as the System viewer and every other role as its user and
// organization.

// Role is what a token's holder may do.
type Role string

// Roles, from least to most privileged. RoleService is for scheduled jobs
// and other machines: it may write but not administer.
const (
	RoleReader   Role = "reader"
	RoleAnalyst  Role = "analyst"
	RoleReviewer Role = "reviewer"
	RoleAdmin    Role = "admin"
	RoleService  Role = "service"
)

// Roles lists every role.
var Roles = []Role{RoleReader, RoleAnalyst, RoleReviewer, RoleAdmin, RoleService}

// ParseRole parses a role name, without regard to case.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Roles, r) {
		return "", fmt.Errorf("role %q: want reader, analyst, reviewer, admin or service: %w", s, ErrInvalid)
	}
	return r, nil
}

// CanWrite reports whether the role may change the store: analyst and
// above, and service.
func (r Role) CanWrite() bool {
	return r == RoleAnalyst || r == RoleReviewer || r == RoleAdmin || r == RoleService
}

// IsAdmin reports whether the role administers the instance.
func (r Role) IsAdmin() bool { return r == RoleAdmin }

// Principal is who holds a token.
type Principal struct {
	// TokenID is the id of the token that authenticated the request.
	TokenID string
	// User and Org name the token's user and organization.
	User, Org string
	// Role is the token's role.
	Role Role
}

// Viewer returns the viewer a principal reads as. An admin reads as the
// System viewer until the access-control layer defines finer rules.
func (p Principal) Viewer() Viewer {
	if p.Role.IsAdmin() {
		v := System()
		v.Org, v.User = p.Org, p.User
		return v
	}
	return Viewer{Org: p.Org, User: p.User}
}

// TokenSpec describes a token to create.
type TokenSpec struct {
	// User and Org name the token's holder; both are required.
	User, Org string
	// Role is the token's role; required.
	Role Role
	// Expires is when the token stops working; zero means never.
	Expires time.Time
	// Description says what the token is for, such as "nightly cluster job".
	Description string
}

// Token is a stored API token, without its secret.
type Token struct {
	// ID identifies the token in listings and for revocation: 16 hex digits.
	ID string `json:"id"`
	// User, Org and Role are the token's holder and role.
	User string `json:"user"`
	Org  string `json:"org"`
	Role Role   `json:"role"`
	// Description is the free text given at creation.
	Description string `json:"description,omitempty"`
	// Created is when the token was made; Expires when it stops working
	// (zero: never); Revoked when it was revoked (zero: not revoked).
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
	Revoked time.Time `json:"revoked,omitzero"`
}

// Active reports whether the token authenticates at time now.
func (t Token) Active(now time.Time) bool {
	return t.Revoked.IsZero() && (t.Expires.IsZero() || now.Before(t.Expires))
}

// Errors of the account model.
var (
	// ErrUnauthenticated means a token secret is unknown, expired or revoked.
	// The three cases are deliberately not told apart.
	ErrUnauthenticated = errors.New("invalid, expired or revoked token")
)

// tokenPrefix starts every token secret, so that secret scanners and people
// recognise one.
const tokenPrefix = "vbt_"

// tokenSecretBytes is the entropy of a token secret.
const tokenSecretBytes = 32

// tokenRecordVersion is the encoding version of a stored token.
const tokenRecordVersion byte = 1

func hashSecret(secret string) [tokenHashLen]byte { return sha256.Sum256([]byte(secret)) }

func formatTokenID(id uint64) string { return fmt.Sprintf("%016x", id) }

func parseTokenID(s string) (uint64, error) {
	if len(s) != 2*tokenIDLen {
		return 0, fmt.Errorf("token id %q: want %d hex digits: %w", s, 2*tokenIDLen, ErrInvalid)
	}
	id, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("token id %q: %w", s, ErrInvalid)
	}
	return id, nil
}

// encodeToken writes a token record:
//
//	version(1) id(8) created(8) expires(8) revoked(8)
//	user(string) org(string) role(string) description(string)
//
// Times are Unix nanoseconds, 0 for absent; strings are length prefixed.
func encodeToken(t Token, id uint64) []byte {
	b := []byte{tokenRecordVersion}
	b = binary.BigEndian.AppendUint64(b, id)
	for _, tm := range []time.Time{t.Created, t.Expires, t.Revoked} {
		b = binary.BigEndian.AppendUint64(b, uint64(unixNano(tm)))
	}
	for _, s := range []string{t.User, t.Org, string(t.Role), t.Description} {
		b = appendString(b, s)
	}
	return b
}

func decodeToken(b []byte) (Token, error) {
	r := reader{b: b}
	if v := r.byte(); v != tokenRecordVersion && r.err == nil {
		return Token{}, fmt.Errorf("token record version %d: %w", v, ErrCorrupt)
	}
	t := Token{ID: formatTokenID(r.u64())}
	t.Created = fromUnixNano(int64(r.u64()))
	t.Expires = fromUnixNano(int64(r.u64()))
	t.Revoked = fromUnixNano(int64(r.u64()))
	t.User, t.Org, t.Role, t.Description = r.string(), r.string(), Role(r.string()), r.string()
	if r.err != nil {
		return Token{}, fmt.Errorf("decode token record: %w", r.err)
	}
	return t, nil
}

// tokenClock is the time tokens are checked and stamped against; tests may
// replace it.
var tokenClock = func() time.Time { return time.Now().UTC() }

// CreateToken stores a new token for spec and returns it with its secret.
// The secret is not stored and cannot be shown again.
func (s *Store) CreateToken(ctx context.Context, spec TokenSpec) (Token, string, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, "", fmt.Errorf("create token: %w", err)
	}
	if s.closed.Load() {
		return Token{}, "", ErrClosed
	}
	if s.opts.ReadOnly {
		return Token{}, "", ErrReadOnly
	}
	spec.User, spec.Org = strings.TrimSpace(spec.User), strings.TrimSpace(spec.Org)
	if spec.User == "" || spec.Org == "" {
		return Token{}, "", fmt.Errorf("create token: user and organization are required: %w", ErrInvalid)
	}
	role, err := ParseRole(string(spec.Role))
	if err != nil {
		return Token{}, "", fmt.Errorf("create token: %w", err)
	}
	now := tokenClock()
	if !spec.Expires.IsZero() && !spec.Expires.After(now) {
		return Token{}, "", fmt.Errorf("create token: expiry %s is in the past: %w", spec.Expires.Format(time.RFC3339), ErrInvalid)
	}
	var raw [tokenSecretBytes + tokenIDLen]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Token{}, "", fmt.Errorf("create token: read random bytes: %w", err)
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:tokenSecretBytes])
	id := binary.BigEndian.Uint64(raw[tokenSecretBytes:])
	hash := hashSecret(secret)
	t := Token{ID: formatTokenID(id), User: spec.User, Org: spec.Org, Role: role, Description: spec.Description,
		Created: now.Truncate(time.Millisecond), Expires: spec.Expires.UTC()}
	err = s.db.Update(func(txn *badger.Txn) error {
		if _, err := txn.Get(tokenIDKey(id)); err == nil {
			return fmt.Errorf("token id collision: %w", ErrInvalid)
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if err := txn.Set(tokenHashKey(hash), encodeToken(t, id)); err != nil {
			return err
		}
		return txn.Set(tokenIDKey(id), hash[:])
	})
	if err != nil {
		return Token{}, "", fmt.Errorf("create token: %w", err)
	}
	return t, secret, nil
}

// Authenticate returns the viewer and principal of a token secret, or
// ErrUnauthenticated when the secret is unknown, expired or revoked.
func (s *Store) Authenticate(secret string) (Viewer, Principal, error) {
	if s.closed.Load() {
		return Viewer{}, Principal{}, ErrClosed
	}
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 256 {
		return Viewer{}, Principal{}, ErrUnauthenticated
	}
	var t Token
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(tokenHashKey(hashSecret(secret)))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrUnauthenticated
		}
		if err != nil {
			return fmt.Errorf("read token: %w", err)
		}
		return item.Value(func(v []byte) error {
			t, err = decodeToken(v)
			return err
		})
	})
	if err != nil {
		return Viewer{}, Principal{}, err
	}
	if !t.Active(tokenClock()) {
		return Viewer{}, Principal{}, ErrUnauthenticated
	}
	p := Principal{TokenID: t.ID, User: t.User, Org: t.Org, Role: t.Role}
	return p.Viewer(), p, nil
}

// RevokeToken revokes the token with the given id. Revoking a revoked token
// does nothing; an unknown id is ErrNotFound.
func (s *Store) RevokeToken(id string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	n, err := parseTokenID(id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	err = s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(tokenIDKey(n))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("token %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		hashBytes, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if len(hashBytes) != tokenHashLen {
			return fmt.Errorf("token %s: %w", id, ErrCorrupt)
		}
		key := tokenHashKey([tokenHashLen]byte(hashBytes))
		item, err = txn.Get(key)
		if err != nil {
			return fmt.Errorf("token %s record: %w", id, err)
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		t, err := decodeToken(v)
		if err != nil {
			return err
		}
		if !t.Revoked.IsZero() {
			return nil
		}
		t.Revoked = tokenClock().Truncate(time.Millisecond)
		return txn.Set(key, encodeToken(t, n))
	})
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}

// Tokens lists every token, active or not, without secrets, oldest first.
func (s *Store) Tokens() ([]Token, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	var out []Token
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: tokenHashPrefix()})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if _, err := parseTokenHashKey(it.Item().Key()); err != nil {
				return err
			}
			err := it.Item().Value(func(v []byte) error {
				t, err := decodeToken(v)
				out = append(out, t)
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	slices.SortFunc(out, func(a, b Token) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
