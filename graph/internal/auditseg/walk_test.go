package auditseg

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// walk returns the sequence numbers and the errors Walk finds.
func walk(t *testing.T, l *Log) ([]uint64, []error) {
	t.Helper()
	var seqs []uint64
	var errs []error
	if err := l.Walk(func(f Found) bool {
		if f.Err != nil {
			errs = append(errs, f.Err)
		} else {
			seqs = append(seqs, f.Record.Seq)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return seqs, errs
}

func TestWalkFindsWhatIsOnDisk(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir, Options{SegmentBytes: 1 << 10})
	appendN(t, l, 1, 60)
	segs, _ := listSegments(dir)
	if len(segs) < 4 {
		t.Fatalf("%d segments, want several", len(segs))
	}
	seqs, errs := walk(t, l)
	if len(errs) > 0 || len(seqs) != 60 || seqs[0] != 1 || seqs[59] != 60 {
		t.Fatalf("clean log: walked %v, errors %v", seqs, errs)
	}
	l.Close()

	// An index file that lists a record under another organization.
	x := newSegIndex()
	_, err := (&Log{dir: dir}).scanForwardRaw(segs[1], segs[2].first-1, -1, segs[1].first, segs[2].first-1, func(r Record, off int64) bool {
		x.add(r.Seq, off, r.Time.UnixNano(), append(slices.Clone(r.Orgs), "forged"))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := encodeIndex(x, segs[1], nil)
	if err := os.WriteFile(filepath.Join(dir, indexName(segs[1])), b, 0o600); err != nil {
		t.Fatal(err)
	}
	// A record of the third segment that no longer reads.
	name := filepath.Join(dir, segs[2].name)
	raw, _ := os.ReadFile(name)
	raw[frameLen(int(raw[3]))+12] ^= 0xff // the body of its second record
	if err := os.WriteFile(name, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	l, _ = open(t, dir, Options{SegmentBytes: 1 << 10})
	defer l.Close()
	seqs, errs = walk(t, l)
	if len(errs) != 2 || !errors.Is(errs[0], ErrIndex) || !errors.Is(errs[1], ErrCorrupt) {
		t.Fatalf("errors %v, want the forged index, then the damaged record", errs)
	}
	// The walk skips the rest of the damaged segment and goes on.
	want := slices.DeleteFunc(seqRange(1, 60), func(s uint64) bool { return s > segs[2].first && s < segs[3].first })
	if !slices.Equal(seqs, want) {
		t.Errorf("walked %v, want %v", seqs, want)
	}
}

// seqRange returns lo to hi.
func seqRange(lo, hi uint64) []uint64 {
	var s []uint64
	for i := lo; i <= hi; i++ {
		s = append(s, i)
	}
	return s
}

func TestReadOnlyOpenChangesNothing(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir, Options{})
	appendN(t, l, 1, 5)
	l.Close()
	name := filepath.Join(dir, segmentName(1))
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0, 0, 1}) // a torn tail
	f.Close()
	before, _ := os.ReadFile(name)
	ro, got := open(t, dir, Options{ReadOnly: true})
	defer ro.Close()
	if got.Dropped != 0 || got.Offset == 0 {
		t.Errorf("recovery %+v, want the tail found but nothing cut", got)
	}
	checkRange(t, collect(t, ro, 1, 5, true), 1, 5, true)
	if err := ro.Append(rec(6)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("append read-only: %v, want ErrReadOnly", err)
	}
	if after, _ := os.ReadFile(name); string(after) != string(before) {
		t.Error("a read-only open changed the segment")
	}
	if _, _, err := Open(filepath.Join(dir, "missing"), Options{ReadOnly: true}); err != nil {
		t.Errorf("read-only open of a missing log: %v, want an empty log", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); err == nil {
		t.Error("a read-only open created the directory")
	}
}

// TestSyncedRecordsAreNeverCut: a record that does not read in the last
// segment is cut as a torn tail only past what the owner knows was synced;
// before that it is damage, and the segment is kept whole.
func TestSyncedRecordsAreNeverCut(t *testing.T) {
	for _, c := range []struct {
		synced  uint64
		damaged bool
	}{{0, false}, {1, false}, {2, true}, {5, true}} {
		dir := t.TempDir()
		l, _ := open(t, dir, Options{})
		appendN(t, l, 1, 5)
		l.Close()
		name := filepath.Join(dir, segmentName(1))
		raw, _ := os.ReadFile(name)
		raw[frameLen(int(raw[3]))+12] ^= 0xff // the body of record 2
		os.WriteFile(name, raw, 0o600)
		l, rec := open(t, dir, Options{Synced: c.synced})
		after, _ := os.ReadFile(name)
		if got := l.Damaged() != nil; got != c.damaged {
			t.Errorf("synced %d: damaged = %v, want %v", c.synced, l.Damaged(), c.damaged)
		}
		if whole := len(after) == len(raw); whole != c.damaged {
			t.Errorf("synced %d: segment kept whole = %v (recovery %+v), want %v", c.synced, whole, rec, c.damaged)
		}
		l.Close()
	}
}
