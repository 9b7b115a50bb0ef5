package graph

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

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

// tamper changes the audit database's keys directly, as someone with
// access to the data directory could.
func tamper(t *testing.T, s *Store, fn func(txn *badger.Txn) error) {
	t.Helper()
	if err := s.auditDB.Update(fn); err != nil {
		t.Fatalf("tamper: %v", err)
	}
}

func getValue(txn *badger.Txn, k []byte) ([]byte, error) {
	item, err := txn.Get(k)
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

// rewrite replaces the body of entry seq by edit(body), keeping the stored
// hash unless rehash is set.
func rewrite(seq uint64, rehash bool, edit func(body []byte) []byte) func(txn *badger.Txn) error {
	return func(txn *badger.Txn) error {
		v, err := getValue(txn, auditEntryKey(seq))
		if err != nil {
			return err
		}
		hash, body, err := splitAuditValue(v)
		if err != nil {
			return err
		}
		body = edit(slices.Clone(body))
		if rehash {
			hash = sha256.Sum256(body)
		}
		return txn.Set(auditEntryKey(seq), encodeAuditValue(hash, body))
	}
}

// tamperCase is a change to the audit database and the first problem
// verify must report for it.
type tamperCase struct {
	name    string
	tamper  func(txn *badger.Txn) error
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
		{"removed", func(txn *badger.Txn) error { return txn.Delete(auditEntryKey(4)) }, 4, AuditMissing, "entry 4 is missing"},
		{"removed two", func(txn *badger.Txn) error {
			return errors.Join(txn.Delete(auditEntryKey(4)), txn.Delete(auditEntryKey(5)))
		}, 4, AuditMissing, "entries 4 to 5 are missing"},
		{"reordered", func(txn *badger.Txn) error {
			a, err1 := getValue(txn, auditEntryKey(3))
			b, err2 := getValue(txn, auditEntryKey(4))
			if err := errors.Join(err1, err2); err != nil {
				return err
			}
			return errors.Join(txn.Set(auditEntryKey(3), b), txn.Set(auditEntryKey(4), a))
		}, 3, AuditMoved, "the entry stored as 3 is entry 4"},
		{"tail cut", func(txn *badger.Txn) error {
			return errors.Join(txn.Delete(auditEntryKey(9)), txn.Delete(auditEntryKey(10)))
		}, 9, AuditTruncated, "entries 9 to 10 were cut"},
		{"head removed", func(txn *badger.Txn) error { return txn.Delete(auditHeadKey()) }, 10, AuditTruncated, "head record is missing"},
		{"not canonical", rewrite(2, true, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`{"args":`), []byte(`{ "args":`), 1)
		}), 2, AuditCorrupt, "canonical form"},
		{"index entry removed", func(txn *badger.Txn) error { return txn.Delete(auditIndex{}.key("org-b", 6)) }, 6, AuditIndex, "not indexed under organization \"org-b\""},
		{"index entry added", func(txn *badger.Txn) error { return txn.Set(auditIndex{}.key("org-a", 6), nil) }, 6, AuditIndex, "does not concern it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := openAuditStore(t, t.TempDir(), false)
			appendN(t, s, n)
			if rep := verifyReport(t, s); !rep.OK() {
				t.Fatalf("clean log: %+v", rep)
			}
			tamper(t, s, c.tamper)
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

func TestAuditRefusesToOverwrite(t *testing.T) {
	s := reopened(t, func(s *Store) {
		appendN(t, s, 3)
		tamper(t, s, func(txn *badger.Txn) error { return txn.Delete(auditHeadKey()) })
	})
	_, err := s.AppendAudit(context.Background(), AuditEntry{Operation: "op", Outcome: AuditOK})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("append to a log without head: %v, want ErrCorrupt", err)
	}
	if rep := verifyReport(t, s); rep.Entries != 3 {
		t.Errorf("entries after the refused append: %d, want 3", rep.Entries)
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

func TestAuditKeysRoundTrip(t *testing.T) {
	layouts := []auditIndex{{}, {flat: true}}
	for _, seq := range []uint64{1, 255, 256, 1<<auditBucketBits - 1, 1 << auditBucketBits, 1 << 40} {
		if got, err := parseAuditEntryKey(auditEntryKey(seq)); err != nil || got != seq {
			t.Errorf("entry key %d: %d %v", seq, got, err)
		}
		for _, x := range layouts {
			for _, org := range []string{"", "org-a", strings.Repeat("o", 300)} {
				o, got, err := x.parse(x.key(org, seq))
				if err != nil || o != org || got != seq {
					t.Errorf("org key %q %d (flat %v): %q %d %v", org, seq, x.flat, o, got, err)
				}
			}
		}
	}
	if bytes.Compare(auditEntryKey(255), auditEntryKey(256)) >= 0 {
		t.Error("entry keys do not sort by sequence number")
	}
	for _, x := range layouts {
		// An organization whose name starts with another's has its own prefix.
		if bytes.HasPrefix(x.key("org-ab", 1), x.prefix("org-a", 0)) {
			t.Errorf("org prefix of org-a matches org-ab (flat %v)", x.flat)
		}
		for _, k := range [][]byte{nil, {tagAudit}, {tagAudit, subAuditEntry, 1}, append(x.space(), 0, 9, 'a')} {
			_, err1 := parseAuditEntryKey(k)
			_, _, err2 := x.parse(k)
			if !errors.Is(err1, errBadKey) || !errors.Is(err2, errBadKey) {
				t.Errorf("key %x accepted (flat %v): %v %v", k, x.flat, err1, err2)
			}
		}
	}
	// A key whose bucket is not the bucket of its sequence number is not
	// an index key.
	x := auditIndex{}
	if _, _, err := x.parse(binary.BigEndian.AppendUint64(x.prefix("org-a", 0), 1<<auditBucketBits)); !errors.Is(err, errBadKey) {
		t.Errorf("index key in the wrong bucket accepted: %v", err)
	}
}

// TestAuditKeysStayAtTheTail checks the property the bucketed index is
// for: the keys an append writes span no older key but those of the
// current bucket, so that the LSM tree's compactions rewrite only the tail
// of the log however long it grows.
func TestAuditKeysStayAtTheTail(t *testing.T) {
	x := auditIndex{}
	const bucket = 1 << auditBucketBits
	for _, seq := range []uint64{bucket, 5*bucket + 17, 9*bucket - 1} {
		// The keys of appending entry seq for two organizations.
		lo := auditEntryKey(seq)
		hi := slices.MaxFunc([][]byte{lo, auditHeadKey(), x.key("org-a", seq), x.key("org-z", seq)}, bytes.Compare)
		// Older keys outside the current bucket.
		var old [][]byte
		for _, prev := range []uint64{1, seq - bucket, bucket*uint64(x.bucket(seq)) - 1} {
			old = append(old, auditEntryKey(prev), x.key("org-a", prev), x.key("org-m", prev), x.key("org-z", prev))
		}
		for _, k := range old {
			if bytes.Compare(k, lo) >= 0 && bytes.Compare(k, hi) <= 0 {
				t.Errorf("appending entry %d writes keys from %x to %x, which span the older key %x", seq, lo, hi, k)
			}
		}
	}
}

// FuzzParseAuditKeys checks that what parses as an audit key rebuilds to
// the same bytes, and that no input makes the parsers or the entry decoder
// panic.
func FuzzParseAuditKeys(f *testing.F) {
	f.Add(auditEntryKey(7))
	f.Add(auditIndex{}.key("org-a", 9))
	f.Add(auditIndex{flat: true}.key("org-a", 9))
	f.Add([]byte(`{"args":null}`))
	f.Fuzz(func(t *testing.T, k []byte) {
		if seq, err := parseAuditEntryKey(k); err == nil && !bytes.Equal(auditEntryKey(seq), k) {
			t.Errorf("entry key %x rebuilt as %x", k, auditEntryKey(seq))
		}
		for _, x := range []auditIndex{{}, {flat: true}} {
			if org, seq, err := x.parse(k); err == nil && !bytes.Equal(x.key(org, seq), k) {
				t.Errorf("org key %x rebuilt as %x (flat %v)", k, x.key(org, seq), x.flat)
			}
		}
		_, _ = readAuditEntry(k)
		var cut []string
		if out, _, _ := boundJSON(k, 256, "args", &cut); len(out) > 0 && !json.Valid(out) {
			t.Errorf("bounded %q to invalid JSON %q", k, out)
		}
	})
}

// BenchmarkAuditAppend appends from many goroutines at once with synchronous
// writes (the default), committing concurrent appends together ("batched")
// or one commit per entry ("one-per-commit"). Compare entries/s.
func BenchmarkAuditAppend(b *testing.B) {
	for _, bc := range []struct {
		name  string
		batch int
	}{{"batched", 0}, {"one-per-commit", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			s := openAuditStore(b, b.TempDir(), true)
			s.audit.batchSize = bc.batch
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
		})
	}
}

// TestAuditMovesToItsOwnDatabase opens a store whose audit log an older
// build kept in the graph database: read-only it reads the log there, and
// opened for writing it moves the log into the audit database, whole, so
// that the chain verifies and new entries continue it.
func TestAuditMovesToItsOwnDatabase(t *testing.T) {
	dir := t.TempDir()
	opts := DefaultOptions()
	opts.Search = false
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Write as the older build did: into the graph database.
	if err := s.closeAuditDB(); err != nil {
		t.Fatal(err)
	}
	s.auditDB, s.auditFlush = s.db, nil
	old := appendN(t, s, 5)
	flattenAuditIndex(t, s.db)
	closeAsFormat(t, s, formatAuditInGraph)
	if err := os.RemoveAll(filepath.Join(dir, auditDirName)); err != nil {
		t.Fatal(err)
	}

	ro := opts
	ro.ReadOnly = true
	r, err := Open(dir, ro)
	if err != nil {
		t.Fatal(err)
	}
	if rep := verifyReport(t, r); !rep.OK() || rep.Entries != 5 {
		t.Errorf("read-only report of the old layout: %+v", rep)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAuditStore(t, dir, true)
	if rep := verifyReport(t, s); !rep.OK() || rep.Entries != 5 {
		t.Errorf("report after the move: %+v", rep)
	}
	var got []AuditEntry
	if err := s.AuditEntries(context.Background(), AuditFilter{Org: "org-b"}, func(e AuditEntry) bool {
		got = append(got, e)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Hash != old[1].Hash || got[1].Hash != old[3].Hash {
		t.Errorf("org-b's entries after the move: %+v", got)
	}
	if err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagAudit}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			t.Errorf("audit key %q left in the graph database", it.Item().Key())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if s.format != FormatVersion {
		t.Errorf("format %d after the move, want %d", s.format, FormatVersion)
	}
	next := appendN(t, s, 1)[0]
	if next.Seq != 6 || next.Prev != old[4].Hash {
		t.Errorf("entry appended after the move: seq %d prev %s, want 6 after %s", next.Seq, next.Prev, old[4].Hash)
	}
	if rep := verifyReport(t, s); !rep.OK() || rep.Entries != 6 {
		t.Errorf("report after appending: %+v", rep)
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

// flattenAuditIndex rewrites the organization index of the audit log in
// db in the flat layout of format 2, as an older build wrote it.
func flattenAuditIndex(t *testing.T, db *badger.DB) {
	t.Helper()
	flat, bucketed := auditIndex{flat: true}, auditIndex{}
	if err := db.Update(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: bucketed.space()})
		var keys [][]byte
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		it.Close()
		for _, k := range keys {
			org, seq, err := bucketed.parse(k)
			if err != nil {
				return err
			}
			if err := txn.Delete(k); err != nil {
				return err
			}
			if err := txn.Set(flat.key(org, seq), nil); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestAuditIndexUpgrade opens a store of format 2, whose audit log is
// indexed by organization alone: read-only it reads that index, and
// opened for writing it indexes the log by bucket, drops the old index,
// and becomes format 3, with every organization's entries where they were.
func TestAuditIndexUpgrade(t *testing.T) {
	dir := t.TempDir()
	s := openAuditStore(t, dir, true)
	old := appendN(t, s, 7)
	flattenAuditIndex(t, s.auditDB)
	closeAsFormat(t, s, formatAuditFlatIndex)
	orgB := []uint64{2, 4, 6}

	ro := DefaultOptions()
	ro.Search, ro.ReadOnly = false, true
	r, err := Open(dir, ro)
	if err != nil {
		t.Fatal(err)
	}
	if rep := verifyReport(t, r); !rep.OK() || rep.Entries != 7 {
		t.Errorf("read-only report of the flat index: %+v", rep)
	}
	if got := auditSeqs(t, r, AuditFilter{Org: "org-b"}); !slices.Equal(got, orgB) {
		t.Errorf("org-b's entries read-only: %v, want %v", got, orgB)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAuditStore(t, dir, true)
	if s.format != FormatVersion {
		t.Errorf("format %d after the upgrade, want %d", s.format, FormatVersion)
	}
	if got := auditSeqs(t, s, AuditFilter{Org: "org-b"}); !slices.Equal(got, orgB) {
		t.Errorf("org-b's entries after the upgrade: %v, want %v", got, orgB)
	}
	if err := s.auditDB.View(func(txn *badger.Txn) error {
		if hasKeys(txn, auditIndex{flat: true}.space()) {
			t.Error("keys of the flat index were left after the upgrade")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	next := appendN(t, s, 1)[0]
	if next.Seq != 8 || next.Prev != old[6].Hash {
		t.Errorf("entry appended after the upgrade: seq %d prev %s, want 8 after %s", next.Seq, next.Prev, old[6].Hash)
	}
	if rep := verifyReport(t, s); !rep.OK() || rep.Entries != 8 {
		t.Errorf("report after the upgrade: %+v", rep)
	}
}

// TestAuditIndexUpgradeAfterCrash opens a store of format 2 whose
// upgrade stopped after copying the index and before dropping the flat
// one: the upgrade runs again and leaves one index, whole.
func TestAuditIndexUpgradeAfterCrash(t *testing.T) {
	dir := t.TempDir()
	s := openAuditStore(t, dir, true)
	appendN(t, s, 5)
	flattenAuditIndex(t, s.auditDB)
	if err := s.auditDB.Update(func(txn *badger.Txn) error {
		for seq := uint64(1); seq <= 5; seq++ {
			if err := txn.Set(auditIndex{}.key([]string{"org-a", "org-b"}[(seq-1)%2], seq), nil); err != nil {
				return err
			}
		}
		return txn.Set(auditIndex{}.key("org-b", 1), nil) // a key the flat index does not have
	}); err != nil {
		t.Fatal(err)
	}
	closeAsFormat(t, s, formatAuditFlatIndex)
	s = openAuditStore(t, dir, true)
	if got := auditSeqs(t, s, AuditFilter{Org: "org-a"}); !slices.Equal(got, []uint64{1, 3, 5}) {
		t.Errorf("org-a's entries after the second upgrade: %v", got)
	}
	// The stray key is the kind of problem verify exists to find.
	rep := verifyReport(t, s)
	if rep.ProblemCount != 1 || rep.Problems[0].Seq != 1 || rep.Problems[0].Kind != AuditIndex {
		t.Errorf("report after the second upgrade: %+v", rep)
	}
}

// TestAuditEntriesAcrossBuckets fills many buckets of the organization
// index (narrowed to four entries) and checks every kind of filter against
// the entries filtered one by one, before and after a prune: an auditor
// must see the same entries of an organization however the index is cut.
func TestAuditEntriesAcrossBuckets(t *testing.T) {
	base := fakeAuditClock(t)
	s := openAuditStore(t, t.TempDir(), false)
	s.auditIdx.bits = 2
	appendN(t, s, 29)
	// Entries for both organizations, and for none, in some buckets.
	for i, orgs := range [][]string{{"org-a", "org-b"}, nil, {"org-b"}, {"org-a", "org-b"}} {
		if _, err := s.AppendAudit(context.Background(), AuditEntry{Orgs: orgs, Operation: "graphql:Q", Args: json.RawMessage(fmt.Sprint(i)), Outcome: AuditOK}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(stage string) {
		t.Helper()
		var all []AuditEntry
		if err := s.AuditEntries(context.Background(), AuditFilter{}, func(e AuditEntry) bool { all = append(all, e); return true }); err != nil {
			t.Fatal(err)
		}
		for _, org := range []string{"org-a", "org-b", "org-c"} {
			for _, f := range []AuditFilter{
				{}, {After: 6}, {Before: 13}, {After: 3, Before: 21}, {After: 14, Before: 15},
				{Limit: 5}, {Newest: true}, {Newest: true, Limit: 6}, {Newest: true, After: 9, Before: 27},
				{Since: base.Add(10 * time.Minute), Until: base.Add(20 * time.Minute)},
				{After: 100}, {Before: 1},
			} {
				f.Org = org
				var want []uint64
				for _, e := range all {
					if slices.Contains(e.Orgs, org) && e.Seq > f.After && (f.Before == 0 || e.Seq < f.Before) &&
						(f.Since.IsZero() || !e.Time.Before(f.Since)) && (f.Until.IsZero() || e.Time.Before(f.Until)) {
						want = append(want, e.Seq)
					}
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
	check("33 entries in 9 buckets")
	if _, err := s.PruneAudit(context.Background(), base.Add(11*time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	check("after pruning 10 entries")
	if err := s.auditDB.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: s.auditIdx.space()})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if _, seq, err := s.auditIdx.parse(it.Item().Key()); err != nil || seq <= 10 {
				t.Errorf("index key %x left after the prune: entry %d, %v", it.Item().Key(), seq, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestAuditFlush checks the two durability modes of the audit log: with
// an interval, appends are committed without a flush and the flusher
// writes them to disk; without one, every append is flushed in its commit.
func TestAuditFlush(t *testing.T) {
	opts := DefaultOptions()
	opts.Search = false
	opts.AuditFlushInterval = 5 * time.Millisecond
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.auditDB.Opts().SyncWrites || s.auditFlush == nil {
		t.Fatal("with a flush interval, audit commits wait for the disk, or nothing flushes them")
	}
	appendN(t, s, 3)
	deadline := time.Now().Add(5 * time.Second)
	for s.auditFlush.dirty.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the flusher did not write the appended entries to disk within 5 s")
		}
		time.Sleep(time.Millisecond)
	}

	opts.AuditFlushInterval = 0
	strict, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	if !strict.auditDB.Opts().SyncWrites || strict.auditFlush != nil {
		t.Error("without a flush interval, audit commits do not wait for the disk")
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
	f := s.auditFlush
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
	s.flushAuditOnce(f, s.auditDB.Sync)
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
