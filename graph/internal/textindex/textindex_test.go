package textindex

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// testOptions are DefaultOptions with a short persister nap, so that Close,
// which waits for persistence, is quick.
func testOptions() Options {
	o := DefaultOptions()
	o.PersisterNap = 10 * time.Millisecond
	return o
}

// openTest opens an index in a fresh temporary directory and closes it at
// the end of the test.
func openTest(t *testing.T, opts Options) (*Index, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ix")
	ix, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := ix.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ix, dir
}

func day(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, time.UTC) }

// fixture is a small corpus over three classes:
//
//	id  type            class  content
//	1   malware         1      name "Emotet loader", text "banking trojan spread by phishing"
//	2   malware         2      name "TrickBot", text "banking trojan", modified day 5
//	3   ipv4-addr       1      ip 10.1.2.3, modified day 10
//	4   ipv4-addr       2      ip 10.200.0.1, modified day 20
//	5   ipv6-addr       3      ip 2001:db8::1
//	6   domain-name     3      keyword "Evil.Example.com", modified day 10
//	7   attack-pattern  1      name "Process Injection", keyword "T1055"
//	8   file            2      keyword sha256 "ABCDEF…", text "dropped by emotet"
var fixture = []Doc{
	{ID: 1, Type: "malware", Class: 1, Name: "Emotet loader", Text: []string{"banking trojan spread by phishing"}, Modified: day(1)},
	{ID: 2, Type: "malware", Class: 2, Name: "TrickBot", Text: []string{"banking trojan"}, Modified: day(5)},
	{ID: 3, Type: "ipv4-addr", Class: 1, IPs: []string{"10.1.2.3"}, Modified: day(10)},
	{ID: 4, Type: "ipv4-addr", Class: 2, IPs: []string{"10.200.0.1"}, Modified: day(20)},
	{ID: 5, Type: "ipv6-addr", Class: 3, IPs: []string{"2001:db8::1"}},
	{ID: 6, Type: "domain-name", Class: 3, Keywords: []string{"Evil.Example.com"}, Modified: day(10)},
	{ID: 7, Type: "attack-pattern", Class: 1, Name: "Process Injection", Keywords: []string{"T1055"}},
	{ID: 8, Type: "file", Class: 2, Keywords: []string{"ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"}, Text: []string{"dropped by emotet"}},
}

func loadFixture(t *testing.T) *Index {
	t.Helper()
	return loadFixtureShards(t, 1)
}

func loadFixtureShards(t *testing.T, shards int) *Index {
	t.Helper()
	opts := testOptions()
	opts.Shards = shards
	ix, _ := openTest(t, opts)
	if err := ix.Apply(fixture, nil, 8); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return ix
}

func ids(r *Result) []uint64 {
	out := make([]uint64, 0, len(r.Hits))
	for _, h := range r.Hits {
		out = append(out, h.ID)
	}
	return out
}

func sorted(v []uint64) []uint64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v
}

func TestSearchMatches(t *testing.T) {
	ix := loadFixture(t)
	tests := []struct {
		name, text string
		want       []uint64 // sorted
		first      uint64   // expected top hit, 0 for any
	}{
		{"free text", "banking trojan", []uint64{1, 2}, 0},
		{"all words required", "banking phishing", []uint64{1}, 1},
		{"word in name or text", "emotet", []uint64{1, 8}, 1},
		{"exact keyword any case", "evil.example.COM", []uint64{6}, 6},
		{"external id", "t1055", []uint64{7}, 7},
		{"hash", "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789", []uint64{8}, 8},
		{"ipv4", "10.1.2.3", []uint64{3}, 3},
		{"ipv6 any spelling", "2001:DB8:0::1", []uint64{5}, 5},
		{"cidr v4", "10.0.0.0/8", []uint64{3, 4}, 0},
		{"cidr v4 narrow", "10.200.0.0/16", []uint64{4}, 4},
		{"cidr v6", "2001:db8::/32", []uint64{5}, 5},
		{"empty", "", []uint64{1, 2, 3, 4, 5, 6, 7, 8}, 0},
		{"query string field", "name:trickbot", []uint64{2}, 2},
		{"query string type", "+type:malware -trickbot", []uint64{1}, 1},
		{"query string phrase", `"trojan banking"`, []uint64{1, 2}, 0},
		{"query string wildcard", "emo*", []uint64{1, 8}, 0},
		{"query string ip", "ip:10.0.0.0/8 -ip:10.1.2.3", []uint64{4}, 4},
		{"query string keyword", "kw:T1055", []uint64{7}, 7},
		{"nothing", "nonexistentword", []uint64{}, 0},
		{"unparsable syntax is plain text", `"emotet`, []uint64{1, 8}, 0},
		{"query string date", `+modified:>="2024-01-10T00:00:00Z" +type:ipv4-addr`, []uint64{3, 4}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ix.Search(context.Background(), Query{Text: tc.text})
			if err != nil {
				t.Fatalf("Search(%q): %v", tc.text, err)
			}
			if got := sorted(ids(r)); !slices.Equal(got, tc.want) {
				t.Fatalf("Search(%q) = %v, want %v", tc.text, got, tc.want)
			}
			if r.Total != uint64(len(tc.want)) {
				t.Errorf("Search(%q).Total = %d, want %d", tc.text, r.Total, len(tc.want))
			}
			if tc.first != 0 && r.Hits[0].ID != tc.first {
				t.Errorf("Search(%q) top hit %d, want %d (hits %+v)", tc.text, r.Hits[0].ID, tc.first, r.Hits)
			}
		})
	}
}

func TestSearchRestriction(t *testing.T) {
	for _, shards := range []int{1, 2} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			testSearchRestriction(t, loadFixtureShards(t, shards))
		})
	}
}

func testSearchRestriction(t *testing.T, ix *Index) {
	tests := []struct {
		name   string
		q      Query
		want   []uint64
		facets map[string]uint64
	}{
		{"classes", Query{Keep: inClasses(1), Facets: true}, []uint64{1, 3, 7},
			map[string]uint64{"malware": 1, "ipv4-addr": 1, "attack-pattern": 1}},
		{"classes and text", Query{Text: "banking", Keep: inClasses(2, 3), Facets: true}, []uint64{2},
			map[string]uint64{"malware": 1}},
		{"empty classes", Query{Keep: inClasses(), Facets: true}, []uint64{}, map[string]uint64{}},
		{"empty classes with text", Query{Text: "emotet", Keep: inClasses(), Facets: true}, []uint64{}, map[string]uint64{}},
		{"types", Query{Types: []string{"ipv4-addr", "ipv6-addr"}, Facets: true}, []uint64{3, 4, 5},
			map[string]uint64{"ipv4-addr": 2, "ipv6-addr": 1}},
		{"types and classes", Query{Types: []string{"IPv4-Addr"}, Keep: inClasses(2, 3), Facets: true}, []uint64{4},
			map[string]uint64{"ipv4-addr": 1}},
		{"window", Query{After: day(5), Before: day(20), Facets: true}, []uint64{2, 3, 6},
			map[string]uint64{"malware": 1, "ipv4-addr": 1, "domain-name": 1}},
		{"window open end", Query{After: day(10)}, []uint64{3, 4, 6}, nil},
		{"window and classes and cidr", Query{Text: "10.0.0.0/8", After: day(2), Keep: inClasses(2), Facets: true}, []uint64{4},
			map[string]uint64{"ipv4-addr": 1}},
		{"unknown class", Query{Keep: inClasses(99), Facets: true}, []uint64{}, map[string]uint64{}},
		{"window second edges", Query{After: day(10), Before: day(10).Add(time.Second)}, []uint64{3, 6}, nil},
		{"window whole seconds", Query{After: day(10).Add(time.Second), Before: day(20).Add(1500 * time.Millisecond)}, []uint64{4}, nil},
		{"window truncated", Query{After: day(10).Add(999 * time.Millisecond), Before: day(20)}, []uint64{3, 6}, nil},
		{"window before only", Query{Before: day(5), Keep: inClasses(1, 2), Facets: true}, []uint64{1},
			map[string]uint64{"malware": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ix.Search(context.Background(), tc.q)
			if err != nil {
				t.Fatalf("Search(%+v): %v", tc.q, err)
			}
			if got := sorted(ids(r)); !slices.Equal(got, tc.want) {
				t.Fatalf("hits %v, want %v", got, tc.want)
			}
			if r.Total != uint64(len(tc.want)) {
				t.Errorf("Total %d, want %d", r.Total, len(tc.want))
			}
			if tc.q.Facets {
				if len(r.Facets) != len(tc.facets) {
					t.Fatalf("facets %v, want %v", r.Facets, tc.facets)
				}
				for k, v := range tc.facets {
					if r.Facets[k] != v {
						t.Fatalf("facets %v, want %v", r.Facets, tc.facets)
					}
				}
			} else if r.Facets != nil {
				t.Errorf("facets %v without Facets", r.Facets)
			}
		})
	}
}

// inClasses returns a Keep function accepting the fixture documents of the
// given classes, as the graph accepts the nodes of the classes a viewer may
// see.
func inClasses(cs ...uint32) func(id uint64) bool {
	return func(id uint64) bool {
		for _, d := range fixture {
			if d.ID == id {
				return slices.Contains(cs, d.Class)
			}
		}
		return false
	}
}

// TestRestrictionKeepsScores checks that restricting a search leaves the
// scores of the remaining hits unchanged.
func TestRestrictionKeepsScores(t *testing.T) {
	ix := loadFixture(t)
	ctx := context.Background()
	free, err := ix.Search(ctx, Query{Text: "banking trojan emotet"})
	mustDo(t, err)
	for _, q := range []Query{
		{Text: "banking trojan emotet", Keep: inClasses(1, 2)},
		{Text: "banking trojan emotet", Keep: inClasses(1)},
		{Text: "banking trojan emotet", Types: []string{"malware"}, After: day(1)},
	} {
		r, err := ix.Search(ctx, q)
		mustDo(t, err)
		if len(r.Hits) == 0 {
			t.Fatalf("%+v: no hits", q)
		}
		for _, h := range r.Hits {
			for _, f := range free.Hits {
				if f.ID == h.ID && f.Score != h.Score {
					t.Errorf("%+v: hit %d scored %v, %v unrestricted", q, h.ID, h.Score, f.Score)
				}
			}
		}
	}
}

func TestSearchPaging(t *testing.T) {
	ix := loadFixture(t)
	var all []uint64
	for from := 0; from < 10; from += 3 {
		r, err := ix.Search(context.Background(), Query{From: from, Size: 3})
		if err != nil {
			t.Fatalf("Search from %d: %v", from, err)
		}
		if r.Total != 8 {
			t.Fatalf("Total %d, want 8", r.Total)
		}
		all = append(all, ids(r)...)
	}
	if got := sorted(all); !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("pages gave %v", got)
	}
}

func TestSearchRejects(t *testing.T) {
	ix := loadFixture(t)
	long := make([]byte, 2000)
	for i := range long {
		long[i] = 'a'
	}
	tests := []struct {
		name string
		q    Query
	}{
		{"regexp", Query{Text: "name:/e.*t/"}},
		{"leading wildcard", Query{Text: "*tet"}},
		{"short wildcard prefix", Query{Text: "e*"}},
		{"too long", Query{Text: string(long)}},
		{"too deep", Query{From: 9990, Size: 20}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ix.Search(context.Background(), tc.q)
			if !errors.Is(err, ErrBadQuery) {
				t.Fatalf("Search(%q) error %v, want ErrBadQuery", tc.q.Text, err)
			}
		})
	}
}

func TestSearchRangeTooWide(t *testing.T) {
	defer func(n int) { maxRangeTerms = n }(maxRangeTerms)
	maxRangeTerms = 0
	for _, shards := range []int{1, 2} {
		ix := loadFixtureShards(t, shards)
		if _, err := ix.Search(context.Background(), Query{Text: "10.0.0.0/8"}); !errors.Is(err, ErrBadQuery) {
			t.Errorf("shards %d: CIDR over the range limit: %v, want ErrBadQuery", shards, err)
		}
	}
}

func TestSearchCancelled(t *testing.T) {
	ix := loadFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ix.Search(ctx, Query{Text: "emotet"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Search with cancelled context: %v, want context.Canceled", err)
	}
}

func TestApplyUpdatesDeletesAndBareDocs(t *testing.T) {
	ix := loadFixture(t)
	ctx := context.Background()
	// Rename 2, delete 6, and turn 7 into a bare document.
	upd := []Doc{
		{ID: 2, Type: "malware", Class: 2, Name: "Qakbot"},
		{ID: 7, Type: "relationship", Class: 1},
		{ID: 9, Type: "relationship", Class: 1},
	}
	if err := ix.Apply(upd, []uint64{6}, 9); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	for text, want := range map[string][]uint64{
		"trickbot": {}, "qakbot": {2}, "evil.example.com": {}, "t1055": {},
	} {
		r, err := ix.Search(ctx, Query{Text: text})
		if err != nil {
			t.Fatalf("Search(%q): %v", text, err)
		}
		if got := sorted(ids(r)); !slices.Equal(got, want) {
			t.Errorf("Search(%q) = %v, want %v", text, got, want)
		}
	}
	if n, err := ix.DocCount(); err != nil || n != 6 {
		t.Errorf("DocCount = %d, %v; want 6", n, err)
	}
	if h, err := ix.HWM(); err != nil || h != 9 {
		t.Errorf("HWM = %d, %v; want 9", h, err)
	}
}

func TestIndexBare(t *testing.T) {
	opts := testOptions()
	opts.IndexBare = true
	ix, _ := openTest(t, opts)
	if err := ix.Apply([]Doc{{ID: 1, Type: "relationship", Class: 1}}, nil, 1); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	r, err := ix.Search(context.Background(), Query{Types: []string{"relationship"}, Facets: true})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if r.Total != 1 || r.Facets["relationship"] != 1 {
		t.Fatalf("bare doc not indexed: %+v", r)
	}
}

// TestReopen applies several batches, closes, reopens and reads back the
// high-water mark and document count, for one and for two shards.
func TestReopen(t *testing.T) {
	for _, shards := range []int{1, 2} {
		for _, sync := range []bool{false, true} {
			opts := testOptions()
			opts.Shards = shards
			opts.SyncApply = sync
			dir := filepath.Join(t.TempDir(), "ix")
			ix, err := Open(dir, opts)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if h, err := ix.HWM(); err != nil || h != 0 {
				t.Fatalf("new index HWM = %d, %v", h, err)
			}
			const batches, per = 5, 100
			for b := 0; b < batches; b++ {
				docs := make([]Doc, per)
				for i := range docs {
					id := uint64(b*per + i + 1)
					docs[i] = Doc{ID: id, Type: "url", Class: 1, Keywords: []string{DocID(id)}}
				}
				// Each batch also deletes the first document of the previous one.
				var del []uint64
				if b > 0 {
					del = []uint64{uint64((b-1)*per + 1)}
				}
				if err := ix.Apply(docs, del, uint64(100+b)); err != nil {
					t.Fatalf("Apply: %v", err)
				}
			}
			if err := ix.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := ix.Apply(nil, nil, 1); !errors.Is(err, ErrClosed) {
				t.Fatalf("Apply after Close: %v, want ErrClosed", err)
			}
			if _, err := ix.Search(context.Background(), Query{}); !errors.Is(err, ErrClosed) {
				t.Fatalf("Search after Close: %v, want ErrClosed", err)
			}

			opts.Shards = 3 // Ignored: the index keeps its shard count.
			ix, err = Open(dir, opts)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			h, err := ix.HWM()
			if err != nil || h != 104 {
				t.Errorf("shards %d sync %v: reopened HWM = %d, %v; want 104", shards, sync, h, err)
			}
			if d := ix.DurableHWM(); d != 104 {
				t.Errorf("reopened DurableHWM = %d, want 104", d)
			}
			n, err := ix.DocCount()
			if want := uint64(batches*per - (batches - 1)); err != nil || n != want {
				t.Errorf("shards %d sync %v: reopened DocCount = %d, %v; want %d", shards, sync, n, err, want)
			}
			r, err := ix.Search(context.Background(), Query{Text: DocID(250)})
			if err != nil || r.Total != 1 || r.Hits[0].ID != 250 {
				t.Errorf("reopened search: %+v, %v", r, err)
			}
			if err := ix.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
	}
}

func TestOpenCorrupt(t *testing.T) {
	damage := map[string]func(t *testing.T, dir string){
		"meta missing": func(t *testing.T, dir string) {
			mustDo(t, os.Remove(filepath.Join(dir, metaFile)))
		},
		"meta garbage": func(t *testing.T, dir string) {
			mustDo(t, os.WriteFile(filepath.Join(dir, metaFile), []byte("{not json"), 0o600))
		},
		"other format": func(t *testing.T, dir string) {
			mustDo(t, os.WriteFile(filepath.Join(dir, metaFile), []byte(`{"format":99,"shards":1}`), 0o600))
		},
		"shard missing": func(t *testing.T, dir string) {
			mustDo(t, os.RemoveAll(shardDir(dir, 0)))
		},
		"bleve meta missing": func(t *testing.T, dir string) {
			mustDo(t, os.Remove(filepath.Join(shardDir(dir, 0), "index_meta.json")))
		},
		"root.bolt truncated": func(t *testing.T, dir string) {
			mustDo(t, os.Truncate(filepath.Join(shardDir(dir, 0), "store", "root.bolt"), 100))
		},
		"segments garbage": func(t *testing.T, dir string) {
			segs, _ := filepath.Glob(filepath.Join(shardDir(dir, 0), "store", "*.zap"))
			if len(segs) == 0 {
				t.Fatal("no segment files")
			}
			for _, s := range segs {
				mustDo(t, os.WriteFile(s, []byte("garbage garbage garbage garbage"), 0o600))
			}
		},
		"segments removed": func(t *testing.T, dir string) {
			segs, _ := filepath.Glob(filepath.Join(shardDir(dir, 0), "store", "*.zap"))
			for _, s := range segs {
				mustDo(t, os.Remove(s))
			}
		},
	}
	for name, fn := range damage {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ix")
			ix, err := Open(dir, testOptions())
			mustDo(t, err)
			mustDo(t, ix.Apply(fixture, nil, 8))
			mustDo(t, ix.Close())
			fn(t, dir)
			ix, err = Open(dir, testOptions())
			if err == nil {
				// bleve may fall back to an older snapshot whose files are
				// intact; that is fine as long as it is consistent.
				h, herr := ix.HWM()
				n, nerr := ix.DocCount()
				mustDo(t, errors.Join(herr, nerr, ix.Close()))
				if !(h == 0 && n == 0) && !(h == 8 && n == 8) {
					t.Fatalf("damaged index opened with HWM %d and %d documents", h, n)
				}
				t.Logf("opened an older consistent snapshot: HWM %d, %d documents", h, n)
			} else if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open damaged index: %v, want ErrCorrupt", err)
			}
			mustDo(t, Remove(dir))
			ix, err = Open(dir, testOptions())
			mustDo(t, err)
			if h, err := ix.HWM(); err != nil || h != 0 {
				t.Errorf("rebuilt HWM = %d, %v", h, err)
			}
			mustDo(t, ix.Close())
		})
	}
}

// TestOpenLocked checks that an index held by another Index (or process)
// is reported as locked, not as corrupt: the caller must not remove it.
func TestOpenLocked(t *testing.T) {
	_, dir := openTest(t, testOptions())
	ix, err := Open(dir, testOptions())
	if err == nil {
		ix.Close()
		t.Fatal("opened an index that is already open")
	}
	if errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open of a locked index: %v, must not be ErrCorrupt", err)
	}
}

func TestRemoveRefusesForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	mustDo(t, os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("x"), 0o600))
	if err := Remove(dir); err == nil {
		t.Fatal("Remove deleted a directory that is not an index")
	}
	if _, err := Open(dir, testOptions()); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open on a foreign directory: %v, want ErrCorrupt", err)
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentApplySearch runs searches while batches are applied and the
// index is closed; run it with -race.
func TestConcurrentApplySearch(t *testing.T) {
	ix, err := Open(filepath.Join(t.TempDir(), "ix"), testOptions())
	mustDo(t, err)
	done := make(chan struct{})
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			var last uint64
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				r, err := ix.Search(context.Background(), Query{Text: "batch", Keep: func(id uint64) bool { return id%2 == 1 }, Facets: true})
				if errors.Is(err, ErrClosed) {
					errs <- nil
					return
				}
				if err != nil {
					errs <- err
					return
				}
				if r.Total < last {
					errs <- fmt.Errorf("total went back from %d to %d", last, r.Total)
					return
				}
				last = r.Total
			}
		}()
	}
	for b := uint64(1); b <= 20; b++ {
		docs := make([]Doc, 100)
		for i := range docs {
			id := (b-1)*100 + uint64(i) + 1
			docs[i] = Doc{ID: id, Type: "note", Class: uint32(id % 2), Name: fmt.Sprintf("batch %d", b)}
		}
		mustDo(t, ix.Apply(docs, nil, b))
	}
	close(done)
	mustDo(t, ix.Close())
	for g := 0; g < 4; g++ {
		mustDo(t, <-errs)
	}
}

// TestSearchByResolvedID shows that a STIX id finds its document through
// Options.ResolveID although no document carries ids as keywords: typed
// alone, in any case, as a field-less or kw: term of a query string, and
// combined with a type restriction. An id the resolver does not know, or
// text that only resembles one, finds nothing.
func TestSearchByResolvedID(t *testing.T) {
	known := map[string]uint64{
		"malware--11111111-1111-4111-8111-111111111111":     2,
		"domain-name--66666666-6666-4666-8666-666666666666": 6,
	}
	opts := testOptions()
	opts.ResolveID = func(s string) (uint64, bool) { id, ok := known[s]; return id, ok }
	ix, _ := openTest(t, opts)
	// Document 9 names every word of the malware's id and mentions the id.
	mention := Doc{ID: 9, Type: "report", Class: 1, Name: "malware 11111111 1111 4111 8111 111111111111",
		Text: []string{"malware--11111111-1111-4111-8111-111111111111"}}
	if err := ix.Apply(append(slices.Clone(fixture), mention), nil, 9); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	r, err := ix.Search(context.Background(), Query{Text: "malware--11111111-1111-4111-8111-111111111111"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Hits) == 0 || r.Hits[0].ID != 2 {
		t.Errorf("the node an id names must rank first, above a report that mentions it: %+v", r.Hits)
	}
	tests := []struct {
		text string
		want []uint64
	}{
		{"malware--11111111-1111-4111-8111-111111111111", []uint64{2, 9}},
		{"  MALWARE--11111111-1111-4111-8111-111111111111 ", []uint64{2, 9}},
		{`kw:"domain-name--66666666-6666-4666-8666-666666666666"`, []uint64{6}},
		{"+type:malware +malware--11111111-1111-4111-8111-111111111111", []uint64{2}},
		{"+type:report +malware--11111111-1111-4111-8111-111111111111", []uint64{9}},
		{"+type:ipv4-addr +domain-name--66666666-6666-4666-8666-666666666666", []uint64{}},
		{"+type:malware malware--11111111-1111-4111-8111-111111111111 -trickbot", []uint64{1}},
		{"malware--99999999-9999-4999-8999-999999999999", []uint64{}},
		{"malware--11111111", []uint64{9}}, // not an id: its words
	}
	for _, tc := range tests {
		r, err := ix.Search(context.Background(), Query{Text: tc.text})
		if err != nil {
			t.Fatalf("Search(%q): %v", tc.text, err)
		}
		if got := sorted(ids(r)); !slices.Equal(got, tc.want) {
			t.Errorf("Search(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

// TestFuzzyKeyword shows that a fuzzy term forgives a typo in a value that
// is only a keyword, such as a domain name.
func TestFuzzyKeyword(t *testing.T) {
	ix := loadFixture(t)
	r, err := ix.Search(context.Background(), Query{Text: "evil.exampel.com~1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(r); !slices.Equal(got, []uint64{6}) {
		t.Errorf("fuzzy domain: %v, want [6]", got)
	}
}

// TestCloseSkipsPersisterNap shows that Close persists what Apply returned
// without waiting out the persister's nap: with a nap of a minute, Close
// returns within the CloseTimeout of 20 s, and the reopened index holds
// the last batch.
func TestCloseSkipsPersisterNap(t *testing.T) {
	for _, shards := range []int{1, 2} {
		opts := testOptions()
		opts.Shards = shards
		opts.PersisterNap = time.Minute
		opts.CloseTimeout = 20 * time.Second
		dir := filepath.Join(t.TempDir(), "ix")
		ix, err := Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		// The first batch starts the nap; the second waits behind it.
		for b := range 2 {
			if err := ix.Apply([]Doc{{ID: uint64(b + 1), Type: "url", Class: 1, Keywords: []string{"k"}}}, nil, uint64(10+b)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := ix.Close(); err != nil {
			t.Fatalf("shards %d: Close: %v", shards, err)
		}
		ix, err = Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if h, err := ix.HWM(); err != nil || h != 11 {
			t.Errorf("shards %d: reopened HWM %d, %v; want 11", shards, h, err)
		}
		mustDo(t, ix.Close())
	}
}

// TestUnderscoreSplitsWords checks that names joined by underscores, as
// Maltrail names its trail lists, are found by their parts.
func TestUnderscoreSplitsWords(t *testing.T) {
	ix, _ := openTest(t, testOptions())
	docs := []Doc{
		{ID: 1, Type: "malware", Name: "apt_duke", Keywords: []string{"apt_duke"}, Text: []string{"The Dukes, CozyDuke"}},
		{ID: 2, Type: "malware", Name: "android_anubis"},
		{ID: 3, Type: "intrusion-set", Name: "APT29", Text: []string{"also known as Cozy Bear"}},
		{ID: 4, Type: "indicator", Name: "/rainloop/forecast", Text: []string{"Listed in Maltrail's apt_turla trails."}},
	}
	mustDo(t, ix.Apply(docs, nil, 4))
	for _, tc := range []struct {
		text  string
		want  []uint64
		first uint64
	}{
		{"duke", []uint64{1}, 1},
		{"apt_duke", []uint64{1}, 1},
		{"APT_DUKE", []uint64{1}, 1},
		{"anubis", []uint64{2}, 2},
		{"android anubis", []uint64{2}, 2},
		{"turla", []uint64{4}, 4},
		{"name:duke", []uint64{1}, 1},
		{"cozy", []uint64{3}, 3},
	} {
		r, err := ix.Search(context.Background(), Query{Text: tc.text})
		if err != nil {
			t.Fatalf("Search(%q): %v", tc.text, err)
		}
		if got := sorted(ids(r)); !slices.Equal(got, tc.want) || r.Hits[0].ID != tc.first {
			t.Errorf("Search(%q) = %v, want %v with %d first", tc.text, ids(r), tc.want, tc.first)
		}
	}
}

func TestUnderscoreFilterLeavesInputAlone(t *testing.T) {
	in := []byte("apt_duke_2")
	out := underscoreFilter{}.Filter(in)
	if string(out) != "apt duke 2" || string(in) != "apt_duke_2" {
		t.Errorf("Filter(apt_duke_2) = %q, input now %q", out, in)
	}
	plain := []byte("no underscore")
	if out := (underscoreFilter{}).Filter(plain); &out[0] != &plain[0] {
		t.Error("Filter copied an input without underscores")
	}
}
