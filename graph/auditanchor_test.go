package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph/internal/auditseg"
)

// rechain rewrites the log from entry from to entry to, as an insider with
// the data directory could: edit changes each body, every hash and prev is
// computed anew, the entries after to are removed and the head names entry
// to. The chain is whole again; only anchors can tell. It works on a log of
// one entry per segment file (tamperStore).
func rechain(from, to uint64, edit func(e *AuditEntry)) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		prev := zeroAuditHash
		if from > 1 {
			h, _, err := splitAuditValue(readRecord(t, dir, from-1).Data)
			if err != nil {
				t.Fatal(err)
			}
			prev = hex.EncodeToString(h[:])
		}
		for seq := from; ; seq++ {
			if _, err := os.Stat(segFile(dir, seq)); err != nil {
				break
			}
			if seq > to {
				removeFiles(seq)(t, dir)
				continue
			}
			editRecord(seq, func(r *auditseg.Record) {
				_, body, err := splitAuditValue(r.Data)
				e, derr := decodeAuditBody(body)
				if err = errors.Join(err, derr); err != nil {
					t.Fatal(err)
				}
				edit(&e)
				e.Prev = prev
				body = appendAuditJSON(nil, &e, false)
				hash := sha256.Sum256(body)
				prev = hex.EncodeToString(hash[:])
				r.Data = encodeAuditValue(hash, body)
			})(t, dir)
		}
		h, _, err := readAuditHeadFile(dir)
		if err != nil {
			t.Fatal(err)
		}
		l := auditLog{count: h.count}
		if l.head, err = os.OpenFile(filepath.Join(dir, auditHeadFile), os.O_RDWR, 0); err != nil {
			t.Fatal(err)
		}
		defer l.head.Close()
		if err := l.writeHead(to, prev); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuditAnchors rewrites a log the way a chain cannot show, and checks
// that the hashes an oversight body recorded outside the store do: an
// entry rewritten, hash and all, and a tail cut together with the head.
func TestAuditAnchors(t *testing.T) {
	anchorsOf := func(entries []AuditEntry, seqs ...uint64) []AuditAnchor {
		var out []AuditAnchor
		for _, seq := range seqs {
			out = append(out, AuditAnchor{Seq: seq, Hash: entries[seq-1].Hash})
		}
		return out
	}
	verify := func(t *testing.T, s *Store, anchors []AuditAnchor) AuditReport {
		t.Helper()
		rep, err := s.AuditVerify(context.Background(), anchors...)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	otherUser := func(e *AuditEntry) {
		if e.Viewer.User == "u3" {
			e.Viewer.User = "u9"
		}
	}
	cases := []tamperCase{
		{"rewritten from entry 4", rechain(4, 10, otherUser), 4, AuditRewritten, "anchored with hash"},
		{"tail cut with the head", rechain(1, 8, func(*AuditEntry) {}), 10, AuditTruncated, "the log ends at entry 8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := tamperStore(t)
			entries := appendN(t, s, 10)
			anchors := anchorsOf(entries, 4, 10)
			if rep := verify(t, s, anchors); !rep.OK() || rep.AnchorsChecked != 2 {
				t.Fatalf("clean log with anchors: %+v", rep)
			}
			s = tamper(t, s, c.tamper)
			if rep := verify(t, s, nil); !rep.OK() {
				t.Fatalf("the chain alone shows the rewrite (the test rewrote it badly): %+v", rep)
			}
			rep := verify(t, s, anchors)
			if rep.OK() || len(rep.Problems) == 0 {
				t.Fatalf("rewrite not detected with anchors: %+v", rep)
			}
			if p := rep.Problems[0]; p.Seq != c.seq || p.Kind != c.kind || !strings.Contains(p.Detail, c.message) {
				t.Errorf("first problem = %v, want entry %d: %s: …%s…", p, c.seq, c.kind, c.message)
			}
		})
	}

	// Anchors of pruned entries cannot be compared and are counted apart;
	// one of the base compares with the base.
	base := fakeAuditClock(t)
	s := openAuditStore(t, t.TempDir(), false)
	entries := appendN(t, s, 10)
	if _, err := s.PruneAudit(context.Background(), base.Add(5*time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	rep := verify(t, s, anchorsOf(entries, 2, 4, 7))
	if !rep.OK() || rep.AnchorsChecked != 2 || rep.AnchorsPruned != 1 {
		t.Errorf("pruned log with anchors of entries 2, 4 (the base) and 7: %+v", rep)
	}
	wrong := AuditAnchor{Seq: 4, Hash: strings.Repeat("0", 64)}
	if rep := verify(t, s, []AuditAnchor{wrong}); rep.OK() || rep.Problems[0].Kind != AuditRewritten || rep.Problems[0].Seq != 4 {
		t.Errorf("a wrong anchor of the base: %+v", rep)
	}
}
