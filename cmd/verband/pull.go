package main

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/ingest/pipeline"
	"github.com/verband-cti/verband/ingest/taxii"
	"github.com/verband-cti/verband/schema"
)

func newPullCmd(a *app) *cobra.Command {
	var (
		collection, user, passwordEnv, passwordFile, tokenEnv, tokenFile string
		from, source, owner, tlp, onError                                string
		types                                                            []string
		limit, chunk, retries                                            int
		restart                                                          bool
	)
	cmd := &cobra.Command{
		Use:   "pull URL",
		Short: "Read a TAXII 2.1 collection into the store, resuming where the last pull stopped",
		Long: `Pull reads the objects of a TAXII 2.1 collection and loads them like ingest
does. URL is the server's discovery endpoint (…/taxii2/, whose default API root
is used) or an API root. Without --collection, pull lists the collections.

Pages are loaded one at a time; after each, the position (the page's
X-TAXII-Date-Added-Last) is saved in taxii-positions.json in the data
directory, so an interrupted pull resumes after the last page stored, and a
later pull fetches only what was added since. --restart reads the collection
from its beginning; loading is idempotent, so nothing is duplicated.

Credentials never go on the command line: --user with --password-env or
--password-file for HTTP basic authentication, or --token-env or --token-file
for a bearer token. Answers 429 and 5xx are retried with exponential backoff.`,
		Example: `  verband pull https://taxii.example.org/taxii2/ --collection 91a7b528-80eb-42ed-a74d-c6fbd5a26116 --token-env TAXII_TOKEN
  verband pull https://taxii.example.org/api1/ --collection indicators --user cert --password-file ~/.taxii-pass --owner org-a --tlp amber`,
		Args: oneArg("URL"),
		RunE: func(cmd *cobra.Command, argv []string) (err error) {
			u, err := url.Parse(argv[0])
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return usagef("pull: %q is not an http(s) URL", argv[0])
			}
			mode, err := pipeline.ParseErrorMode(onError)
			if err != nil {
				return usagef("--on-error: %w", err)
			}
			level := schema.TLPUnmarked
			if tlp != "" {
				if level, err = schema.ParseTLP(tlp); err != nil {
					return usagef("--tlp: %w", err)
				}
			}
			creds, err := credentials(user, passwordEnv, passwordFile, tokenEnv, tokenFile)
			if err != nil {
				return err
			}
			client := taxii.NewClient(taxii.Options{Credentials: creds, MaxRetries: retries})
			ctx := cmd.Context()
			root, err := client.Resolve(ctx, argv[0])
			if err != nil {
				return fmt.Errorf("pull: %w", err)
			}
			if collection == "" {
				cols, err := client.Collections(ctx, root)
				if err != nil {
					return fmt.Errorf("pull: %w", err)
				}
				if a.json {
					return a.printJSON(cols)
				}
				fmt.Fprintf(a.stdout, "Collections of %s:\n", root)
				for _, c := range cols {
					fmt.Fprintf(a.stdout, "  %s  %s (read: %t)\n", c.ID, c.Title, c.CanRead)
				}
				return usagef("pull: name a collection with --collection")
			}
			if source == "" {
				source = "taxii:" + u.Host
			}

			store, err := a.openStore(false)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			positions := taxii.DataDirPositions(store.Dir())
			loader := pipeline.New(store, pipeline.Options{Source: source, Owner: owner, TLP: level, ExplicitTLP: tlp != "", OnError: mode, ChunkObjects: chunk})
			start := time.Now()
			st, pullErr := taxii.Pull(ctx, client, root, loader, positions, taxii.PullOptions{
				Collection: collection, Limit: limit, Types: splitList(types), From: from, Restart: restart,
				Progress: func(p taxii.PullStats) {
					if !a.json {
						fmt.Fprintf(a.stderr, "pull: page %d, %d objects, %d created, %d rejected, at %s\n", p.Pages, p.Objects, p.Load.Created, p.Load.Rejected, p.To)
					}
				},
			})
			redacted := root
			if ru, err := url.Parse(root); err == nil {
				redacted = ru.Redacted()
			}
			args := map[string]any{"api_root": redacted, "collection": collection, "source": source, "owner": owner, "tlp": tlp,
				"types": types, "from": from, "restart": restart, "limit": limit}
			if err := appendCLIAudit(ctx, store, "cli pull", []string{owner}, args, st, nil, pullErr); err != nil {
				return err
			}
			for _, e := range st.Load.Warnings {
				fmt.Fprintf(a.stderr, "warning: %v\n", e)
			}
			if !a.json {
				for _, e := range st.Load.Errors {
					fmt.Fprintf(a.stderr, "rejected: %v\n", e)
				}
			}
			if pullErr != nil {
				fmt.Fprintf(a.stderr, "Stopped after %d pages; every page before stays stored, and the next pull resumes at %q.\n", st.Pages, st.To)
				return fmt.Errorf("pull: %w", pullErr)
			}
			if err := store.WaitIndexed(ctx); err != nil {
				return fmt.Errorf("pull: wait for the search index: %w", err)
			}
			if a.json {
				return a.printJSON(struct {
					taxii.PullStats
					APIRoot        string   `json:"api_root"`
					Collection     string   `json:"collection"`
					PositionsFile  string   `json:"positions_file"`
					Seconds        float64  `json:"seconds"`
					RejectedErrors []string `json:"rejected_errors"`
				}{st, root, collection, positions.Path(), time.Since(start).Seconds(), errorStrings(st.Load.Errors)})
			}
			fmt.Fprintf(a.stdout, "Pulled %d objects in %d pages from %scollections/%s/ in %s: %d created, %d updated, %d unchanged, %d older, %d rejected.\n",
				st.Objects, st.Pages, root, collection, time.Since(start).Round(time.Millisecond), st.Load.Created, st.Load.Updated, st.Load.Unchanged, st.Load.Older, st.Load.Rejected)
			fmt.Fprintf(a.stdout, "Position saved in %s: next pull starts after %q.\n", positions.Path(), st.To)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&collection, "collection", "", "id of the collection to read (without it, the collections are listed)")
	f.StringVar(&user, "user", "", "user name for HTTP basic authentication")
	f.StringVar(&passwordEnv, "password-env", "", "environment variable holding the password")
	f.StringVar(&passwordFile, "password-file", "", "file holding the password")
	f.StringVar(&tokenEnv, "token-env", "", "environment variable holding a bearer token")
	f.StringVar(&tokenFile, "token-file", "", "file holding a bearer token")
	f.IntVar(&limit, "limit", 0, "objects per page to ask the server for (default: the server's choice)")
	f.StringSliceVar(&types, "type", nil, "read only objects of these STIX types")
	f.StringVar(&from, "from", "", "start after this added_after timestamp instead of the saved position")
	f.BoolVar(&restart, "restart", false, "read the collection from its beginning")
	f.IntVar(&retries, "retries", 5, "retries of a request after 429, 5xx or a network error")
	f.StringVar(&source, "source", "", "source name recorded in provenance (default taxii:<host>)")
	f.StringVar(&owner, "owner", "", "organization that owns the pulled objects")
	f.StringVar(&tlp, "tlp", "", "TLP for objects without a TLP marking: clear, green, amber, amber+strict or red")
	f.StringVar(&onError, "on-error", "stop", "what to do with a bad object: stop or skip")
	f.IntVar(&chunk, "chunk", 0, "objects per atomic commit (default 2000)")
	return cmd
}

// credentials reads TAXII credentials from environment variables or files.
func credentials(user, passwordEnv, passwordFile, tokenEnv, tokenFile string) (taxii.Credentials, error) {
	var c taxii.Credentials
	secret := func(env, file, what string) (string, error) {
		switch {
		case env != "" && file != "":
			return "", usagef("give --%s-env or --%s-file, not both", what, what)
		case env != "":
			v, ok := os.LookupEnv(env)
			if !ok || v == "" {
				return "", fmt.Errorf("pull: environment variable %s (--%s-env) is not set", env, what)
			}
			return v, nil
		case file != "":
			b, err := os.ReadFile(file)
			if err != nil {
				return "", fmt.Errorf("pull: read --%s-file: %w", what, err)
			}
			return strings.TrimRight(string(b), "\r\n"), nil
		}
		return "", nil
	}
	var err error
	if c.Token, err = secret(tokenEnv, tokenFile, "token"); err != nil {
		return c, err
	}
	if c.Password, err = secret(passwordEnv, passwordFile, "password"); err != nil {
		return c, err
	}
	if c.Token != "" && user != "" {
		return c, usagef("give a token or --user with a password, not both")
	}
	if c.Password != "" && user == "" {
		return c, usagef("a password needs --user")
	}
	c.Username = user
	return c, nil
}
