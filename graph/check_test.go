package graph

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/verband-cti/verband/schema"
)

// smallStore opens a store holding a report that refers to a malware and an
// IP, and returns it with the ids of those three.
func smallStore(t *testing.T) (*Store, [3]ID) {
	t.Helper()
	opts := DefaultOptions()
	opts.SyncWrites = false
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	objs := []map[string]any{
		{"type": "malware", "spec_version": "2.1", "id": "malware--6b6c8d5e-1a2b-4c3d-8e9f-000000000001", "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z", "name": "x", "is_family": true},
		{"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--6b6c8d5e-1a2b-4c3d-8e9f-000000000002", "value": "198.51.100.1"},
		{"type": "report", "spec_version": "2.1", "id": "report--6b6c8d5e-1a2b-4c3d-8e9f-000000000003", "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z", "name": "r", "published": "2024-01-01T00:00:00Z",
			"object_refs": []string{"malware--6b6c8d5e-1a2b-4c3d-8e9f-000000000001", "ipv4-addr--6b6c8d5e-1a2b-4c3d-8e9f-000000000002"}},
	}
	var ids [3]ID
	err = s.Update(System(), func(tx *Tx) error {
		for i, p := range objs {
			raw, _ := json.Marshal(p)
			o, err := schema.ParseObject(raw)
			if err != nil {
				return err
			}
			if ids[i], _, err = tx.Put(o, Meta{Policy: Policy{Owner: "org-a", TLP: schema.TLPGreen}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, ids
}

// TestCheckFindsBrokenInvariants damages a store key by key and expects
// Check to name each damage.
func TestCheckFindsBrokenInvariants(t *testing.T) {
	y := func(s *Store, name string) sym { v, _ := s.syms.lookup(name); return v }
	cases := []struct {
		name   string
		damage func(s *Store, ids [3]ID, txn *badger.Txn) error
		want   string
	}{
		{"missing in-edge", func(s *Store, ids [3]ID, txn *badger.Txn) error {
			return txn.Delete(edgeKey(In, ids[0], y(s, "object_refs"), ids[2], 0))
		}, "in missing"},
		{"missing out-edge", func(s *Store, ids [3]ID, txn *badger.Txn) error {
			return txn.Delete(edgeKey(Out, ids[2], y(s, "object_refs"), ids[1], 0))
		}, "out missing"},
		{"edge nobody implies", func(s *Store, ids [3]ID, txn *badger.Txn) error {
			return txn.Set(edgeKey(Out, ids[0], y(s, "object_refs"), ids[1], 0), nil)
		}, "not implied"},
		{"wrong degree", func(s *Store, ids [3]ID, txn *badger.Txn) error {
			return txn.Set(degreeKey(ids[2], Out, y(s, "object_refs")), encodeU64(5))
		}, "degree counter"},
		{"type index gap", func(s *Store, ids [3]ID, txn *badger.Txn) error {
			return txn.Delete(typeKey(y(s, "malware"), ids[0]))
		}, "not in the type index"},
		{"value index gap", func(s *Store, ids [3]ID, txn *badger.Txn) error {
			return txn.Delete(valueKey("198.51.100.1", ids[1]))
		}, "value index lists 0"},
		{"time index gap", func(s *Store, ids [3]ID, txn *badger.Txn) error {
			r, err := (&Tx{s: s, txn: txn}).getRecord(ids[0])
			if err != nil {
				return err
			}
			return txn.Delete(timeKey(r.modified, ids[0]))
		}, "time entries, the time index lists 0"},
		{"type counter", func(s *Store, ids [3]ID, txn *badger.Txn) error {
			return txn.Set(countKey(y(s, "report")), encodeU64(2))
		}, "type counter of report"},
		{"record without id index", func(s *Store, ids [3]ID, txn *badger.Txn) error {
			return txn.Delete(xidKey("report--6b6c8d5e-1a2b-4c3d-8e9f-000000000003"))
		}, "not in the STIX id index"},
		{"search index missing a document", func(s *Store, ids [3]ID, txn *badger.Txn) error {
			in := s.search.Load()
			return in.ix.Apply(nil, []uint64{uint64(ids[0])}, in.hwm.Load())
		}, "search index holds 2 documents"},
		{"run key cut short", func(s *Store, ids [3]ID, txn *badger.Txn) error {
			return txn.Set([]byte{tagRun, 0, 9, 'c'}, nil)
		}, "run key"},
		{"garbled record", func(s *Store, ids [3]ID, txn *badger.Txn) error {
			return txn.Set(nodeKey(ids[0]), []byte{9, 9})
		}, "record version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, ids := smallStore(t)
			ctx := context.Background()
			if rep, err := s.Check(ctx); err != nil || !rep.OK() {
				t.Fatalf("undamaged store: %v %+v", err, rep)
			}
			if err := s.db.Update(func(txn *badger.Txn) error { return c.damage(s, ids, txn) }); err != nil {
				t.Fatal(err)
			}
			rep, err := s.Check(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() {
				t.Fatal("check passed a damaged store")
			}
			if !strings.Contains(strings.Join(rep.Problems, "\n"), c.want) {
				t.Errorf("problems do not mention %q:\n%s", c.want, strings.Join(rep.Problems, "\n"))
			}
		})
	}
}

func TestFormatVersionIsEnforced(t *testing.T) {
	s, _ := smallStore(t)
	dir := s.Dir()
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(keyFormatVersion, []byte{0, 0, 0, 99})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, DefaultOptions())
	if err == nil || !strings.Contains(err.Error(), "format 99") {
		t.Fatalf("open of a format-99 store: %v", err)
	}
}
