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
	"sync"
	"time"
	"unicode"

	"github.com/dgraph-io/badger/v4"
)

// Accounts: organizations, their users, and the users' API tokens.
//
// An organization is named by a stable id such as "cert-a". A user belongs
// to exactly one organization and has a role; user names are unique across
// the instance, because RED objects name the users who may see them. A
// token belongs to a user and has the user's role or a lesser one (see
// Role.Covers), so an admin can hand a dashboard a reader token. Only the
// SHA-256 hash of a token's secret is stored; the secret is shown once, when
// the token is created.
//
// Every role reads as its user and organization: an admin administers
// accounts but sees data like any member of its organization. Only
// maintenance code (check, reindex, an operator's export) uses System.
//
// Instance admins. One organization may be marked, once, as the operator
// organization of the instance (OrganizationSpec.Operator, set when the
// instance is bootstrapped). Its admins are instance admins
// (Principal.InstanceAdmin): they create and disable organizations and
// manage the users and tokens of every organization. Every other admin
// manages the users and tokens of its own organization. The operator
// organization cannot be disabled.
//
// Records are never deleted. Disabling an organization or a user keeps its
// record, marked; a token authenticates only while it is neither revoked
// nor expired and its user and the user's organization are enabled.
//
// Stores written before organizations and users were records hold tokens
// that name them as free strings. Opening such a store read-write adopts
// them (adoptLegacyTokens): each named user gets a record in its named
// organization, with the least role covering its tokens' roles, and the
// organization of the oldest active admin token becomes the operator
// organization when there is none.

// Role is what a user or token may do.
type Role string

// Roles. RoleService is for scheduled jobs and other machines: it may write
// but not administer.
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
		return "", accountErr(ErrInvalid, "role", "role %q: want reader, analyst, reviewer, admin or service", s)
	}
	return r, nil
}

// CanWrite reports whether the role may change the store: analyst and
// above, and service.
func (r Role) CanWrite() bool {
	return r == RoleAnalyst || r == RoleReviewer || r == RoleAdmin || r == RoleService
}

// IsAdmin reports whether the role administers accounts.
func (r Role) IsAdmin() bool { return r == RoleAdmin }

// Covers reports whether a user of role r may hold a token of role t (both
// valid roles): every role covers itself and reader, reviewer covers
// analyst, and admin covers every role.
func (r Role) Covers(t Role) bool {
	switch {
	case r == t, t == RoleReader, r == RoleAdmin:
		return true
	case r == RoleReviewer:
		return t == RoleAnalyst
	}
	return false
}

// joinRoles returns the least role that covers both a and b.
func joinRoles(a, b Role) Role {
	switch {
	case a.Covers(b):
		return a
	case b.Covers(a):
		return b
	}
	return RoleAdmin
}

// Principal is who holds a token.
type Principal struct {
	// TokenID is the id of the token that authenticated the request.
	TokenID string
	// User and Org name the token's user and the user's organization.
	User, Org string
	// Role is the token's role.
	Role Role
	// InstanceAdmin is set for an admin token of a user of the operator
	// organization: it may manage every organization's accounts.
	InstanceAdmin bool
}

// Viewer returns the viewer a principal reads as: its organization and
// user, whatever its role.
func (p Principal) Viewer() Viewer { return Viewer{Org: p.Org, User: p.User} }

// Organization is a stored organization.
type Organization struct {
	// Name is the stable id, such as "cert-a", used in policies and
	// sharing lists.
	Name string `json:"name"`
	// DisplayName is the name people read, such as "CERT A".
	DisplayName string `json:"displayName"`
	// Created is when the record was made; Disabled when the organization
	// was disabled (zero: enabled).
	Created  time.Time `json:"created"`
	Disabled time.Time `json:"disabled,omitzero"`
	// Operator is set for the operator organization of the instance.
	Operator bool `json:"operator,omitempty"`
}

// Enabled reports whether the organization is not disabled.
func (o Organization) Enabled() bool { return o.Disabled.IsZero() }

// OrganizationSpec describes an organization to create.
type OrganizationSpec struct {
	// Name is the stable id: 1 to 64 lower-case letters, digits, '-', '.'
	// or '_', starting with a letter or digit. Required.
	Name string
	// DisplayName is the name people read; Name when empty.
	DisplayName string
	// Operator makes the organization the operator organization of the
	// instance. Only one organization can be, and only at its creation.
	Operator bool
}

// User is a stored user.
type User struct {
	// Name is the user name, unique across the instance.
	Name string `json:"name"`
	// Org is the user's organization.
	Org string `json:"org"`
	// Role is the most its tokens may do.
	Role Role `json:"role"`
	// Created is when the record was made; Disabled when the user was
	// disabled (zero: enabled).
	Created  time.Time `json:"created"`
	Disabled time.Time `json:"disabled,omitzero"`
}

// Enabled reports whether the user is not disabled.
func (u User) Enabled() bool { return u.Disabled.IsZero() }

// UserSpec describes a user to create.
type UserSpec struct {
	// Name is the user name: 1 to 128 lower-case letters, digits, '-', '.',
	// '_' or '@', starting with a letter or digit. Required.
	Name string
	// Org is the user's organization, which must exist and be enabled.
	Org string
	// Role is the user's role. Required.
	Role Role
}

// TokenSpec describes a token to create.
type TokenSpec struct {
	// User is the token's holder, an enabled user of an enabled
	// organization. Required.
	User string
	// Role is the token's role, which the user's role must cover; the
	// user's role when empty.
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
	// User, Org and Role are the token's holder, the holder's organization
	// and the token's role.
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

// Active reports whether the token, by itself, authenticates at time now:
// it is neither revoked nor expired. Authenticate also needs its user and
// organization enabled.
func (t Token) Active(now time.Time) bool {
	return t.Revoked.IsZero() && (t.Expires.IsZero() || now.Before(t.Expires))
}

// TokenFilter selects tokens to list; empty fields select all.
type TokenFilter struct {
	// Org keeps the tokens of the organization's users.
	Org string
	// User keeps the tokens of one user.
	User string
}

// Errors of the account model. Besides these, account operations return
// ErrInvalid for bad arguments and ErrNotFound for unknown organizations,
// users and tokens, wrapped in an *AccountError.
var (
	// ErrUnauthenticated means a token secret is unknown, expired or
	// revoked, or its user or organization is disabled. The cases are
	// deliberately not told apart.
	ErrUnauthenticated = errors.New("invalid, expired or revoked token")
	// ErrExists means an organization or user name is taken.
	ErrExists = errors.New("already exists")
	// ErrDisabled means an operation needs an enabled organization or user.
	ErrDisabled = errors.New("disabled")
)

// AccountError is an error of an account operation that names the
// argument at fault, so that an API can point at the field.
type AccountError struct {
	// Field is the argument at fault: "name", "displayName", "operator",
	// "org", "user", "role", "expires", "description" or "id".
	Field string
	// Message says what is wrong, for people.
	Message string
	// Err is the sentinel the error matches: ErrInvalid, ErrNotFound,
	// ErrExists or ErrDisabled.
	Err error
}

func (e *AccountError) Error() string { return e.Message }

// Unwrap returns the sentinel.
func (e *AccountError) Unwrap() error { return e.Err }

func accountErr(kind error, field, format string, args ...any) *AccountError {
	return &AccountError{Field: field, Message: fmt.Sprintf(format, args...), Err: kind}
}

// Limits of names and texts.
const (
	maxOrgName     = 64
	maxUserName    = 128
	maxDisplayName = 200
	maxDescription = 1000
)

// checkName checks a stable name: 1 to max lower-case letters, digits, '-',
// '.', '_' or one of extra, starting with a letter or digit.
func checkName(what, field, s string, max int, extra string) error {
	ok := s != "" && len(s) <= max
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && strings.IndexByte("-._"+extra, c) >= 0
	}
	if !ok {
		chars := "'-', '.' or '_'"
		if extra != "" {
			chars = "'-', '.', '_' or '" + extra + "'"
		}
		return accountErr(ErrInvalid, field, "%s name %q: want 1 to %d lower-case letters, digits, %s, starting with a letter or digit", what, s, max, chars)
	}
	return nil
}

// checkText checks a free text: at most max bytes, no control characters.
func checkText(what, field, s string, max int) error {
	if len(s) > max {
		return accountErr(ErrInvalid, field, "%s is %d bytes, at most %d are allowed", what, len(s), max)
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return accountErr(ErrInvalid, field, "%s contains control characters", what)
	}
	return nil
}

// tokenPrefix starts every token secret, so that secret scanners and people
// recognise one.
const tokenPrefix = "vbt_"

// tokenSecretBytes is the entropy of a token secret.
const tokenSecretBytes = 32

// Encoding versions of the stored records.
const (
	tokenRecordVersion byte = 1
	orgRecordVersion   byte = 1
	userRecordVersion  byte = 1
)

func hashSecret(secret string) [tokenHashLen]byte { return sha256.Sum256([]byte(secret)) }

func formatTokenID(id uint64) string { return fmt.Sprintf("%016x", id) }

func parseTokenID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 16, 64)
	if len(s) != 2*tokenIDLen || err != nil {
		return 0, accountErr(ErrInvalid, "id", "token id %q: want %d hex digits", s, 2*tokenIDLen)
	}
	return id, nil
}

// encodeAccount writes the shape every account record shares: a version
// byte, fixed-width big-endian numbers (ids, and times as Unix nanoseconds,
// 0 for absent), then length-prefixed strings.
func encodeAccount(version byte, nums []uint64, strs ...string) []byte {
	b := []byte{version}
	for _, n := range nums {
		b = binary.BigEndian.AppendUint64(b, n)
	}
	for _, s := range strs {
		b = appendString(b, s)
	}
	return b
}

// decodeAccount reads what encodeAccount wrote: nnums numbers and nstrs
// strings of a record of the given kind and version.
func decodeAccount(b []byte, what string, version byte, nnums, nstrs int) ([]uint64, []string, error) {
	r := reader{b: b}
	if v := r.byte(); v != version && r.err == nil {
		return nil, nil, fmt.Errorf("%s record version %d: %w", what, v, ErrCorrupt)
	}
	nums := make([]uint64, nnums)
	for i := range nums {
		nums[i] = r.u64()
	}
	strs := make([]string, nstrs)
	for i := range strs {
		strs[i] = r.string()
	}
	if r.err != nil {
		return nil, nil, fmt.Errorf("decode %s record: %w", what, r.err)
	}
	return nums, strs, nil
}

func nano(t time.Time) uint64     { return uint64(unixNano(t)) }
func fromNano(n uint64) time.Time { return fromUnixNano(int64(n)) }

// encodeToken writes a token record:
//
//	version(1) id(8) created(8) expires(8) revoked(8)
//	user(string) org(string) role(string) description(string)
func encodeToken(t Token, id uint64) []byte {
	return encodeAccount(tokenRecordVersion, []uint64{id, nano(t.Created), nano(t.Expires), nano(t.Revoked)},
		t.User, t.Org, string(t.Role), t.Description)
}

func decodeToken(b []byte) (Token, error) {
	n, s, err := decodeAccount(b, "token", tokenRecordVersion, 4, 4)
	if err != nil {
		return Token{}, err
	}
	return Token{ID: formatTokenID(n[0]), Created: fromNano(n[1]), Expires: fromNano(n[2]), Revoked: fromNano(n[3]),
		User: s[0], Org: s[1], Role: Role(s[2]), Description: s[3]}, nil
}

// encodeOrg writes an organization record:
//
//	version(1) created(8) disabled(8) name(string) displayName(string)
//
// Operator is not part of the record: the operator setting holds it.
func encodeOrg(o Organization) []byte {
	return encodeAccount(orgRecordVersion, []uint64{nano(o.Created), nano(o.Disabled)}, o.Name, o.DisplayName)
}

func decodeOrg(b []byte) (Organization, error) {
	n, s, err := decodeAccount(b, "organization", orgRecordVersion, 2, 2)
	if err != nil {
		return Organization{}, err
	}
	return Organization{Created: fromNano(n[0]), Disabled: fromNano(n[1]), Name: s[0], DisplayName: s[1]}, nil
}

// encodeUser writes a user record:
//
//	version(1) created(8) disabled(8) name(string) org(string) role(string)
func encodeUser(u User) []byte {
	return encodeAccount(userRecordVersion, []uint64{nano(u.Created), nano(u.Disabled)}, u.Name, u.Org, string(u.Role))
}

func decodeUser(b []byte) (User, error) {
	n, s, err := decodeAccount(b, "user", userRecordVersion, 2, 3)
	if err != nil {
		return User{}, err
	}
	return User{Created: fromNano(n[0]), Disabled: fromNano(n[1]), Name: s[0], Org: s[1], Role: Role(s[2])}, nil
}

// accountClock is the time account records are stamped and tokens checked
// against; tests may replace it.
var accountClock = func() time.Time { return time.Now().UTC() }

// stamp is now, at the millisecond precision records keep.
func stamp() time.Time { return accountClock().Truncate(time.Millisecond) }

// getRecord reads and decodes the record at key; a missing key is
// ErrNotFound.
func getRecord[T any](txn *badger.Txn, key []byte, decode func([]byte) (T, error)) (T, error) {
	var out T
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return out, ErrNotFound
	}
	if err != nil {
		return out, err
	}
	err = item.Value(func(v []byte) error {
		var derr error
		out, derr = decode(v)
		return derr
	})
	return out, err
}

// listRecords decodes every record under prefix, in key order, after
// checking each key with parse.
func listRecords[T any](txn *badger.Txn, prefix []byte, parse func([]byte) error, decode func([]byte) (T, error)) ([]T, error) {
	var out []T
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := parse(it.Item().Key()); err != nil {
			return nil, err
		}
		err := it.Item().Value(func(v []byte) error {
			rec, err := decode(v)
			out = append(out, rec)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// getNamed reads the organization or user record (sub) of name; what
// names its kind and field the argument in errors.
func getNamed[T any](txn *badger.Txn, sub byte, what, field, name string, decode func([]byte) (T, error)) (T, error) {
	rec, err := getRecord(txn, accountNameKey(sub, name), decode)
	if errors.Is(err, ErrNotFound) {
		return rec, accountErr(ErrNotFound, field, "%s %s does not exist", what, name)
	}
	if err != nil {
		return rec, fmt.Errorf("read %s %s: %w", what, name, err)
	}
	return rec, nil
}

// getOrg reads organization name, with Operator set.
func getOrg(txn *badger.Txn, field, name string) (Organization, error) {
	o, err := getNamed(txn, subOrg, "organization", field, name, decodeOrg)
	if err != nil {
		return o, err
	}
	op, err := getOperator(txn)
	o.Operator = op == name
	return o, err
}

// getEnabledOrg reads organization name and fails when it is disabled.
func getEnabledOrg(txn *badger.Txn, field, name string) (Organization, error) {
	o, err := getOrg(txn, field, name)
	if err == nil && !o.Enabled() {
		err = accountErr(ErrDisabled, field, "organization %s is disabled", name)
	}
	return o, err
}

// getUser reads user name.
func getUser(txn *badger.Txn, field, name string) (User, error) {
	return getNamed(txn, subUser, "user", field, name, decodeUser)
}

// getOperator returns the name of the operator organization, or "" when
// there is none.
func getOperator(txn *badger.Txn) (string, error) {
	item, err := txn.Get(keyOperatorOrg)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read operator organization: %w", err)
	}
	v, err := item.ValueCopy(nil)
	return string(v), err
}

// exists reports whether key is set.
func exists(txn *badger.Txn, key []byte) (bool, error) {
	_, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// accountWrite runs fn in a read-write transaction under the store's writer
// lock, so that checks and writes of account records never interleave;
// step names the operation in errors.
func (s *Store) accountWrite(ctx context.Context, step string, fn func(txn *badger.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	if s.closed.Load() {
		return ErrClosed
	}
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// Whatever the outcome, tokens authenticated before are checked again:
	// a revocation or a disabled account takes effect before this returns.
	defer s.auth.forget()
	if err := s.db.Update(fn); err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	return nil
}

// accountRead runs read in a read-only snapshot of s and returns what it
// read; step names the operation in errors.
func accountRead[T any](s *Store, step string, read func(txn *badger.Txn) (T, error)) (T, error) {
	var out T
	if s.closed.Load() {
		return out, ErrClosed
	}
	err := s.db.View(func(txn *badger.Txn) (err error) {
		out, err = read(txn)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("%s: %w", step, err)
	}
	return out, nil
}

// CreateOrganization stores a new organization. Its name must be valid and
// not taken; with spec.Operator it becomes the operator organization, which
// fails when the instance has one already.
func (s *Store) CreateOrganization(ctx context.Context, spec OrganizationSpec) (Organization, error) {
	if err := checkName("organization", "name", spec.Name, maxOrgName, ""); err != nil {
		return Organization{}, fmt.Errorf("create organization: %w", err)
	}
	o := Organization{Name: spec.Name, DisplayName: strings.TrimSpace(spec.DisplayName), Created: stamp(), Operator: spec.Operator}
	if o.DisplayName == "" {
		o.DisplayName = o.Name
	}
	if err := checkText("display name", "displayName", o.DisplayName, maxDisplayName); err != nil {
		return Organization{}, fmt.Errorf("create organization %s: %w", o.Name, err)
	}
	err := s.accountWrite(ctx, "create organization "+o.Name, func(txn *badger.Txn) error {
		key := accountNameKey(subOrg, o.Name)
		if taken, err := exists(txn, key); err != nil || taken {
			return errors.Join(err, accountErrIf(taken, ErrExists, "name", "organization %s already exists", o.Name))
		}
		if o.Operator {
			op, err := getOperator(txn)
			if err != nil {
				return err
			}
			if op != "" {
				return accountErr(ErrExists, "operator", "the operator organization is already %s", op)
			}
			if err := txn.Set(keyOperatorOrg, []byte(o.Name)); err != nil {
				return err
			}
		}
		return txn.Set(key, encodeOrg(o))
	})
	if err != nil {
		return Organization{}, err
	}
	return o, nil
}

// accountErrIf is accountErr when cond holds, and nil otherwise.
func accountErrIf(cond bool, kind error, field, format string, args ...any) error {
	if !cond {
		return nil
	}
	return accountErr(kind, field, format, args...)
}

// Organization returns the organization with the given name.
func (s *Store) Organization(name string) (Organization, error) {
	return accountRead(s, "read organization", func(txn *badger.Txn) (Organization, error) {
		return getOrg(txn, "name", name)
	})
}

// Organizations lists every organization, enabled or not, by name.
func (s *Store) Organizations() ([]Organization, error) {
	return accountRead(s, "list organizations", func(txn *badger.Txn) ([]Organization, error) {
		out, err := listRecords(txn, accountPrefix(subOrg), parseKey(subOrg), decodeOrg)
		if err != nil {
			return nil, err
		}
		op, err := getOperator(txn)
		for i := range out {
			out[i].Operator = out[i].Name == op
		}
		return out, err
	})
}

// parseKey returns a key check for listRecords over a | sub | name keys.
func parseKey(sub byte) func([]byte) error {
	return func(k []byte) error {
		_, err := parseAccountNameKey(sub, k)
		return err
	}
}

// DisableOrganization disables an organization: the tokens of all its
// users stop authenticating, and it gets no new users or tokens. Disabling
// a disabled organization changes nothing; the operator organization
// cannot be disabled.
func (s *Store) DisableOrganization(ctx context.Context, name string) (Organization, error) {
	var o Organization
	err := s.accountWrite(ctx, "disable organization "+name, func(txn *badger.Txn) error {
		var err error
		if o, err = getOrg(txn, "name", name); err != nil || !o.Enabled() {
			return err
		}
		if o.Operator {
			return accountErr(ErrInvalid, "name", "organization %s is the operator organization and cannot be disabled", name)
		}
		o.Disabled = stamp()
		return txn.Set(accountNameKey(subOrg, name), encodeOrg(o))
	})
	return o, err
}

// checkUserSpec validates a user spec and returns it with its role parsed.
func checkUserSpec(spec UserSpec) (UserSpec, error) {
	if err := checkName("user", "name", spec.Name, maxUserName, "@"); err != nil {
		return spec, err
	}
	if spec.Org == "" {
		return spec, accountErr(ErrInvalid, "org", "user %s: the organization is required", spec.Name)
	}
	if spec.Role == "" {
		return spec, accountErr(ErrInvalid, "role", "user %s: the role is required", spec.Name)
	}
	r, err := ParseRole(string(spec.Role))
	spec.Role = r
	return spec, err
}

// CreateUser stores a new user in an existing, enabled organization. User
// names are unique across the instance.
func (s *Store) CreateUser(ctx context.Context, spec UserSpec) (User, error) {
	return s.putUser(ctx, spec, false)
}

// EnsureUser returns user spec.Name, creating it, and its organization
// when that does not exist either, when it is missing. An existing user
// must be enabled and have spec.Org and spec.Role, or the error wraps
// ErrExists or ErrDisabled. It serves programs that run as their own
// account, such as the demo and the benchmark.
func (s *Store) EnsureUser(ctx context.Context, spec UserSpec) (User, error) {
	return s.putUser(ctx, spec, true)
}

func (s *Store) putUser(ctx context.Context, spec UserSpec, ensure bool) (User, error) {
	spec, err := checkUserSpec(spec)
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	u := User{Name: spec.Name, Org: spec.Org, Role: spec.Role, Created: stamp()}
	err = s.accountWrite(ctx, "create user "+u.Name, func(txn *badger.Txn) error {
		if ensure {
			if err := checkName("organization", "org", spec.Org, maxOrgName, ""); err != nil {
				return err
			}
			if _, err := getOrg(txn, "org", spec.Org); errors.Is(err, ErrNotFound) {
				o := Organization{Name: spec.Org, DisplayName: spec.Org, Created: u.Created}
				if err := txn.Set(accountNameKey(subOrg, o.Name), encodeOrg(o)); err != nil {
					return err
				}
			}
		}
		if _, err := getEnabledOrg(txn, "org", spec.Org); err != nil {
			return err
		}
		old, err := getUser(txn, "name", u.Name)
		switch {
		case errors.Is(err, ErrNotFound):
			return txn.Set(accountNameKey(subUser, u.Name), encodeUser(u))
		case err != nil:
			return err
		case !ensure:
			return accountErr(ErrExists, "name", "user name %s is taken", u.Name)
		case old.Org != u.Org || old.Role != u.Role:
			return accountErr(ErrExists, "name", "user %s exists as %s of organization %s", u.Name, old.Role, old.Org)
		case !old.Enabled():
			return accountErr(ErrDisabled, "name", "user %s is disabled", u.Name)
		}
		u = old
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// User returns the user with the given name.
func (s *Store) User(name string) (User, error) {
	return accountRead(s, "read user", func(txn *badger.Txn) (User, error) {
		return getUser(txn, "name", name)
	})
}

// Users lists the users of organization org, or of every organization
// when org is empty, enabled or not, by name. An unknown org is
// ErrNotFound.
func (s *Store) Users(org string) ([]User, error) {
	return accountRead(s, "list users", func(txn *badger.Txn) ([]User, error) {
		if org != "" {
			if _, err := getOrg(txn, "org", org); err != nil {
				return nil, err
			}
		}
		all, err := listRecords(txn, accountPrefix(subUser), parseKey(subUser), decodeUser)
		return slices.DeleteFunc(all, func(u User) bool { return org != "" && u.Org != org }), err
	})
}

// DisableUser disables a user: its tokens stop authenticating, and it gets
// no new ones. Disabling a disabled user changes nothing.
func (s *Store) DisableUser(ctx context.Context, name string) (User, error) {
	var u User
	err := s.accountWrite(ctx, "disable user "+name, func(txn *badger.Txn) error {
		var err error
		if u, err = getUser(txn, "name", name); err != nil || !u.Enabled() {
			return err
		}
		u.Disabled = stamp()
		return txn.Set(accountNameKey(subUser, name), encodeUser(u))
	})
	return u, err
}

// CreateToken stores a new token for an enabled user of an enabled
// organization and returns it with its secret. The secret is not stored
// and cannot be shown again.
func (s *Store) CreateToken(ctx context.Context, spec TokenSpec) (Token, string, error) {
	if spec.User == "" {
		return Token{}, "", fmt.Errorf("create token: %w", accountErr(ErrInvalid, "user", "the user is required"))
	}
	now := stamp()
	if !spec.Expires.IsZero() && !spec.Expires.After(now) {
		return Token{}, "", fmt.Errorf("create token: %w", accountErr(ErrInvalid, "expires", "expiry %s is in the past", spec.Expires.Format(time.RFC3339)))
	}
	if err := checkText("description", "description", spec.Description, maxDescription); err != nil {
		return Token{}, "", fmt.Errorf("create token: %w", err)
	}
	if spec.Role != "" {
		r, err := ParseRole(string(spec.Role))
		if err != nil {
			return Token{}, "", fmt.Errorf("create token: %w", err)
		}
		spec.Role = r
	}
	var raw [tokenSecretBytes + tokenIDLen]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Token{}, "", fmt.Errorf("create token: read random bytes: %w", err)
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:tokenSecretBytes])
	id := binary.BigEndian.Uint64(raw[tokenSecretBytes:])
	hash := hashSecret(secret)
	t := Token{ID: formatTokenID(id), User: spec.User, Role: spec.Role, Description: spec.Description,
		Created: now, Expires: spec.Expires.UTC().Round(0)}
	err := s.accountWrite(ctx, "create token for "+spec.User, func(txn *badger.Txn) error {
		u, err := getUser(txn, "user", spec.User)
		if err != nil {
			return err
		}
		if !u.Enabled() {
			return accountErr(ErrDisabled, "user", "user %s is disabled", u.Name)
		}
		if _, err := getEnabledOrg(txn, "user", u.Org); err != nil {
			return err
		}
		if t.Role == "" {
			t.Role = u.Role
		}
		if !u.Role.Covers(t.Role) {
			return accountErr(ErrInvalid, "role", "role %s is above the role %s of user %s", t.Role, u.Role, u.Name)
		}
		t.Org = u.Org
		if taken, err := exists(txn, tokenIDKey(id)); err != nil || taken {
			return errors.Join(err, accountErrIf(taken, ErrInvalid, "id", "token id collision"))
		}
		if err := txn.Set(tokenHashKey(hash), encodeToken(t, id)); err != nil {
			return err
		}
		return txn.Set(tokenIDKey(id), hash[:])
	})
	if err != nil {
		return Token{}, "", err
	}
	return t, secret, nil
}

// Authenticate returns the viewer and principal of a token secret, or
// ErrUnauthenticated when the secret is unknown, expired or revoked, or
// its user or organization is disabled.
func (s *Store) Authenticate(secret string) (Viewer, Principal, error) {
	if s.closed.Load() {
		return Viewer{}, Principal{}, ErrClosed
	}
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 256 {
		return Viewer{}, Principal{}, ErrUnauthenticated
	}
	hash := hashSecret(secret)
	now := accountClock()
	if p, ok := s.auth.get(hash, now); ok {
		return p.Viewer(), p, nil
	}
	gen := s.auth.generation()
	var p Principal
	var expires time.Time
	err := s.db.View(func(txn *badger.Txn) error {
		t, err := getRecord(txn, tokenHashKey(hash), decodeToken)
		if errors.Is(err, ErrNotFound) {
			return ErrUnauthenticated
		}
		if err != nil {
			return fmt.Errorf("read token: %w", err)
		}
		if !t.Active(now) {
			return ErrUnauthenticated
		}
		expires = t.Expires
		u, err := getUser(txn, "user", t.User)
		if errors.Is(err, ErrNotFound) {
			return ErrUnauthenticated
		}
		if err != nil {
			return err
		}
		o, err := getOrg(txn, "org", u.Org)
		if errors.Is(err, ErrNotFound) {
			return ErrUnauthenticated
		}
		if err != nil {
			return err
		}
		// A token whose organization is not its user's is a legacy token
		// that named the user in a second organization: it would read as
		// the wrong organization.
		if !u.Enabled() || !o.Enabled() || u.Org != t.Org || !u.Role.Covers(t.Role) {
			return ErrUnauthenticated
		}
		p = Principal{TokenID: t.ID, User: u.Name, Org: u.Org, Role: t.Role, InstanceAdmin: t.Role.IsAdmin() && o.Operator}
		return nil
	})
	if err != nil {
		return Viewer{}, Principal{}, err
	}
	s.auth.put(hash, p, expires, gen)
	return p.Viewer(), p, nil
}

// authCache remembers the principals of recently authenticated tokens, so
// that a request does not read and decode its token, user and organization
// records again. Every account write forgets them all (forget), so a
// revoked token, or one of a disabled user or organization, stops working
// when the write returns; an entry read before such a write and stored
// after it carries the older generation and is never used. Only this
// process writes the store (Badger locks the directory), so no change
// escapes it.
type authCache struct {
	mu      sync.Mutex
	gen     uint64
	entries map[[tokenHashLen]byte]authEntry
}

// authEntry is one cached principal, valid in generation gen until the
// token expires (never, when expires is zero).
type authEntry struct {
	p       Principal
	expires time.Time
	gen     uint64
}

// maxAuthEntries bounds the cache; when it is full it starts again empty.
const maxAuthEntries = 10_000

func (c *authCache) get(hash [tokenHashLen]byte, now time.Time) (Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || e.gen != c.gen || (!e.expires.IsZero() && !now.Before(e.expires)) {
		return Principal{}, false
	}
	return e.p, true
}

func (c *authCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *authCache) put(hash [tokenHashLen]byte, p Principal, expires time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return // an account write came in between: the answer may be stale
	}
	if c.entries == nil || len(c.entries) >= maxAuthEntries {
		c.entries = map[[tokenHashLen]byte]authEntry{}
	}
	c.entries[hash] = authEntry{p: p, expires: expires, gen: gen}
}

// forget drops every entry, for an account write.
func (c *authCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries = nil
}

// getToken reads the token with the given id and the key of its record.
func getToken(txn *badger.Txn, id string) (Token, []byte, error) {
	n, err := parseTokenID(id)
	if err != nil {
		return Token{}, nil, err
	}
	hash, err := getRecord(txn, tokenIDKey(n), func(v []byte) ([tokenHashLen]byte, error) {
		if len(v) != tokenHashLen {
			return [tokenHashLen]byte{}, fmt.Errorf("token %s hash: %w", id, ErrCorrupt)
		}
		return [tokenHashLen]byte(v), nil
	})
	if errors.Is(err, ErrNotFound) {
		return Token{}, nil, accountErr(ErrNotFound, "id", "token %s does not exist", id)
	}
	if err != nil {
		return Token{}, nil, err
	}
	key := tokenHashKey(hash)
	t, err := getRecord(txn, key, decodeToken)
	if err != nil {
		return Token{}, nil, fmt.Errorf("token %s record: %w", id, err)
	}
	return t, key, nil
}

// Token returns the token with the given id, without its secret.
func (s *Store) Token(id string) (Token, error) {
	return accountRead(s, "read token", func(txn *badger.Txn) (Token, error) {
		t, _, err := getToken(txn, id)
		return t, err
	})
}

// RevokeToken revokes the token with the given id and returns it. Revoking
// a revoked token changes nothing; an unknown id is ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, id string) (Token, error) {
	n, err := parseTokenID(id)
	if err != nil {
		return Token{}, fmt.Errorf("revoke token: %w", err)
	}
	var t Token
	err = s.accountWrite(ctx, "revoke token "+id, func(txn *badger.Txn) error {
		var key []byte
		var err error
		if t, key, err = getToken(txn, id); err != nil || !t.Revoked.IsZero() {
			return err
		}
		t.Revoked = stamp()
		return txn.Set(key, encodeToken(t, n))
	})
	return t, err
}

// Tokens lists the tokens f selects, active or not, without secrets,
// oldest first. An unknown organization or user in f is ErrNotFound.
func (s *Store) Tokens(f TokenFilter) ([]Token, error) {
	return accountRead(s, "list tokens", func(txn *badger.Txn) ([]Token, error) {
		if f.Org != "" {
			if _, err := getOrg(txn, "org", f.Org); err != nil {
				return nil, err
			}
		}
		if f.User != "" {
			if _, err := getUser(txn, "user", f.User); err != nil {
				return nil, err
			}
		}
		all, err := listTokens(txn)
		return slices.DeleteFunc(all, func(t Token) bool {
			return (f.Org != "" && t.Org != f.Org) || (f.User != "" && t.User != f.User)
		}), err
	})
}

// listTokens reads every token record, oldest first.
func listTokens(txn *badger.Txn) ([]Token, error) {
	out, err := listRecords(txn, tokenHashPrefix(), func(k []byte) error {
		_, err := parseTokenHashKey(k)
		return err
	}, decodeToken)
	slices.SortFunc(out, func(a, b Token) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, err
}

// adoptLegacyTokens gives the users and organizations that tokens name a
// record when they have none, as stores written before organizations and
// users were records hold them: each user gets the organization of its
// oldest token and the least role covering all its tokens' roles. A token
// that names its user in a second organization is left as it is and no
// longer authenticates (Authenticate checks that a token's organization is
// its user's); it is logged. When the instance has no operator
// organization, the organization of the oldest active admin token among
// those adopted becomes it, since such tokens used to administer the whole
// instance. Open runs this on every read-write open; it writes only when
// there is something to adopt.
func (s *Store) adoptLegacyTokens() error {
	return s.accountWrite(context.Background(), "adopt legacy tokens", func(txn *badger.Txn) error {
		tokens, err := listTokens(txn)
		if err != nil {
			return err
		}
		byName := map[string]*User{}
		var order []string
		operator, now := "", accountClock()
		for _, t := range tokens {
			if taken, err := exists(txn, accountNameKey(subUser, t.User)); err != nil || taken {
				if err != nil {
					return err
				}
				continue
			}
			u := byName[t.User]
			switch {
			case u == nil:
				u = &User{Name: t.User, Org: t.Org, Role: t.Role, Created: t.Created}
				byName[t.User] = u
				order = append(order, t.User)
			case u.Org != t.Org:
				s.log.Warn("a legacy token names its user in a second organization; it no longer authenticates: revoke it and make the user a token in its one organization",
					"token", t.ID, "user", t.User, "org", t.Org, "user_org", u.Org)
				continue
			default:
				u.Role = joinRoles(u.Role, t.Role)
			}
			if operator == "" && t.Role.IsAdmin() && t.Active(now) {
				operator = t.Org
			}
		}
		for _, name := range order {
			u := byName[name]
			if taken, err := exists(txn, accountNameKey(subOrg, u.Org)); err != nil {
				return err
			} else if !taken {
				o := Organization{Name: u.Org, DisplayName: u.Org, Created: u.Created}
				if err := txn.Set(accountNameKey(subOrg, o.Name), encodeOrg(o)); err != nil {
					return err
				}
			}
			if err := txn.Set(accountNameKey(subUser, u.Name), encodeUser(*u)); err != nil {
				return err
			}
		}
		if len(order) == 0 {
			return nil
		}
		s.log.Info("adopted the users of legacy tokens", "users", len(order))
		if op, err := getOperator(txn); err != nil || op != "" || operator == "" {
			return err
		}
		s.log.Info("the organization of the oldest legacy admin token is the operator organization", "org", operator)
		return txn.Set(keyOperatorOrg, []byte(operator))
	})
}
