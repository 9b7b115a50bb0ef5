package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/graph"
)

type hitJSON struct {
	ID         graph.ID `json:"id"`
	StixID     string   `json:"stix_id"`
	Type       string   `json:"type"`
	Name       string   `json:"name"`
	ExternalID string   `json:"external_id,omitempty"`
	Score      float64  `json:"score"`
}

type facetJSON struct {
	Type  string `json:"type"`
	Count uint64 `json:"count"`
}

func newSearchCmd(a *app) *cobra.Command {
	var (
		types         []string
		limit, offset int
	)
	cmd := &cobra.Command{
		Use:   "search QUERY",
		Short: "Full-text search over the stored objects",
		Long: `Search finds objects by the words in their names, descriptions and other
text, or by an exact value: an IP address or CIDR block, a domain, a hash, or
an external id such as the ATT&CK technique id T1566. It prints the best hits
with their STIX ids and the number of matches per type (facets).`,
		Example: `  verband search "spearphishing attachment"
  verband search --type intrusion-set,campaign ukraine
  verband search --json --limit 5 T1059`,
		Args: someArgs("QUERY"),
		RunE: func(cmd *cobra.Command, argv []string) (err error) {
			if limit < 1 || limit > 1000 {
				return usagef("--limit %d: want 1 to 1000", limit)
			}
			if offset < 0 {
				return usagef("--offset %d: want 0 or more", offset)
			}
			text := strings.Join(argv, " ")
			store, err := a.openStore(true)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			v := graph.System()
			res, err := store.Search(cmd.Context(), v, graph.SearchQuery{Text: text, Types: types, From: offset, Size: limit, Facets: true})
			if err != nil {
				return err // the store's search errors say "search:"
			}
			hits := make([]hitJSON, 0, len(res.Hits))
			err = store.View(v, func(tx *graph.Tx) error {
				for _, h := range res.Hits {
					n, err := tx.Node(h.ID)
					if err != nil {
						return fmt.Errorf("read hit %d: %w", h.ID, err)
					}
					hits = append(hits, hitJSON{ID: n.ID, StixID: n.StixID, Type: n.Type, Name: displayName(n), ExternalID: externalIDOf(n.Raw), Score: h.Score})
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("search: %w", err)
			}
			facets := make([]facetJSON, 0, len(res.Facets))
			for t, c := range res.Facets {
				facets = append(facets, facetJSON{t, c})
			}
			slices.SortFunc(facets, func(x, y facetJSON) int {
				return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Type, y.Type))
			})
			if a.json {
				return a.printJSON(struct {
					Query  string      `json:"query"`
					Total  uint64      `json:"total"`
					Hits   []hitJSON   `json:"hits"`
					Facets []facetJSON `json:"facets"`
				}{text, res.Total, hits, facets})
			}
			if res.Total == 0 {
				fmt.Fprintf(a.stdout, "No objects match %q.\n", text)
				return nil
			}
			fmt.Fprintf(a.stdout, "%d %s for %q", res.Total, plural(int(res.Total), "hit"), text)
			if len(hits) > 0 && uint64(len(hits)) < res.Total {
				fmt.Fprintf(a.stdout, ", showing %d–%d", offset+1, offset+len(hits))
			}
			fmt.Fprintln(a.stdout, ":")
			fmt.Fprintln(a.stdout)
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SCORE\tTYPE\tNAME\tEXT ID\tSTIX ID")
			for _, h := range hits {
				fmt.Fprintf(tw, "%.2f\t%s\t%s\t%s\t%s\n", h.Score, h.Type, truncate(h.Name, 48), h.ExternalID, h.StixID)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			parts := make([]string, len(facets))
			for i, f := range facets {
				parts[i] = fmt.Sprintf("%s %d", f.Type, f.Count)
			}
			fmt.Fprintf(a.stdout, "\nBy type: %s\n", strings.Join(parts, ", "))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&types, "type", nil, "only objects of these STIX types (repeat or separate by commas)")
	f.IntVar(&limit, "limit", 20, "number of hits to show (1 to 1000)")
	f.IntVar(&offset, "offset", 0, "number of hits to skip")
	return cmd
}

// plural returns word, with an "s" unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
