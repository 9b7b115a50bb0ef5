package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/graph"
)

type neighbourNodeJSON struct {
	ID     graph.ID `json:"id"`
	StixID string   `json:"stix_id"`
	Type   string   `json:"type"`
	Name   string   `json:"name"`
	Hops   int      `json:"hops"`
}

type edgeJSON struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Type    string `json:"type"`
	Via     string `json:"via,omitempty"`
	FromID  uint64 `json:"from_id"`
	ToID    uint64 `json:"to_id"`
	ViaNode uint64 `json:"via_id,omitempty"`
}

func newNeighboursCmd(a *app) *cobra.Command {
	var (
		depth, limit    int
		edgeTypes       []string
		direction       string
		throughCreators bool
	)
	cmd := &cobra.Command{
		Use:     "neighbours ID|VALUE",
		Aliases: []string{"neighbors"},
		Short:   "Show the neighbourhood of an object in the graph",
		Long: `Neighbours walks the graph from one object (a STIX id or a value, as for
get) up to --depth hops (1 to 3) and prints every node reached and every edge
walked. Edges are STIX relationships, typed by their relationship_type
("uses", "indicates", …), and embedded references, typed by the property
("created_by_ref", "object_refs", …).

The walk reaches the identity that created an object (created_by_ref, or
another authorship reference named "…_by_ref" such as ATT&CK's
x_mitre_modified_by_ref) but does not go on from it to everything else it
created, which shares only its author with the start; started at an
identity, it does list what the identity created. --through-creators walks
on through creators; --edge-type decides alone.

--limit caps the number of nodes, so that a hub cannot flood the answer.`,
		Example: `  verband neighbours 198.51.100.3
  verband neighbours --depth 2 --edge-type uses --direction out intrusion-set--899ce53f-13a0-479b-a0e4-67d46e241542
  verband neighbours --json --limit 500 malware--fdd60b30-b67c-41e3-b0b9-f01faf20d111`,
		Args: oneArg("ID or VALUE"),
		RunE: func(cmd *cobra.Command, argv []string) (err error) {
			if depth < 1 || depth > 3 {
				return usagef("--depth %d: want 1, 2 or 3", depth)
			}
			if limit < 1 {
				return usagef("--limit %d: want 1 or more", limit)
			}
			var dir graph.Direction
			switch strings.ToLower(direction) {
			case "out":
				dir = graph.Out
			case "in":
				dir = graph.In
			case "both":
				dir = graph.Both
			default:
				return usagef("--direction %q: want out, in or both", direction)
			}
			store, err := a.openStore(true)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)

			var nodes []neighbourNodeJSON
			edges := []edgeJSON{}
			var hood graph.Neighbourhood
			err = store.View(graph.System(), func(tx *graph.Tx) error {
				ids, err := resolve(tx, argv[0])
				if err != nil {
					return err
				}
				if len(ids) > 1 {
					var alts []string
					for _, id := range ids {
						if n, err := tx.Node(id); err == nil {
							alts = append(alts, n.StixID)
						}
					}
					return fmt.Errorf("%q names %d objects; pick one: %s", argv[0], len(ids), strings.Join(alts, ", "))
				}
				hood, err = tx.Walk(cmd.Context(), ids[0], graph.WalkOptions{Depth: depth, Limit: limit,
					Query: graph.NeighbourQuery{Dir: dir, EdgeTypes: edgeTypes, SkipAuthored: !throughCreators}})
				if err != nil {
					return fmt.Errorf("walk: %w", err)
				}
				ns, es := hood.Nodes, hood.Edges
				hops := hopCounts(ids[0], ns, es)
				byID := map[graph.ID]*graph.Node{}
				for _, id := range ns {
					n, err := tx.Node(id)
					if err != nil {
						return fmt.Errorf("read node %d: %w", id, err)
					}
					byID[id] = n
					nodes = append(nodes, neighbourNodeJSON{ID: id, StixID: n.StixID, Type: n.Type, Name: displayName(n), Hops: hops[id]})
				}
				for _, e := range es {
					ej := edgeJSON{From: byID[e.From].StixID, To: byID[e.To].StixID, Type: e.Type, FromID: uint64(e.From), ToID: uint64(e.To)}
					if e.Via != 0 {
						ej.ViaNode = uint64(e.Via)
						if v, err := tx.Node(e.Via); err == nil {
							ej.Via = v.StixID
						}
					}
					edges = append(edges, ej)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("neighbours: %w", err)
			}
			if a.json {
				return a.printJSON(struct {
					Start     string              `json:"start"`
					Depth     int                 `json:"depth"`
					Direction string              `json:"direction"`
					Limit     int                 `json:"limit"`
					LimitHit  bool                `json:"limit_reached"`
					Nodes     []neighbourNodeJSON `json:"nodes"`
					Edges     []edgeJSON          `json:"edges"`
				}{nodes[0].StixID, depth, dir.String(), limit, hood.Truncated, nodes, edges})
			}
			return printNeighbours(a, nodes, edges, depth, dir, limit, hood.Truncated)
		},
	}
	f := cmd.Flags()
	f.IntVar(&depth, "depth", 1, "hops to walk: 1, 2 or 3")
	f.StringSliceVar(&edgeTypes, "edge-type", nil, "follow only these edge types, such as uses or object_refs (repeat or separate by commas)")
	f.StringVar(&direction, "direction", "both", "edge direction to follow: out, in or both")
	f.IntVar(&limit, "limit", 50, "most nodes to return, the start included")
	f.BoolVar(&throughCreators, "through-creators", false, "go on from a creator to everything else it created")
	return cmd
}

// hopCounts returns each node's distance from start over the walked edges.
func hopCounts(start graph.ID, nodes []graph.ID, edges []graph.Edge) map[graph.ID]int {
	adj := map[graph.ID][]graph.ID{}
	for _, e := range edges {
		adj[e.From] = append(adj[e.From], e.To)
		adj[e.To] = append(adj[e.To], e.From)
	}
	hops := map[graph.ID]int{start: 0}
	frontier := []graph.ID{start}
	for len(frontier) > 0 {
		var next []graph.ID
		for _, id := range frontier {
			for _, o := range adj[id] {
				if _, ok := hops[o]; !ok {
					hops[o] = hops[id] + 1
					next = append(next, o)
				}
			}
		}
		frontier = next
	}
	return hops
}

func printNeighbours(a *app, nodes []neighbourNodeJSON, edges []edgeJSON, depth int, dir graph.Direction, limit int, truncated bool) error {
	start := nodes[0]
	fmt.Fprintf(a.stdout, "%s (%s, %s): %d %s and %d %s within %d %s, direction %s",
		start.Name, start.Type, start.StixID, len(nodes)-1, plural(len(nodes)-1, "neighbour"),
		len(edges), plural(len(edges), "edge"), depth, plural(depth, "hop"), dir)
	if truncated {
		fmt.Fprintf(a.stdout, " (limit of %d nodes reached, more lie within %d %s; raise --limit for more)", limit, depth, plural(depth, "hop"))
	}
	fmt.Fprintln(a.stdout)
	if len(edges) == 0 {
		return nil
	}
	label := map[string]string{}
	for _, n := range nodes {
		label[n.StixID] = fmt.Sprintf("%s [%s]", truncate(n.Name, 40), n.Type)
	}
	fmt.Fprintln(a.stdout)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tEDGE\tTO")
	for _, e := range edges {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", label[e.From], e.Type, label[e.To])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout)
	tw = tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOPS\tTYPE\tNAME\tSTIX ID")
	for _, n := range nodes[1:] {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", n.Hops, n.Type, truncate(n.Name, 48), n.StixID)
	}
	return tw.Flush()
}
