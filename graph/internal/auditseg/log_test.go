package auditseg

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// rec makes the record seq with recognisable contents.
func rec(seq uint64) Record {
	orgs := []string{"cert-a"}
	if seq%3 == 0 {
		orgs = append(orgs, fmt.Sprintf("org-%d", seq%7))
	}
	return Record{
		Seq:  seq,
		Time: time.Unix(1_700_000_000, int64(seq)*1_000_003).UTC(),
		Orgs: orgs,
		Data: bytes.Repeat([]byte{byte(seq)}, int(seq%97)+1),
	}
}

// appendBatch appends the records from to to in one call.
func appendBatch(t *testing.T, l *Log, from, to uint64) {
	t.Helper()
	var batch []Record
	for s := from; s <= to; s++ {
		batch = append(batch, rec(s))
	}
	if err := l.Append(batch...); err != nil {
		t.Fatal(err)
	}
}

// appendN appends the records from to to one call at a time.
func appendN(t *testing.T, l *Log, from, to uint64) {
	t.Helper()
	for s := from; s <= to; s++ {
		if err := l.Append(rec(s)); err != nil {
			t.Fatalf("append %d: %v", s, err)
		}
	}
}

// collect returns the records Scan passes on.
func collect(t *testing.T, l *Log, lo, hi uint64, reverse bool) []Record {
	t.Helper()
	var out []Record
	if err := l.Scan(lo, hi, reverse, func(r Record) bool { out = append(out, r); return true }); err != nil {
		t.Fatalf("scan %d-%d reverse=%v: %v", lo, hi, reverse, err)
	}
	return out
}

// checkRange fails unless got holds exactly the records lo to hi in order.
func checkRange(t *testing.T, got []Record, lo, hi uint64, reverse bool) {
	t.Helper()
	var want []Record
	for s := lo; s <= hi && s >= lo; s++ {
		want = append(want, rec(s))
	}
	if reverse {
		slices.Reverse(want)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d (%d-%d reverse=%v)", len(got), len(want), lo, hi, reverse)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || !g.Time.Equal(w.Time) || !slices.Equal(g.Orgs, w.Orgs) || !bytes.Equal(g.Data, w.Data) {
			t.Fatalf("record %d: got %+v, want %+v", i, g, w)
		}
	}
}

func open(t *testing.T, dir string, opts Options) (*Log, Recovery) {
	t.Helper()
	l, r, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l, r
}

func TestAppendScanAcrossSegments(t *testing.T) {
	for _, key := range [][]byte{nil, []byte("0123456789abcdef0123456789abcdef")} {
		t.Run(fmt.Sprintf("sealed=%v", key != nil), func(t *testing.T) {
			dir := t.TempDir()
			l, _ := open(t, dir, Options{SegmentBytes: 4 << 10, Key: key})
			if l.Next() != 0 || l.First() != 0 {
				t.Fatalf("empty log: next %d first %d", l.Next(), l.First())
			}
			appendN(t, l, 5, 300)
			appendBatch(t, l, 301, 420) // crosses segment boundaries
			segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
			if len(segs) < 5 {
				t.Fatalf("%d segments for 416 records of 4 KiB segments; want several", len(segs))
			}
			for _, c := range [][2]uint64{{5, 420}, {1, 10}, {77, 233}, {400, 1000}, {150, 150}} {
				checkRange(t, collect(t, l, c[0], c[1], false), max(c[0], 5), min(c[1], 420), false)
				checkRange(t, collect(t, l, c[0], c[1], true), max(c[0], 5), min(c[1], 420), true)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l, r := open(t, dir, Options{SegmentBytes: 4 << 10, Key: key})
			defer l.Close()
			if r.Dropped != 0 || l.Next() != 421 || l.First() != 5 {
				t.Fatalf("reopened: recovery %+v, next %d, first %d", r, l.Next(), l.First())
			}
			appendN(t, l, 421, 430)
			checkRange(t, collect(t, l, 1, 1000, false), 5, 430, false)
		})
	}
}

func TestAppendRefusesGapsAndStops(t *testing.T) {
	l, _ := open(t, t.TempDir(), Options{})
	defer l.Close()
	appendN(t, l, 1, 3)
	for _, bad := range [][]Record{{rec(5)}, {rec(3)}, {rec(4), rec(6)}, {rec(0)}} {
		if err := l.Append(bad...); err == nil {
			t.Fatalf("append %d…: no error", bad[0].Seq)
		}
	}
	if l.Next() != 4 {
		t.Fatalf("next %d after refused appends, want 4", l.Next())
	}
	n := 0
	if err := l.Scan(1, 3, false, func(Record) bool { n++; return false }); err != nil || n != 1 {
		t.Fatalf("scan that stops: %d records, %v", n, err)
	}
}

func TestTornTailIsCut(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir, Options{})
	appendN(t, l, 1, 50)
	l.Close()
	name := filepath.Join(dir, segmentName(1))
	whole, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	// Every cut inside the last record, and garbage after the last whole
	// one, leaves records 1-49 or 1-50.
	lastLen := int(frameLen(len(mustFrame(t, rec(50)))))
	for cut := len(whole) - lastLen; cut <= len(whole); cut++ {
		for _, tail := range [][]byte{nil, {0, 0, 0, 0}, {0xff, 0xff}} {
			data := append(append([]byte(nil), whole[:cut]...), tail...)
			if err := os.WriteFile(name, data, 0o600); err != nil {
				t.Fatal(err)
			}
			l, r := open(t, dir, Options{})
			want := uint64(49)
			if cut == len(whole) {
				want = 50
			}
			if l.Next() != want+1 {
				t.Fatalf("cut at %d+%d: next %d, want %d", cut, len(tail), l.Next(), want+1)
			}
			clean := len(tail) == 0 && (cut == len(whole) || cut == len(whole)-lastLen)
			if clean != (r.Dropped == 0) || r.Offset+r.Dropped != int64(len(data)) && !clean {
				t.Fatalf("cut at %d+%d: recovery %+v", cut, len(tail), r)
			}
			checkRange(t, collect(t, l, 1, 100, true), 1, want, true)
			// The next append follows the last whole record.
			appendN(t, l, want+1, want+1)
			checkRange(t, collect(t, l, 1, 100, false), 1, want+1, false)
			l.Close()
		}
	}
}

// mustFrame returns the body of r's frame.
func mustFrame(t *testing.T, r Record) []byte {
	t.Helper()
	f, err := appendRecord(nil, &r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f[headerLen : len(f)-trailerLen]
}

func TestDamageInASealedSegmentIsAnError(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir, Options{SegmentBytes: 2 << 10})
	appendN(t, l, 1, 200)
	l.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	name := segs[1]
	data, _ := os.ReadFile(name)
	data[len(data)/2] ^= 0x40
	os.WriteFile(name, data, 0o600)
	l, r := open(t, dir, Options{SegmentBytes: 2 << 10})
	defer l.Close()
	if r.Dropped != 0 || l.Next() != 201 {
		t.Fatalf("a damaged sealed segment changed the tail: %+v, next %d", r, l.Next())
	}
	for _, reverse := range []bool{false, true} {
		err := l.Scan(1, 200, reverse, func(Record) bool { return true })
		if !errors.Is(err, ErrCorrupt) || !bytes.Contains([]byte(err.Error()), []byte(filepath.Base(name))) {
			t.Fatalf("reverse=%v: got %v, want ErrCorrupt naming %s", reverse, err, filepath.Base(name))
		}
	}
	// The segment before the damage still reads.
	all, _ := listSegments(dir)
	checkRange(t, collect(t, l, 1, all[1].first-1, false), 1, all[1].first-1, false)
}

func TestWrongKeyIsAnError(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir, Options{Key: []byte("key one key one key one key one!")})
	appendN(t, l, 1, 3)
	l.Close()
	raw, _ := os.ReadFile(filepath.Join(dir, segmentName(1)))
	if bytes.Contains(raw, []byte("cert-a")) {
		t.Fatal("an organization is readable in a sealed segment")
	}
	// Open reads the last segment through and keeps it whole: a record
	// that does not open is no torn tail to cut. The log is damaged: it
	// takes no records after one it cannot read.
	wrong, _ := open(t, dir, Options{Key: []byte("key two key two key two key two!")})
	if err := wrong.Damaged(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open with the wrong key: damaged = %v, want ErrCorrupt", err)
	}
	if err := wrong.Append(rec(4)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("append to a log opened with the wrong key: %v, want ErrCorrupt", err)
	}
	wrong.Close()
	if after, _ := os.ReadFile(filepath.Join(dir, segmentName(1))); !bytes.Equal(raw, after) {
		t.Fatal("open with the wrong key changed the segment")
	}
	// Sealed segments are read when asked for: behind an empty last one,
	// Open does not meet the wrong key.
	writeSegment(t, dir, 4)
	l, _ = open(t, dir, Options{Key: []byte("key two key two key two key two!")})
	defer l.Close()
	for _, f := range []Filter{{Lo: 1, Hi: 3}, {Lo: 1, Hi: 3, Org: "cert-a"}} {
		if err := l.Find(f, func(Record) bool { return true }); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("find %+v with the wrong key: %v, want ErrCorrupt", f, err)
		}
	}
}

func TestDropBefore(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir, Options{SegmentBytes: 2 << 10})
	defer l.Close()
	appendN(t, l, 1, 300)
	segs, _ := listSegments(dir)
	cut := segs[3].first + 2 // inside the fourth segment
	n, err := l.DropBefore(cut)
	if err != nil || n != 3 {
		t.Fatalf("dropped %d segments, %v; want 3", n, err)
	}
	if l.First() != segs[3].first {
		t.Fatalf("first %d, want %d", l.First(), segs[3].first)
	}
	checkRange(t, collect(t, l, 1, 300, false), segs[3].first, 300, false)
	checkRange(t, collect(t, l, 1, 300, true), segs[3].first, 300, true)
	// The last segment always stays.
	if n, err := l.DropBefore(1 << 40); err != nil || l.Next() != 301 {
		t.Fatalf("drop all: %d, %v, next %d", n, err, l.Next())
	}
	appendN(t, l, 301, 302)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	got := collect(t, l, 1, 1000, false)
	if got[len(got)-1].Seq != 302 {
		t.Fatalf("last record %d, want 302", got[len(got)-1].Seq)
	}
}

func TestConcurrentAppendScanSync(t *testing.T) {
	l, _ := open(t, t.TempDir(), Options{SegmentBytes: 8 << 10})
	defer l.Close()
	done := make(chan error, 2)
	go func() {
		for i := 0; i < 50; i++ {
			if err := l.Sync(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	go func() {
		for i := 0; i < 50; i++ {
			next := l.Next()
			var prev uint64
			err := l.Scan(1, 1<<40, false, func(r Record) bool {
				if prev != 0 && r.Seq != prev+1 {
					return false
				}
				prev = r.Seq
				return true
			})
			if err != nil {
				done <- err
				return
			}
			if next > 1 && prev < next-1 {
				done <- fmt.Errorf("scan saw up to %d, log was at %d before it", prev, next-1)
				return
			}
		}
		done <- nil
	}()
	appendN(t, l, 1, 2000)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// writeSegment writes a segment file holding recs as given.
func writeSegment(t *testing.T, dir string, first uint64, recs ...Record) {
	t.Helper()
	var b []byte
	for i := range recs {
		var err error
		if b, err = appendRecord(b, &recs[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, segmentName(first)), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRecordsOutOfOrderAreAnError(t *testing.T) {
	// A sealed segment whose whole records skip a number.
	dir := t.TempDir()
	writeSegment(t, dir, 1, rec(1), rec(2), rec(4))
	writeSegment(t, dir, 4, rec(4), rec(5))
	l, _ := open(t, dir, Options{})
	defer l.Close()
	for _, reverse := range []bool{false, true} {
		err := l.Scan(1, 5, reverse, func(Record) bool { return true })
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("reverse=%v: %v, want ErrCorrupt", reverse, err)
		}
	}
	// A last segment named for another first record is not cut as a torn
	// tail: Open leaves it whole and marks the log damaged, which refuses
	// appends, and Walk still finds every record in it.
	dir = t.TempDir()
	writeSegment(t, dir, 7, rec(1), rec(2))
	name := filepath.Join(dir, segmentName(7))
	before, _ := os.ReadFile(name)
	l2, _ := open(t, dir, Options{})
	defer l2.Close()
	if err := l2.Damaged(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open a misnamed segment: damaged = %v, want ErrCorrupt", err)
	}
	if err := l2.Append(rec(7)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("append after a misnamed segment: %v, want ErrCorrupt", err)
	}
	var seqs []uint64
	if err := l2.Walk(func(f Found) bool {
		if f.Err != nil {
			t.Errorf("walk: %v", f.Err)
		}
		seqs = append(seqs, f.Record.Seq)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs, []uint64{1, 2}) {
		t.Errorf("walk found %v, want [1 2]", seqs)
	}
	if after, _ := os.ReadFile(name); !bytes.Equal(before, after) {
		t.Fatal("open changed a misnamed segment")
	}
}

// BenchmarkAppend appends records of 1.5 KB, the size of an API request's
// audit entry, one per call from parallel goroutines, with a Sync every
// 50 ms as the store's flusher would do.
func BenchmarkAppend(b *testing.B) {
	for _, key := range [][]byte{nil, []byte("0123456789abcdef0123456789abcdef")} {
		b.Run(fmt.Sprintf("sealed=%v", key != nil), func(b *testing.B) {
			l, _, err := Open(b.TempDir(), Options{Key: key})
			if err != nil {
				b.Fatal(err)
			}
			stop := make(chan struct{})
			synced := make(chan error, 1)
			go func() {
				t := time.NewTicker(50 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-stop:
						synced <- l.Sync()
						return
					case <-t.C:
						if err := l.Sync(); err != nil {
							synced <- err
							return
						}
					}
				}
			}()
			data := bytes.Repeat([]byte("x"), 1500)
			var mu sync.Mutex // stands for the audit log's chain lock
			next := uint64(1)
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					mu.Lock()
					err := l.Append(Record{Seq: next, Time: time.Now(), Orgs: []string{"cert-a"}, Data: data})
					next++
					mu.Unlock()
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			close(stop)
			if err := <-synced; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// find returns the records Find passes on.
func find(t *testing.T, l *Log, f Filter) []Record {
	t.Helper()
	var out []Record
	if err := l.Find(f, func(r Record) bool { out = append(out, r); return true }); err != nil {
		t.Fatalf("find %+v: %v", f, err)
	}
	return out
}

// brute returns what Find should pass on for f over the records from to to.
func brute(from, to uint64, f Filter) []uint64 {
	var want []uint64
	for s := from; s <= to; s++ {
		r := rec(s)
		if s < f.Lo || s > f.Hi || f.Org != "" && !slices.Contains(r.Orgs, f.Org) || !f.keeps(&r) {
			continue
		}
		want = append(want, s)
	}
	if f.Reverse {
		slices.Reverse(want)
	}
	return want
}

func TestFindByOrganizationAndTime(t *testing.T) {
	for _, key := range [][]byte{nil, []byte("0123456789abcdef0123456789abcdef")} {
		t.Run(fmt.Sprintf("sealed=%v", key != nil), func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{SegmentBytes: 3 << 10, Key: key}
			l, _ := open(t, dir, opts)
			appendN(t, l, 1, 400)
			at := func(seq uint64) time.Time { return rec(seq).Time }
			var filters []Filter
			for _, org := range []string{"", "cert-a", "org-3", "org-5", "nobody"} {
				for _, b := range [][2]uint64{{1, 400}, {37, 311}, {250, 250}, {390, 1000}} {
					for _, w := range [][2]time.Time{{}, {at(100), time.Time{}}, {time.Time{}, at(120)}, {at(50), at(333)}, {at(401), time.Time{}}} {
						for _, rev := range []bool{false, true} {
							filters = append(filters, Filter{Lo: b[0], Hi: b[1], Org: org, Since: w[0], Until: w[1], Reverse: rev})
						}
					}
				}
			}
			check := func(stage string, l *Log, to uint64) {
				t.Helper()
				for _, f := range filters {
					var got []uint64
					for _, r := range find(t, l, f) {
						if want := rec(r.Seq); !bytes.Equal(r.Data, want.Data) || !slices.Equal(r.Orgs, want.Orgs) {
							t.Fatalf("%s: %+v: record %d read back wrong", stage, f, r.Seq)
						}
						got = append(got, r.Seq)
					}
					want := brute(1, to, f)
					if !slices.Equal(got, want) {
						t.Fatalf("%s: %+v:\n got %v\nwant %v", stage, f, got, want)
					}
					if n, err := l.Count(f); err != nil || n != len(want) {
						t.Fatalf("%s: %+v: count %d, %v; want %d", stage, f, n, err, len(want))
					}
				}
			}
			check("open", l, 400)
			idx, _ := filepath.Glob(filepath.Join(dir, "*.idx"))
			segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
			if len(segs) < 4 || len(idx) != len(segs)-1 {
				t.Fatalf("%d segments and %d index files; want several, each sealed one indexed", len(segs), len(idx))
			}
			if key != nil {
				raw, _ := os.ReadFile(idx[0])
				if bytes.Contains(raw, []byte("cert-a")) {
					t.Fatal("an organization is readable in a sealed index")
				}
			}
			l.Close()
			// Indexes missing or damaged are built again from their segments.
			os.Remove(idx[0])
			raw, _ := os.ReadFile(idx[1])
			raw[len(raw)/2] ^= 1
			os.WriteFile(idx[1], raw, 0o600)
			os.WriteFile(filepath.Join(dir, "x.idx.123"+tmpExt), []byte("half"), 0o600)
			l, _ = open(t, dir, opts)
			defer l.Close()
			check("reopened, indexes rebuilt", l, 400)
			if _, err := os.Stat(idx[0]); err != nil {
				t.Fatalf("the missing index was not written again: %v", err)
			}
			if tmps, _ := filepath.Glob(filepath.Join(dir, "*"+tmpExt)); len(tmps) != 0 {
				t.Fatalf("Open left %v", tmps)
			}
			appendN(t, l, 401, 420)
			filters = append(filters, Filter{Lo: 1, Hi: 1000, Org: "cert-a", Since: at(405)})
			check("appended after reopening", l, 420)
		})
	}
}

func TestFindReadsOnlyWhatItNeeds(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir, Options{SegmentBytes: 3 << 10})
	defer l.Close()
	appendN(t, l, 1, 200)
	segs, _ := listSegments(dir)
	// Damage the first segment's records that concern no org-3 (every
	// third record does).
	name := filepath.Join(dir, segs[0].name)
	raw, _ := os.ReadFile(name)
	off := int64(0)
	for s := segs[0].first; s < segs[1].first; s++ {
		n := frameLen(len(mustFrame(t, rec(s))))
		if s%3 != 0 {
			raw[off+headerLen+seqLen+1] ^= 0xff
		}
		off += n
	}
	os.WriteFile(name, raw, 0o600)
	if err := l.Find(Filter{Lo: 1, Hi: 200}, func(Record) bool { return true }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("the damage does not show: %v", err)
	}
	// A window after the first segment does not read it.
	since := rec(segs[1].first).Time
	if got := find(t, l, Filter{Lo: 1, Hi: 200, Since: since}); len(got) != int(201-segs[1].first) {
		t.Fatalf("window after the damaged segment: %d records", len(got))
	}
	// Nor does a read by organization touch the records of others.
	got := find(t, l, Filter{Lo: 1, Hi: 200, Org: "org-3", Reverse: true})
	if want := brute(1, 200, Filter{Lo: 1, Hi: 200, Org: "org-3", Reverse: true}); !slices.Equal(seqs(got), want) {
		t.Fatalf("org-3: got %v, want %v", seqs(got), want)
	}
}

func seqs(rs []Record) []uint64 {
	out := make([]uint64, len(rs))
	for i, r := range rs {
		out[i] = r.Seq
	}
	return out
}

func TestSegmentAge(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentAge: 50 * time.Millisecond} // rec's records are a millisecond apart
	l, _ := open(t, dir, opts)
	appendN(t, l, 1, 100)
	appendBatch(t, l, 101, 300)
	l.Close()
	l, _ = open(t, dir, opts)
	defer l.Close()
	appendN(t, l, 301, 320)
	segs, _ := listSegments(dir)
	if len(segs) != 7 {
		t.Fatalf("%d segments for 320 records over 320 ms in segments of 50 ms; want 7", len(segs))
	}
	for i, seg := range segs {
		last := uint64(320)
		if i+1 < len(segs) {
			last = segs[i+1].first - 1
		}
		if span := rec(last).Time.Sub(rec(seg.first).Time); span >= opts.SegmentAge {
			t.Fatalf("segment %s spans %v", seg.name, span)
		}
		if i+1 < len(segs) && rec(last+1).Time.Sub(rec(seg.first).Time) < opts.SegmentAge {
			t.Fatalf("segment %s ended early, at record %d", seg.name, last)
		}
	}
	checkRange(t, collect(t, l, 1, 1000, false), 1, 320, false)
}
