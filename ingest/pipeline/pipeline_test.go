package pipeline_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/ingest/pipeline"
	"github.com/verband-cti/verband/schema"
)

const (
	infraFile = "testdata/infrastructure.json"
	actorFile = "testdata/threat-actor-leveraging-attack-patterns-and-malware.json"
	badFile   = "testdata/bad.json"
)

func load(t *testing.T, s *graph.Store, opts pipeline.Options, files ...string) (pipeline.Stats, error) {
	t.Helper()
	return pipeline.New(s, opts).LoadFiles(context.Background(), files)
}

func mustLoad(t *testing.T, s *graph.Store, opts pipeline.Options, files ...string) pipeline.Stats {
	t.Helper()
	st, err := load(t, s, opts, files...)
	if err != nil {
		t.Fatalf("load %v: %v", files, err)
	}
	return st
}

func node(t *testing.T, s *graph.Store, stixID string) *graph.Node {
	t.Helper()
	var n *graph.Node
	err := s.View(graph.System(), func(tx *graph.Tx) error {
		var err error
		n, err = tx.NodeByStixID(stixID)
		return err
	})
	if err != nil {
		t.Fatalf("node %s: %v", stixID, err)
	}
	return n
}

func nodeByValue(t *testing.T, s *graph.Store, value string) *graph.Node {
	t.Helper()
	var n *graph.Node
	err := s.View(graph.System(), func(tx *graph.Tx) error {
		ids, err := tx.ByValue(value)
		if err != nil {
			return err
		}
		if len(ids) != 1 {
			return fmt.Errorf("%d nodes, want 1", len(ids))
		}
		n, err = tx.Node(ids[0])
		return err
	})
	if err != nil {
		t.Fatalf("node with value %s: %v", value, err)
	}
	return n
}

func has(t *testing.T, s *graph.Store, stixID string) bool {
	t.Helper()
	err := s.View(graph.System(), func(tx *graph.Tx) error {
		_, err := tx.Lookup(stixID)
		return err
	})
	if err != nil && !errors.Is(err, graph.ErrNotFound) {
		t.Fatalf("lookup %s: %v", stixID, err)
	}
	return err == nil
}

func TestLoadExamples(t *testing.T) {
	s := graphtest.Open(t)
	st := mustLoad(t, s, pipeline.Options{Source: "oasis", Owner: "org-a"}, infraFile, actorFile)
	// infrastructure.json has 10 objects, the threat-actor example 7.
	if st.Files != 2 || st.Objects != 17 || st.Created != 17 || st.Rejected != 0 || st.Committed() != 17 {
		t.Fatalf("stats = %+v, want 2 files, 17 objects all created", st)
	}
	if st.Bytes == 0 || st.Chunks == 0 {
		t.Errorf("stats = %+v, want bytes and chunks counted", st)
	}

	// The SCO got its deterministic id, and the source's id is recorded as
	// provenance.
	const origIP = "ipv4-addr--1e4ffad7-0b88-41d4-ba4d-77d27490b956"
	ip := nodeByValue(t, s, "198.51.100.3")
	if ip.StixID == origIP || !strings.HasPrefix(ip.StixID, "ipv4-addr--") {
		t.Fatalf("ipv4-addr stored as %s, want a deterministic id", ip.StixID)
	}
	o, err := ip.Object()
	if err != nil {
		t.Fatal(err)
	}
	if want, err := schema.SCOID(o); err != nil || want != ip.StixID {
		t.Errorf("stored id %s, SCOID %s (%v)", ip.StixID, want, err)
	}
	if len(ip.Provenance) != 1 {
		t.Fatalf("provenance = %+v, want one entry", ip.Provenance)
	}
	p := ip.Provenance[0]
	if p.Source != "oasis" || p.File != "infrastructure.json" || p.OriginalID != origIP || p.At.IsZero() {
		t.Errorf("provenance = %+v", p)
	}
	if ip.Policy.Owner != "org-a" || ip.Policy.TLP != schema.TLPUnmarked {
		t.Errorf("policy = %+v, want owner org-a, unmarked", ip.Policy)
	}
	// An SDO keeps its id and gets no OriginalID.
	ta := node(t, s, "threat-actor--9a8a0d25-7636-429b-a99e-b2a73cd0f11f")
	if ta.Provenance[0].OriginalID != "" || ta.Provenance[0].File != filepath.Base(actorFile) {
		t.Errorf("threat-actor provenance = %+v", ta.Provenance)
	}
}

// TestReferenceBeforeCanonicalSCO loads a bundle whose relationship names an
// SCO by the source's random id before the SCO itself arrives; the edge must
// end on the canonical node.
func TestReferenceBeforeCanonicalSCO(t *testing.T) {
	s := graphtest.Open(t)
	mustLoad(t, s, pipeline.Options{}, infraFile)
	infra := node(t, s, "infrastructure--38c47d93-d984-4fd9-b87b-d69d0841628d")
	ip := nodeByValue(t, s, "198.51.100.3")
	var targets []graph.ID
	err := s.View(graph.System(), func(tx *graph.Tx) error {
		return tx.Neighbours(infra.ID, graph.NeighbourQuery{Dir: graph.Out, EdgeTypes: []string{"consists-of"}}, func(e graph.Edge) bool {
			targets = append(targets, e.To)
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1 || targets[0] != ip.ID {
		t.Errorf("the infrastructure's consists-of edges end on %v, not on the canonical ipv4-addr node %d", targets, ip.ID)
	}
}

func TestReingestIsIdempotent(t *testing.T) {
	s := graphtest.Open(t)
	opts := pipeline.Options{Source: "oasis"}
	first := mustLoad(t, s, opts, infraFile, actorFile)
	if err := s.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := s.IndexStatus()
	second := mustLoad(t, s, opts, infraFile, actorFile)
	if second.Objects != first.Objects || second.Unchanged != first.Objects || second.Created+second.Updated+second.Older != 0 {
		t.Fatalf("second load = %+v, want all %d unchanged", second, first.Objects)
	}
	if after := s.IndexStatus(); after.Committed != before.Committed {
		t.Errorf("outbox moved from %d to %d on an unchanged re-ingest", before.Committed, after.Committed)
	}
	// The same file from another source is a new contribution.
	third := mustLoad(t, s, pipeline.Options{Source: "other"}, actorFile)
	if third.Updated != third.Objects {
		t.Errorf("load from another source = %+v, want all updated", third)
	}
}

// wantBad lists the bad objects of bad.json: index, id and field.
var wantBad = []struct {
	index int
	id    string
	field string
}{
	{2, "malware--6f1f3c1e-0d43-4a8e-9d1e-5a3c2b1a0f04", "is_family"},
	{3, "", ""},
	{4, "ipv4-addr--6f1f3c1e-0d43-4a8e-9d1e-5a3c2b1a0f05", "value"},
	{5, "relationship--6f1f3c1e-0d43-4a8e-9d1e-5a3c2b1a0f06", "source_ref"},
}

func TestSkipReportsEveryBadObject(t *testing.T) {
	s := graphtest.Open(t)
	st, err := load(t, s, pipeline.Options{OnError: pipeline.Skip}, badFile)
	if err != nil {
		t.Fatalf("skip mode returned %v", err)
	}
	if st.Objects != 8 || st.Created != 4 || st.Rejected != 4 || len(st.Errors) != 4 {
		t.Fatalf("stats = %+v, want 8 read, 4 created, 4 rejected", st)
	}
	for i, w := range wantBad {
		err := st.Errors[i]
		var oe *ingest.ObjectError
		if !errors.As(err, &oe) {
			t.Errorf("error %d = %T %v, want *ingest.ObjectError", i, err, err)
			continue
		}
		if oe.File != badFile || oe.Index != w.index || (w.id != "" && oe.ID != w.id) || (w.field != "" && oe.Field != w.field) {
			t.Errorf("error %d = {file %q index %d id %q field %q}, want {%q %d %q %q}", i, oe.File, oe.Index, oe.ID, oe.Field, badFile, w.index, w.id, w.field)
		}
		msg := err.Error()
		if !strings.Contains(msg, badFile) || !strings.Contains(msg, fmt.Sprintf("object %d", w.index)) || !strings.Contains(msg, w.field) {
			t.Errorf("error %d message %q does not name file, object and field", i, msg)
		}
	}
	for _, id := range []string{"identity--6f1f3c1e-0d43-4a8e-9d1e-5a3c2b1a0f02", "malware--6f1f3c1e-0d43-4a8e-9d1e-5a3c2b1a0f03", "indicator--6f1f3c1e-0d43-4a8e-9d1e-5a3c2b1a0f07"} {
		if !has(t, s, id) {
			t.Errorf("good object %s not stored", id)
		}
	}
	if has(t, s, wantBad[0].id) {
		t.Errorf("bad object %s stored", wantBad[0].id)
	}
	// The canonical SCO is found under the id the source gave it.
	const origIP = "ipv4-addr--6f1f3c1e-0d43-4a8e-9d1e-5a3c2b1a0f08"
	ip := node(t, s, origIP)
	if ip.StixID == origIP || ip.Provenance[0].OriginalID != origIP {
		t.Errorf("ipv4-addr stored as %s with provenance %+v, want a new id and %s as original", ip.StixID, ip.Provenance, origIP)
	}
}

func TestStopKeepsWhatWasStored(t *testing.T) {
	s := graphtest.Open(t)
	earlier := mustLoad(t, s, pipeline.Options{}, actorFile)
	st, err := load(t, s, pipeline.Options{OnError: pipeline.Stop, ChunkObjects: 1}, badFile)
	var oe *ingest.ObjectError
	if !errors.As(err, &oe) || oe.Index != 2 || oe.Field != "is_family" {
		t.Fatalf("stop mode error = %v, want the first bad object (index 2, is_family)", err)
	}
	// With chunks of one object, the two good objects before it were
	// committed; nothing after it was read.
	if st.Objects != 3 || st.Created != 2 || st.Committed() != 2 {
		t.Errorf("stats = %+v, want 3 read and 2 committed", st)
	}
	if !has(t, s, "malware--6f1f3c1e-0d43-4a8e-9d1e-5a3c2b1a0f03") || has(t, s, "indicator--6f1f3c1e-0d43-4a8e-9d1e-5a3c2b1a0f07") {
		t.Error("stop mode: want the objects before the bad one stored and none after it")
	}
	// Nothing stored by the earlier load is lost.
	again := mustLoad(t, s, pipeline.Options{}, actorFile)
	if again.Unchanged != earlier.Objects {
		t.Errorf("earlier objects after a stopped load: %+v, want all %d unchanged", again, earlier.Objects)
	}
}

func TestStopDiscardsOpenChunk(t *testing.T) {
	s := graphtest.Open(t)
	st, err := load(t, s, pipeline.Options{}, badFile)
	if err == nil {
		t.Fatal("stop mode: no error")
	}
	if st.Committed() != 0 || has(t, s, "identity--6f1f3c1e-0d43-4a8e-9d1e-5a3c2b1a0f02") {
		t.Errorf("stats = %+v: the open chunk was committed", st)
	}
}

func TestUnreadableFile(t *testing.T) {
	s := graphtest.Open(t)
	// Skip mode: the truncated file is reported, the next file is loaded.
	st, err := load(t, s, pipeline.Options{OnError: pipeline.Skip}, "testdata/truncated.json", actorFile)
	if err != nil {
		t.Fatalf("skip mode: %v", err)
	}
	if st.Rejected != 1 || !errors.Is(st.Errors[0], ingest.ErrTruncated) || !strings.Contains(st.Errors[0].Error(), "truncated.json") {
		t.Fatalf("stats = %+v errors %v, want one truncation error naming the file", st, st.Errors)
	}
	if st.Created != 8 { // the identity before the cut, and 7 objects of the second file
		t.Errorf("created = %d, want 8", st.Created)
	}
	// Stop mode: the error ends the load.
	_, err = load(t, s, pipeline.Options{}, "testdata/truncated.json", actorFile)
	if !errors.Is(err, ingest.ErrTruncated) || !ingest.IsFatal(err) {
		t.Errorf("stop mode error = %v, want a fatal truncation", err)
	}
	// A missing file.
	if _, err := load(t, s, pipeline.Options{}, "testdata/missing.json"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestMarkings(t *testing.T) {
	s := graphtest.Open(t)
	mustLoad(t, s, pipeline.Options{Owner: "org-a", TLP: schema.TLPGreen, Sharing: []string{"org-b"}}, "testdata/markings.json")
	for id, want := range map[string]schema.TLP{
		"indicator--0b7e5c1a-41f3-4d55-8a8e-3b0c6e2f7a03": schema.TLPAmber,
		"indicator--0b7e5c1a-41f3-4d55-8a8e-3b0c6e2f7a04": schema.TLPRed,
		"indicator--0b7e5c1a-41f3-4d55-8a8e-3b0c6e2f7a05": schema.TLPGreen,
	} {
		n := node(t, s, id)
		if n.Policy.TLP != want || n.Policy.Owner != "org-a" || len(n.Policy.Sharing) != 1 {
			t.Errorf("%s policy = %+v, want %v owned by org-a shared with org-b", id, n.Policy, want)
		}
	}
}

func TestProgress(t *testing.T) {
	s := graphtest.Open(t)
	var reports []pipeline.Progress
	opts := pipeline.Options{Progress: func(p pipeline.Progress) { reports = append(reports, p) }, ProgressInterval: 1}
	st := mustLoad(t, s, opts, infraFile, actorFile)
	if len(reports) < 2 {
		t.Fatalf("%d progress reports", len(reports))
	}
	last := reports[len(reports)-1]
	size := fileSize(t, infraFile) + fileSize(t, actorFile)
	if !last.Done || last.BytesRead != size || last.BytesTotal != size || last.Objects != st.Objects || last.Committed != st.Objects || last.Files != 2 {
		t.Errorf("last report = %+v, want done with %d of %d bytes and %d objects", last, size, size, st.Objects)
	}
	for i := 1; i < len(reports); i++ {
		if reports[i].BytesRead < reports[i-1].BytesRead || reports[i].Objects < reports[i-1].Objects {
			t.Errorf("progress went back: %+v after %+v", reports[i], reports[i-1])
		}
	}
}

func fileSize(t *testing.T, p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestOversizedObject loads a report with more references than one
// transaction of a small store can hold: skip mode rejects it alone and
// keeps the objects of its chunk.
func TestOversizedObject(t *testing.T) {
	opts := graph.DefaultOptions()
	opts.SyncWrites = false
	opts.MemTableSize = 8 << 20
	s := graphtest.OpenWith(t, t.TempDir(), opts)

	refs := make([]string, 5000)
	for i := range refs {
		refs[i] = fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i)
	}
	objs := []map[string]any{
		{"type": "identity", "spec_version": "2.1", "id": "identity--11111111-0000-4000-8000-000000000001", "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z", "name": "Before", "identity_class": "organization"},
		{"type": "report", "spec_version": "2.1", "id": "report--11111111-0000-4000-8000-000000000002", "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z", "name": "Huge", "published": "2024-01-01T00:00:00Z", "object_refs": refs},
		{"type": "identity", "spec_version": "2.1", "id": "identity--11111111-0000-4000-8000-000000000003", "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z", "name": "After", "identity_class": "organization"},
	}
	raw, err := json.Marshal(map[string]any{"type": "bundle", "id": "bundle--11111111-0000-4000-8000-000000000000", "objects": objs})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "huge.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := load(t, s, pipeline.Options{OnError: pipeline.Skip}, path)
	if err != nil {
		t.Fatalf("skip mode: %v", err)
	}
	if st.Rejected != 1 || !errors.Is(st.Errors[0], graph.ErrTooLarge) {
		t.Fatalf("stats = %+v errors %v, want the report rejected as too large", st, st.Errors)
	}
	if st.Created != 2 || !has(t, s, "identity--11111111-0000-4000-8000-000000000001") || !has(t, s, "identity--11111111-0000-4000-8000-000000000003") {
		t.Errorf("stats = %+v: want both identities stored", st)
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"b.json", "a.JSON.gz", "notes.txt", "iocs.csv.gz", "README.adoc", "LICENSE-ATTACK.txt", "_schema.json", "sub/c.json", ".hidden/d.json", "sub/.e.json", "feed/manifest.json", "feed/x.json", "sub/samples.sha256", "rules.yar", "named.md5", ".hidden/z.md5"} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, skipped, err := pipeline.Files([]string{dir, filepath.Join(dir, "README.adoc"), filepath.Join(dir, "b.json"), filepath.Join(dir, "named.md5")})
	if err != nil {
		t.Fatal(err)
	}
	// The walk reports the files it passed over, but not the licences,
	// notes and hidden files, nor a file named on the command line.
	wantSkipped := []string{filepath.Join(dir, "rules.yar"), filepath.Join(dir, "sub", "samples.sha256")}
	if !slices.Equal(skipped, wantSkipped) {
		t.Errorf("skipped = %v, want %v", skipped, wantSkipped)
	}
	// The feed folder is one input; README.adoc only when named.
	want := []string{"a.JSON.gz", "b.json", "feed", "iocs.csv.gz", "notes.txt", "sub/c.json", "README.adoc", "named.md5"}
	if len(got) != len(want) {
		t.Fatalf("Files = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != filepath.Join(dir, want[i]) {
			t.Errorf("Files[%d] = %s, want %s", i, got[i], want[i])
		}
	}
	if _, _, err := pipeline.Files([]string{filepath.Join(dir, "sub", "nothing")}); err == nil {
		t.Error("missing path: no error")
	}
	empty := t.TempDir()
	if _, _, err := pipeline.Files([]string{empty}); err == nil {
		t.Error("empty directory: no error")
	}
}

func TestParseErrorMode(t *testing.T) {
	for in, want := range map[string]pipeline.ErrorMode{"stop": pipeline.Stop, "SKIP": pipeline.Skip} {
		if got, err := pipeline.ParseErrorMode(in); err != nil || got != want {
			t.Errorf("ParseErrorMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := pipeline.ParseErrorMode("ignore"); err == nil {
		t.Error("ParseErrorMode(ignore): no error")
	}
}

// TestSourceMarking checks that the default marking configured for an
// import source applies to the objects that carry no TLP marking of their
// own, unless the load names a TLP itself, and that markings in the data
// win either way.
func TestSourceMarking(t *testing.T) {
	const unmarked = "indicator--0b7e5c1a-41f3-4d55-8a8e-3b0c6e2f7a05"
	for _, tc := range []struct {
		name    string
		opts    pipeline.Options
		want    schema.TLP
		sharing int
	}{
		{"another source stays unmarked", pipeline.Options{Source: "other"}, schema.TLPUnmarked, 0},
		{"the source's default", pipeline.Options{Source: "feed"}, schema.TLPAmber, 1},
		{"an explicit TLP wins", pipeline.Options{Source: "feed", TLP: schema.TLPGreen}, schema.TLPGreen, 0},
		{"an explicit unmarked wins", pipeline.Options{Source: "feed", ExplicitTLP: true}, schema.TLPUnmarked, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := graphtest.Open(t)
			if _, err := s.CreateOrganization(context.Background(), graph.OrganizationSpec{Name: "org-b"}); err != nil {
				t.Fatal(err)
			}
			if err := s.SetSourceMarking("feed", &graph.SourceMarking{TLP: schema.TLPAmber, Sharing: []string{"org-b"}}); err != nil {
				t.Fatal(err)
			}
			tc.opts.Owner = "org-a"
			mustLoad(t, s, tc.opts, "testdata/markings.json")
			if p := node(t, s, unmarked).Policy; p.TLP != tc.want || len(p.Sharing) != tc.sharing {
				t.Errorf("unmarked object's policy = %+v, want %v shared with %d", p, tc.want, tc.sharing)
			}
			if p := node(t, s, "indicator--0b7e5c1a-41f3-4d55-8a8e-3b0c6e2f7a04").Policy; p.TLP != schema.TLPRed {
				t.Errorf("the object marked RED in the data got %v", p.TLP)
			}
		})
	}
}

// TestLoadStreams loads a STIX file and a gzip-compressed list from memory
// as one load: progress counts both streams' bytes, and the list's objects
// are dated by the stream's ModTime, as a list file's are by its
// modification time.
func TestLoadStreams(t *testing.T) {
	s := graphtest.Open(t)
	stixBytes, err := os.ReadFile(infraFile)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("# a list\n198.51.100.23\nevil.example.net\n"))
	zw.Close()
	at := time.Date(2026, 8, 23, 0, 0, 0, 0, time.UTC)
	var last pipeline.Progress
	st, err := pipeline.New(s, pipeline.Options{Progress: func(p pipeline.Progress) { last = p }}).LoadStreams(context.Background(), []pipeline.Stream{
		{Name: "infrastructure.json", R: bytes.NewReader(stixBytes), Size: int64(len(stixBytes))},
		{Name: "blocklist.txt.gz", R: bytes.NewReader(buf.Bytes()), Size: int64(buf.Len()), ModTime: at},
	})
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(stixBytes) + buf.Len())
	if st.Files != 2 || st.Rejected != 0 || !last.Done || last.BytesRead != size || last.BytesTotal != size {
		t.Fatalf("stats %+v, last progress %+v; want 2 files and %d bytes", st, last, size)
	}
	n := nodeByValue(t, s, "198.51.100.23")
	var container *graph.Node
	err = s.View(graph.System(), func(tx *graph.Tx) error {
		return tx.Neighbours(n.ID, graph.NeighbourQuery{Dir: graph.In}, func(e graph.Edge) bool {
			m, err := tx.Node(e.From)
			if err == nil && m.Type == "grouping" {
				container = m
			}
			return container == nil
		})
	})
	if err != nil || container == nil {
		t.Fatalf("no list container holds the address: %v", err)
	}
	var o struct{ Name, Created string }
	if err := json.Unmarshal(container.Raw, &o); err != nil {
		t.Fatal(err)
	}
	if o.Created != "2026-08-23T00:00:00.000Z" || !strings.Contains(o.Name, "blocklist.txt") || strings.Contains(o.Name, ".gz") {
		t.Errorf("list container %q created %s; want it named after blocklist.txt and dated by the stream", o.Name, o.Created)
	}
}

// TestSameListTwice loads two different list files that share a name, as two
// folders' iocs.txt would, under one source: the second would make the same
// container and replace the first one's members, so it is refused: with
// --on-error=stop the load ends there (and, as for any bad input, the open
// chunk with the first list is discarded), with skip the first list stays
// as it was loaded.
func TestSameListTwice(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a", "iocs.txt"), filepath.Join(dir, "b", "iocs.txt")
	for p, body := range map[string]string{a: "198.51.100.7\n", b: "203.0.113.9\n"} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	members := func(s *graph.Store) []string {
		t.Helper()
		o, err := node(t, s, lists.DeterministicID("grouping", "feeds", "iocs.txt")).Object()
		var refs []string
		if err == nil {
			err = json.Unmarshal(o.Props["object_refs"], &refs)
		}
		if err != nil {
			t.Fatalf("read the list's grouping: %v", err)
		}
		return refs
	}
	ip := func(s *graph.Store, v string) string { return nodeByValue(t, s, v).StixID }

	for _, mode := range []pipeline.ErrorMode{pipeline.Stop, pipeline.Skip} {
		s := graphtest.Open(t)
		st, err := pipeline.New(s, pipeline.Options{Source: "feeds", OnError: mode}).LoadFiles(context.Background(), []string{a, b, a})
		if mode == pipeline.Stop {
			if !errors.Is(err, pipeline.ErrSameList) || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) {
				t.Fatalf("stop: err = %v, want ErrSameList naming both files", err)
			}
		} else if err != nil || st.Rejected != 1 || len(st.Errors) != 1 || !errors.Is(st.Errors[0], pipeline.ErrSameList) {
			t.Fatalf("skip: err = %v, stats = %+v, want the second file rejected", err, st)
		}
		if mode == pipeline.Skip {
			if got := members(s); !slices.Equal(got, []string{ip(s, "198.51.100.7")}) {
				t.Errorf("skip: grouping members = %v, want only a/iocs.txt's address", got)
			}
		}
		err = s.View(graph.System(), func(tx *graph.Tx) error {
			ids, err := tx.ByValue("203.0.113.9")
			if err == nil && len(ids) > 0 {
				err = fmt.Errorf("b/iocs.txt's address was loaded: %v", ids)
			}
			return err
		})
		if err != nil {
			t.Errorf("%v: %v", mode, err)
		}
	}
}
