package query

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/verband-cti/verband/graph"
)

// Account administration (schema/admin.graphql). Every field needs an admin
// token. An admin manages the users and tokens of its own organization; an
// instance admin (Principal.InstanceAdmin: an admin of the operator
// organization) also creates and disables organizations, and manages the
// users and tokens of every organization, so that it can give a new
// organization its first admin. The checks run before any account is read,
// so a non-admin learns nothing from the answer but FORBIDDEN.

// adminOnly checks that the request comes from an admin and, for a
// mutation, by POST.
func (r *request) adminOnly(mutation bool) error {
	if mutation && r.readOnly {
		return &Error{Code: CodeMethod, Message: "mutations must be sent with POST"}
	}
	if !r.principal.Role.IsAdmin() {
		return &Error{Code: CodeForbidden, Message: fmt.Sprintf("role %q may not administer accounts; that needs an admin", r.principal.Role)}
	}
	return nil
}

// operator reports whether the request sees store-wide figures and may
// run store-wide maintenance: the system viewer, or an admin of the
// operator organization.
func (r *request) operator() bool {
	return r.viewer.IsSystem() || r.principal.InstanceAdmin
}

// manages checks that the request's admin may manage the accounts of
// organization org, or, when org is empty, organizations themselves.
func (r *request) manages(org string) error {
	p := r.principal
	switch {
	case p.InstanceAdmin:
		return nil
	case org == "":
		return &Error{Code: CodeForbidden, Message: "only admins of the operator organization may create and disable organizations"}
	case org != p.Org:
		return &Error{Code: CodeForbidden, Message: fmt.Sprintf("organization %s is not yours; admins manage the accounts of their own organization", org)}
	}
	return nil
}

// administers checks that the request comes from an admin (and, for a
// mutation, by POST) who manages organization org, or organizations
// themselves when org is empty.
func (r *request) administers(mutation bool, org string) error {
	if err := r.adminOnly(mutation); err != nil {
		return err
	}
	return r.manages(org)
}

// ownOrg returns the organization an optional argument names, the
// caller's when it is absent.
func (r *request) ownOrg(arg *string) string {
	if arg != nil && *arg != "" {
		return *arg
	}
	return r.principal.Org
}

// accountError turns an error of an account operation into an API error
// about the GraphQL field at fault: field when it is given, and otherwise
// the input field the store's argument maps to.
func accountError(err error, field string) error {
	var ae *graph.AccountError
	if !errors.As(err, &ae) {
		return err
	}
	if field == "" && ae.Field != "" {
		field = "input." + ae.Field
		if ae.Field == "org" {
			field = "input.organization"
		}
	}
	code := CodeValidation
	if errors.Is(err, graph.ErrNotFound) {
		code = CodeNotFound
	}
	return &Error{Code: code, Field: field, Message: err.Error(), Err: err}
}

// roleEnum is the Role enum value of a role; roleArg is the role of one.
func roleEnum(r graph.Role) string { return strings.ToUpper(string(r)) }
func roleArg(s string) graph.Role  { return graph.Role(strings.ToLower(s)) }

// since is when a record was disabled or revoked: zero while it was not.
type since struct{ t time.Time }

// Disabled reports whether the record is disabled.
func (s since) Disabled() bool { return !s.t.IsZero() }

// DisabledAt is when the record was disabled.
func (s since) DisabledAt() *graphql.Time { return gqlTime(s.t) }

// orgResolver is the Organization type.
type orgResolver struct {
	since
	o graph.Organization
}

func newOrg(o graph.Organization) *orgResolver { return &orgResolver{since{o.Disabled}, o} }

// Name is the organization's stable id.
func (o *orgResolver) Name() string { return o.o.Name }

// DisplayName is the name people read.
func (o *orgResolver) DisplayName() string { return o.o.DisplayName }

// Created is when the organization was created.
func (o *orgResolver) Created() graphql.Time { return graphql.Time{Time: o.o.Created} }

// Operator reports whether it is the operator organization.
func (o *orgResolver) Operator() bool { return o.o.Operator }

// userResolver is the User type.
type userResolver struct {
	since
	u graph.User
}

func newUser(u graph.User) *userResolver { return &userResolver{since{u.Disabled}, u} }

// Name is the user name.
func (u *userResolver) Name() string { return u.u.Name }

// Organization is the user's organization.
func (u *userResolver) Organization() string { return u.u.Org }

// Role is the user's role.
func (u *userResolver) Role() string { return roleEnum(u.u.Role) }

// Created is when the user was created.
func (u *userResolver) Created() graphql.Time { return graphql.Time{Time: u.u.Created} }

// tokenResolver is the Token type.
type tokenResolver struct{ t graph.Token }

// ID is the token's id.
func (t *tokenResolver) ID() graphql.ID { return graphql.ID(t.t.ID) }

// User is the token's holder.
func (t *tokenResolver) User() string { return t.t.User }

// Organization is the holder's organization.
func (t *tokenResolver) Organization() string { return t.t.Org }

// Role is the token's role.
func (t *tokenResolver) Role() string { return roleEnum(t.t.Role) }

// Description is what the token is for.
func (t *tokenResolver) Description() *string { return optString(t.t.Description) }

// Created is when the token was created.
func (t *tokenResolver) Created() graphql.Time { return graphql.Time{Time: t.t.Created} }

// Expires is when the token stops working.
func (t *tokenResolver) Expires() *graphql.Time { return gqlTime(t.t.Expires) }

// Revoked is when the token was revoked.
func (t *tokenResolver) Revoked() *graphql.Time { return gqlTime(t.t.Revoked) }

// Active reports whether the token is neither revoked nor expired.
func (t *tokenResolver) Active() bool { return t.t.Active(time.Now()) }

func tokenList(ts []graph.Token) []*tokenResolver {
	out := make([]*tokenResolver, len(ts))
	for i, t := range ts {
		out[i] = &tokenResolver{t}
	}
	return out
}

// createTokenPayload is the CreateTokenPayload type.
type createTokenPayload struct {
	Token  *tokenResolver
	Secret string
}

// Organizations resolves Query.organizations.
func (q *queryResolver) Organizations(ctx context.Context) ([]*orgResolver, error) {
	r := reqFrom(ctx)
	if err := r.adminOnly(false); err != nil {
		return nil, err
	}
	var orgs []graph.Organization
	if r.principal.InstanceAdmin {
		var err error
		if orgs, err = r.api.store.Organizations(); err != nil {
			return nil, err
		}
	} else {
		o, err := r.api.store.Organization(r.principal.Org)
		if err != nil {
			return nil, err
		}
		orgs = append(orgs, o)
	}
	out := make([]*orgResolver, len(orgs))
	for i, o := range orgs {
		out[i] = newOrg(o)
	}
	return out, nil
}

// Users resolves Query.users.
func (q *queryResolver) Users(ctx context.Context, args struct{ Organization *string }) ([]*userResolver, error) {
	r := reqFrom(ctx)
	org := r.ownOrg(args.Organization)
	if err := r.administers(false, org); err != nil {
		return nil, err
	}
	users, err := r.api.store.Users(org)
	if err != nil {
		return nil, accountError(err, "organization")
	}
	out := make([]*userResolver, len(users))
	for i, u := range users {
		out[i] = newUser(u)
	}
	return out, nil
}

// Tokens resolves Query.tokens.
func (q *queryResolver) Tokens(ctx context.Context, args struct{ User *string }) ([]*tokenResolver, error) {
	r := reqFrom(ctx)
	if err := r.adminOnly(false); err != nil {
		return nil, err
	}
	f := graph.TokenFilter{Org: r.principal.Org}
	if args.User != nil {
		u, err := r.managedUser(*args.User, "user")
		if err != nil {
			return nil, err
		}
		f = graph.TokenFilter{User: u.Name}
	}
	tokens, err := r.api.store.Tokens(f)
	if err != nil {
		return nil, accountError(err, "user")
	}
	return tokenList(tokens), nil
}

// createOrganizationInput is the CreateOrganizationInput type.
type createOrganizationInput struct {
	Name        string
	DisplayName *string
}

// CreateOrganization resolves Mutation.createOrganization.
func (m *mutationResolver) CreateOrganization(ctx context.Context, args struct{ Input createOrganizationInput }) (*orgResolver, error) {
	r := reqFrom(ctx)
	if err := r.administers(true, ""); err != nil {
		return nil, err
	}
	spec := graph.OrganizationSpec{Name: args.Input.Name}
	if args.Input.DisplayName != nil {
		spec.DisplayName = *args.Input.DisplayName
	}
	o, err := r.api.store.CreateOrganization(ctx, spec)
	if err != nil {
		return nil, accountError(err, "")
	}
	return newOrg(o), nil
}

// DisableOrganization resolves Mutation.disableOrganization.
func (m *mutationResolver) DisableOrganization(ctx context.Context, args struct{ Name string }) (*orgResolver, error) {
	r := reqFrom(ctx)
	if err := r.administers(true, ""); err != nil {
		return nil, err
	}
	o, err := r.api.store.DisableOrganization(ctx, args.Name)
	if err != nil {
		return nil, accountError(err, "name")
	}
	return newOrg(o), nil
}

// createUserInput is the CreateUserInput type.
type createUserInput struct {
	Name         string
	Organization *string
	Role         string
}

// CreateUser resolves Mutation.createUser.
func (m *mutationResolver) CreateUser(ctx context.Context, args struct{ Input createUserInput }) (*userResolver, error) {
	r := reqFrom(ctx)
	in := args.Input
	spec := graph.UserSpec{Name: in.Name, Org: r.ownOrg(in.Organization), Role: roleArg(in.Role)}
	if err := r.administers(true, spec.Org); err != nil {
		return nil, err
	}
	u, err := r.api.store.CreateUser(ctx, spec)
	if err != nil {
		return nil, accountError(err, "")
	}
	return newUser(u), nil
}

// managedUser reads user name, which the request's admin must manage;
// field names the argument in errors. The caller has checked adminOnly.
func (r *request) managedUser(name, field string) (graph.User, error) {
	u, err := r.api.store.User(name)
	if err != nil {
		return u, accountError(err, field)
	}
	return u, r.manages(u.Org)
}

// DisableUser resolves Mutation.disableUser.
func (m *mutationResolver) DisableUser(ctx context.Context, args struct{ Name string }) (*userResolver, error) {
	r := reqFrom(ctx)
	if err := r.adminOnly(true); err != nil {
		return nil, err
	}
	if _, err := r.managedUser(args.Name, "name"); err != nil {
		return nil, err
	}
	u, err := r.api.store.DisableUser(ctx, args.Name)
	if err != nil {
		return nil, accountError(err, "name")
	}
	return newUser(u), nil
}

// createTokenInput is the CreateTokenInput type.
type createTokenInput struct {
	User        string
	Role        *string
	Expires     *graphql.Time
	Description *string
}

// CreateToken resolves Mutation.createToken.
func (m *mutationResolver) CreateToken(ctx context.Context, args struct{ Input createTokenInput }) (*createTokenPayload, error) {
	r := reqFrom(ctx)
	if err := r.adminOnly(true); err != nil {
		return nil, err
	}
	in := args.Input
	if _, err := r.managedUser(in.User, "input.user"); err != nil {
		return nil, err
	}
	spec := graph.TokenSpec{User: in.User}
	if in.Role != nil {
		spec.Role = roleArg(*in.Role)
	}
	if in.Expires != nil {
		spec.Expires = in.Expires.Time
	}
	if in.Description != nil {
		spec.Description = *in.Description
	}
	t, secret, err := r.api.store.CreateToken(ctx, spec)
	if err != nil {
		return nil, accountError(err, "")
	}
	return &createTokenPayload{Token: &tokenResolver{t}, Secret: secret}, nil
}

// RevokeToken resolves Mutation.revokeToken.
func (m *mutationResolver) RevokeToken(ctx context.Context, args struct{ ID graphql.ID }) (*tokenResolver, error) {
	r := reqFrom(ctx)
	if err := r.adminOnly(true); err != nil {
		return nil, err
	}
	t, err := r.api.store.Token(string(args.ID))
	if err != nil {
		return nil, accountError(err, "id")
	}
	if err := r.manages(t.Org); err != nil {
		return nil, err
	}
	if t, err = r.api.store.RevokeToken(ctx, t.ID); err != nil {
		return nil, accountError(err, "id")
	}
	return &tokenResolver{t}, nil
}
