package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/graph/graphtest"
)

const (
	testdata  = "../../ingest/pipeline/testdata/"
	infraFile = testdata + "infrastructure.json"
	actorFile = testdata + "threat-actor-leveraging-attack-patterns-and-malware.json"
	actorID   = "threat-actor--9a8a0d25-7636-429b-a99e-b2a73cd0f11f"
)

// result is what one run of the CLI printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// verband runs the CLI in-process on the data directory dir.
func verband(t *testing.T, dir string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"--data-dir", dir}, args...), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// ok runs the CLI and fails the test unless it exits 0.
func ok(t *testing.T, dir string, args ...string) result {
	t.Helper()
	r := verband(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("verband %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func contains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

func TestCLI(t *testing.T) {
	dir := t.TempDir() + "/data"

	// ingest
	r := ok(t, dir, "ingest", "--source", "oasis", infraFile, actorFile)
	contains(t, "ingest output", r.stdout, "Ingested 2 files", "17 objects read, 17 created, 0 updated, 0 unchanged", "searchable")
	contains(t, "ingest stderr", r.stderr, "Waiting for the search index")

	// ingest again, syncing every chunk: nothing changes.
	r = ok(t, dir, "--json", "ingest", "--sync-every-chunk", "--source", "oasis", infraFile, actorFile)
	var st struct {
		Files, Objects, Created, Unchanged, Rejected int
		RejectedErrors                               []string `json:"rejected_errors"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("ingest --json: %v\n%s", err, r.stdout)
	}
	if st.Files != 2 || st.Objects != 17 || st.Unchanged != 17 || st.Created != 0 || st.Rejected != 0 || st.RejectedErrors == nil {
		t.Errorf("second ingest --json = %+v, want 17 objects unchanged", st)
	}

	// get by value, with provenance and the source's id.
	r = ok(t, dir, "get", "198.51.100.3")
	contains(t, "get output", r.stdout, "ipv4-addr--", "policy", "unmarked", "source oasis, file infrastructure.json, original id ipv4-addr--1e4ffad7-0b88-41d4-ba4d-77d27490b956", `"value": "198.51.100.3"`)
	// get by STIX id, as JSON.
	r = ok(t, dir, "--json", "get", actorID)
	var got struct {
		Nodes []struct {
			StixID, Type, Name string
			Degree             struct{ Out, In int }
			Provenance         []struct{ Source, File string }
			Object             map[string]any
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("get --json: %v\n%s", err, r.stdout)
	}
	if len(got.Nodes) != 1 || got.Nodes[0].Type != "threat-actor" || got.Nodes[0].Name != "Adversary Bravo" ||
		got.Nodes[0].Object["id"] != actorID || got.Nodes[0].Provenance[0].Source != "oasis" || got.Nodes[0].Degree.Out != 3 {
		t.Errorf("get --json = %+v", got)
	}

	// search
	r = ok(t, dir, "search", "poison", "ivy")
	contains(t, "search output", r.stdout, `hits for "poison ivy"`, "Poison Ivy C2", "infrastructure--38c47d93-d984-4fd9-b87b-d69d0841628d", "By type: malware ")
	r = ok(t, dir, "--json", "search", "--type", "malware", "--limit", "2", "poison")
	var sr struct {
		Total  int
		Hits   []struct{ Type, Name, StixID string }
		Facets []struct {
			Type  string
			Count int
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &sr); err != nil {
		t.Fatalf("search --json: %v\n%s", err, r.stdout)
	}
	if sr.Total < 2 || len(sr.Hits) != 2 || len(sr.Facets) != 1 || sr.Facets[0].Type != "malware" || sr.Facets[0].Count != sr.Total {
		t.Errorf("search --json = %+v", sr)
	}
	for _, h := range sr.Hits {
		if h.Type != "malware" || !strings.Contains(strings.ToLower(h.Name), "poison") {
			t.Errorf("hit %+v", h)
		}
	}
	r = ok(t, dir, "search", "nothing-matches-this")
	contains(t, "empty search", r.stdout, "No objects match")

	// neighbours
	r = ok(t, dir, "--json", "neighbours", actorID)
	var nb struct {
		Start string
		Nodes []struct {
			StixID, Type, Name string
			Hops               int
		}
		Edges []struct{ From, To, Type, Via string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &nb); err != nil {
		t.Fatalf("neighbours --json: %v\n%s", err, r.stdout)
	}
	names := map[string]bool{}
	for _, n := range nb.Nodes[1:] {
		names[n.Type+" "+n.Name] = n.Hops == 1
	}
	if nb.Start != actorID || len(nb.Nodes) != 4 || !names["malware Poison Ivy Variant d1c6"] || !names["attack-pattern Phishing"] {
		t.Errorf("neighbours --json nodes = %+v", nb.Nodes)
	}
	var uses int
	for _, e := range nb.Edges {
		if e.Type == "uses" && e.From == actorID && strings.HasPrefix(e.Via, "relationship--") {
			uses++
		}
	}
	if len(nb.Edges) != 3 || uses != 2 {
		t.Errorf("neighbours --json edges = %+v", nb.Edges)
	}
	// The limit is reached only when it left a node out: the actor has
	// exactly three neighbours, so four nodes is the whole neighbourhood.
	for _, tc := range []struct {
		limit string
		nodes int
		cut   bool
	}{{"4", 4, false}, {"3", 3, true}} {
		r = ok(t, dir, "--json", "neighbours", "--limit", tc.limit, actorID)
		var lim struct {
			LimitReached bool `json:"limit_reached"`
			Nodes        []struct{ StixID string }
		}
		if err := json.Unmarshal([]byte(r.stdout), &lim); err != nil {
			t.Fatalf("neighbours --json --limit %s: %v\n%s", tc.limit, err, r.stdout)
		}
		if len(lim.Nodes) != tc.nodes || lim.LimitReached != tc.cut {
			t.Errorf("neighbours --limit %s: %d nodes, limit_reached %v; want %d, %v", tc.limit, len(lim.Nodes), lim.LimitReached, tc.nodes, tc.cut)
		}
		r = ok(t, dir, "neighbours", "--limit", tc.limit, actorID)
		if got := strings.Contains(r.stdout, "limit of "+tc.limit+" nodes reached, more lie within 1 hop"); got != tc.cut {
			t.Errorf("neighbours --limit %s says the limit was reached: %v\n%s", tc.limit, got, r.stdout)
		}
	}
	r = ok(t, dir, "neighbours", "--depth", "2", "--edge-type", "uses", "--direction", "out", actorID)
	contains(t, "neighbours output", r.stdout, "Adversary Bravo (threat-actor", "2 neighbours and 2 edges within 2 hops, direction out", "uses", "Phishing [attack-pattern]")
	if strings.Contains(r.stdout, "attributed-to") {
		t.Errorf("--edge-type uses shows other edges:\n%s", r.stdout)
	}

	// check and reindex
	r = ok(t, dir, "check")
	contains(t, "check output", r.stdout, "OK: every invariant holds.", "nodes ", "search documents")
	r = ok(t, dir, "--json", "check")
	var cr struct {
		OK    bool `json:"ok"`
		Nodes int
	}
	if err := json.Unmarshal([]byte(r.stdout), &cr); err != nil || !cr.OK || cr.Nodes < 17 {
		t.Errorf("check --json = %s (%v)", r.stdout, err)
	}
	r = ok(t, dir, "reindex")
	if !regexp.MustCompile(`Reindexed \d+ objects .* the index holds \d+ documents`).MatchString(r.stdout) {
		t.Errorf("reindex output: %s", r.stdout)
	}
	ok(t, dir, "check")
}

func TestIngestErrors(t *testing.T) {
	dir := t.TempDir()
	r := verband(t, dir, "ingest", testdata+"bad.json")
	if r.code != 1 {
		t.Fatalf("ingest bad.json: exit %d, want 1\n%s", r.code, r.stderr)
	}
	contains(t, "stop-mode error", r.stderr, "verband: ingest: "+testdata+"bad.json: object 2 (malware--6f1f3c1e-0d43-4a8e-9d1e-5a3c2b1a0f04): field \"is_family\"", "committed before the error stay stored")

	r = ok(t, dir, "ingest", "--on-error=skip", testdata+"bad.json")
	contains(t, "skip-mode stdout", r.stdout, "4 created", "4 objects were rejected")
	if n := strings.Count(r.stderr, "rejected: "); n != 4 {
		t.Errorf("skip mode listed %d rejected objects, want 4:\n%s", n, r.stderr)
	}
	contains(t, "skip-mode stderr", r.stderr, `object 4 (ipv4-addr--6f1f3c1e-0d43-4a8e-9d1e-5a3c2b1a0f05): field "value"`)
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
		{[]string{"search"}, 2, "search: missing QUERY"},
		{[]string{"get", "a", "b"}, 2, "want one ID or VALUE"},
		{[]string{"neighbours", "--depth", "4", "x"}, 2, "--depth 4"},
		{[]string{"neighbours", "--direction", "up", "x"}, 2, "--direction"},
		{[]string{"ingest", "--tlp", "purple", "x.json"}, 2, "--tlp"},
		{[]string{"ingest", "--on-error", "ignore", "x.json"}, 2, "--on-error"},
		{[]string{"check", "--no-such-flag"}, 2, "unknown flag"},
		{[]string{"bench", "extra"}, 2, "unknown command"},
		{[]string{"--log-level", "loud", "serve"}, 2, "--log-level"},
		{[]string{"ingest", dir + "/missing.json"}, 1, "no such file"},
		{[]string{"--data-dir", dir + "/none", "check"}, 1, "does not exist"},
	} {
		r := verband(t, dir, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) || !strings.HasPrefix(r.stderr, "verband: ") {
			t.Errorf("verband %v: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, tc.code, tc.msg)
		}
	}
	// get of something absent is a failure, not a usage error.
	ok(t, dir, "ingest", actorFile)
	r := verband(t, dir, "get", "203.0.113.99")
	if r.code != 1 || !strings.Contains(r.stderr, `no object with STIX id or value "203.0.113.99"`) {
		t.Errorf("get absent: exit %d, %s", r.code, r.stderr)
	}
}

// noExampleYet lists commands written elsewhere that still lack an Example
// in their help.
var noExampleYet = map[string]bool{"verband bench": true}

func TestHelp(t *testing.T) {
	root, _ := newRootCmd(io.Discard, io.Discard)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		if c.Short == "" || c.Long == "" {
			t.Errorf("%s lacks Short or Long help", c.CommandPath())
		}
		if c.Example == "" {
			if noExampleYet[c.CommandPath()] {
				t.Logf("%s has no Example yet", c.CommandPath())
			} else {
				t.Errorf("%s lacks an Example", c.CommandPath())
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	r := verband(t, t.TempDir(), "--help")
	contains(t, "help", r.stdout, "ingest", "search", "neighbours", "check", "demo", "--data-dir", "--json")
}

func TestServe(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, "ingest", actorFile)
	srv := serve(t, dir)
	resp, err := http.Get(srv.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"nodes":7`) {
		t.Errorf("/healthz: %d %s", resp.StatusCode, body)
	}
	if code := srv.stop(); code != 0 {
		t.Errorf("serve exit %d: %s", code, srv.log.String())
	}
	contains(t, "serve log", srv.log.String(), "msg=\"http request\" method=GET path=/healthz status=200")
}

// server is a "verband serve" the test runs in-process.
type server struct {
	url  string
	log  *graphtest.SyncBuffer // stderr: the structured log
	stop func() int            // stops it (once) and returns its exit status
}

// serve starts "verband serve" over dir on a loopback port, with more
// flags, and waits until it prints its URL. It is stopped at the end of
// the test if the test has not stopped it.
func serve(t *testing.T, dir string, flags ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out graphtest.SyncBuffer
	srv := &server{log: &graphtest.SyncBuffer{}}
	done := make(chan int, 1)
	args := append([]string{"--data-dir", dir, "serve", "--addr", "127.0.0.1:0"}, flags...)
	go func() { done <- run(ctx, args, &out, srv.log) }()
	var once sync.Once
	code := 0
	srv.stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() { srv.stop() })
	re := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(10 * time.Second); srv.url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			srv.url = m[1]
		}
	}
	if srv.url == "" {
		srv.stop()
		t.Fatalf("serve printed no URL: %s %s", out.String(), srv.log.String())
	}
	return srv
}

// TestProfiles checks that --cpuprofile and --memprofile write profiles
// pprof can read, for any command, and that an unwritable path fails
// before the command runs.
func TestProfiles(t *testing.T) {
	for _, flag := range []string{"--cpuprofile", "--memprofile"} {
		t.Run(flag, func(t *testing.T) {
			dir := t.TempDir()
			prof := dir + "/p.pprof"
			ok(t, dir+"/data", flag, prof, "ingest", infraFile)
			f, err := os.Open(prof)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// A profile is a gzipped protocol buffer; a truncated or
			// unflushed one fails to decompress.
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatalf("profile written by %s is not gzip: %v", flag, err)
			}
			if n, err := io.Copy(io.Discard, zr); err != nil || n == 0 {
				t.Fatalf("profile written by %s: %d bytes, %v", flag, n, err)
			}

			r := verband(t, dir+"/other", flag, dir+"/missing/p.pprof", "ingest", infraFile)
			if r.code != 1 || !strings.Contains(r.stderr, flag) {
				t.Errorf("unwritable profile: exit %d, stderr %q; want exit 1 naming %s", r.code, r.stderr, flag)
			}
			if _, err := os.Stat(dir + "/other"); err == nil {
				t.Error("the command ran although its profile could not be written")
			}
		})
	}
}

// TestProcs checks the processor count Verband runs with: two beyond the
// runtime's default, unless the operator chose one with GOMAXPROCS.
func TestProcs(t *testing.T) {
	for _, c := range []struct {
		env  string
		def  int
		want int
	}{
		{"", 2, 4},
		{"", 1, 3},
		{"", 16, 18},
		{"2", 2, 0},
		{"64", 2, 0},
	} {
		if got := procs(c.env, c.def); got != c.want {
			t.Errorf("procs(GOMAXPROCS=%q, default %d) = %d, want %d", c.env, c.def, got, c.want)
		}
	}
}

// TestIngestLeftOut checks that ingest says which files a directory walk
// passed over, so that a hash list named samples.sha256 is not left out
// silently, and that such a file loads when named.
func TestIngestLeftOut(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	for name, body := range map[string]string{"iocs.txt": "198.51.100.7\n", "samples.sha256": strings.Repeat("a", 64) + "\n", "README.adoc": "= Notes\n"} {
		if err := os.WriteFile(filepath.Join(data, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := ok(t, dir, "ingest", data)
	contains(t, "walk", r.stderr, "note: left out 1 file ", "(1 .sha256)", filepath.Join(data, "samples.sha256"))
	if strings.Contains(r.stderr, "README") {
		t.Errorf("the note lists README.adoc:\n%s", r.stderr)
	}
	contains(t, "walk", r.stdout, "1 file ")

	r = ok(t, dir, "--json", "ingest", data)
	var out struct {
		Skipped []string `json:"skipped_files"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Skipped) != 1 {
		t.Errorf("--json: skipped_files = %v (%v)\n%s", out.Skipped, err, r.stdout)
	}

	r = ok(t, dir, "ingest", data, filepath.Join(data, "samples.sha256"))
	if strings.Contains(r.stderr, "left out") {
		t.Errorf("a named file is still reported as left out:\n%s", r.stderr)
	}
	contains(t, "named", r.stdout, "2 files")
}
