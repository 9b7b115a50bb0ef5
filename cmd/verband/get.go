package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/graph"
)

// nodeJSON is a node in --json output.
type nodeJSON struct {
	ID         graph.ID         `json:"id"`
	StixID     string           `json:"stix_id"`
	Type       string           `json:"type"`
	Name       string           `json:"name"`
	Policy     policyJSON       `json:"policy"`
	PolicyText string           `json:"-"`
	Degree     *degreeJSON      `json:"degree,omitempty"`
	Provenance []provenanceJSON `json:"provenance"`
	Object     json.RawMessage  `json:"object"`
}

type degreeJSON struct {
	Out int64 `json:"out"`
	In  int64 `json:"in"`
}

type provenanceJSON struct {
	Source     string    `json:"source"`
	File       string    `json:"file,omitempty"`
	At         time.Time `json:"at"`
	OriginalID string    `json:"original_id,omitempty"`
}

func newGetCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID|VALUE",
		Short: "Show an object, its policy and its provenance",
		Long: `Get prints a stored object as JSON, with its access policy, its edge counts
and its provenance (which source and file it came from, when, and under which
original id).

The argument is a STIX id (or the id a source gave an observable before
Verband made it canonical), or a value: an IP address, domain, URL, e-mail
address or file hash, in any spelling (upper-case hashes, trailing dots,
defanged "example[.]com" are all found). A value may match several objects
(a hash of two files, say); all are shown.`,
		Example: `  verband get indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f
  verband get 198.51.100.3
  verband get --json EXAMPLE.com.`,
		Args: oneArg("ID or VALUE"),
		RunE: func(cmd *cobra.Command, argv []string) (err error) {
			store, err := a.openStore(true)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			var out []nodeJSON
			err = store.View(graph.System(), func(tx *graph.Tx) error {
				ids, err := resolve(tx, argv[0])
				if err != nil {
					return err
				}
				for _, id := range ids {
					n, err := tx.Node(id)
					if err != nil {
						return fmt.Errorf("read node %d: %w", id, err)
					}
					nj := toNodeJSON(n)
					outDeg, err1 := tx.Degree(id, graph.Out, "")
					inDeg, err2 := tx.Degree(id, graph.In, "")
					if err1 == nil && err2 == nil {
						nj.Degree = &degreeJSON{Out: outDeg, In: inDeg}
					}
					out = append(out, nj)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("get: %w", err)
			}
			if a.json {
				return a.printJSON(struct {
					Nodes []nodeJSON `json:"nodes"`
				}{out})
			}
			for i, n := range out {
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				if err := printNode(a, n); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func toNodeJSON(n *graph.Node) nodeJSON {
	nj := nodeJSON{ID: n.ID, StixID: n.StixID, Type: n.Type, Name: displayName(n), Policy: toPolicyJSON(n.Policy), PolicyText: policyString(n.Policy), Object: n.Raw}
	for _, p := range n.Provenance {
		nj.Provenance = append(nj.Provenance, provenanceJSON{Source: p.Source, File: p.File, At: p.At, OriginalID: p.OriginalID})
	}
	return nj
}

func printNode(a *app, n nodeJSON) error {
	fmt.Fprintf(a.stdout, "%s  %s\n", n.Name, n.StixID)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  type\t%s (node %d)\n", n.Type, n.ID)
	if ext := externalIDOf(n.Object); ext != "" {
		fmt.Fprintf(tw, "  external id\t%s\n", ext)
	}
	fmt.Fprintf(tw, "  policy\t%s\n", n.PolicyText)
	if n.Degree != nil {
		fmt.Fprintf(tw, "  edges\t%d out, %d in\n", n.Degree.Out, n.Degree.In)
	}
	for i, p := range n.Provenance {
		label := ""
		if i == 0 {
			label = "provenance"
		}
		line := fmt.Sprintf("%s  source %s", p.At.Format(time.RFC3339), p.Source)
		if p.File != "" {
			line += ", file " + p.File
		}
		if p.OriginalID != "" {
			line += ", original id " + p.OriginalID
		}
		fmt.Fprintf(tw, "  %s\t%s\n", label, line)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, n.Object, "", "  "); err != nil {
		return fmt.Errorf("format object %s: %w", n.StixID, err)
	}
	pretty.WriteByte('\n')
	_, err := a.stdout.Write(pretty.Bytes())
	return err
}
