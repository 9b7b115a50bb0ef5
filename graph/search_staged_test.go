package graph

import (
	"maps"
	"testing"
)

// TestStagedRecordsTakeNewest checks that the indexer gets, for each node
// of a batch, the record of the newest entry that changed it, and nothing
// for a node a later entry changed without a staged record.
func TestStagedRecordsTakeNewest(t *testing.T) {
	var st stagedRecords
	st.offer(1, map[ID][]byte{1: []byte("a1"), 2: []byte("b1"), 3: []byte("c1")})
	// Entry 2 is not offered (over budget, say) and changed node 1.
	st.offer(3, map[ID][]byte{3: nil, 4: []byte("d3")})
	st.offer(4, map[ID][]byte{4: []byte("d4")})
	got := st.take([]outboxEntry{{1, []ID{1, 2, 3}}, {2, []ID{1}}, {3, []ID{3, 4}}})
	want := map[ID][]byte{2: []byte("b1"), 3: nil, 4: []byte("d3")}
	if !maps.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) && (a == nil) == (b == nil) }) {
		t.Errorf("take = %v, want %v", got, want)
	}
	if _, ok := st.bySeq[4]; !ok || len(st.bySeq) != 1 || st.bytes != 2 {
		t.Errorf("after take: %d entries, %d bytes; want entry 4 and its 2 bytes", len(st.bySeq), st.bytes)
	}
}
