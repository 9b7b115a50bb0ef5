package graph

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func TestKeysRoundTrip(t *testing.T) {
	ids := []ID{1, 2, 255, 256, 1 << 40, math.MaxInt64}
	for _, id := range ids {
		if got, err := parseNodeKey(nodeKey(id)); err != nil || got != id {
			t.Errorf("node key %d: got %d, %v", id, got, err)
		}
		if y, got, err := parseTypeKey(typeKey(7, id)); err != nil || got != id || y != 7 {
			t.Errorf("type key %d: got %d %d, %v", id, y, got, err)
		}
		for _, ns := range []int64{math.MinInt64, -1, 0, 1, 1_700_000_000_000_000_000} {
			if gotNS, got, err := parseTimeKey(timeKey(ns, id)); err != nil || got != id || gotNS != ns {
				t.Errorf("time key %d@%d: got %d@%d, %v", id, ns, got, gotNS, err)
			}
		}
		for _, v := range []string{"", "1.2.3.4", "evil.example", string(make([]byte, 300))} {
			if gotV, got, err := parseValueKey(valueKey(v, id)); err != nil || got != id || gotV != v {
				t.Errorf("value key %q/%d: got %q/%d, %v", v, id, gotV, got, err)
			}
		}
		for _, dir := range []Direction{Out, In} {
			d, from, e, to, via, err := parseEdgeKey(edgeKey(dir, id, 9, id+1, 3))
			if err != nil || d != dir || from != id || e != 9 || to != id+1 || via != 3 {
				t.Errorf("edge key: got %v %d %d %d %d, %v", d, from, e, to, via, err)
			}
			gid, gdir, ge, err := parseDegreeKey(degreeKey(id, dir, 9))
			if err != nil || gid != id || gdir != dir || ge != 9 {
				t.Errorf("degree key: got %d %v %d, %v", gid, gdir, ge, err)
			}
		}
	}
	if got, err := parseOutboxKey(outboxKey(42)); err != nil || got != 42 {
		t.Errorf("outbox key: got %d, %v", got, err)
	}
	if got, err := parseXIDKey(xidKey("indicator--x")); err != nil || got != "indicator--x" {
		t.Errorf("xid key: got %q, %v", got, err)
	}
}

func TestKeysSortOrder(t *testing.T) {
	// Ids, times and adjacency lists must sort numerically, so range scans
	// and prefix scans see them in order.
	if bytes.Compare(nodeKey(255), nodeKey(256)) >= 0 {
		t.Error("node keys do not sort by id")
	}
	if bytes.Compare(timeKey(-5, 1), timeKey(3, 1)) >= 0 || bytes.Compare(timeKey(3, 9), timeKey(4, 1)) >= 0 {
		t.Error("time keys do not sort by time")
	}
	if !bytes.HasPrefix(edgeKey(Out, 5, 2, 9, 0), edgePrefix(Out, 5, 2)) || !bytes.HasPrefix(edgeKey(Out, 5, 2, 9, 0), edgePrefix(Out, 5, 0)) {
		t.Error("edge key does not start with its prefixes")
	}
	if bytes.HasPrefix(edgeKey(In, 5, 2, 9, 0), edgePrefix(Out, 5, 0)) {
		t.Error("in-edge matches out prefix")
	}
	// A value that is a prefix of another must not share its prefix scan.
	if bytes.HasPrefix(valueKey("1.2.3.45", 1), valuePrefix("1.2.3.4")) {
		t.Error("value prefix of 1.2.3.4 matches 1.2.3.45")
	}
}

func TestKeysRejectMalformed(t *testing.T) {
	bad := [][]byte{nil, {tagNode}, {tagNode, 1, 2}, {tagOut, 1}, {tagValue, 0, 9, 'a', 1, 2, 3, 4, 5, 6, 7, 8}}
	for _, k := range bad {
		_, err1 := parseNodeKey(k)
		_, _, _, _, _, err2 := parseEdgeKey(k)
		_, _, err3 := parseValueKey(k)
		if !errors.Is(err1, errBadKey) || !errors.Is(err2, errBadKey) || !errors.Is(err3, errBadKey) {
			t.Errorf("key %x accepted: %v %v %v", k, err1, err2, err3)
		}
	}
}

// FuzzParseKeys feeds arbitrary bytes to every key parser: none may panic,
// and whatever parses must rebuild to the same bytes.
func FuzzParseKeys(f *testing.F) {
	f.Add(nodeKey(1))
	f.Add(edgeKey(Out, 1, 2, 3, 4))
	f.Add(valueKey("10.0.0.1", 5))
	f.Add(timeKey(-1, 2))
	f.Add(degreeKey(3, In, 4))
	f.Add(runKey("clusters", "org-a", "20260301T101500.000000000Z"))
	f.Fuzz(func(t *testing.T, k []byte) {
		if id, err := parseNodeKey(k); err == nil && !bytes.Equal(nodeKey(id), k) {
			t.Errorf("node key %x rebuilt as %x", k, nodeKey(id))
		}
		if y, id, err := parseTypeKey(k); err == nil && !bytes.Equal(typeKey(y, id), k) {
			t.Errorf("type key %x mismatch", k)
		}
		if ns, id, err := parseTimeKey(k); err == nil && !bytes.Equal(timeKey(ns, id), k) {
			t.Errorf("time key %x mismatch", k)
		}
		if v, id, err := parseValueKey(k); err == nil && !bytes.Equal(valueKey(v, id), k) {
			t.Errorf("value key %x mismatch", k)
		}
		if d, a, e, b, via, err := parseEdgeKey(k); err == nil && !bytes.Equal(edgeKey(d, a, e, b, via), k) {
			t.Errorf("edge key %x mismatch", k)
		}
		if id, d, e, err := parseDegreeKey(k); err == nil && !bytes.Equal(degreeKey(id, d, e), k) {
			t.Errorf("degree key %x mismatch", k)
		}
		if seq, err := parseOutboxKey(k); err == nil && !bytes.Equal(outboxKey(seq), k) {
			t.Errorf("outbox key %x mismatch", k)
		}
		if kind, aud, id, err := parseRunKey(k); err == nil && !bytes.Equal(runKey(kind, aud, id), k) {
			t.Errorf("run key %x mismatch", k)
		}
		_, _ = decodeRecord(k)
		_, _ = decodeSet(k)
		_, _ = decodeIDs(k)
	})
}
