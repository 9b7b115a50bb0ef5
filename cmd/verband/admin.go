package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/graph"
)

func newAdminCmd(a *app) *cobra.Command {
	return groupCmd(&cobra.Command{
		Use:   "admin",
		Short: "Manage organizations, users, API tokens, source markings and protected properties",
		Long: `Admin manages the accounts of the instance: organizations, their users (each
in one organization, with a role), and the users' API tokens. Every request to
the HTTP API carries a token ("Authorization: Bearer <token>") and reads as its
user and organization, whatever the role.

Roles: reader (queries only); analyst and reviewer (queries and mutations);
service (for scheduled jobs: queries and mutations); admin (queries and
mutations, and the accounts of its organization through the API). A token has
its user's role or a lesser one.

One organization, named when it is created with --operator, is the operator
organization of the instance. Its admins are instance admins: through the API
they also create and disable organizations and manage every organization's
users and tokens.

To set up a new instance, create the operator organization, its first admin
and a token for that admin:

  verband admin org create ncsc --display-name "National CSC" --operator
  verband admin user create alice --org ncsc --role admin
  verband admin token create --user alice

"admin source" sets the default marking of an import source and "admin protect"
the properties that carry sources and methods.

Admin commands open the store directly and act as the operator of the data
directory, without a token. Stop "verband serve" first; while it runs, admins
use the API's admin mutations instead.`,
		Example: `  verband admin org create cert-a --display-name "CERT A"
  verband admin user create bob --org cert-a --role analyst
  verband admin token create --user bob --expires 720h
  verband admin token list --org cert-a`,
	}, newOrgCmd(a), newUserCmd(a), newTokenCmd(a), newSourceCmd(a), newProtectCmd(a))
}

// adminStore opens the store, runs fn on it and closes it. With mustExist a
// missing data directory is an error; commands that create accounts may
// start a new store. Invalid arguments the store rejects are usage errors.
func (a *app) adminStore(mustExist bool, fn func(s *graph.Store) error) (err error) {
	store, err := a.openStore(mustExist)
	if err != nil {
		return err
	}
	defer closeStore(store, &err)
	if err := fn(store); err != nil {
		if errors.Is(err, graph.ErrInvalid) {
			return usageError{err}
		}
		return err
	}
	return nil
}

// groupCmd completes cmd as a command that only groups its subcommands.
func groupCmd(cmd *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	cmd.Args = noArgs
	cmd.AddCommand(subs...)
	return cmd
}

// recordCmd completes cmd as an admin command that applies act to the one
// record its argument (described by arg) names, and reports what it did:
// the record as JSON with --json, and otherwise the sentence done makes.
func recordCmd[T any](a *app, cmd *cobra.Command, arg string, act func(*graph.Store, context.Context, string) (T, error), done func(T) string) *cobra.Command {
	cmd.Args = oneArg(arg)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return a.adminStore(true, func(s *graph.Store) error {
			rec, err := act(s, cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.printDone(rec, "%s", done(rec))
		})
	}
	return cmd
}

// printRecords prints records as JSON with --json, and otherwise as a
// table with the given columns, or the line none when there are none.
func printRecords[T any](a *app, records []T, none string, columns []string, row func(T) []string) error {
	if a.json {
		if records == nil {
			records = []T{}
		}
		return a.printJSON(records)
	}
	if len(records) == 0 {
		fmt.Fprintln(a.stdout, none)
		return nil
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(columns, "\t"))
	for _, r := range records {
		fmt.Fprintln(w, strings.Join(row(r), "\t"))
	}
	return w.Flush()
}

// printDone prints v as JSON with --json, and otherwise the sentence.
func (a *app) printDone(v any, format string, args ...any) error {
	if a.json {
		return a.printJSON(v)
	}
	fmt.Fprintf(a.stdout, format+"\n", args...)
	return nil
}

// day formats a time as a local date.
func day(t time.Time) string { return t.Local().Format(time.DateOnly) }

// enabledState says whether a record disabled at t (zero: never) is active.
func enabledState(disabled time.Time) string {
	if disabled.IsZero() {
		return "active"
	}
	return "disabled " + day(disabled)
}

func newOrgCmd(a *app) *cobra.Command {
	return groupCmd(&cobra.Command{
		Use:   "org",
		Short: "Create, list and disable organizations",
		Long: `Org manages organizations. An organization is named by a stable id, such as
cert-a: lower-case letters, digits, '-', '.' and '_', at most 64. That name is
what policies and sharing lists use; the display name is for people.`,
		Example: `  verband admin org create cert-a --display-name "CERT A"
  verband admin org list --json`,
	}, newOrgCreateCmd(a), newOrgListCmd(a), newOrgDisableCmd(a))
}

func newOrgCreateCmd(a *app) *cobra.Command {
	var spec graph.OrganizationSpec
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an organization",
		Long: `Create makes an organization. With --operator it becomes the operator
organization of the instance, whose admins are instance admins; there can be
only one, and it cannot be disabled.`,
		Example: `  verband admin org create ncsc --display-name "National CSC" --operator
  verband admin org create cert-a --display-name "CERT A"`,
		Args: oneArg("organization name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec.Name = args[0]
			return a.adminStore(false, func(s *graph.Store) error {
				o, err := s.CreateOrganization(cmd.Context(), spec)
				if err != nil {
					return err
				}
				what := "organization"
				if o.Operator {
					what = "operator organization"
				}
				return a.printDone(o, "Created %s %s (%s).", what, o.Name, o.DisplayName)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec.DisplayName, "display-name", "", "the name people read (default: the name)")
	f.BoolVar(&spec.Operator, "operator", false, "make it the operator organization, whose admins are instance admins")
	return cmd
}

func newOrgListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List organizations",
		Long:  `List prints every organization, active or disabled, by name.`,
		Example: `  verband admin org list
  verband admin org list --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.adminStore(true, func(s *graph.Store) error {
				orgs, err := s.Organizations()
				if err != nil {
					return err
				}
				return printRecords(a, orgs, "No organizations.", []string{"NAME", "DISPLAY NAME", "CREATED", "STATE", "OPERATOR"}, func(o graph.Organization) []string {
					op := ""
					if o.Operator {
						op = "yes"
					}
					return []string{o.Name, o.DisplayName, day(o.Created), enabledState(o.Disabled), op}
				})
			})
		},
	}
}

func newOrgDisableCmd(a *app) *cobra.Command {
	return recordCmd(a, &cobra.Command{
		Use:   "disable NAME",
		Short: "Disable an organization",
		Long: `Disable makes the tokens of all the organization's users stop working at once,
and the organization gets no new users or tokens. Its records and its data
stay. The operator organization cannot be disabled.`,
		Example: `  verband admin org disable cert-a`,
	}, "organization name", (*graph.Store).DisableOrganization, func(o graph.Organization) string {
		return "Disabled organization " + o.Name + ": the tokens of its users no longer work."
	})
}

func newUserCmd(a *app) *cobra.Command {
	return groupCmd(&cobra.Command{
		Use:   "user",
		Short: "Create, list and disable users",
		Long: `User manages users. Each user belongs to one organization and has a role;
user names are unique across the instance (lower-case letters, digits, '-',
'.', '_' and '@', at most 128), since RED objects name the users who may see
them.`,
		Example: `  verband admin user create bob --org cert-a --role analyst
  verband admin user list --org cert-a`,
	}, newUserCreateCmd(a), newUserListCmd(a), newUserDisableCmd(a))
}

func newUserCreateCmd(a *app) *cobra.Command {
	var spec graph.UserSpec
	var role string
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a user in an organization",
		Long: `Create makes a user of an existing organization with a role: reader, analyst,
reviewer, admin or service. The user's tokens have that role or a lesser one.`,
		Example: `  verband admin user create alice --org ncsc --role admin
  verband admin user create nightly --org ncsc --role service`,
		Args: oneArg("user name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if spec.Org == "" || role == "" {
				return usagef("user create: --org and --role are required")
			}
			spec.Name, spec.Role = args[0], graph.Role(role)
			return a.adminStore(false, func(s *graph.Store) error {
				u, err := s.CreateUser(cmd.Context(), spec)
				if err != nil {
					return err
				}
				return a.printDone(u, "Created user %s of %s, role %s.", u.Name, u.Org, u.Role)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec.Org, "org", "", "the user's organization (required)")
	f.StringVar(&role, "role", "", "role: reader, analyst, reviewer, admin or service (required)")
	return cmd
}

func newUserListCmd(a *app) *cobra.Command {
	var org string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Long:  `List prints the users of every organization, or of one with --org, active or disabled, by name.`,
		Example: `  verband admin user list
  verband admin user list --org cert-a --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.adminStore(true, func(s *graph.Store) error {
				users, err := s.Users(org)
				if err != nil {
					return err
				}
				return printRecords(a, users, "No users.", []string{"NAME", "ORG", "ROLE", "CREATED", "STATE"}, func(u graph.User) []string {
					return []string{u.Name, u.Org, string(u.Role), day(u.Created), enabledState(u.Disabled)}
				})
			})
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "list only this organization's users")
	return cmd
}

func newUserDisableCmd(a *app) *cobra.Command {
	return recordCmd(a, &cobra.Command{
		Use:     "disable NAME",
		Short:   "Disable a user",
		Long:    `Disable makes the user's tokens stop working at once, and the user gets no new ones. The record stays.`,
		Example: `  verband admin user disable bob`,
	}, "user name", (*graph.Store).DisableUser, func(u graph.User) string {
		return "Disabled user " + u.Name + ": its tokens no longer work."
	})
}

func newTokenCmd(a *app) *cobra.Command {
	return groupCmd(&cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens",
		Long: `Token manages API tokens. Only a hash of each token is stored: the token
itself is printed once, when it is created, and cannot be shown again.`,
		Example: `  verband admin token create --user alice --expires 720h
  verband admin token list --json`,
	}, newTokenCreateCmd(a), newTokenListCmd(a), newTokenRevokeCmd(a))
}

func newTokenCreateCmd(a *app) *cobra.Command {
	var spec graph.TokenSpec
	var role string
	var expires time.Duration
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an API token and print it once",
		Long: `Create makes an API token for an existing user, and prints it. Store it at
once: it is not shown again. Use it as "Authorization: Bearer <token>". The
token has the user's role, or with --role a lesser one (reader always; an
analyst token for a reviewer; any role for an admin). With --expires the token
stops working after that long; without, it works until revoked, or until its
user or organization is disabled.`,
		Example: `  verband admin token create --user alice
  verband admin token create --user alice --role reader --expires 24h --description "wall dashboard"
  verband admin token create --user nightly --expires 8760h --description "cluster job"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if spec.User == "" {
				return usagef("token create: --user is required")
			}
			if expires < 0 {
				return usagef("--expires must be positive, got %s", expires)
			}
			if expires > 0 {
				spec.Expires = time.Now().Add(expires)
			}
			spec.Role = graph.Role(role)
			return a.adminStore(true, func(s *graph.Store) error {
				tok, secret, err := s.CreateToken(cmd.Context(), spec)
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(struct {
						graph.Token
						Secret string `json:"token"`
					}{tok, secret})
				}
				fmt.Fprintf(a.stdout, "Created token %s for %s of %s, role %s%s.\n\n  %s\n\nStore it now: it is not shown again.\n",
					tok.ID, tok.User, tok.Org, tok.Role, expiry(tok), secret)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec.User, "user", "", "the token's user (required)")
	f.StringVar(&role, "role", "", "a role the user's role covers (default: the user's role)")
	f.DurationVar(&expires, "expires", 0, "lifetime, such as 720h (default: until revoked)")
	f.StringVar(&spec.Description, "description", "", "what the token is for")
	return cmd
}

func expiry(t graph.Token) string {
	if t.Expires.IsZero() {
		return ", no expiry"
	}
	return ", expires " + t.Expires.Local().Format(time.RFC3339)
}

func newTokenListCmd(a *app) *cobra.Command {
	var f graph.TokenFilter
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List API tokens, without their secrets",
		Long: `List prints tokens (active, expired and revoked) with their user, organization,
role and state, oldest first: every token, or those of one organization or user.`,
		Example: `  verband admin token list
  verband admin token list --org cert-a
  verband admin token list --user alice --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.adminStore(true, func(s *graph.Store) error {
				tokens, err := s.Tokens(f)
				if err != nil {
					return err
				}
				now := time.Now()
				return printRecords(a, tokens, "No tokens.", []string{"ID", "USER", "ORG", "ROLE", "CREATED", "STATE", "DESCRIPTION"}, func(t graph.Token) []string {
					state := "active"
					switch {
					case !t.Revoked.IsZero():
						state = "revoked " + day(t.Revoked)
					case !t.Expires.IsZero() && !now.Before(t.Expires):
						state = "expired"
					case !t.Expires.IsZero():
						state = "expires " + day(t.Expires)
					}
					return []string{t.ID, t.User, t.Org, string(t.Role), day(t.Created), state, t.Description}
				})
			})
		},
	}
	cmd.Flags().StringVar(&f.Org, "org", "", "list only the tokens of this organization's users")
	cmd.Flags().StringVar(&f.User, "user", "", "list only this user's tokens")
	return cmd
}

func newTokenRevokeCmd(a *app) *cobra.Command {
	return recordCmd(a, &cobra.Command{
		Use:     "revoke ID",
		Short:   "Revoke an API token",
		Long:    `Revoke makes a token stop working at once. Its record stays, marked revoked.`,
		Example: `  verband admin token revoke 3f2a9c0d1e4b5a67`,
	}, "token id", (*graph.Store).RevokeToken, func(t graph.Token) string {
		return "Revoked token " + t.ID + " of " + t.User + "."
	})
}
