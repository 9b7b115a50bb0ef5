package main

import (
	"cmp"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/ingest/misp"
	"github.com/verband-cti/verband/ingest/pipeline"
	"github.com/verband-cti/verband/ingest/refdata"
	"github.com/verband-cti/verband/schema"
)

func newIngestCmd(a *app) *cobra.Command {
	var (
		source, owner, tlp, onError                 string
		listFormat, columns, container, galaxiesDir string
		labels                                      []string
		chunk                                       int
		indicators, trustOrg, ignoreDistribution    bool
		syncChunks                                  bool
	)
	cmd := &cobra.Command{
		Use:   "ingest FILE|DIR...",
		Short: "Load STIX, MISP and indicator lists into the store",
		Long: `Ingest loads files in every format the field uses, each recognised by its
content, plain or gzip-compressed:

  - STIX 2.x bundles, single objects or arrays of objects (2.0 is upgraded);
  - MISP events ({"Event": …}), REST search responses ({"response": […]}) and
    feed folders (manifest.json and one file per event), and MISP galaxies;
  - plain indicator lists (one value a line, defanged values refanged),
    CSV/TSV files (--columns maps them) and Maltrail trail files.

Directories are walked for .json, .json.gz, .txt, .csv, .tsv and .list files
(licence and README files aside); a folder with a manifest.json is a MISP feed.
The other files a walk passes over (hash lists named samples.sha256, say) are
listed in a note; they load when named. Two list files of one load may not
share a name under one source: both would make the same container.
MISP warninglists and taxonomies hold no objects and are skipped with a warning.

Cyber observables get canonical values and deterministic ids (the id the
source gave stays findable as an alias, and what canonicalisation changed is
kept, so "verband export --form as-received" gives the input back). Objects are
committed in atomic chunks; loading the same file again changes nothing.

An object's TLP comes from its markings; --tlp sets it for objects without
one, and without --tlp the default marking set for the source
("verband admin source set") applies, if any. With --on-error=stop (the default) the first bad object ends the load:
chunks committed before stay stored, the open chunk is discarded. With
--on-error=skip bad objects are left out and all of them are listed at the
end. Either way the error names the file, the object's position and id, and
the property at fault.

When the objects are committed, ingest waits until the search index has
caught up, so that everything it loaded is searchable when it exits.

A bulk load does not wait for the disk after every chunk: the store is made
durable when ingest closes it at the end. A crash of the process loses no
committed chunk either way, but a power failure or kernel crash during the
load may lose the chunks committed since the last memtable flush; loading
the same files again then completes it. --sync-every-chunk makes every
chunk durable before the next one commits, as interactive writes are, at
the cost of two disk flushes per chunk.`,
		Example: `  verband ingest enterprise-attack.json.gz --source mitre-attack
  verband ingest ./feeds --owner org-a --tlp amber --on-error=skip
  verband ingest maltrail/ --source maltrail
  verband ingest iocs.csv --columns 'value=indicator,type=kind,comment=3' --indicators`,
		Args: someArgs("FILE or DIR"),
		RunE: func(cmd *cobra.Command, paths []string) (err error) {
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
			lf, err := lists.ParseFormat(listFormat)
			if err != nil {
				return usagef("--list-format: %w", err)
			}
			cols, err := lists.ParseColumns(columns)
			if err != nil {
				return usagef("--columns: %w", err)
			}
			cont, err := lists.ParseContainer(container)
			if err != nil {
				return usagef("--container: %w", err)
			}
			mispOpts := misp.Options{TrustCreatorOrg: trustOrg, IgnoreDistribution: ignoreDistribution}
			if galaxiesDir != "" {
				if mispOpts.Galaxies, err = refdata.LoadGalaxies(galaxiesDir); err != nil {
					return fmt.Errorf("ingest: --galaxies: %w", err)
				}
			}
			files, skipped, err := pipeline.Files(paths)
			if err != nil {
				return fmt.Errorf("ingest: %w", err)
			}
			if len(skipped) > 0 {
				fmt.Fprintf(a.stderr, "note: %s\n", leftOut(skipped))
			}
			opts, err := a.openOptions()
			if err != nil {
				return err
			}
			opts.SyncWrites = syncChunks
			store, err := a.openStoreWith(false, opts)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)

			prog := newLoadProgress(a.stderr, "ingest")
			loader := pipeline.New(store, pipeline.Options{
				Source: source, Owner: owner, TLP: level, ExplicitTLP: tlp != "", OnError: mode,
				ChunkObjects: chunk, Progress: prog.update,
				MISP:  mispOpts,
				Lists: lists.Options{Format: lf, TLP: level, Labels: splitList(labels), Indicators: indicators, Container: cont, Columns: cols},
			})
			stats, loadErr := loader.LoadFiles(cmd.Context(), files)
			args := map[string]any{"paths": paths, "files": files, "skipped": skipped, "source": source, "owner": owner, "tlp": tlp, "on_error": onError}
			if err := appendCLIAudit(cmd.Context(), store, "cli ingest", []string{owner}, args, stats, nil, loadErr); err != nil {
				return err
			}
			for _, e := range stats.Warnings {
				fmt.Fprintf(a.stderr, "warning: %v\n", e)
			}
			if !a.json {
				for _, e := range stats.Errors {
					fmt.Fprintf(a.stderr, "rejected: %v\n", e)
				}
			}
			if loadErr != nil {
				fmt.Fprintf(a.stderr, "Stopped after %s; objects committed before the error stay stored.\n", summary(stats))
				return fmt.Errorf("ingest: %w", loadErr)
			}

			waitStart := time.Now()
			if !a.json {
				fmt.Fprintln(a.stderr, "Waiting for the search index to catch up …")
			}
			if err := store.WaitIndexed(cmd.Context()); err != nil {
				return fmt.Errorf("ingest: wait for the search index: %w", err)
			}
			wait := time.Since(waitStart)
			status := store.IndexStatus()
			if a.json {
				out := struct {
					pipeline.Stats
					DurationSeconds float64  `json:"duration_seconds"`
					ObjectsPerSec   float64  `json:"objects_per_second"`
					IndexWaitSecond float64  `json:"index_wait_seconds"`
					IndexDocs       uint64   `json:"index_docs"`
					IndexSegments   int      `json:"index_segments"`
					RejectedErrors  []string `json:"rejected_errors"`
					Warnings        []string `json:"warnings,omitempty"`
					Skipped         []string `json:"skipped_files,omitempty"`
				}{Stats: stats, Skipped: skipped, DurationSeconds: stats.Duration.Seconds(), ObjectsPerSec: rate(stats.Objects, stats.Duration),
					IndexWaitSecond: wait.Seconds(), IndexDocs: status.Docs, IndexSegments: status.Segments, RejectedErrors: errorStrings(stats.Errors), Warnings: errorStrings(stats.Warnings)}
				return a.printJSON(out)
			}
			fmt.Fprintf(a.stdout, "Ingested %s.\n", summary(stats))
			fmt.Fprintf(a.stdout, "Search index caught up after %s more; %d documents are searchable.\n", wait.Round(time.Millisecond), status.Docs)
			if status.Segments >= optimizeHint {
				fmt.Fprintf(a.stdout, "The search index is in %d segments; \"verband optimize\" merges them into one, which makes searches faster.\n", status.Segments)
			}
			if stats.Rejected > 0 {
				fmt.Fprintf(a.stdout, "%d objects were rejected (listed above on stderr).\n", stats.Rejected)
			}
			if len(stats.Hits) > 0 {
				fmt.Fprintf(a.stdout, "%d loaded values are also held by other organizations (hit/no-hit; ask them through the proper channel):\n", len(stats.Hits))
				for i, h := range stats.Hits {
					if i == 20 {
						fmt.Fprintf(a.stdout, "  … and %d more (see --json).\n", len(stats.Hits)-i)
						break
					}
					fmt.Fprintf(a.stdout, "  %s: %s\n", h.Value, strings.Join(h.Organizations, ", "))
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&source, "source", pipeline.DefaultSource, "source name recorded in each object's provenance")
	f.StringVar(&owner, "owner", "", "organization that owns the loaded objects")
	f.StringVar(&tlp, "tlp", "", "TLP for objects without a TLP marking: clear, green, amber, amber+strict, red or unmarked (default: the source's configured marking, else unmarked)")
	f.StringVar(&onError, "on-error", "stop", "what to do with a bad object: stop or skip")
	f.IntVar(&chunk, "chunk", 0, "objects per atomic commit (default 2000)")
	f.BoolVar(&syncChunks, "sync-every-chunk", false, "make every chunk durable on disk before the next one commits (by default the load is made durable when it ends)")
	f.StringVar(&listFormat, "list-format", "auto", "format of list files: auto, plain, csv or maltrail")
	f.StringVar(&columns, "columns", "", "CSV column mapping, such as 'value=ioc,type=kind,comment=3' (header names or 1-based numbers)")
	f.BoolVar(&indicators, "indicators", false, "make an indicator for every list value, not only its observable")
	f.StringVar(&container, "container", "grouping", "object that holds a list's members: grouping, report or none")
	f.StringSliceVar(&labels, "label", nil, "labels for the indicators and containers made from lists")
	f.BoolVar(&trustOrg, "misp-trust-creator", false, "make a MISP event's creator organisation (Orgc) the owner of its objects")
	f.BoolVar(&ignoreDistribution, "misp-ignore-distribution", false, "ignore MISP distribution levels (for public dumps whose events say \"your organisation only\"); TLP tags still apply")
	f.StringVar(&galaxiesDir, "galaxies", "", "folder of MISP galaxy files to resolve galaxy tags of MISP events against")
	return cmd
}

// leftOut says which files the directory walks passed over, by ending,
// and how to load one.
func leftOut(skipped []string) string {
	count := map[string]int{}
	for _, p := range skipped {
		count[cmp.Or(strings.ToLower(filepath.Ext(p)), "no ending")]++
	}
	var kinds []string
	for _, ext := range slices.Sorted(maps.Keys(count)) {
		kinds = append(kinds, fmt.Sprintf("%d %s", count[ext], ext))
	}
	return fmt.Sprintf("left out %d %s that directories held but whose names say no format ingest reads (%s), such as %s; name a file to load it, with its own --source when several share a name",
		len(skipped), plural(len(skipped), "file"), strings.Join(kinds, ", "), skipped[0])
}

// summary renders load stats in one line.
func summary(s pipeline.Stats) string {
	return fmt.Sprintf("%d %s (%s) in %s: %d objects read, %d created, %d updated, %d unchanged, %d older, %d rejected (%.0f objects/s)",
		s.Files, plural(s.Files, "file"), byteCount(s.Bytes), s.Duration.Round(time.Millisecond), s.Objects, s.Created, s.Updated, s.Unchanged, s.Older, s.Rejected, rate(s.Objects, s.Duration))
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func errorStrings(errs []error) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

// optimizeHint is the number of search index segments from which ingest
// suggests verband optimize: on a million-object store, merging 18 made
// the API about a tenth faster.
const optimizeHint = 10
