package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/verband-cti/verband/graph/internal/textindex"
	"github.com/verband-cti/verband/schema"
)

// The search index is a derived view of the store. Every commit writes the
// ids it changed to the outbox in the same Badger transaction; one indexer
// goroutine reads the outbox past the index's high-water mark, turns the
// nodes into documents and applies them in one bleve batch together with
// the new mark. After a crash the index reopens at its last persisted mark
// and the indexer replays the outbox from there.

// indexBatchIDs bounds how many node ids one bleve batch covers: two bulk
// chunks. Smaller batches cost less in all: a million-object verband bench
// load used about a tenth less CPU until searchable with 4,000 than with
// 16,000 (84-89 against 95-99 CPU seconds, alternating, one sitting), the
// cheaper building of each segment and the smaller transient heap
// outweighing the persister's extra in-memory merges. It leaves more
// segments for the merger afterwards (about 25 instead of 15).
const indexBatchIDs = 4000

// indexLinger is how long the indexer waits for more commits after a batch
// that did not fill indexBatchIDs. During a bulk load chunks commit every
// few tens of milliseconds; indexing each alone makes many small bleve
// segments, which the persister and merger then merge again and again.
// Waiting gathers several chunks into one batch. Only commits that arrive
// while the indexer waits are delayed, and a caller of WaitIndexed ends the
// wait at once.
const indexLinger = 200 * time.Millisecond

type indexer struct {
	s    *Store
	dir  string
	ix   *textindex.Index
	wake chan struct{}
	// hurry ends a linger: someone waits for the index (see wait).
	hurry chan struct{}
	// waiters counts the callers of wait that are waiting.
	waiters atomic.Int32
	stop    chan struct{}
	done    chan struct{}

	hwm     atomic.Uint64
	staged  stagedRecords
	mu      sync.Mutex
	changed *sync.Cond // broadcast when hwm advances or the indexer fails
	err     error      // sticky error that stopped the indexer
	trimmed uint64     // outbox pruned up to here

	// optMu guards opt, the merge of the index running or last run (see
	// optimize.go).
	optMu sync.Mutex
	opt   *optimizeRun
}

func startIndexer(s *Store, dir string) (*indexer, error) {
	ix, err := openIndex(s, dir)
	if err != nil {
		return nil, err
	}
	in := &indexer{s: s, dir: dir, ix: ix, wake: make(chan struct{}, 1), hurry: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if err := s.noteMultiDocs(ix); err != nil {
		return nil, errors.Join(err, ix.Close())
	}
	in.changed = sync.NewCond(&in.mu)
	hwm, err := ix.HWM()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("read search high-water mark: %w", err), ix.Close())
	}
	first, err := s.firstOutboxSeq()
	if err != nil {
		return nil, errors.Join(err, ix.Close())
	}
	if hwm > s.outSeq.Load() || (first > 0 && hwm+1 < first) || (first == 0 && hwm < s.outSeq.Load()) {
		// The outbox no longer holds everything the index misses (or the
		// index is ahead of a restored store): rebuild from the records.
		s.log.Warn("search index does not match the store; rebuilding", "index_hwm", hwm, "outbox_first", first, "outbox_last", s.outSeq.Load())
		if err := ix.Close(); err != nil {
			return nil, fmt.Errorf("close stale search index: %w", err)
		}
		if ix, err = rebuildIndex(s, dir, nil); err != nil {
			return nil, err
		}
		in.ix = ix
		if hwm, err = ix.HWM(); err != nil {
			return nil, errors.Join(err, ix.Close())
		}
	}
	in.hwm.Store(hwm)
	in.trimmed = hwm
	go in.run()
	in.notify()
	return in, nil
}

func openIndex(s *Store, dir string) (*textindex.Index, error) {
	ix, err := textindex.Open(dir, s.indexOptions())
	if errors.Is(err, textindex.ErrCorrupt) {
		s.log.Warn("search index is damaged or of an older format; removing it to rebuild", "dir", dir, "err", err)
		if err := textindex.Remove(dir); err != nil {
			return nil, fmt.Errorf("remove damaged search index: %w", err)
		}
		ix, err = textindex.Open(dir, s.indexOptions())
	}
	if err != nil {
		return nil, fmt.Errorf("open search index: %w", err)
	}
	return ix, nil
}

// indexOptions are the text index's options for this store.
func (s *Store) indexOptions() textindex.Options {
	o := textindex.DefaultOptions()
	o.ResolveID = s.resolveSTIXID
	// A node with no text (a sighting, say) is still listed by type and
	// time; it once stayed in the index through its STIX id keyword.
	o.IndexBare = true
	if s.opts.SearchPersistInterval > 0 {
		o.PersisterNap = s.opts.SearchPersistInterval
	}
	return o
}

func (in *indexer) notify() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

func (in *indexer) run() {
	defer close(in.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	// next, when set, delivers the batch after the one being applied, read
	// and turned into documents meanwhile: when someone waits for a
	// backlog to be indexed, building documents (Badger reads, JSON) and
	// bleve's indexing overlap. Otherwise the indexer keeps to one
	// goroutine and leaves the other cores to the writers.
	var next chan indexBatch
	fail := func(err error) {
		if next != nil {
			<-next // its reads end before the store closes
		}
		in.mu.Lock()
		in.err = err
		in.changed.Broadcast()
		in.mu.Unlock()
		in.s.log.Error("search indexer stopped", "err", err)
	}
	for {
		var b indexBatch
		if next != nil {
			b, next = <-next, nil
		} else {
			b = in.read(in.hwm.Load())
		}
		if b.err != nil {
			fail(b.err)
			return
		}
		if b.empty() {
			in.trim()
			select {
			case <-in.stop:
				return
			case <-in.wake:
			case <-tick.C:
			}
			continue
		}
		if b.full && in.waiters.Load() > 0 {
			next = make(chan indexBatch, 1)
			go func(after uint64) { next <- in.read(after) }(b.last)
		}
		if err := in.apply(b); err != nil {
			fail(err)
			return
		}
		if !b.full {
			in.linger()
		}
	}
}

// linger waits up to indexLinger for more commits to index in one batch,
// unless the store is closing or someone waits for the index.
func (in *indexer) linger() {
	t := time.NewTimer(indexLinger)
	defer t.Stop()
	select {
	case <-in.stop:
		// Drain what was committed before Close.
	case <-in.hurry:
	case <-t.C:
	}
}

// indexBatch is what the outbox entries after one high-water mark ask the
// index to do.
type indexBatch struct {
	after, last uint64 // the entries after after, up to last
	docs        []textindex.Doc
	deletes     []uint64
	full        bool // indexBatchIDs were read: more may be waiting
	err         error
}

// empty reports a batch without entries: the index had caught up.
func (b *indexBatch) empty() bool { return b.last == b.after }

// read reads the outbox entries after hwm, up to indexBatchIDs ids, and
// builds the documents of the nodes they name as they are now.
func (in *indexer) read(hwm uint64) indexBatch {
	b := indexBatch{after: hwm, last: hwm}
	target := in.s.outSeq.Load()
	if hwm >= target {
		return b
	}
	var ids []ID
	var entries []outboxEntry
	err := in.s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: []byte{tagOutbox}})
		defer it.Close()
		for it.Seek(outboxKey(hwm + 1)); it.Valid() && len(ids) < indexBatchIDs; it.Next() {
			seq, err := parseOutboxKey(it.Item().Key())
			if err != nil {
				return err
			}
			if seq > target {
				break
			}
			if err := it.Item().Value(func(v []byte) error {
				more, err := decodeIDs(v)
				ids = append(ids, more...)
				entries = append(entries, outboxEntry{seq, more})
				return err
			}); err != nil {
				return fmt.Errorf("read outbox entry %d: %w", seq, err)
			}
			b.last = seq
		}
		return nil
	})
	if err != nil {
		b.err = fmt.Errorf("read outbox: %w", err)
		return b
	}
	if b.empty() {
		b.err = fmt.Errorf("outbox entries %d..%d missing: %w", hwm+1, target, ErrCorrupt)
		return b
	}
	b.full = len(ids) >= indexBatchIDs
	b.docs, b.deletes, b.err = in.s.documents(ids, in.staged.take(entries))
	return b
}

// outboxEntry is one outbox entry: the ids one commit changed.
type outboxEntry struct {
	seq uint64
	ids []ID
}

// stagedRecordsBudget bounds the bytes of records stagedRecords holds; a
// commit that would exceed it is not offered, and the indexer reads its
// records from Badger. Records average about 500 bytes, so this covers some
// 32,000 records, eight full indexer batches; more would only add live
// heap when the indexer lags far behind, as in a million-object load,
// where the collector then runs more often under the process's memory
// limit.
const stagedRecordsBudget = 16 << 20

// stagedRecords hands the indexer the node records that commits wrote, by
// outbox entry, so that it need not read back from Badger what a writer has
// just encoded. The outbox stays the truth: the indexer learns from it which
// nodes changed, and any it has no staged record for it reads from Badger.
// A staged record is a node's state as of its commit; when a later commit
// changed the node again, that commit's outbox entry indexes it again.
type stagedRecords struct {
	mu    sync.Mutex
	bySeq map[uint64]map[ID][]byte
	bytes int
}

// offer stages the records a commit with outbox entry seq wrote (nil for a
// deleted record). The records must not change afterwards.
func (st *stagedRecords) offer(seq uint64, recs map[ID][]byte) {
	n := 0
	for _, b := range recs {
		n += len(b)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.bytes+n > stagedRecordsBudget {
		return
	}
	if st.bySeq == nil {
		st.bySeq = map[uint64]map[ID][]byte{}
	}
	st.bySeq[seq] = recs
	st.bytes += n
}

// take removes the staged records of entries, and of every entry before
// the last of them, and returns the newest staged record of each node they
// changed. A node that a later entry of entries changed without a staged
// record is left out, so that its record is read from Badger.
func (st *stagedRecords) take(entries []outboxEntry) map[ID][]byte {
	if len(entries) == 0 {
		return nil
	}
	last := entries[len(entries)-1].seq
	st.mu.Lock()
	taken := make(map[uint64]map[ID][]byte, len(entries))
	for seq, recs := range st.bySeq {
		if seq > last {
			continue
		}
		taken[seq] = recs
		delete(st.bySeq, seq)
		for _, b := range recs {
			st.bytes -= len(b)
		}
	}
	st.mu.Unlock()
	if len(taken) == 0 {
		return nil
	}
	known := map[ID][]byte{}
	for _, e := range entries {
		recs := taken[e.seq]
		for _, id := range e.ids {
			if b, ok := recs[id]; ok {
				known[id] = b
			} else {
				delete(known, id)
			}
		}
	}
	return known
}

// apply indexes a batch and advances the high-water mark to its last
// entry.
func (in *indexer) apply(b indexBatch) error {
	if err := in.ix.Apply(b.docs, b.deletes, b.last); err != nil {
		return fmt.Errorf("index batch up to outbox entry %d: %w", b.last, err)
	}
	in.mu.Lock()
	in.hwm.Store(b.last)
	in.changed.Broadcast()
	in.mu.Unlock()
	return nil
}

// trim deletes outbox entries the index has persisted. It always keeps the
// newest entry, because the outbox position is read back from it on open.
func (in *indexer) trim() {
	durable := min(in.ix.DurableHWM(), in.s.outSeq.Load()-1)
	if in.s.outSeq.Load() == 0 || durable <= in.trimmed {
		return
	}
	err := in.s.db.Update(func(txn *badger.Txn) error {
		for seq := in.trimmed + 1; seq <= durable; seq++ {
			if err := txn.Delete(outboxKey(seq)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		in.s.log.Warn("prune outbox", "err", err)
		return
	}
	in.trimmed = durable
}

// stopIndexing stops the indexer once it has indexed every commit; after
// it the index no longer reads the store.
func (in *indexer) stopIndexing() {
	close(in.stop)
	<-in.done
}

// wait blocks until the index has caught up with outbox entry seq, the
// indexer failed, or ctx ends.
func (in *indexer) wait(ctx context.Context, seq uint64) error {
	stop := context.AfterFunc(ctx, func() {
		in.mu.Lock()
		in.changed.Broadcast()
		in.mu.Unlock()
	})
	defer stop()
	in.waiters.Add(1)
	defer in.waiters.Add(-1)
	if in.hwm.Load() < seq {
		select {
		case in.hurry <- struct{}{}:
		default:
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for in.hwm.Load() < seq {
		if in.err != nil {
			return fmt.Errorf("search indexer: %w", in.err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("wait for search index: %w", err)
		}
		in.changed.Wait()
	}
	return nil
}

// firstOutboxSeq returns the oldest outbox entry still stored, or 0.
func (s *Store) firstOutboxSeq() (uint64, error) {
	var first uint64
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagOutbox}})
		defer it.Close()
		it.Rewind()
		if it.Valid() {
			var err error
			first, err = parseOutboxKey(it.Item().Key())
			return err
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read outbox start: %w", err)
	}
	return first, nil
}

// documents builds the search documents of ids as they are now, or as
// their staged records say (see stagedRecords); ids whose node is gone or
// a stub become deletes. The records not staged are read in id order with
// one iterator: the ids of a batch are mostly a run of new nodes, which it
// steps through instead of looking each up from the top of the tree.
func (s *Store) documents(ids []ID, staged map[ID][]byte) ([]textindex.Doc, []uint64, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	docs := make([]textindex.Doc, 0, len(ids))
	var deletes []uint64
	err := s.view(System(), func(tx *Tx) error {
		it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagNode}})
		defer it.Close()
		it.Rewind()
		for _, id := range ids {
			v, ok := staged[id]
			var err error
			if ok {
				ok = v != nil
			} else if v, ok, err = seekValue(it, nodeKey(id)); err != nil {
				return fmt.Errorf("read node %d: %w", id, err)
			}
			var r record
			if ok {
				if r, err = decodeRecord(v); err != nil {
					return fmt.Errorf("node %d: %w", id, err)
				}
			}
			if !ok || r.stub() {
				deletes = append(deletes, uint64(id))
				continue
			}
			if !searchable(s.syms.name(r.typ)) {
				continue // a node never changes type: no stale document to delete
			}
			d, err := s.document(id, &r)
			if err != nil {
				return err
			}
			docs = append(docs, d)
		}
		return nil
	})
	return docs, deletes, err
}

// seekValue moves it, which stands before key or on it, to key and returns
// a copy of its value, or reports that key does not exist. It steps a few
// keys forward before it seeks: the next key wanted is usually close.
func seekValue(it *badger.Iterator, key []byte) ([]byte, bool, error) {
	for range 8 {
		if !it.Valid() || bytes.Compare(it.Item().Key(), key) >= 0 {
			break
		}
		it.Next()
	}
	if it.Valid() && bytes.Compare(it.Item().Key(), key) < 0 {
		it.Seek(key)
	}
	if !it.Valid() || !bytes.Equal(it.Item().Key(), key) {
		return nil, false, nil
	}
	v, err := it.Item().ValueCopy(nil)
	return v, err == nil, err
}

// textProps are the properties indexed as analysed text besides "name".
var textProps = []string{"description", "aliases", "x_mitre_aliases", "abstract", "content", "explanation", "objective", "goals", "roles", "sectors", "x_mitre_platforms", "pattern", "subject", "body", "product", "vendor", "x_verband_reason"}

// searchable reports whether nodes of a type get a search document.
// Relationships do not: they carry little text, are reached through the
// graph, and are a quarter of a typical store.
func searchable(typ string) bool { return typ != "relationship" }

// document turns a record into a search document: its contributions with
// every protected property removed, merged. A node whose contributions
// differ gets a document marked Multi, whose hits Search checks against
// what each viewer sees of it.
func (s *Store) document(id ID, r *record) (textindex.Doc, error) {
	names := s.protected().every
	parts := make([][]byte, len(r.contribs))
	mods := make([]int64, len(r.contribs))
	multi := false
	for i := range r.contribs {
		raw, err := stripProps(r.contribRaw(i), names)
		if err != nil {
			return textindex.Doc{}, fmt.Errorf("index node %d: %w", id, err)
		}
		parts[i], mods[i] = raw, r.contribs[i].modified
		multi = multi || !bytes.Equal(raw, parts[0])
	}
	raw := r.raw
	if len(parts) > 0 {
		var err error
		if raw, err = mergeRaw(s.syms.name(r.typ), parts, mods); err != nil {
			return textindex.Doc{}, fmt.Errorf("index node %d: %w", id, err)
		}
	}
	d, err := buildDocument(id, r.class, raw)
	if err != nil || !multi {
		return d, err
	}
	// Every contribution's text goes in, so that each viewer finds what
	// its own contributions say; Search checks such hits again. The flag
	// is raised before the document can be applied, so no search misses
	// the check.
	d.Multi = true
	s.multiDocs.Store(true)
	for _, part := range parts {
		pd, err := buildDocument(id, r.class, part)
		if err != nil {
			return textindex.Doc{}, err
		}
		if pd.Name != d.Name {
			d.Text = append(d.Text, pd.Name)
		}
		d.Text = append(d.Text, pd.Text...)
		d.Keywords = append(d.Keywords, pd.Keywords...)
		d.IPs = append(d.IPs, pd.IPs...)
	}
	slices.Sort(d.Keywords)
	d.Keywords = slices.Compact(d.Keywords)
	slices.Sort(d.IPs)
	d.IPs = slices.Compact(d.IPs)
	return d, nil
}

// buildDocument makes the search document of a node's JSON, from which
// protected properties have been removed. Only the properties named here
// are read.
func buildDocument(id ID, class Class, raw []byte) (textindex.Doc, error) {
	o, err := schema.ParseObject(raw)
	if err != nil {
		return textindex.Doc{}, fmt.Errorf("index node %d: %w", id, err)
	}
	d := textindex.Doc{ID: uint64(id), Type: o.Type, Class: uint32(class), Created: o.Created, Modified: o.Modified}
	if d.Modified.IsZero() {
		d.Modified = d.Created
	}
	d.Name, _ = o.String("name")
	for _, p := range textProps {
		if v, ok := o.String(p); ok {
			d.Text = append(d.Text, v)
		} else if vs := o.Strings(p); len(vs) > 0 {
			d.Text = append(d.Text, vs...)
		}
	}
	// The STIX id is no keyword: a search for one finds the node through
	// the store's id index (resolveSTIXID), which spares the index a unique
	// term per document.
	for _, v := range schema.IndexValues(o) {
		if (o.Type == "ipv4-addr" || o.Type == "ipv6-addr") && isAddr(v) {
			// As an address for CIDR queries, and as a keyword so that
			// the exact value scores and ranks first.
			d.IPs = append(d.IPs, v)
		}
		d.Keywords = append(d.Keywords, v)
	}
	d.Keywords = append(d.Keywords, o.Strings("labels")...)
	d.Keywords = append(d.Keywords, externalIDs(o)...)
	if d.Name == "" && len(d.IPs) == 0 && !oneWordValue[o.Type] {
		if v := schema.IndexValues(o); len(v) > 0 {
			d.Name = v[0]
		}
	}
	return d, nil
}

// oneWordValue lists the types whose value is a single word to the text
// analyser (a domain name, a hash), so that as a name it would only repeat
// the keyword, at the cost of another unique term per document.
var oneWordValue = map[string]bool{"domain-name": true, "file": true}

// resolveSTIXID finds the node a STIX id or alias names, whoever may see
// it: search hits are checked against the viewer afterwards like any other.
func (s *Store) resolveSTIXID(stixID string) (uint64, bool) {
	var id ID
	var ok bool
	err := s.db.View(func(txn *badger.Txn) (err error) {
		id, ok, err = readXID(txn, stixID)
		return err
	})
	if err != nil {
		s.log.Warn("search: look up a STIX id", "id", stixID, "err", err)
	}
	return uint64(id), ok && err == nil
}

func isAddr(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// externalIDs returns external_references[].external_id, such as T1055.
func externalIDs(o *schema.Object) []string {
	raw, ok := o.Props["external_references"]
	if !ok {
		return nil
	}
	var refs []struct {
		ExternalID string `json:"external_id"`
	}
	if err := json.Unmarshal(raw, &refs); err != nil {
		return nil
	}
	var out []string
	for _, r := range refs {
		if r.ExternalID != "" {
			out = append(out, r.ExternalID)
		}
	}
	return out
}

// rebuildIndex replaces the index in dir with one built from every node
// record, reporting progress (nodes done) through progress when not nil.
// The new index's high-water mark is the outbox position the scan saw.
func rebuildIndex(s *Store, dir string, progress func(done int)) (*textindex.Index, error) {
	if err := textindex.Remove(dir); err != nil {
		return nil, fmt.Errorf("remove search index: %w", err)
	}
	ix, err := textindex.Open(dir, s.indexOptions())
	if err != nil {
		return nil, fmt.Errorf("create search index: %w", err)
	}
	// The snapshot and the outbox position are taken together under the
	// writer lock, so the index holds exactly the state at that position.
	s.wmu.Lock()
	txn := s.db.NewTransaction(false)
	seq := s.outSeq.Load()
	s.wmu.Unlock()
	defer txn.Discard()
	tx := s.newTx(txn, System())
	var docs []textindex.Doc
	done := 0
	flush := func(hwm uint64) error {
		if err := ix.Apply(docs, nil, hwm); err != nil {
			return fmt.Errorf("rebuild search index: %w", err)
		}
		done += len(docs)
		docs = docs[:0]
		if progress != nil {
			progress(done)
		}
		return nil
	}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagType}})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		y, id, err := parseTypeKey(it.Item().Key())
		if err != nil {
			return nil, errors.Join(err, ix.Close())
		}
		if !searchable(s.syms.name(y)) {
			continue
		}
		r, err := tx.getRecord(id)
		if err != nil {
			return nil, errors.Join(err, ix.Close())
		}
		d, err := s.document(id, &r)
		if err != nil {
			return nil, errors.Join(err, ix.Close())
		}
		docs = append(docs, d)
		if len(docs) == indexBatchIDs {
			// Intermediate batches keep mark 0: a crash mid-rebuild leaves
			// an index that is rebuilt again on the next start.
			if err := flush(0); err != nil {
				return nil, errors.Join(err, ix.Close())
			}
		}
	}
	if err := flush(seq); err != nil {
		return nil, errors.Join(err, ix.Close())
	}
	return ix, nil
}

// SearchQuery is a full-text query. See Store.Search.
type SearchQuery struct {
	// Text is what the user typed: words, an exact value (IP, domain,
	// hash, external id such as T1055), or a CIDR.
	Text string
	// Types restricts hits to these STIX types; empty means all.
	Types []string
	// From and Size page through hits; Size 0 means 20, at most 1000.
	From, Size int
	// Facets asks for per-type counts.
	Facets bool
	// After and Before restrict hits to a window of modification times.
	After, Before time.Time
}

// SearchHit is one hit.
type SearchHit struct {
	ID ID
	// Score is the relevance, for the System viewer only; 0 for everyone
	// else, since it depends on documents they may not see.
	Score float64
}

// SearchResult holds hits, the total number of matches and per-type counts,
// all over what the viewer may see.
type SearchResult struct {
	Total  uint64
	Hits   []SearchHit
	Facets map[string]uint64
}

// Search runs a full-text query as viewer v. The query is restricted inside
// the index to what v may see: each document it matches is kept only when
// v may see the node's current class (read from memory, by id), so hits,
// Total and Facets count only visible nodes, and a changed marking takes
// effect at once, before the index catches up.
func (s *Store) Search(ctx context.Context, v Viewer, q SearchQuery) (*SearchResult, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	in := s.search.Load()
	if in == nil {
		return nil, fmt.Errorf("search: the store was opened without a search index: %w", ErrInvalid)
	}
	tq := textindex.Query{Text: q.Text, Types: q.Types, From: q.From, Size: q.Size, Facets: q.Facets, After: q.After, Before: q.Before}
	vis := newSharedVisibility(v, s.classes)
	visible := func(id ID) bool { return vis.class(s.cache.get(id)) }
	if !v.seesAll() {
		// Each document the query matches is checked against the node's
		// current class in memory as the search reaches it: a few
		// nanoseconds each, and no posting list of the documents v may
		// see is ever read, however large.
		tq.Keep = func(id uint64) bool { return visible(ID(id)) }
	}
	res, err := in.ix.Search(ctx, tq)
	if err != nil {
		return nil, err // the index's errors name the search step
	}
	out := &SearchResult{Total: res.Total, Facets: res.Facets}
	var wrong map[ID]bool
	if !v.seesAll() {
		if wrong, err = s.falseHits(ctx, in, v, tq, out); err != nil {
			return nil, err
		}
	}
	for _, h := range res.Hits {
		// The index lags the store: drop a hit whose node has since become
		// hidden or gone.
		if id := ID(h.ID); visible(id) && !wrong[id] {
			score := h.Score
			if !v.seesAll() {
				// Scores weigh terms by statistics over the whole index,
				// hidden documents included: a viewer that may not see
				// everything gets the order, not the numbers.
				score = 0
			}
			out.Hits = append(out.Hits, SearchHit{ID: id, Score: score})
		}
	}
	return out, nil
}

// noteMultiDocs raises Store.multiDocs when the index holds a Multi
// document from an earlier run.
func (s *Store) noteMultiDocs(ix *textindex.Index) error {
	res, err := ix.Search(context.Background(), textindex.Query{OnlyMulti: true, Size: 1})
	if err != nil {
		return fmt.Errorf("open search index: look for documents of merged contributions: %w", err)
	}
	if res.Total > 0 {
		s.multiDocs.Store(true)
	}
	return nil
}

// maxMultiHits bounds how many hits on Multi documents one search checks
// again; beyond it the search fails rather than risk counting what the
// viewer may not see.
const maxMultiHits = 10000

// falseHits finds the hits on nodes whose contributions differ (Multi
// documents) that match only through contributions the viewer cannot see:
// it runs the query again over those documents alone, rebuilds each from
// the viewer's view of the node, and checks it against the query. It
// removes each false hit from out's Total and Facets and returns them, so
// the caller drops them from the hits.
func (s *Store) falseHits(ctx context.Context, in *indexer, v Viewer, tq textindex.Query, out *SearchResult) (map[ID]bool, error) {
	if !s.multiDocs.Load() {
		return nil, nil // no node's contributions differ: nothing to check
	}
	mq := tq
	mq.OnlyMulti, mq.From, mq.Size, mq.Facets = true, 0, maxMultiHits, false
	multi, err := in.ix.Search(ctx, mq)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if len(multi.Hits) == 0 {
		return nil, nil
	}
	if multi.Total > maxMultiHits {
		return nil, fmt.Errorf("search: %d hits on objects with several contributions, more than %d can be checked; narrow the query: %w", multi.Total, maxMultiHits, ErrInvalid)
	}
	names := s.protected().every
	docs := make([]textindex.Doc, 0, len(multi.Hits))
	types := map[ID]string{}
	err = s.View(v, func(tx *Tx) error {
		for _, h := range multi.Hits {
			n, err := tx.Node(ID(h.ID))
			if errors.Is(err, ErrNotFound) {
				continue // gone or hidden since: the hit loop drops it
			}
			if err != nil {
				return err
			}
			raw, err := stripProps(n.Raw, names)
			if err != nil {
				return err
			}
			d, err := buildDocument(n.ID, n.Class, raw)
			if err != nil {
				return err
			}
			docs = append(docs, d)
			types[n.ID] = n.Type
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	ok, err := in.ix.Verify(ctx, tq, docs)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	wrong := map[ID]bool{}
	for id, typ := range types {
		if ok[uint64(id)] {
			continue
		}
		wrong[id] = true
		out.Total--
		if out.Facets != nil {
			if out.Facets[typ]--; out.Facets[typ] == 0 {
				delete(out.Facets, typ)
			}
		}
	}
	return wrong, nil
}

// IndexStatus reports how far the search index lags the store.
type IndexStatus struct {
	// Committed is the last outbox entry written; Indexed the last one the
	// search index has applied. Lag is their difference, in commits.
	Committed, Indexed, Lag uint64
	// Docs is the number of documents in the index.
	Docs uint64
	// Segments is the number of segments the index holds; OptimizeSearch
	// merges them into one per shard.
	Segments int
	// Optimize is the merge of the index running or last run since the
	// store was opened; nil when none ran.
	Optimize *OptimizeState
	// Err is the error that stopped the indexer, if any.
	Err error
}

// IndexStatus returns the search index's position.
func (s *Store) IndexStatus() IndexStatus {
	st := IndexStatus{Committed: s.outSeq.Load()}
	in := s.search.Load()
	if in == nil {
		return st
	}
	st.Indexed = in.hwm.Load()
	if st.Committed > st.Indexed {
		st.Lag = st.Committed - st.Indexed
	}
	st.Docs, _ = in.ix.DocCount()
	st.Segments, _ = in.ix.Segments()
	st.Optimize = in.optimizeState()
	in.mu.Lock()
	st.Err = in.err
	in.mu.Unlock()
	return st
}

// WaitIndexed blocks until everything committed before the call is
// searchable, or ctx ends.
func (s *Store) WaitIndexed(ctx context.Context) error {
	in := s.search.Load()
	if in == nil {
		return nil
	}
	return in.wait(ctx, s.outSeq.Load())
}

// Reindex rebuilds the search index from the store, for after a damaged
// index or a mapping change. Writes may continue meanwhile; the indexer
// resumes from the rebuilt index's mark.
func (s *Store) Reindex(ctx context.Context, progress func(done int)) error {
	in := s.search.Load()
	if in == nil {
		return fmt.Errorf("reindex: the store was opened without a search index: %w", ErrInvalid)
	}
	in.haltOptimize()
	close(in.stop)
	<-in.done
	if err := in.ix.Close(); err != nil {
		return fmt.Errorf("reindex: close index: %w", err)
	}
	ix, err := rebuildIndex(s, in.dir, progress)
	if err != nil {
		return err
	}
	hwm, err := ix.HWM()
	if err != nil {
		return errors.Join(err, ix.Close())
	}
	fresh := &indexer{s: s, dir: in.dir, ix: ix, wake: make(chan struct{}, 1), hurry: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), trimmed: hwm}
	fresh.changed = sync.NewCond(&fresh.mu)
	fresh.hwm.Store(hwm)
	s.search.Store(fresh)
	go fresh.run()
	fresh.notify()
	return s.WaitIndexed(ctx)
}
