package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph/graphtest"
)

// exportedLine is the part of an audit export line the test reads.
type exportedLine struct {
	Seq       uint64
	Operation string
	Prev      string
	Hash      string
	IDs       []string
	IDCount   int64 `json:"id_count"`
	Outcome   string
	Orgs      []string
	Viewer    struct{ Role, User string }
	Result    map[string]any
}

func TestAuditCommands(t *testing.T) {
	dir := t.TempDir() + "/data"
	ok(t, dir, "ingest", "--source", "oasis", "--owner", "org-a", infraFile)
	bundle := filepath.Join(t.TempDir(), "out.json")
	ok(t, dir, "export", "--type", "infrastructure", "--out", bundle)

	r := ok(t, dir, "audit", "verify")
	contains(t, "verify", r.stdout, "The audit log is intact: 2 entries")

	// The export writes valid JSON lines that verify without Verband.
	out := filepath.Join(t.TempDir(), "audit.jsonl")
	ok(t, dir, "audit", "export", "-o", out)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var lines []exportedLine
	prev := strings.Repeat("0", 64)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		sum, hash, linePrev := graphtest.AuditLineHash(t, sc.Bytes())
		var l exportedLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		if hash != sum || linePrev != prev || l.Seq != uint64(len(lines)+1) {
			t.Errorf("line %d: hash %s, recomputed %s; prev %s, want %s", len(lines)+1, hash, sum, linePrev, prev)
		}
		prev = l.Hash
		lines = append(lines, l)
	}
	if len(lines) != 2 {
		t.Fatalf("exported %d lines, want 2:\n%s", len(lines), data)
	}
	ingest, export := lines[0], lines[1]
	if ingest.Operation != "cli ingest" || ingest.Viewer.Role != "operator" || ingest.Outcome != "ok" ||
		len(ingest.Orgs) != 1 || ingest.Orgs[0] != "org-a" || ingest.Result["created"] != float64(10) {
		t.Errorf("ingest entry %+v", ingest)
	}
	// The export entry lists the ids of the objects the bundle holds.
	raw, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	var b struct{ Objects []struct{ ID string } }
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	var exported []string
	for _, o := range b.Objects {
		exported = append(exported, o.ID)
	}
	if export.Operation != "cli export" || export.IDCount != int64(len(exported)) || !slices.Equal(export.IDs, exported) ||
		len(exported) != 2 || export.Result["objects"] != float64(2) {
		t.Errorf("export entry %+v, want the ids %q", export, exported)
	}

	// --org keeps the entries of one organization; the export before this
	// one was recorded too.
	r = ok(t, dir, "audit", "export", "--org", "org-a")
	if n := strings.Count(r.stdout, "\n"); n != 1 || !strings.Contains(r.stdout, `"operation":"cli ingest"`) {
		t.Errorf("export --org org-a:\n%s", r.stdout)
	}
	r = ok(t, dir, "--json", "audit", "verify")
	var rep struct {
		Entries  int `json:"entries"`
		Problems []any
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Entries != 4 || rep.Problems == nil || len(rep.Problems) != 0 {
		t.Errorf("verify --json: %s %v", r.stdout, err)
	}

	// Damage entry 2 behind the store's back: verify names it and fails.
	// The test edits the segment file directly, as someone with access to
	// the data directory could: a record is framed as its length (4
	// bytes), a checksum (4), the body and the length again (4).
	seg := filepath.Join(dir, "auditlog", "00000000000000000001.seg")
	raw, err = os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	second := 12 + binary.BigEndian.Uint32(raw)
	raw[second+20] ^= 0xff
	if err := os.WriteFile(seg, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	r = verband(t, dir, "audit", "verify")
	if r.code != 1 {
		t.Fatalf("verify after tampering: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	contains(t, "verify after tampering", r.stdout, "NOT intact", "entry 2: corrupt: segment 00000000000000000001.seg does not read")
	contains(t, "verify after tampering", r.stderr, "the first bad entry is 2")
}

// TestAuditPrune prunes the log from the command line: the usage errors,
// a prune that removes nothing, one that removes every entry before a
// cutoff and records itself, and verify afterwards.
func TestAuditPrune(t *testing.T) {
	dir := t.TempDir() + "/data"
	ok(t, dir, "ingest", "--source", "oasis", "--owner", "org-a", infraFile)
	ok(t, dir, "audit", "verify")

	for _, args := range [][]string{
		{"audit", "prune"},
		{"audit", "prune", "--before", "2025-01-01", "--older-than", "1d"},
		{"audit", "prune", "--older-than", "-3d"},
		{"audit", "prune", "--older-than", "soon"},
		{"audit", "prune", "--before", "yesterday"},
	} {
		if r := verband(t, dir, args...); r.code != 2 {
			t.Errorf("%q: exit %d, want 2 (usage)\n%s", args, r.code, r.stderr)
		}
	}

	r := ok(t, dir, "audit", "prune", "--older-than", "30d")
	contains(t, "prune nothing", r.stdout, "nothing was removed")

	// Everything appended so far (the ingest and the first prune, entries
	// 1 and 2; verify appends nothing) is older than a cutoff in a moment.
	time.Sleep(20 * time.Millisecond)
	r = ok(t, dir, "--json", "audit", "prune", "--before", time.Now().UTC().Format(time.RFC3339Nano))
	var res struct {
		Pruned int `json:"pruned"`
		Base   struct {
			Seq  uint64 `json:"seq"`
			Hash string `json:"hash"`
		} `json:"base"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Pruned != 2 || res.Base.Seq != 2 || len(res.Base.Hash) != 64 {
		t.Fatalf("prune --json: %s %v", r.stdout, err)
	}
	r = ok(t, dir, "audit", "verify")
	contains(t, "verify after the prune", r.stdout, "intact: 1 entries", "pruned up to entry 2", res.Base.Hash)

	// The prune's own entry is the first kept: it chains to the base.
	r = ok(t, dir, "audit", "export")
	var first exportedLine
	if err := json.Unmarshal([]byte(strings.SplitN(r.stdout, "\n", 2)[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Seq != 3 || first.Operation != "cli audit prune" || first.Prev != res.Base.Hash || first.Result["pruned"] != float64(2) {
		t.Errorf("first entry after the prune: %+v", first)
	}
}

// TestAuditVerifyAnchors checks the anchors of audit verify: an export
// anchors every entry it holds, the head printed by verify anchors the
// last, a wrong hash fails the log, and a malformed anchor is a usage
// error that names it.
func TestAuditVerifyAnchors(t *testing.T) {
	dir := t.TempDir() + "/data"
	ok(t, dir, "ingest", "--source", "oasis", "--owner", "org-a", infraFile)
	exported := filepath.Join(t.TempDir(), "audit.jsonl")
	ok(t, dir, "audit", "export", "-o", exported)

	r := ok(t, dir, "audit", "verify")
	i := strings.Index(r.stdout, "--anchor ")
	if i < 0 {
		t.Fatalf("verify prints no anchor to keep:\n%s", r.stdout)
	}
	head := strings.Fields(r.stdout[i+len("--anchor "):])[0]
	head = strings.TrimSuffix(head, `"`)

	r = ok(t, dir, "audit", "verify", "--anchors", exported, "--anchor", head)
	contains(t, "verify with anchors", r.stdout, "Anchors: 2 compared, all match")

	var rep struct {
		AnchorsChecked int `json:"anchors_checked"`
	}
	r = ok(t, dir, "--json", "audit", "verify", "--anchor", head)
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.AnchorsChecked != 1 {
		t.Errorf("verify --json: %v %s", err, r.stdout)
	}

	// The first entry anchored with another hash: the log was rewritten.
	r = verband(t, dir, "audit", "verify", "--anchor", "1:"+strings.Repeat("ab", 32))
	if r.code != 1 || !strings.Contains(r.stdout, "entry 1: rewritten") {
		t.Errorf("a wrong anchor: exit %d, stdout %q", r.code, r.stdout)
	}
	// An anchor beyond the end: the log was cut.
	r = verband(t, dir, "audit", "verify", "--anchor", "99:"+strings.Repeat("ab", 32))
	if r.code != 1 || !strings.Contains(r.stdout, "entry 99: truncated") {
		t.Errorf("an anchor beyond the end: exit %d, stdout %q", r.code, r.stdout)
	}

	bad := filepath.Join(t.TempDir(), "anchors.txt")
	if err := os.WriteFile(bad, []byte("# kept by the oversight body\n1 "+strings.Repeat("ab", 32)+"\n2:xyz\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--anchor", "7"}, `--anchor 7: "7" is not SEQ:HASH`},
		{[]string{"--anchor", "0:" + strings.Repeat("ab", 32)}, "sequence numbers start at 1"},
		{[]string{"--anchors", bad}, "anchors.txt line 3: hash \"xyz\" is not a SHA-256"},
		{[]string{"--anchor", "1:" + strings.Repeat("ab", 32), "--anchor", "1:" + strings.Repeat("cd", 32)}, "entry 1 is anchored twice"},
	} {
		r := verband(t, dir, append([]string{"audit", "verify"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("verify %v: exit %d, stderr %q; want exit 2 and %q", c.args, r.code, r.stderr, c.msg)
		}
	}
}
