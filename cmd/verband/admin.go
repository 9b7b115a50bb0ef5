package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/graph"
)

func newAdminCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Administer the instance: API tokens",
		Long: `Admin administers the instance. For now it manages API tokens: every request
to the HTTP API carries one ("Authorization: Bearer <token>"), which names a
user, an organization and a role (reader, analyst, reviewer, admin, service).
Mutations need analyst or above; an admin token reads everything.

Admin commands open the store directly, so stop "verband serve" first.`,
		Example: `  verband admin token create --user alice --org cert-a --role admin
  verband admin token list
  verband admin token revoke 3f2a9c0d1e4b5a67`,
		Args: noArgs,
	}
	cmd.AddCommand(newTokenCmd(a))
	return cmd
}

func newTokenCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens",
		Long: `Token manages API tokens. Only a hash of each token is stored: the token
itself is printed once, when it is created, and cannot be shown again.`,
		Example: `  verband admin token create --user alice --org cert-a --role analyst --expires 720h
  verband admin token list --json`,
		Args: noArgs,
	}
	cmd.AddCommand(newTokenCreateCmd(a), newTokenListCmd(a), newTokenRevokeCmd(a))
	return cmd
}

func newTokenCreateCmd(a *app) *cobra.Command {
	var spec graph.TokenSpec
	var role string
	var expires time.Duration
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an API token and print it once",
		Long: `Create makes an API token for a user of an organization with a role, and
prints it. Store it at once: it is not shown again. Use it as
"Authorization: Bearer <token>". With --expires the token stops working after
that long; without, it works until revoked.

Roles: reader (queries only), analyst and reviewer (queries and mutations),
admin (everything, and it sees every object), service (for scheduled jobs:
queries and mutations).`,
		Example: `  verband admin token create --user alice --org cert-a --role admin
  verband admin token create --user nightly --org ncsc --role service --expires 8760h --description "cluster job"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if spec.User == "" || spec.Org == "" || role == "" {
				return usagef("token create: --user, --org and --role are required")
			}
			r, err := graph.ParseRole(role)
			if err != nil {
				return usageError{err}
			}
			spec.Role = r
			if expires < 0 {
				return usagef("--expires must be positive, got %s", expires)
			}
			if expires > 0 {
				spec.Expires = time.Now().Add(expires)
			}
			store, err := a.openStore(false)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			tok, secret, err := store.CreateToken(cmd.Context(), spec)
			if errors.Is(err, graph.ErrInvalid) {
				return usageError{err}
			}
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
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec.User, "user", "", "user name (required)")
	f.StringVar(&spec.Org, "org", "", "organization (required)")
	f.StringVar(&role, "role", "", "role: reader, analyst, reviewer, admin or service (required)")
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
	return &cobra.Command{
		Use:   "list",
		Short: "List API tokens, without their secrets",
		Long:  `List prints every token (active, expired and revoked) with its user, organization, role and state, oldest first.`,
		Example: `  verband admin token list
  verband admin token list --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			store, err := a.openStore(true)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			tokens, err := store.Tokens()
			if err != nil {
				return err
			}
			if a.json {
				if tokens == nil {
					tokens = []graph.Token{}
				}
				return a.printJSON(tokens)
			}
			if len(tokens) == 0 {
				fmt.Fprintln(a.stdout, "No tokens.")
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tUSER\tORG\tROLE\tCREATED\tSTATE\tDESCRIPTION")
			now := time.Now()
			for _, t := range tokens {
				state := "active"
				switch {
				case !t.Revoked.IsZero():
					state = "revoked " + t.Revoked.Local().Format(time.DateOnly)
				case !t.Expires.IsZero() && !now.Before(t.Expires):
					state = "expired"
				case !t.Expires.IsZero():
					state = "expires " + t.Expires.Local().Format(time.DateOnly)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Org, t.Role, t.Created.Local().Format(time.DateOnly), state, t.Description)
			}
			return w.Flush()
		},
	}
}

func newTokenRevokeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "revoke ID",
		Short:   "Revoke an API token",
		Long:    `Revoke makes a token stop working at once. Its record stays, marked revoked.`,
		Example: `  verband admin token revoke 3f2a9c0d1e4b5a67`,
		Args:    oneArg("token id"),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			store, err := a.openStore(true)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			if err := store.RevokeToken(args[0]); err != nil {
				if errors.Is(err, graph.ErrInvalid) {
					return usageError{err}
				}
				return err
			}
			if a.json {
				return a.printJSON(map[string]any{"id": args[0], "revoked": true})
			}
			fmt.Fprintf(a.stdout, "Revoked token %s.\n", args[0])
			return nil
		},
	}
}
