package graph

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/verband-cti/verband/graph/internal/auditseg"
	"github.com/verband-cti/verband/schema"
)

// openAuditStore opens a store without search in a temporary directory.
// This internal test cannot use graphtest, which imports this package.
func openAuditStore(tb testing.TB, dir string, sync bool) *Store {
	tb.Helper()
	opts := DefaultOptions()
	opts.Search = false
	opts.SyncWrites = sync
	s, err := Open(dir, opts)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return s
}

// appendN appends n entries for org-a and org-b in turn and returns them.
func appendN(t *testing.T, s *Store, n int) []AuditEntry {
	t.Helper()
	var out []AuditEntry
	for i := range n {
		org := []string{"org-a", "org-b"}[i%2]
		e, err := s.AppendAudit(context.Background(), AuditEntry{
			Viewer:    AuditViewer{Org: org, User: "u" + fmt.Sprint(i), Role: "reader", TokenID: "00000000000000aa"},
			Operation: "graphql:Q",
			Args:      json.RawMessage(fmt.Sprintf(`{"query":"{ node(id: \"%d\") { stixId } }"}`, i)),
			IDs:       []string{fmt.Sprintf("indicator--%08d-0000-4000-8000-000000000000", i)},
			Outcome:   AuditOK,
		})
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		out = append(out, e)
	}
	return out
}

func verifyReport(t *testing.T, s *Store) AuditReport {
	t.Helper()
	rep, err := s.AuditVerify(context.Background())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

func TestAuditConcurrentAppendsFormOneChain(t *testing.T) {
	s := openAuditStore(t, t.TempDir(), false)
	const workers, each = 16, 40
	var (
		mu   sync.Mutex
		got  = map[uint64]AuditEntry{}
		wg   sync.WaitGroup
		errs = make(chan error, workers)
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e, err := s.AppendAudit(context.Background(), AuditEntry{
					Viewer: AuditViewer{Org: fmt.Sprintf("org-%d", w%3), User: fmt.Sprintf("w%d", w)}, Operation: "op",
					Args: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i)), Outcome: AuditOK,
				})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if _, dup := got[e.Seq]; dup {
					errs <- fmt.Errorf("sequence number %d handed out twice", e.Seq)
				}
				got[e.Seq] = e
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(got) != workers*each {
		t.Fatalf("%d distinct sequence numbers, want %d", len(got), workers*each)
	}
	rep := verifyReport(t, s)
	if !rep.OK() || rep.Entries != workers*each || rep.HeadSeq != workers*each {
		t.Fatalf("report = %+v, want %d entries and no problems", rep, workers*each)
	}
	// What AppendAudit returned is what is stored, and the chain links.
	prev := zeroAuditHash
	var seq uint64
	err := s.AuditEntries(context.Background(), AuditFilter{}, func(e AuditEntry) bool {
		seq++
		if e.Seq != seq || e.Prev != prev || e.Hash != got[seq].Hash || !slices.Equal(e.Orgs, got[seq].Orgs) {
			t.Errorf("entry %d: stored %+v, returned %+v, want prev %s", seq, e, got[seq], prev)
		}
		prev = e.Hash
		return true
	})
	if err != nil || seq != workers*each {
		t.Fatalf("read %d entries, %v", seq, err)
	}
	if rep.HeadHash != prev {
		t.Errorf("head hash %s, last entry %s", rep.HeadHash, prev)
	}
}

// reopened opens a store, runs fn on it, closes it and opens it again.
func reopened(t *testing.T, fn func(s *Store)) *Store {
	t.Helper()
	dir := t.TempDir()
	opts := DefaultOptions()
	opts.Search, opts.SyncWrites = false, false
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	fn(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return openAuditStore(t, dir, false)
}

func TestAuditChainSurvivesReopen(t *testing.T) {
	var first []AuditEntry
	s := reopened(t, func(s *Store) { first = appendN(t, s, 3) })
	more := appendN(t, s, 2)
	if more[0].Seq != 4 || more[0].Prev != first[2].Hash {
		t.Errorf("after reopen: seq %d prev %s, want 4 and %s", more[0].Seq, more[0].Prev, first[2].Hash)
	}
	if rep := verifyReport(t, s); !rep.OK() || rep.Entries != 5 {
		t.Errorf("report %+v", rep)
	}
}

// tamperStore opens a store whose audit log a test tampers with: one
// entry per segment file, so that an entry is a file to edit, remove or
// move.
func tamperStore(t *testing.T) *Store {
	t.Helper()
	opts := DefaultOptions()
	opts.Search, opts.SyncWrites, opts.AuditSegmentBytes = false, false, 1
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// tamper closes s, lets fn change the files of its audit log as someone
// with the data directory could, and opens the store again.
func tamper(t *testing.T, s *Store, fn func(t *testing.T, dir string)) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fn(t, filepath.Join(s.dir, auditDirName))
	r, err := Open(s.dir, s.opts)
	if err != nil {
		t.Fatalf("open the tampered store: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// segFile is the segment file of entry seq in a log of one entry per file.
func segFile(dir string, seq uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d.seg", seq))
}

// readRecord reads the record of entry seq from the log in dir.
func readRecord(t *testing.T, dir string, seq uint64) auditseg.Record {
	t.Helper()
	l, _, err := auditseg.Open(dir, auditseg.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var r auditseg.Record
	if err := l.Scan(seq, seq, false, func(x auditseg.Record) bool { r = x; return false }); err != nil || r.Seq != seq {
		t.Fatalf("read record %d: %v", seq, err)
	}
	return r
}

// editRecord rewrites the record of entry seq, in its own segment file,
// as edit changes it.
func editRecord(seq uint64, edit func(r *auditseg.Record)) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		r := readRecord(t, dir, seq)
		edit(&r)
		removeFiles(seq)(t, dir)
		// Written apart, so that a record renumbered keeps its file.
		tmp := t.TempDir()
		if err := auditseg.WriteSegment(tmp, nil, []auditseg.Record{r}); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(segFile(tmp, r.Seq), segFile(dir, seq)); err != nil {
			t.Fatal(err)
		}
	}
}

// rewrite replaces the body of entry seq by edit(body), keeping the stored
// hash unless rehash is set.
func rewrite(seq uint64, rehash bool, edit func(body []byte) []byte) func(t *testing.T, dir string) {
	return editRecord(seq, func(r *auditseg.Record) {
		hash, body, _ := splitAuditValue(r.Data)
		body = edit(slices.Clone(body))
		if rehash {
			hash = sha256.Sum256(body)
		}
		r.Data = encodeAuditValue(hash, body)
	})
}

// encodeAuditValue is the stored value of an entry with hash as its
// stored hash, whatever body hashes to.
func encodeAuditValue(hash [auditHashLen]byte, body []byte) []byte {
	v := make([]byte, 0, 1+auditHashLen+len(body))
	v = append(v, auditEntryVersion)
	v = append(v, hash[:]...)
	return append(v, body...)
}

// damageSegment flips a byte in the middle of the segment file of entry
// seq, as a failing disk would.
func damageSegment(seq uint64) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		b, err := os.ReadFile(segFile(dir, seq))
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(segFile(dir, seq), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// removeFiles removes the segment files (and indexes) of entries seqs.
func removeFiles(seqs ...uint64) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		for _, seq := range seqs {
			if err := os.Remove(segFile(dir, seq)); err != nil {
				t.Fatal(err)
			}
			os.Remove(strings.TrimSuffix(segFile(dir, seq), ".seg") + ".idx")
		}
	}
}

// tamperCase is a change to the audit log's files and the first problem
// verify must report for it.
type tamperCase struct {
	name    string
	tamper  func(t *testing.T, dir string)
	seq     uint64
	kind    AuditProblemKind
	message string
}

func TestAuditVerifyDetectsTampering(t *testing.T) {
	const n = 10
	otherUser := func(b []byte) []byte { return bytes.Replace(b, []byte(`"user":"u4"`), []byte(`"user":"u9"`), 1) }
	cases := []tamperCase{
		{"altered", rewrite(5, false, otherUser), 5, AuditAltered, "do not match the entry's hash"},
		{"altered with a new hash", rewrite(5, true, otherUser), 5, AuditChainBroken, "entry 5 was replaced"},
		{"removed", removeFiles(4), 4, AuditMissing, "entry 4 is missing"},
		{"removed two", removeFiles(4, 5), 4, AuditMissing, "entries 4 to 5 are missing"},
		{"reordered", func(t *testing.T, dir string) {
			a, err1 := os.ReadFile(segFile(dir, 3))
			b, err2 := os.ReadFile(segFile(dir, 4))
			if err := errors.Join(err1, err2, os.WriteFile(segFile(dir, 3), b, 0o600), os.WriteFile(segFile(dir, 4), a, 0o600)); err != nil {
				t.Fatal(err)
			}
		}, 3, AuditMoved, "the entry stored as 3 is entry 4"},
		{"renumbered", editRecord(6, func(r *auditseg.Record) { r.Seq = 7 }), 6, AuditCorrupt, "the record of entry 6 is numbered 7"},
		{"tail cut", removeFiles(9, 10), 9, AuditTruncated, "entries 9 to 10 were cut"},
		{"head removed", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, auditHeadFile)); err != nil {
				t.Fatal(err)
			}
		}, 10, AuditTruncated, "head record is missing"},
		{"not canonical", rewrite(2, true, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`{"args":`), []byte(`{ "args":`), 1)
		}), 2, AuditCorrupt, "canonical form"},
		{"filed under one organization less", editRecord(6, func(r *auditseg.Record) { r.Orgs = nil }), 6, AuditIndex, "filed under organizations []"},
		{"filed under another organization", editRecord(6, func(r *auditseg.Record) { r.Orgs = []string{"org-a"} }), 6, AuditIndex, `filed under organizations ["org-a"], but the entry concerns ["org-b"]`},
		{"filed under another time", editRecord(6, func(r *auditseg.Record) { r.Time = r.Time.Add(time.Hour) }), 6, AuditIndex, "filed under time"},
		{"damaged on disk", damageSegment(7), 7, AuditCorrupt, "does not read from offset 0 on"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := tamperStore(t)
			appendN(t, s, n)
			if rep := verifyReport(t, s); !rep.OK() {
				t.Fatalf("clean log: %+v", rep)
			}
			s = tamper(t, s, c.tamper)
			rep := verifyReport(t, s)
			if rep.OK() || len(rep.Problems) == 0 {
				t.Fatalf("tampering not detected: %+v", rep)
			}
			p := rep.Problems[0]
			if p.Seq != c.seq || p.Kind != c.kind || !strings.Contains(p.Detail, c.message) {
				t.Errorf("first problem = %v, want entry %d: %s: …%s…", p, c.seq, c.kind, c.message)
			}
		})
	}
}

// TestAuditRefusesToOverwrite: a log whose head is missing, whose tail was
// cut or whose last segment is damaged takes no more entries, which would
// overwrite the evidence, and says so with ErrCorrupt; it still reads and
// verifies.
func TestAuditRefusesToOverwrite(t *testing.T) {
	for _, c := range []struct {
		name   string
		tamper func(t *testing.T, dir string)
		left   uint64
	}{
		{"head removed", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, auditHeadFile)) }, 3},
		{"tail cut", removeFiles(3), 2},
		{"last segment damaged", damageSegment(3), 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := tamperStore(t)
			appendN(t, s, 3)
			s = tamper(t, s, c.tamper)
			_, err := s.AppendAudit(context.Background(), AuditEntry{Operation: "op", Outcome: AuditOK})
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "verband audit verify") {
				t.Fatalf("append: %v, want ErrCorrupt naming verband audit verify", err)
			}
			if rep := verifyReport(t, s); rep.Entries != c.left || rep.OK() {
				t.Errorf("report after the refused append: %+v, want %d entries and a problem", rep, c.left)
			}
			// Closing the store does not write a head over the evidence.
			s = tamper(t, s, func(*testing.T, string) {})
			if rep := verifyReport(t, s); rep.OK() {
				t.Errorf("reopened, the log verifies: %+v", rep)
			}
		})
	}
}

func TestAuditBoundsEntries(t *testing.T) {
	s := openAuditStore(t, t.TempDir(), false)
	data := strings.Repeat("{\"type\":\"indicator\"}", 50_000) // 1 MB, as an ingest payload
	args, err := json.Marshal(map[string]any{
		"query":         "mutation Ingest($input: IngestInput!) { ingest(input: $input) { created } }",
		"operationName": "Ingest",
		"variables":     map[string]any{"input": map[string]any{"data": data, "source": "feed-x"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, MaxAuditIDs+50)
	for i := range ids {
		ids[i] = fmt.Sprintf("ipv4-addr--%036d", i)
	}
	e, err := s.AppendAudit(context.Background(), AuditEntry{Operation: "graphql:Ingest", Args: args, IDs: ids, Outcome: AuditOK,
		Viewer: AuditViewer{Org: "org-a"}, Errors: []string{strings.Repeat("x", 5000)}})
	if err != nil {
		t.Fatal(err)
	}
	canon, err := schema.CanonicalJSON(args)
	if err != nil {
		t.Fatal(err)
	}
	if e.ArgsBytes != int64(len(canon)) || e.ArgsSHA256 != sha256Hex(canon) {
		t.Errorf("args size and hash %d %s, want those of the canonical arguments (%d bytes)", e.ArgsBytes, e.ArgsSHA256, len(canon))
	}
	if len(e.Args) > MaxAuditArgs {
		t.Errorf("kept %d bytes of arguments, want at most %d", len(e.Args), MaxAuditArgs)
	}
	var kept struct {
		Query     string
		Variables struct {
			Input struct {
				Source string
				Data   struct {
					Truncated struct {
						Bytes  int64
						SHA256 string
					} `json:"$truncated"`
				}
			}
		}
	}
	if err := json.Unmarshal(e.Args, &kept); err != nil {
		t.Fatalf("kept arguments %s: %v", e.Args, err)
	}
	dataCanon := schema.AppendJSONString(nil, data)
	if kept.Query == "" || kept.Variables.Input.Source != "feed-x" ||
		kept.Variables.Input.Data.Truncated.Bytes != int64(len(dataCanon)) || kept.Variables.Input.Data.Truncated.SHA256 != sha256Hex(dataCanon) {
		t.Errorf("kept arguments %s: want the query and source whole, data as size and hash", e.Args)
	}
	if len(e.IDs) != MaxAuditIDs || e.IDCount != int64(len(ids)) || e.IDs[0] != ids[0] {
		t.Errorf("ids: kept %d, count %d; want %d and %d", len(e.IDs), e.IDCount, MaxAuditIDs, len(ids))
	}
	if len(e.Errors[0]) != maxAuditString {
		t.Errorf("error kept at %d bytes, want %d", len(e.Errors[0]), maxAuditString)
	}
	want := []string{"errors", "ids", "args.variables.input.data"}
	if !slices.Equal(e.Truncated, want) {
		t.Errorf("truncated = %q, want %q", e.Truncated, want)
	}
	// Small arguments are kept whole, in canonical form.
	small, err := s.AppendAudit(context.Background(), AuditEntry{Operation: "op", Args: json.RawMessage(`{ "b": 1.0, "a": "x" }`)})
	if err != nil {
		t.Fatal(err)
	}
	if string(small.Args) != `{"a":"x","b":1}` || len(small.Truncated) != 0 {
		t.Errorf("small arguments kept as %s, truncated %q", small.Args, small.Truncated)
	}
	// Arguments that are not JSON are replaced whole.
	bad, err := s.AppendAudit(context.Background(), AuditEntry{Operation: "op", Args: json.RawMessage(`{"a":`)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(bad.Args, []byte(`{"$truncated":{"bytes":5,`)) || !slices.Equal(bad.Truncated, []string{"args"}) {
		t.Errorf("bad arguments kept as %s, truncated %q", bad.Args, bad.Truncated)
	}
	if rep := verifyReport(t, s); !rep.OK() {
		t.Errorf("report %+v", rep)
	}
}

func TestAuditShrinkKeepsSmallMembers(t *testing.T) {
	big := strings.Repeat("a", 4000)
	raw := json.RawMessage(fmt.Sprintf(`{"list":["%s","%s","x"],"n":7,"s":"%s"}`, big, big, big))
	var cut []string
	out, n, _ := boundJSON(raw, 2000, "args", &cut)
	if n != int64(len(raw)) {
		t.Errorf("size %d, want %d", n, len(raw))
	}
	if len(out) > 2000 {
		t.Errorf("kept %d bytes, want at most 2000: %s", len(out), out)
	}
	var v struct {
		List []json.RawMessage
		N    int
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	if v.N != 7 || len(v.List) != 3 || string(v.List[2]) != `"x"` {
		t.Errorf("kept %s: want n, the list's shape and its short element", out)
	}
	if !slices.Equal(cut, []string{"args.list[0]", "args.list[1]", "args.s"}) && !slices.Equal(cut, []string{"args.s", "args.list[0]", "args.list[1]"}) {
		t.Errorf("cut %q", cut)
	}
}

func TestAuditEntriesFilter(t *testing.T) {
	s := openAuditStore(t, t.TempDir(), false)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tick := 0
	old := auditClock
	auditClock = func() time.Time { tick++; return base.Add(time.Duration(tick) * time.Minute) }
	t.Cleanup(func() { auditClock = old })
	appendN(t, s, 10) // odd seqs org-a, even seqs org-b; seq i at base + i minutes
	// An entry that concerns both organizations, as a hit/no-hit answer does.
	both, err := s.AppendAudit(context.Background(), AuditEntry{Viewer: AuditViewer{Org: "org-a"}, Orgs: []string{"org-b"}, Operation: "hit"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(both.Orgs, []string{"org-a", "org-b"}) {
		t.Errorf("orgs %q", both.Orgs)
	}
	seqs := func(f AuditFilter) []uint64 {
		var out []uint64
		if err := s.AuditEntries(context.Background(), f, func(e AuditEntry) bool { out = append(out, e.Seq); return true }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    AuditFilter
		want []uint64
	}{
		{"all", AuditFilter{}, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{"org-b", AuditFilter{Org: "org-b"}, []uint64{2, 4, 6, 8, 10, 11}},
		{"org-a after 5", AuditFilter{Org: "org-a", After: 5}, []uint64{7, 9, 11}},
		{"newest first, limit 3", AuditFilter{Newest: true, Limit: 3}, []uint64{11, 10, 9}},
		{"org-a newest first before 7", AuditFilter{Org: "org-a", Newest: true, Before: 7}, []uint64{5, 3, 1}},
		{"between", AuditFilter{After: 2, Before: 6}, []uint64{3, 4, 5}},
		{"since, until", AuditFilter{Since: base.Add(4 * time.Minute), Until: base.Add(7 * time.Minute)}, []uint64{4, 5, 6}},
		{"unknown org", AuditFilter{Org: "org-z"}, nil},
	} {
		if got := seqs(c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// BenchmarkAuditAppend appends entries the size of an API request's from
// 16 goroutines, with the default flush interval.
func BenchmarkAuditAppend(b *testing.B) {
	s := openAuditStore(b, b.TempDir(), true)
	e := AuditEntry{Viewer: AuditViewer{Org: "org-a", User: "alice", Role: "reader", TokenID: "00000000000000aa"},
		Operation: "graphql:Search", Args: json.RawMessage(`{"query":"query Search($q: String!) { search(query: $q) { edges { node { stixId } } } }","variables":{"q":"emotet"}}`),
		IDs: []string{"malware--00000000-0000-4000-8000-000000000001", "indicator--00000000-0000-4000-8000-000000000002"}, Outcome: AuditOK}
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.AppendAudit(context.Background(), e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// writeLegacyAudit writes n chained entries after base into db under the
// keys of formats 1 to 3, with the base and the head, as an older build
// did, and returns them.
func writeLegacyAudit(t *testing.T, db *badger.DB, base AuditBase, n int) []AuditEntry {
	t.Helper()
	prev := hashOrZero(base.Hash)
	var out []AuditEntry
	if err := db.Update(func(txn *badger.Txn) error {
		for i := range n {
			seq := base.Seq + uint64(i) + 1
			e := prepareAudit(AuditEntry{Viewer: AuditViewer{Org: []string{"org-a", "org-b"}[seq%2]}, Operation: "graphql:Q", Outcome: AuditOK})
			e.Seq, e.Prev, e.Time = seq, prev, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(seq)*time.Minute)
			body := appendAuditJSON(nil, &e, false)
			hash := sha256.Sum256(body)
			e.Hash, prev = hex.EncodeToString(hash[:]), hex.EncodeToString(hash[:])
			if err := txn.Set(auditEntryKey(seq), encodeAuditValue(hash, body)); err != nil {
				return err
			}
			out = append(out, e)
		}
		if base.Seq > 0 {
			if err := txn.Set(auditBaseKey(), encodeAuditBase(base)); err != nil {
				return err
			}
		}
		h, _ := hex.DecodeString(prev)
		return txn.Set(auditHeadKey(), append(binary.BigEndian.AppendUint64(nil, base.Seq+uint64(n)), h...))
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// legacyStore makes a store of format (1 to 3) whose audit log an older
// build kept in Badger: for format 1 in the graph database, else in the
// audit database. It returns the entries and the options.
func legacyStore(t *testing.T, dir string, format uint32, base AuditBase, n int) ([]AuditEntry, Options) {
	t.Helper()
	opts := DefaultOptions()
	opts.Search = false
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	var old []AuditEntry
	if format == formatAuditInGraph {
		old = writeLegacyAudit(t, s.db, base, n)
	} else {
		db, err := badger.Open(badger.DefaultOptions(filepath.Join(dir, legacyAuditDirName)).WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		old = writeLegacyAudit(t, db, base, n)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	closeAsFormat(t, s, format)
	if err := os.RemoveAll(filepath.Join(dir, auditDirName)); err != nil {
		t.Fatal(err)
	}
	return old, opts
}

// TestAuditConvertsFromBadger opens stores of formats 1 to 3, which kept
// the audit log in Badger: read-only the log cannot be read, and opened
// for writing it is converted to segments, whole, so that the chain, the
// base and the head carry over, exports made before still match, and new
// entries continue the chain. A conversion that a crash interrupted is
// started again.
func TestAuditConvertsFromBadger(t *testing.T) {
	for _, c := range []struct {
		format uint32
		base   AuditBase
	}{
		{formatAuditInGraph, AuditBase{}},
		{2, AuditBase{}},
		{3, AuditBase{Seq: 4, Hash: strings.Repeat("ab", 32), Time: time.Date(2025, 1, 1, 0, 4, 0, 0, time.UTC)}},
	} {
		t.Run(fmt.Sprintf("format %d", c.format), func(t *testing.T) {
			dir := t.TempDir()
			old, opts := legacyStore(t, dir, c.format, c.base, 7)
			ro := opts
			ro.ReadOnly = true
			r, err := Open(dir, ro)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.AuditVerify(context.Background()); !errors.Is(err, ErrFormatVersion) || !strings.Contains(err.Error(), "open the store once for writing") {
				t.Errorf("read-only verify of the old layout: %v, want ErrFormatVersion saying how to convert", err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			// What an interrupted conversion leaves.
			for _, d := range []string{auditDirName, auditDirName + ".converting"} {
				if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, d, fmt.Sprintf("%020d.seg", 1)), []byte("half"), 0o600); err != nil {
					t.Fatal(err)
				}
			}

			s := openAuditStore(t, dir, true)
			if s.format != FormatVersion {
				t.Errorf("format %d after the conversion, want %d", s.format, FormatVersion)
			}
			rep := verifyReport(t, s)
			if !rep.OK() || rep.Entries != 7 || rep.HeadSeq != old[6].Seq || rep.HeadHash != old[6].Hash {
				t.Errorf("report after the conversion: %+v", rep)
			}
			if c.base.Seq > 0 && (rep.Base == nil || *rep.Base != c.base) {
				t.Errorf("base after the conversion: %+v, want %+v", rep.Base, c.base)
			}
			var got []string
			if err := s.AuditEntries(context.Background(), AuditFilter{Org: "org-b"}, func(e AuditEntry) bool {
				got = append(got, e.Hash)
				return true
			}); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, e := range old {
				if e.Orgs[0] == "org-b" {
					want = append(want, e.Hash)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("org-b's entries after the conversion: %v, want %v", got, want)
			}
			checkNoLegacyAudit(t, s)
			next := appendN(t, s, 1)[0]
			if next.Seq != old[6].Seq+1 || next.Prev != old[6].Hash {
				t.Errorf("entry appended after the conversion: seq %d prev %s, want %d after %s", next.Seq, next.Prev, old[6].Seq+1, old[6].Hash)
			}
			if rep := verifyReport(t, s); !rep.OK() || rep.Entries != 8 {
				t.Errorf("report after appending: %+v", rep)
			}
		})
	}
}

// TestAuditConversionFinishesAfterACrash: a crash after the format
// changed, before the old log was removed, leaves the audit database and,
// from format 1, audit keys in the graph database; the next open removes
// both and keeps the converted log.
func TestAuditConversionFinishesAfterACrash(t *testing.T) {
	dir := t.TempDir()
	old, opts := legacyStore(t, dir, formatAuditInGraph, AuditBase{}, 3)
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Put back what the removal would have removed.
	writeLegacyAudit(t, s.db, AuditBase{}, 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(dir, legacyAuditDirName)).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	writeLegacyAudit(t, db, AuditBase{}, 2)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAuditStore(t, dir, true)
	checkNoLegacyAudit(t, s)
	if rep := verifyReport(t, s); !rep.OK() || rep.Entries != 3 || rep.HeadHash != old[2].Hash {
		t.Errorf("report: %+v", rep)
	}
}

// checkNoLegacyAudit fails t when s holds anything of an old audit log:
// the audit database or audit keys in the graph database.
func checkNoLegacyAudit(t *testing.T, s *Store) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(s.dir, legacyAuditDirName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the old audit database is still there: %v", err)
	}
	if err := s.db.View(func(txn *badger.Txn) error {
		if hasKeys(txn, []byte{tagAudit}) {
			t.Error("audit keys left in the graph database")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestAuditConversionRefusesAGap: an old log with an entry missing cannot
// be held by segments; the store does not open for writing, and the old
// log stays as it was, with the store's format.
func TestAuditConversionRefusesAGap(t *testing.T) {
	dir := t.TempDir()
	_, opts := legacyStore(t, dir, 3, AuditBase{}, 5)
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(dir, legacyAuditDirName)).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Delete(auditEntryKey(3)) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, opts)
	if err == nil {
		s.Close()
		t.Fatal("a log with a gap was converted")
	}
	if !errors.Is(err, ErrCorrupt) || !containsAll(err.Error(), "lacks entry 3", "the store was not changed") {
		t.Errorf("open: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, auditDirName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a half-converted log was left: %v", err)
	}
	ro := opts
	ro.ReadOnly = true
	r, err := Open(dir, ro)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.format != 3 {
		t.Errorf("format %d after the refused conversion, want 3", r.format)
	}
}

// closeAsFormat records format as the store's format version, as an
// older build wrote it, and closes the store.
func closeAsFormat(t *testing.T, s *Store, format uint32) {
	t.Helper()
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(keyFormatVersion, binary.BigEndian.AppendUint32(nil, format))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestAuditEntriesAcrossSegments spreads the log over many segments (of
// three or four entries) and checks every kind of filter, and the count of
// what it keeps, against the entries filtered one by one, before and after
// a prune: an auditor must
// see the same entries of an organization however the log is cut.
func TestAuditEntriesAcrossSegments(t *testing.T) {
	base := fakeAuditClock(t)
	opts := DefaultOptions()
	opts.Search, opts.SyncWrites, opts.AuditSegmentBytes = false, false, 1200
	dir := t.TempDir()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	appendN(t, s, 29)
	// Entries for both organizations, and for none, in some segments.
	for i, orgs := range [][]string{{"org-a", "org-b"}, nil, {"org-b"}, {"org-a", "org-b"}} {
		if _, err := s.AppendAudit(context.Background(), AuditEntry{Orgs: orgs, Operation: "graphql:Q", Args: json.RawMessage(fmt.Sprint(i)), Outcome: AuditOK}); err != nil {
			t.Fatal(err)
		}
	}
	segs := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, auditDirName, "*.seg"))
		return m
	}
	if n := len(segs()); n < 8 {
		t.Fatalf("%d segments, want the log spread over many", n)
	}
	var all []AuditEntry
	if err := s.AuditEntries(context.Background(), AuditFilter{}, func(e AuditEntry) bool { all = append(all, e); return true }); err != nil {
		t.Fatal(err)
	}
	check := func(stage string, kept func(seq uint64) bool) {
		t.Helper()
		for _, org := range []string{"org-a", "org-b", "org-c", ""} {
			for _, f := range []AuditFilter{
				{}, {After: 6}, {Before: 13}, {After: 3, Before: 21}, {After: 14, Before: 15},
				{Limit: 5}, {Newest: true}, {Newest: true, Limit: 6}, {Newest: true, After: 9, Before: 27},
				{Since: base.Add(10 * time.Minute), Until: base.Add(20 * time.Minute)},
				{Org: org, Newest: true, Since: base.Add(12 * time.Minute)},
				{After: 100}, {Before: 1},
			} {
				f.Org = org
				var want []uint64
				for _, e := range all {
					if kept(e.Seq) && (org == "" || slices.Contains(e.Orgs, org)) && e.Seq > f.After && (f.Before == 0 || e.Seq < f.Before) &&
						(f.Since.IsZero() || !e.Time.Before(f.Since)) && (f.Until.IsZero() || e.Time.Before(f.Until)) {
						want = append(want, e.Seq)
					}
				}
				if n, err := s.AuditCount(f); err != nil || n != len(want) {
					t.Errorf("%s: %+v: count %d, %v; want %d", stage, f, n, err, len(want))
				}
				if f.Newest {
					slices.Reverse(want)
				}
				if f.Limit > 0 && len(want) > f.Limit {
					want = want[:f.Limit]
				}
				if got := auditSeqs(t, s, f); !slices.Equal(got, want) {
					t.Errorf("%s: %+v: %v, want %v", stage, f, got, want)
				}
			}
		}
		if rep := verifyReport(t, s); !rep.OK() {
			t.Errorf("%s: verify: %v", stage, rep.Problems)
		}
	}
	check("33 entries", func(uint64) bool { return true })
	before := len(segs())
	res, err := s.PruneAudit(context.Background(), base.Add(11*time.Minute), nil)
	if err != nil || res.Pruned != 10 {
		t.Fatalf("prune: %+v, %v", res, err)
	}
	check("after pruning 10 entries", func(seq uint64) bool { return seq > 10 })
	// The segments all of whose entries were pruned are gone; the first
	// left holds entry 11.
	left := segs()
	if res.SegmentsRemoved == 0 || len(left) != before-res.SegmentsRemoved {
		t.Errorf("%d segments before, %d after, %d removed", before, len(left), res.SegmentsRemoved)
	}
	first := func(name string) uint64 {
		n, _ := strconv.ParseUint(strings.TrimSuffix(filepath.Base(name), ".seg"), 10, 64)
		return n
	}
	if first(left[0]) > 11 || first(left[1]) <= 11 {
		t.Errorf("the first segments left begin at %d and %d; want the first to hold entry 11", first(left[0]), first(left[1]))
	}
}

// TestAuditFlush checks the two durability modes of the audit log: with
// an interval, appends return without a flush and the flusher writes them
// to disk; without one, every append waits for a flush.
func TestAuditFlush(t *testing.T) {
	opts := DefaultOptions()
	opts.Search = false
	opts.AuditFlushInterval = 5 * time.Millisecond
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.audit.flush == nil {
		t.Fatal("with a flush interval, nothing flushes the audit log")
	}
	appendN(t, s, 3)
	// The head records the entries flushed, once they are on disk.
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, ok, err := readAuditHeadFile(s.audit.dir)
		if err != nil {
			t.Fatal(err)
		}
		if ok && h.seq == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the flusher did not write the appended entries to disk within 5 s: head %+v", h)
		}
		time.Sleep(time.Millisecond)
	}

	opts.AuditFlushInterval = 0
	strict, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	if strict.audit.flush != nil {
		t.Error("without a flush interval, a flusher runs")
	}
	// Each append returns once its entry is on disk, and the head names it.
	appendN(t, strict, 2)
	if h, ok, err := readAuditHeadFile(strict.audit.dir); err != nil || !ok || h.seq != 2 {
		t.Errorf("head after two strict appends: %+v %v %v, want entry 2", h, ok, err)
	}
}

// TestAuditRefusesAppendsWhileFlushesFail: when the audit log cannot be
// written to disk, appends fail (so requests go unanswered) until a flush
// succeeds again, and AuditErr says why.
func TestAuditRefusesAppendsWhileFlushesFail(t *testing.T) {
	opts := DefaultOptions()
	opts.Search = false
	opts.AuditFlushInterval = time.Hour // the test flushes by hand
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := s.audit.flush
	appendN(t, s, 2)
	diskFull := errors.New("no space left on device")
	s.flushAuditOnce(f, func() error { return diskFull })
	if err := s.AuditErr(); !errors.Is(err, diskFull) {
		t.Fatalf("AuditErr after a failed flush = %v", err)
	}
	_, err = s.AppendAudit(context.Background(), AuditEntry{Viewer: AuditViewer{Org: "org-a"}, Operation: "graphql:Q", Outcome: AuditOK})
	if !errors.Is(err, diskFull) || !strings.Contains(err.Error(), "could not be written to disk") {
		t.Fatalf("append while flushes fail: %v", err)
	}
	// The entries committed before stay waiting for a flush.
	s.flushAuditOnce(f, s.audit.sync)
	if err := s.AuditErr(); err != nil {
		t.Fatalf("AuditErr after a good flush = %v", err)
	}
	if f.dirty.Load() {
		t.Error("the good flush left entries waiting")
	}
	if e := appendN(t, s, 1)[0]; e.Seq != 3 {
		t.Errorf("append after recovery got entry %d, want 3", e.Seq)
	}
}
