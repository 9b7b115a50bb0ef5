package main

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/ingest/detect"
	"github.com/verband-cti/verband/ingest/export"
	"github.com/verband-cti/verband/ingest/misp"
	"github.com/verband-cti/verband/ingest/refdata"
	"github.com/verband-cti/verband/schema"
)

// exportFormats lists the formats `verband export` writes, with the function
// that writes a selection in each.
var exportFormats = map[string]func(a *app, cmd *cobra.Command, store *graph.Store, v graph.Viewer, sel export.Selection, w io.Writer, opts export.Options) (export.Stats, error){
	"stix": func(_ *app, cmd *cobra.Command, store *graph.Store, v graph.Viewer, sel export.Selection, w io.Writer, opts export.Options) (export.Stats, error) {
		return export.WriteBundle(cmd.Context(), store, v, sel, w, opts)
	},
	"misp": func(a *app, cmd *cobra.Command, store *graph.Store, v graph.Viewer, sel export.Selection, w io.Writer, opts export.Options) (export.Stats, error) {
		objs, st, err := collect(cmd, store, v, sel, opts)
		if err != nil {
			return st, err
		}
		ms, err := misp.Encode(w, objs, misp.EncodeOptions{Container: sel.Case, Indent: true})
		if err != nil {
			return st, fmt.Errorf("encode MISP event: %w", err)
		}
		reasons := map[string]int{}
		var order []string
		for _, sk := range ms.Skipped {
			if reasons[sk.Reason]++; reasons[sk.Reason] == 1 {
				order = append(order, sk.Reason)
			}
		}
		for _, r := range order {
			fmt.Fprintf(a.stderr, "%d objects are not in the MISP event: %s\n", reasons[r], r)
		}
		return st, nil
	},
}

// detectFlags are the options of the csv, suricata and zeek exports.
type detectFlags struct {
	observables, allowPrivate bool
	warninglists              string
	out                       string
}

var detectOpts detectFlags

func init() {
	for _, name := range []string{"csv", "suricata", "zeek"} {
		exportFormats[name] = func(a *app, cmd *cobra.Command, store *graph.Store, v graph.Viewer, sel export.Selection, w io.Writer, opts export.Options) (export.Stats, error) {
			return writeDetection(a, cmd, name, store, v, sel, w, opts)
		}
	}
}

// writeDetection writes the indicators fit for detection in a selection as
// CSV, Suricata rules (and their hash lists, beside the rules file) or a
// Zeek intel file.
func writeDetection(a *app, cmd *cobra.Command, format string, store *graph.Store, v graph.Viewer, sel export.Selection, w io.Writer, opts export.Options) (export.Stats, error) {
	dopts := detect.Options{Observables: detectOpts.observables, AllowPrivate: detectOpts.allowPrivate}
	if detectOpts.warninglists != "" {
		wl, err := refdata.LoadWarninglists(detectOpts.warninglists)
		if err != nil {
			return export.Stats{}, fmt.Errorf("--warninglists: %w", err)
		}
		dopts.Warninglisted = wl.Matches
	}
	c := detect.NewCollector(dopts)
	ids, err := export.Select(cmd.Context(), store, v, sel)
	if err != nil {
		return export.Stats{}, err
	}
	st, err := export.Objects(cmd.Context(), store, v, ids, opts, func(o *schema.Object, n *graph.Node) error {
		origin := detect.Origin{TLP: n.Policy.TLP}
		if len(n.Provenance) > 0 {
			// The source is a protected property once the graph models
			// them; the Redactor seam is where it will be withheld.
			origin.Source = n.Provenance[0].Source
		}
		c.Add(o, origin)
		return nil
	})
	if err != nil {
		return st, err
	}
	skipped := c.Skipped()
	switch format {
	case "csv":
		err = detect.WriteCSV(w, c.Entries())
	case "zeek":
		var out detect.ZeekOutput
		out, err = detect.WriteZeek(w, c.Entries(), detect.ZeekOptions{})
		skipped = append(skipped, out.Skipped...)
	case "suricata":
		var out detect.SuricataOutput
		out, err = detect.WriteSuricata(w, c.Entries(), detect.SuricataOptions{})
		skipped = append(skipped, out.Skipped...)
		if err == nil {
			dir := filepath.Dir(detectOpts.out)
			for name, content := range out.Lists {
				if werr := os.WriteFile(filepath.Join(dir, name), content, 0o644); werr != nil {
					return st, fmt.Errorf("write Suricata hash list: %w", werr)
				}
				fmt.Fprintf(a.stderr, "Wrote hash list %s.\n", filepath.Join(dir, name))
			}
		}
	}
	if err != nil {
		return st, fmt.Errorf("write %s: %w", format, err)
	}
	reasons := map[string]int{}
	var order []string
	for _, sk := range skipped {
		r := sk.Reason.Error()
		if reasons[r]++; reasons[r] == 1 {
			order = append(order, r)
		}
	}
	for _, r := range order {
		fmt.Fprintf(a.stderr, "%d left out: %s\n", reasons[r], r)
	}
	fmt.Fprintf(a.stderr, "%d values fit for detection.\n", len(c.Entries()))
	return st, nil
}

// plannedFormats are formats whose encoders are not in this build yet.
var plannedFormats = []string{}

// collect selects objects and reads them into memory, for encoders that
// take them all at once.
func collect(cmd *cobra.Command, store *graph.Store, v graph.Viewer, sel export.Selection, opts export.Options) ([]*schema.Object, export.Stats, error) {
	ids, err := export.Select(cmd.Context(), store, v, sel)
	if err != nil {
		return nil, export.Stats{}, err
	}
	var objs []*schema.Object
	st, err := export.Objects(cmd.Context(), store, v, ids, opts, func(o *schema.Object, _ *graph.Node) error {
		objs = append(objs, o)
		return nil
	})
	return objs, st, err
}

func newExportCmd(a *app) *cobra.Command {
	var (
		format, caseID, query, since, until, out, form, source, file, org, user, partner string
		types                                                                            []string
		skipRestricted                                                                   bool
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write stored objects as STIX, MISP, CSV, Suricata rules or a Zeek intel file",
		Long: `Export writes objects from the store as a STIX 2.1 bundle (streaming) or, with
--format misp, as one MISP event, to a file (gzip-compressed when its name ends
in .gz) or to stdout. --format csv, suricata and zeek write the indicators (and
with --observables the observables) that are valid and meant for detection:
CSV that "verband ingest" reads back, Suricata rules (with hash lists written
beside the rules file), or a Zeek intel file.

Choose what to export with --case (a case, report or grouping and its members,
with the relationships between members and the sightings of members), --query
(full-text search hits), --type and --since/--until (modification time);
without any, everything is exported. --source and --file keep what one source
or file contributed. The identities, marking definitions and extension
definitions the chosen objects name, and the observables observables refer to,
come along.

The canonical form (the default, for partners) has canonical observables and
every reference rewritten to the id the store holds its target under, so the
bundle is consistent in itself. --form as-received writes every object exactly
as its source sent it (the original ids and values of observables).

Exports are made as a viewer: --org (and --user) name the organization (and
user) whose view is exported; without them, the operator's export holds
everything. --for names the partner organization the export is for: only what
that partner may read leaves. Protected properties (sources and methods, see
verband admin protect) never leave the store. An organization may not pass on
TLP:AMBER+STRICT or TLP:RED objects of other owners: the export fails naming
the first such object, unless --skip-restricted leaves them out. The
operator's export for a partner leaves them out silently.`,
		Example: `  verband export --case x-verband-case--5d0092c5-5f74-4287-9642-33f4c354e56d --org cert-a --out case.json
  verband export --query "emotet" --type indicator,ipv4-addr --out emotet.json.gz
  verband export --since 2024-01-01 --until 2024-02-01 --out january.json
  verband export --source mitre-attack --form as-received > attack.json
  verband export --org cert-a --for cert-b --type indicator --skip-restricted --out for-cert-b.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			write, ok := exportFormats[format]
			if !ok {
				for _, p := range plannedFormats {
					if p == format {
						return usagef("--format %s: not available in this build yet", format)
					}
				}
				return usagef("--format %q: want stix, misp, csv, suricata or zeek", format)
			}
			if caseID != "" && query != "" {
				return usagef("give --case or --query, not both")
			}
			if format == "suricata" && (out == "" || out == "-") {
				return usagef("--format suricata needs --out: the hash lists are written beside the rules file")
			}
			detectOpts.out = out
			sel := export.Selection{Case: caseID, Query: query, Types: splitList(types), Source: source, File: file}
			if sel.Since, err = parseWhen(since); err != nil {
				return usagef("--since: %w", err)
			}
			if sel.Until, err = parseWhen(until); err != nil {
				return usagef("--until: %w", err)
			}
			opts := export.Options{}
			if opts.Form, err = export.ParseForm(form); err != nil {
				return usagef("--form: %w", err)
			}
			v := graph.System()
			if org != "" || user != "" {
				v = graph.Viewer{Org: org, User: user}
			}
			if partner != "" {
				opts.Partner = &graph.Viewer{Org: partner}
			}
			opts.SkipRestricted = skipRestricted

			store, err := a.openStore(true)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			if query != "" {
				if err := store.WaitIndexed(cmd.Context()); err != nil {
					return fmt.Errorf("export: wait for the search index: %w", err)
				}
			}

			w, commit, abort, err := openOutput(out, a.stdout)
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			var zw *gzip.Writer
			if strings.HasSuffix(strings.ToLower(out), ".gz") {
				zw = gzip.NewWriter(w)
				w = zw
			}
			start := time.Now()
			var ids idCollector
			opts.Redact = ids.redactor(opts.Redact)
			st, err := write(a, cmd, store, v, sel, w, opts)
			if err == nil && zw != nil {
				err = zw.Close()
			}
			args := map[string]any{"format": format, "form": opts.Form.String(), "case": caseID, "query": query, "types": sel.Types,
				"since": since, "until": until, "source": source, "file": file, "org": org, "user": user, "out": out}
			if aerr := appendCLIAudit(cmd.Context(), store, "cli export", []string{org}, args, st, &ids, err); aerr != nil {
				abort()
				return aerr
			}
			if err != nil {
				abort()
				return fmt.Errorf("export: %w", err)
			}
			if err := commit(); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			dest := out
			if dest == "" || dest == "-" {
				dest = "stdout"
			}
			if a.json && dest != "stdout" {
				return a.printJSON(struct {
					export.Stats
					Format  string  `json:"format"`
					Form    string  `json:"form"`
					Out     string  `json:"out"`
					Seconds float64 `json:"seconds"`
				}{st, format, opts.Form.String(), out, time.Since(start).Seconds()})
			}
			fmt.Fprintf(a.stderr, "Exported %d objects (%s form, %d nodes, %d withheld) to %s in %s.\n",
				st.Objects, opts.Form, st.Nodes, st.Withheld, dest, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "stix", "output format: stix, misp, csv, suricata or zeek")
	f.BoolVar(&detectOpts.observables, "observables", false, "csv, suricata, zeek: take observables as well as indicators")
	f.BoolVar(&detectOpts.allowPrivate, "allow-private", false, "csv, suricata, zeek: keep private and reserved addresses and names")
	f.StringVar(&detectOpts.warninglists, "warninglists", "", "csv, suricata, zeek: leave out values on these MISP warninglists (files or folders)")
	f.StringVar(&caseID, "case", "", "STIX id of a case (or report, grouping) to export with its members")
	f.StringVar(&query, "query", "", "full-text query whose hits to export")
	f.StringSliceVar(&types, "type", nil, "export only objects of these STIX types (comma-separated or repeated)")
	f.StringVar(&since, "since", "", "export only objects modified at or after this time (RFC 3339 or YYYY-MM-DD)")
	f.StringVar(&until, "until", "", "export only objects modified before this time (RFC 3339 or YYYY-MM-DD)")
	f.StringVar(&source, "source", "", "export only what this source contributed")
	f.StringVar(&file, "file", "", "export only what this file (base name) contributed")
	f.StringVar(&form, "form", "canonical", "canonical or as-received")
	f.StringVar(&out, "out", "-", "output file (.json, or .json.gz for gzip); - for stdout")
	f.StringVar(&org, "org", "", "export as a viewer of this organization (default: the operator, who sees everything)")
	f.StringVar(&user, "user", "", "export as this user (with --org)")
	f.StringVar(&partner, "for", "", "the partner organization the export is for: only what it may read leaves")
	f.BoolVar(&skipRestricted, "skip-restricted", false, "leave out objects the exporting organization may not pass on (TLP:AMBER+STRICT, TLP:RED of others) instead of failing")
	return cmd
}

// splitList splits comma-separated flag values.
func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// parseWhen parses an RFC 3339 time or a date; "" is the zero time.
func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a date (YYYY-MM-DD)", s)
	}
	return t, nil
}

// openOutput opens where an export goes: stdout for "" and "-", else a
// temporary file beside path that commit renames over it, so that a failed
// export leaves no half-written file.
func openOutput(path string, stdout io.Writer) (w io.Writer, commit func() error, abort func(), err error) {
	if path == "" || path == "-" {
		return stdout, func() error { return nil }, func() {}, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create output: %w", err)
	}
	abort = func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}
	commit = func() error {
		if err := tmp.Sync(); err != nil {
			abort()
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := tmp.Close(); err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := os.Chmod(tmp.Name(), 0o644); err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	return tmp, commit, abort, nil
}
