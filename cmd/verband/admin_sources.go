package main

import (
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

func newSourceCmd(a *app) *cobra.Command {
	return groupCmd(&cobra.Command{
		Use:   "source",
		Short: "Set the default marking of an import source",
		Long: `Source sets the marking that the objects of one import source get when they
carry no TLP marking of their own: a feed an agency receives under AMBER, whose
files do not say so, say. "verband ingest --source NAME", "verband pull" and the
API's ingest mutation apply it unless they are given a TLP; markings in the data
always win. It changes what later loads give, not what is stored.`,
		Example: `  verband admin source set partner-feed --tlp amber --share cert-b,cert-c
  verband admin source list
  verband admin source remove partner-feed`,
	}, newSourceSetCmd(a), newSourceListCmd(a), newSourceRemoveCmd(a))
}

func newSourceSetCmd(a *app) *cobra.Command {
	var tlp string
	var share []string
	cmd := &cobra.Command{
		Use:   "set SOURCE",
		Short: "Set the default marking of an import source",
		Long: `Set gives the objects of SOURCE that carry no TLP marking of their own, and
whose load names no TLP, the level --tlp and, for AMBER, the sharing list
--share. The organizations on the list must exist. Setting it again replaces it.`,
		Example: `  verband admin source set partner-feed --tlp amber --share cert-b,cert-c
  verband admin source set osint --tlp clear`,
		Args: oneArg("the source name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			level, err := schema.ParseTLP(tlp)
			if err != nil {
				return usagef("--tlp: %w", err)
			}
			m := graph.SourceMarking{TLP: level, Sharing: share}
			return a.adminStore(false, func(s *graph.Store) error {
				err := s.SetSourceMarking(args[0], &m)
				if aerr := appendCLIAudit(cmd.Context(), s, "cli admin source set", share, map[string]any{"source": args[0], "tlp": tlp, "sharing": share}, nil, nil, err); aerr != nil {
					return aerr
				}
				if err != nil {
					return err
				}
				return a.printDone(sourceRow{Source: args[0], TLP: level.String(), Sharing: share},
					"Objects of %s without a TLP marking of their own now get %s%s.", args[0], level, sharedWith(share))
			})
		},
	}
	cmd.Flags().StringVar(&tlp, "tlp", "", "TLP level: clear, green, amber, amber+strict or red")
	cmd.Flags().StringSliceVar(&share, "share", nil, "organizations, besides the owner, that may see the source's AMBER objects")
	_ = cmd.MarkFlagRequired("tlp")
	return cmd
}

// sharedWith describes a sharing list for a sentence.
func sharedWith(orgs []string) string {
	if len(orgs) == 0 {
		return ""
	}
	return ", shared with " + strings.Join(orgs, ", ")
}

// sourceRow is one source's default marking as the commands print it.
type sourceRow struct {
	Source  string   `json:"source"`
	TLP     string   `json:"tlp"`
	Sharing []string `json:"sharing"`
}

func newSourceListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the import sources that have a default marking",
		Long: `List prints each import source that has a default marking, with its TLP level
and sharing list; --json prints them as JSON.`,
		Example: `  verband admin source list
  verband --json admin source list`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.adminStore(true, func(s *graph.Store) error {
				marks := s.SourceMarkings()
				var rows []sourceRow
				for _, name := range slices.Sorted(maps.Keys(marks)) {
					rows = append(rows, sourceRow{Source: name, TLP: marks[name].TLP.String(), Sharing: marks[name].Sharing})
				}
				return printRecords(a, rows, "No import source has a default marking: objects without a TLP marking stay unmarked unless a load names one.",
					[]string{"SOURCE", "TLP", "SHARED WITH"}, func(r sourceRow) []string {
						return []string{r.Source, r.TLP, strings.Join(r.Sharing, ",")}
					})
			})
		},
	}
}

func newSourceRemoveCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "remove SOURCE",
		Short: "Remove the default marking of an import source",
		Long: `Remove drops the default marking of SOURCE: its objects without a TLP marking
of their own stay unmarked from then on, unless a load names a TLP. Objects
already stored keep their marking.`,
		Example: `  verband admin source remove partner-feed`,
		Args:    oneArg("the source name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.adminStore(true, func(s *graph.Store) error {
				if _, ok := s.SourceMarking(args[0]); !ok {
					return usagef("source %q has no default marking (see verband admin source list)", args[0])
				}
				err := s.SetSourceMarking(args[0], nil)
				if aerr := appendCLIAudit(cmd.Context(), s, "cli admin source remove", nil, map[string]any{"source": args[0]}, nil, nil, err); aerr != nil {
					return aerr
				}
				if err != nil {
					return err
				}
				return a.printDone(map[string]string{"removed": args[0]}, "Objects of %s without a TLP marking of their own stay unmarked from now on.", args[0])
			})
		},
	}
}

func newProtectCmd(a *app) *cobra.Command {
	return groupCmd(&cobra.Command{
		Use:   "protect",
		Short: "List, add and remove protected properties (sources and methods)",
		Long: `Protect manages the protected properties: the properties that carry sources
and methods (x_source, x_collection_method, handling notes and the like). Only
the organization that contributed a property sees it; it is removed from every
other organization's view and from every export, the owner's own included, and
never written into the search index. Provenance details (source, file, original
values) are always protected.

A property is protected in every contribution, or, with --source, only in the
contributions of one import source. Protecting a property the search index may
hold (a name, description, label or the like) rebuilds the index before the
command returns, so that it can no longer be found by search.`,
		Example: `  verband admin protect list
  verband admin protect add x_informant
  verband admin protect add description --source humint-desk
  verband admin protect remove x_informant`,
	}, newProtectListCmd(a), newProtectChangeCmd(a, true), newProtectChangeCmd(a, false))
}

// protectRow is one protected property as the commands print it.
type protectRow struct {
	Property string `json:"property"`
	Source   string `json:"source,omitempty"`
}

func protectRows(p graph.Protection) []protectRow {
	var rows []protectRow
	for _, name := range p.Properties {
		rows = append(rows, protectRow{Property: name})
	}
	for _, src := range slices.Sorted(maps.Keys(p.BySource)) {
		for _, name := range p.BySource[src] {
			rows = append(rows, protectRow{Property: name, Source: src})
		}
	}
	return rows
}

func newProtectListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the protected properties",
		Long: `List prints each protected property, and the import source it is protected for
or "(every source)"; --json prints them as JSON.`,
		Example: `  verband admin protect list`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.adminStore(true, func(s *graph.Store) error {
				return printRecords(a, protectRows(s.Protection()), "No property is protected; provenance details still are.",
					[]string{"PROPERTY", "SOURCE"}, func(r protectRow) []string {
						src := r.Source
						if src == "" {
							src = "(every source)"
						}
						return []string{r.Property, src}
					})
			})
		},
	}
}

// newProtectChangeCmd makes "protect add" (add true) or "protect remove".
func newProtectChangeCmd(a *app, add bool) *cobra.Command {
	var source string
	verb, short := "remove", "Stop protecting properties"
	if add {
		verb, short = "add", "Protect properties"
	}
	long := `Add protects the named properties, in every contribution or, with --source, in
the contributions of one import source. Protecting a property the search index
may hold rebuilds the index before the command returns. Properties an object's
identity, marking or edges rest on (id, type, value, hashes and the like) cannot
be protected.`
	example := `  verband admin protect add x_informant x_case_officer
  verband admin protect add description --source humint-desk`
	if !add {
		long = `Remove stops protecting the named properties, in every contribution or, with
--source, in the contributions of one import source. They show in every view
that may see their object, and in exports, from then on.`
		example = `  verband admin protect remove x_informant
  verband admin protect remove description --source humint-desk`
	}
	cmd := &cobra.Command{
		Use:     verb + " PROPERTY...",
		Short:   short,
		Long:    long,
		Example: example,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, props []string) error {
			for _, p := range props {
				if err := graph.ValidPropertyName(p); err != nil {
					return usageError{err}
				}
			}
			return a.adminStore(true, func(s *graph.Store) error {
				p, changed := s.Protection().Change(add, source, props...)
				if len(changed) == 0 {
					state := "protected"
					if !add {
						state = "not protected"
					}
					return a.printDone(protectRows(p), "Nothing to change: %s %s already.", strings.Join(props, ", "), state)
				}
				err := s.SetProtection(p)
				if aerr := appendCLIAudit(cmd.Context(), s, "cli admin protect "+verb, nil, map[string]any{"properties": changed, "source": source}, nil, nil, err); aerr != nil {
					return aerr
				}
				if err != nil {
					return err
				}
				where := "in every contribution"
				if source != "" {
					where = "in the contributions of " + source
				}
				done := "now protected"
				if !add {
					done = "no longer protected"
				}
				return a.printDone(protectRows(s.Protection()), "%s %s %s.", strings.Join(changed, ", "), done, where)
			})
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "only in the contributions of this import source")
	return cmd
}
