package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/ingest/export"
	"github.com/verband-cti/verband/schema"
)

func newAuditCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify and export the audit log",
		Long: `Audit works on the store's audit log: one entry for every request to the
HTTP API (GraphQL and TAXII, failed logins included) and for every export and
ingest run from the command line, saying who asked, what they asked, which
objects came back and how it ended. Entries are chained by SHA-256 hashes, so
an entry that was changed, removed or moved, or a cut tail, shows.

Every request adds one to two kilobytes to the log. "audit prune" removes the
oldest entries, and "verband serve --audit-retention 90d" does so hourly.

Audit commands open the store directly, so stop "verband serve" first.`,
		Example: `  verband audit verify
  verband audit export --since 2025-01-01 --org cert-a -o cert-a-2025.jsonl
  verband audit prune --older-than 365d`,
		Args: noArgs,
	}
	cmd.AddCommand(newAuditVerifyCmd(a), newAuditExportCmd(a), newAuditPruneCmd(a))
	return cmd
}

func newAuditPruneCmd(a *app) *cobra.Command {
	var before string
	var olderThan age
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove the oldest audit log entries",
		Long: `Prune removes the audit log entries appended before a cutoff: --before a
time, or --older-than an age (such as 90d or 36h). It removes them oldest
first and stops at the first entry appended at or after the cutoff.

The entries that remain still form a chain: the log's base records the last
entry removed (its sequence number, hash and time), and the first entry kept
names that hash as its prev, so "audit verify" checks the log from the base
on. Export the entries before pruning them if they must be kept elsewhere;
an oversight body that holds the last hash of an earlier export can check
that the pruned log continues from it.

Prune checks every entry it removes and refuses to remove one that does not
verify: it stops there, exits 1 and names the entry, so that the evidence
stays for "audit verify". The prune is itself recorded in the log.

The entries are gone from every answer at once. Their disk space comes back
a segment file at a time: a segment is deleted once all of its entries are
pruned (segments span at most an hour, or the retention's pruning interval,
and at most 64 MiB). "segments_removed" in the --json result counts them.`,
		Example: `  verband audit export --until 2025-01-01 -o audit-2024.jsonl && verband audit prune --before 2025-01-01
  verband audit prune --older-than 365d --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			var cutoff time.Time
			switch {
			case before != "" && olderThan != 0:
				return usagef("give --before or --older-than, not both")
			case before != "":
				if cutoff, err = parseWhen(before); err != nil {
					return usagef("--before: %w", err)
				}
			case olderThan != 0:
				cutoff = time.Now().Add(-time.Duration(olderThan))
			default:
				return usagef("say which entries to remove: --before TIME or --older-than AGE")
			}
			store, err := a.openStore(true)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			base, err := store.AuditBase()
			if err != nil {
				return fmt.Errorf("audit prune: %w", err)
			}
			var head uint64
			err = store.AuditEntries(cmd.Context(), graph.AuditFilter{Newest: true, Limit: 1}, func(e graph.AuditEntry) bool { head = e.Seq; return false })
			if err != nil {
				return fmt.Errorf("audit prune: %w", err)
			}
			prog := newCountProgress(a.stderr, "audit prune", "entries", int(head-min(head, base.Seq)))
			res, err := store.PruneAudit(cmd.Context(), cutoff, prog.update)
			prog.finish()
			args := map[string]string{"before": before, "older_than": olderThan.String(), "cutoff": cutoff.UTC().Format(time.RFC3339)}
			if aerr := appendCLIAudit(cmd.Context(), store, "cli audit prune", nil, args, res, nil, err); aerr != nil {
				return aerr
			}
			if err != nil {
				if res.Pruned > 0 {
					fmt.Fprintf(a.stderr, "Removed %d entries; the log now begins after entry %d.\n", res.Pruned, res.Base.Seq)
				}
				return fmt.Errorf("audit prune: %w", err)
			}
			if a.json {
				return a.printJSON(res)
			}
			switch {
			case res.Pruned == 0 && res.Base.Seq == 0:
				fmt.Fprintf(a.stdout, "No entry was appended before %s; nothing was removed.\n", cutoff.UTC().Format(time.RFC3339))
			case res.Pruned == 0:
				fmt.Fprintf(a.stdout, "No entry was appended before %s; nothing was removed. The log begins after entry %d (hash %s).\n",
					cutoff.UTC().Format(time.RFC3339), res.Base.Seq, res.Base.Hash)
			default:
				fmt.Fprintf(a.stdout, "Removed %d entries appended before %s. The log now begins after entry %d, appended %s, with hash\n  %s\n",
					res.Pruned, cutoff.UTC().Format(time.RFC3339), res.Base.Seq, res.Base.Time.Format(time.RFC3339), res.Base.Hash)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&before, "before", "", "remove the entries appended before this time (RFC 3339 or YYYY-MM-DD)")
	fl.Var(&olderThan, "older-than", "remove the entries older than this age: days (90d) or a Go duration (36h)")
	return cmd
}

// age is a flag value for a length of time: whole days ("90d") or a Go
// duration ("36h", "90m").
type age time.Duration

func (g *age) String() string {
	d := time.Duration(*g)
	if d == 0 {
		return ""
	}
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func (g *age) Set(s string) error {
	d, err := parseAge(s)
	if err != nil {
		return err
	}
	*g = age(d)
	return nil
}

func (g *age) Type() string { return "age" }

// parseAge parses whole days ("90d") or a Go duration; the age must be
// positive.
func parseAge(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("%q: want whole days such as 90d, or a duration such as 36h", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q: want whole days such as 90d, or a duration such as 36h", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: the age must be positive", s)
	}
	return d, nil
}

func newAuditVerifyCmd(a *app) *cobra.Command {
	var anchorArgs []string
	var anchorFiles []string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that no audit log entry was changed, removed or cut",
		Long: `Verify reads the whole audit log and checks that sequence numbers run from 1
(or from the entry after the base of a pruned log, see "audit prune") without
gaps, that every entry matches its hash and names the hash of the
entry before it, that the last entry is the one the log's head records, and
that the per-organization index matches the entries.

The chain shows an entry changed, removed or moved, but someone who can
write the data directory could rewrite the log from some entry on and
compute every hash anew. Anchors show that: an anchor is an entry's
sequence number and hash, recorded outside the store by an oversight body
(verify prints the last one; every line of an export is one). With
--anchor SEQ:HASH, or --anchors FILE, each anchored entry must still have
its hash and the log must still reach it. A FILE holds one anchor a line,
"SEQ:HASH", "SEQ HASH", or a JSON object with "seq" and "hash", so an
earlier export (see "audit export") anchors every entry it holds; blank
lines and lines starting with # are skipped. Anchors of entries pruned
before the log's base cannot be compared, and are counted apart.

It exits 0 when the log is intact. Otherwise it lists what is wrong, first
bad entry first, and exits 1.`,
		Example: `  verband audit verify
  verband audit verify --anchor 120433:3f6c…e1 --json
  verband audit verify --anchors cert-a-2025.jsonl`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			anchors, err := parseAnchors(anchorArgs, anchorFiles)
			if err != nil {
				return usageError{fmt.Errorf("audit verify: %w", err)}
			}
			store, err := a.openStore(true)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			rep, err := store.AuditVerify(cmd.Context(), anchors...)
			if err != nil {
				return fmt.Errorf("audit verify: %w", err)
			}
			if a.json {
				if rep.Problems == nil {
					rep.Problems = []graph.AuditProblem{}
				}
				if err := a.printJSON(rep); err != nil {
					return err
				}
			} else if rep.OK() {
				fmt.Fprintf(a.stdout, "The audit log is intact: %d entries; the last is entry %d with hash %s.\n", rep.Entries, rep.HeadSeq, rep.HeadHash)
				if b := rep.Base; b != nil {
					fmt.Fprintf(a.stdout, "It was pruned up to entry %d (appended %s, hash %s) and verified from there.\n", b.Seq, b.Time.Format(time.RFC3339), b.Hash)
				}
				if len(anchors) > 0 {
					fmt.Fprintf(a.stdout, "Anchors: %d compared, all match", rep.AnchorsChecked)
					if rep.AnchorsPruned > 0 {
						fmt.Fprintf(a.stdout, "; %d of entries pruned before the base, not compared", rep.AnchorsPruned)
					}
					fmt.Fprintln(a.stdout, ".")
				}
				if rep.HeadSeq > 0 {
					fmt.Fprintf(a.stdout, "Keep this anchor outside the store; a later \"verband audit verify --anchor %d:%s\" shows a log rewritten since.\n", rep.HeadSeq, rep.HeadHash)
				}
			} else {
				fmt.Fprintf(a.stdout, "The audit log is NOT intact (%d entries read, head entry %d):\n", rep.Entries, rep.HeadSeq)
				for _, p := range rep.Problems {
					fmt.Fprintf(a.stdout, "  %s\n", p)
				}
				if more := rep.ProblemCount - len(rep.Problems); more > 0 {
					fmt.Fprintf(a.stdout, "  … and %d more problems\n", more)
				}
			}
			if !rep.OK() {
				p := rep.Problems[0]
				return fmt.Errorf("audit verify: %d problems; the first bad entry is %d (%s: %s)", rep.ProblemCount, p.Seq, p.Kind, p.Detail)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&anchorArgs, "anchor", nil, "an entry's sequence number and hash recorded outside the store, as SEQ:HASH; the entry must still have that hash (repeatable)")
	f.StringArrayVar(&anchorFiles, "anchors", nil, "a file of anchors, one a line: SEQ:HASH, SEQ HASH, or an export's JSON line (repeatable)")
	return cmd
}

// parseAnchors reads the anchors of --anchor and --anchors. Two anchors of
// one entry with different hashes are an error: one of them is wrong.
func parseAnchors(args, files []string) ([]graph.AuditAnchor, error) {
	var out []graph.AuditAnchor
	seen := map[uint64]string{}
	add := func(where, s string) error {
		a, err := parseAnchor(s)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if h, ok := seen[a.Seq]; ok {
			if h != a.Hash {
				return fmt.Errorf("%s: entry %d is anchored twice, with hashes %s and %s", where, a.Seq, h, a.Hash)
			}
			return nil
		}
		seen[a.Seq] = a.Hash
		out = append(out, a)
		return nil
	}
	for _, s := range args {
		if err := add("--anchor "+s, s); err != nil {
			return nil, err
		}
	}
	for _, name := range files {
		if err := readAnchorFile(name, add); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readAnchorFile passes each anchor line of file name to add.
func readAnchorFile(name string, add func(where, s string) error) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("read anchors: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20) // export lines carry whole entries
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := add(fmt.Sprintf("%s line %d", name, n), line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read anchors from %s: %w", name, err)
	}
	return nil
}

// parseAnchor reads one anchor: SEQ:HASH, SEQ HASH, or a JSON object with
// "seq" and "hash".
func parseAnchor(s string) (graph.AuditAnchor, error) {
	var a graph.AuditAnchor
	if strings.HasPrefix(s, "{") {
		var line struct {
			Seq  *uint64 `json:"seq"`
			Hash *string `json:"hash"`
		}
		if err := json.Unmarshal([]byte(s), &line); err != nil {
			return a, fmt.Errorf("not a JSON object: %w", err)
		}
		if line.Seq == nil || line.Hash == nil {
			return a, errors.New(`the JSON object lacks "seq" or "hash"`)
		}
		a.Seq, a.Hash = *line.Seq, *line.Hash
	} else {
		seq, hash, ok := strings.Cut(s, ":")
		if !ok {
			f := strings.Fields(s)
			if len(f) != 2 {
				return a, fmt.Errorf("%q is not SEQ:HASH", s)
			}
			seq, hash = f[0], f[1]
		}
		n, err := strconv.ParseUint(strings.TrimSpace(seq), 10, 64)
		if err != nil {
			return a, fmt.Errorf("sequence number %q: %w", seq, err)
		}
		a.Seq, a.Hash = n, strings.TrimSpace(hash)
	}
	a.Hash = strings.ToLower(a.Hash)
	if a.Seq == 0 {
		return a, errors.New("sequence numbers start at 1")
	}
	if b, err := hex.DecodeString(a.Hash); err != nil || len(b) != 32 {
		return a, fmt.Errorf("hash %q is not a SHA-256 in hex (64 digits)", a.Hash)
	}
	return a, nil
}

func newAuditExportCmd(a *app) *cobra.Command {
	var since, until, org, out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the audit log as JSON lines, for an oversight body",
		Long: `Export writes audit log entries, oldest first, as JSON lines: one entry per
line, each with its hash, so that an oversight body can verify the chain
without Verband. --since and --until choose entries by the time they were
appended; --org keeps the entries that concern one organization (those its
users made, and those that touched its data). The export itself is recorded
in the log.

Each line is a JSON object in the canonical form of RFC 8785 (JCS) with the
members args, args_bytes, args_sha256, errors, hash, id_count, ids,
operation, orgs, outcome, prev, result, seq, time, truncated and viewer.

To verify the hash of a line: remove the member "hash", write what is left in
RFC 8785 canonical form (which, for these lines, is the line without
"hash"), take its SHA-256 and compare it, in lower-case hex, with "hash".
Entry 1 has "prev" "000…0" (64 zeros); every other entry's "prev" is the
"hash" of the entry with the sequence number before it, so a full export
(without --since, --until or --org) is a chain: "seq" counts up by one from
line to line, and each "prev" equals the line before's "hash". Keep the
last hash of each export: the next export must continue from it. An export
kept outside the store also anchors the log: "verband audit verify
--anchors FILE" checks that every entry it holds still has its hash, so a
log rewritten since, hashes and all, shows.

Arguments too large to keep are replaced by {"$truncated":{"bytes":N,
"sha256":H}}, the length and SHA-256 of the canonical form of what was cut;
"args_bytes" and "args_sha256" describe the complete arguments the same way,
and "truncated" lists the paths of what was cut.`,
		Example: `  verband audit export -o audit.jsonl
  verband audit export --since 2025-01-01 --until 2025-04-01 --org cert-a -o cert-a-q1.jsonl
  verband audit export | tail -n 1`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			f := graph.AuditFilter{Org: org}
			if f.Since, err = parseWhen(since); err != nil {
				return usagef("--since: %w", err)
			}
			if f.Until, err = parseWhen(until); err != nil {
				return usagef("--until: %w", err)
			}
			store, err := a.openStore(true)
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			w, commit, abort, err := openOutput(out, a.stdout)
			if err != nil {
				return fmt.Errorf("audit export: %w", err)
			}
			bw := bufio.NewWriter(w)
			var n int64
			var werr error
			err = store.AuditEntries(cmd.Context(), f, func(e graph.AuditEntry) bool {
				line, _ := e.MarshalJSON() // never fails
				if _, werr = bw.Write(append(line, '\n')); werr != nil {
					return false
				}
				n++
				return true
			})
			err = errors.Join(err, werr, bw.Flush())
			args := map[string]string{"since": since, "until": until, "org": org, "out": out}
			if aerr := appendCLIAudit(cmd.Context(), store, "cli audit export", []string{org}, args, map[string]int64{"entries": n}, nil, err); aerr != nil {
				abort()
				return aerr
			}
			if err != nil {
				abort()
				return fmt.Errorf("audit export: %w", err)
			}
			if err := commit(); err != nil {
				return fmt.Errorf("audit export: %w", err)
			}
			if out != "" && out != "-" {
				fmt.Fprintf(a.stderr, "Exported %d audit log entries to %s.\n", n, out)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&since, "since", "", "export entries appended at or after this time (RFC 3339 or YYYY-MM-DD)")
	fl.StringVar(&until, "until", "", "export entries appended before this time (RFC 3339 or YYYY-MM-DD)")
	fl.StringVar(&org, "org", "", "export only the entries that concern this organization")
	fl.StringVarP(&out, "out", "o", "-", "output file; - for stdout")
	return cmd
}

// operator is the viewer of command-line work: the operating-system user
// who runs the command, in role "operator".
func operator() graph.AuditViewer {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return graph.AuditViewer{User: name, Role: "operator"}
}

// appendCLIAudit records a command run in the audit log: its operation,
// the organizations it concerns, its arguments and result (anything that
// encodes as JSON), the ids it returned and how it ended. A command whose
// run cannot be recorded fails.
func appendCLIAudit(ctx context.Context, store *graph.Store, op string, orgs []string, args, result any, ids *idCollector, runErr error) error {
	e := graph.AuditEntry{Viewer: operator(), Operation: op, Orgs: orgs, Outcome: graph.AuditOK}
	var err error
	if e.Args, err = json.Marshal(args); err != nil {
		return fmt.Errorf("record %s in the audit log: encode arguments: %w", op, err)
	}
	if e.Result, err = json.Marshal(result); err != nil {
		return fmt.Errorf("record %s in the audit log: encode result: %w", op, err)
	}
	if ids != nil {
		e.IDs, e.IDCount = ids.ids, ids.n
	}
	if runErr != nil {
		e.Outcome, e.Errors = graph.AuditError, []string{runErr.Error()}
	}
	// A run that was interrupted is still recorded.
	if _, err := store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		return fmt.Errorf("record %s in the audit log: %w", op, err)
	}
	return nil
}

// idCollector keeps the first graph.MaxAuditIDs STIX ids it is given and
// counts them all.
type idCollector struct {
	ids []string
	n   int64
}

func (c *idCollector) add(id string) {
	if len(c.ids) < graph.MaxAuditIDs {
		c.ids = append(c.ids, id)
	}
	c.n++
}

// redactor wraps r, or export's default when r is nil, and notes the id of
// every object it lets out of the store: every export format passes each
// object through the redactor, so the collector sees what was exported.
func (c *idCollector) redactor(r export.Redactor) export.Redactor {
	if r == nil {
		r = export.KeepAll
	}
	return export.RedactorFunc(func(v graph.Viewer, n *graph.Node, o *schema.Object) (*schema.Object, error) {
		o, err := r.Redact(v, n, o)
		if err == nil && o != nil {
			c.add(o.ID)
		}
		return o, err
	})
}
