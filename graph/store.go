package graph

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// ID is a node's internal id. IDs come from a leased, persisted sequence;
// 0 is never used, and every id fits in an int64 so it can serve as a gonum
// node id.
type ID uint64

// sym is an interned name: a STIX type or an edge type.
type sym uint32

// Store is a STIX property graph kept in Badger, with a full-text sidecar.
// It is safe for concurrent use: any number of readers, and writers that
// the store runs one at a time.
type Store struct {
	dir    string
	opts   Options
	log    *slog.Logger
	db     *badger.DB
	seq    *badger.Sequence
	closed atomic.Bool
	// gc is the value log collector, nil when it does not run.
	gc *periodic

	// wmu makes the store single-writer: Update and Bulk commits hold it, so
	// read-modify-write of counters never conflicts.
	wmu sync.Mutex
	// auth caches authenticated tokens; account writes clear it.
	auth authCache

	syms    symTable
	classes *classTable
	cache   classCache

	// outSeq is the last outbox sequence number committed; nextSeq, owned
	// by the writer (under wmu), is the last one handed out, which runs
	// ahead of outSeq while a bulk chunk commits.
	outSeq  atomic.Uint64
	nextSeq uint64

	wcache *writerCache
	// refs remembers the ids and types of nodes readers named (see Tx.Ref).
	refs refCache

	search atomic.Pointer[indexer] // nil without Options.Search

	protect atomic.Pointer[protection]
	// srcMarks holds the default marking of each import source.
	srcMarks atomic.Pointer[map[string]SourceMarking]
	srcMu    sync.Mutex // serializes SetSourceMarking
	// secret keys what Key derives; see secret.go.
	secret []byte
	// multiDocs is raised once the search index may hold a document of a
	// node whose contributions differ, which searches must check again.
	multiDocs atomic.Bool
	audit     auditLog // the audit log (auditstore.go)
	// auditPruneMu serializes PruneAudit (auditprune.go).
	auditPruneMu sync.Mutex
	// format is the format version the store was opened with.
	format uint32
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.IDLease == 0 {
		opts.IDLease = DefaultOptions().IDLease
	}
	key, err := opts.encryptionKey()
	if err != nil {
		return nil, err
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
	}
	bopts := badger.DefaultOptions(filepath.Join(dir, "badger")).
		WithLogger(badgerLogger{opts.Logger}).
		WithSyncWrites(opts.SyncWrites).
		WithReadOnly(opts.ReadOnly).
		WithDetectConflicts(false).
		WithMetricsEnabled(false).
		WithNumGoroutines(4)
	if opts.ValueThreshold > 0 {
		bopts = bopts.WithValueThreshold(opts.ValueThreshold)
	}
	if opts.ValueLogFileSize > 0 {
		bopts = bopts.WithValueLogFileSize(opts.ValueLogFileSize)
	}
	if opts.MemTableSize > 0 {
		bopts = bopts.WithMemTableSize(opts.MemTableSize)
	}
	if opts.NumMemtables > 0 {
		bopts = bopts.WithNumMemtables(opts.NumMemtables)
	}
	if opts.IndexCacheSize > 0 {
		bopts = bopts.WithIndexCacheSize(opts.IndexCacheSize)
	}
	if key != nil {
		bopts = bopts.WithEncryptionKey(key)
		if opts.IndexCacheSize == 0 {
			bopts = bopts.WithIndexCacheSize(64 << 20)
		}
	}
	// Badger decodes compressed and encrypted blocks into its block cache;
	// uncompressed, unencrypted tables are read from their memory map and
	// need none (see Options.CompressTables).
	cacheSize := cmp.Or(max(opts.BlockCacheSize, 0), DefaultOptions().BlockCacheSize)
	bopts = bopts.WithCompression(options.None).WithBlockCacheSize(0)
	if opts.CompressTables {
		bopts = bopts.WithCompression(options.Snappy)
	}
	if opts.CompressTables || key != nil {
		bopts = bopts.WithBlockCacheSize(cacheSize)
	} else if n, err := compressedTables(bopts); err != nil {
		// Badger reports a damaged manifest itself; the cache is safe.
		opts.Logger.Warn("cannot tell whether the store holds compressed tables; using a block cache", "err", err)
		bopts = bopts.WithBlockCacheSize(cacheSize)
	} else if n > 0 {
		// Tables compressed by an earlier version: without a cache every
		// read of theirs would decode a block anew.
		opts.Logger.Info("the store holds tables compressed by an earlier version; reading them through a block cache until compactions rewrite them",
			"tables", n, "block_cache_bytes", cacheSize)
		bopts = bopts.WithBlockCacheSize(cacheSize)
	}
	db, err := openBadger(bopts, opts.Logger)
	if err != nil {
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			// Badger does not wrap the lock error, so match its text.
			return nil, fmt.Errorf("open %s: %w", dir, ErrLocked)
		}
		return nil, fmt.Errorf("open badger in %s: %w", dir, err)
	}
	s := &Store{dir: dir, opts: opts, log: opts.Logger, db: db, classes: newClassTable(), wcache: newWriterCache()}
	if err := s.load(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if err := s.openAudit(key); err != nil {
		return nil, errors.Join(err, s.closeBadger())
	}
	if !opts.ReadOnly {
		if s.seq, err = db.GetSequence(keyIDSequence, opts.IDLease); err != nil {
			return nil, errors.Join(fmt.Errorf("lease id sequence: %w", err), s.closeBadger())
		}
		if err := s.adoptLegacyTokens(); err != nil {
			return nil, errors.Join(err, s.closeBadger())
		}
	}
	if opts.Search && !opts.ReadOnly {
		in, err := startIndexer(s, filepath.Join(dir, "search"))
		if err != nil {
			return nil, errors.Join(err, s.closeBadger())
		}
		s.search.Store(in)
	}
	if !opts.ReadOnly && opts.ValueLogGCInterval > 0 {
		s.gc = startPeriodic(opts.ValueLogGCInterval, s.collectValueLogNow)
	}
	return s, nil
}

// compressedTables counts the tables that Badger's manifest lists as
// compressed, without opening the database.
func compressedTables(bopts badger.Options) (int, error) {
	f, err := os.Open(filepath.Join(bopts.Dir, badger.ManifestFilename))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read badger manifest: %w", err)
	}
	defer f.Close()
	m, _, err := badger.ReplayManifestFile(f, bopts.ExternalMagicVersion, bopts)
	if err != nil {
		return 0, fmt.Errorf("read badger manifest: %w", err)
	}
	n := 0
	for _, t := range m.Tables {
		if t.Compression != options.None {
			n++
		}
	}
	return n, nil
}

// openBadger opens Badger, repairing one known crash artefact first: when
// the process dies right after Badger created a value log or a memtable log
// file and before it sized or wrote anything into it, the empty file makes
// every later open fail ("Open existing file … Create a new file" for a value
// log, "while opening fid: N err: Create a new file" for a memtable), and a
// failed open of a value log grows it to its full sparse size. An empty file
// of either kind holds no data, so it is removed before Badger sees it.
func openBadger(bopts badger.Options, log *slog.Logger) (*badger.DB, error) {
	if !bopts.ReadOnly {
		for _, pattern := range []string{
			filepath.Join(bopts.ValueDir, "*.vlog"),
			filepath.Join(bopts.Dir, "*.mem"),
		} {
			if err := removeEmptyFiles(pattern, log); err != nil {
				return nil, err
			}
		}
	}
	return badger.Open(bopts)
}

// removeEmptyFiles removes the files of size zero that match pattern.
func removeEmptyFiles(pattern string, log *slog.Logger) error {
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return fmt.Errorf("list %s: %w", pattern, err)
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.Size() == 0 {
			log.Warn("removing an empty log file left by a crash", "file", p)
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("remove empty log file: %w", err)
			}
		}
	}
	return nil
}

// load checks the format version and loads symbols, classes, the class of
// every node and the outbox position into memory.
func (s *Store) load() error {
	if !s.opts.ReadOnly {
		err := s.db.Update(func(txn *badger.Txn) error {
			item, err := txn.Get(keyFormatVersion)
			if errors.Is(err, badger.ErrKeyNotFound) {
				if !isEmpty(txn) {
					return fmt.Errorf("data dir has data but no format version: %w", ErrFormatVersion)
				}
				if err := txn.Set(keyFormatVersion, binary.BigEndian.AppendUint32(nil, FormatVersion)); err != nil {
					return err
				}
				s.format = FormatVersion
				return ensureSecret(txn)
			}
			if err != nil {
				return err
			}
			if err := item.Value(s.checkVersion); err != nil {
				return err
			}
			return ensureSecret(txn)
		})
		if err != nil {
			return fmt.Errorf("check format version: %w", err)
		}
	}
	return s.db.View(func(txn *badger.Txn) error {
		if s.opts.ReadOnly {
			item, err := txn.Get(keyFormatVersion)
			if err != nil {
				return fmt.Errorf("check format version: %w", err)
			}
			if err := item.Value(s.checkVersion); err != nil {
				return fmt.Errorf("check format version: %w", err)
			}
		}
		if err := s.syms.load(txn); err != nil {
			return err
		}
		if err := s.loadProtection(txn); err != nil {
			return err
		}
		if err := s.loadSourceMarkings(txn); err != nil {
			return err
		}
		if err := s.loadSecret(txn); err != nil {
			return err
		}
		if err := s.loadClasses(txn); err != nil {
			return err
		}
		if err := s.loadClassCache(txn); err != nil {
			return err
		}
		return s.loadOutboxSeq(txn)
	})
}

// checkVersion accepts the current format and the ones before it, which
// differ in the audit log's place and index (openAuditDB upgrades them).
func (s *Store) checkVersion(v []byte) error {
	if len(v) != 4 {
		return fmt.Errorf("format version record of %d bytes: %w", len(v), ErrCorrupt)
	}
	got := binary.BigEndian.Uint32(v)
	if got < formatAuditInGraph || got > FormatVersion {
		return fmt.Errorf("store has format %d, this build reads %d: %w", got, FormatVersion, ErrFormatVersion)
	}
	s.format = got
	return nil
}

func isEmpty(txn *badger.Txn) bool { return !hasKeys(txn, nil) }

// hasKeys reports whether txn sees a key with the prefix (nil for any).
func hasKeys(txn *badger.Txn, prefix []byte) bool {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	it.Rewind()
	return it.Valid()
}

func (s *Store) loadClasses(txn *badger.Txn) error {
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: []byte{tagClass}})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		c, err := parseClassKey(it.Item().Key())
		if err != nil {
			return fmt.Errorf("load classes: %w", err)
		}
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("load class %d: %w", c, err)
		}
		ps, err := decodeSet(v)
		if err != nil {
			return fmt.Errorf("load class %d: %w", c, err)
		}
		s.classes.add(c, ps)
	}
	return nil
}

// loadClassCache fills the id → class cache from the type index, whose
// values are the classes.
func (s *Store) loadClassCache(txn *badger.Txn) error {
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 1000, Prefix: []byte{tagType}})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		_, id, err := parseTypeKey(it.Item().Key())
		if err != nil {
			return fmt.Errorf("load class cache: %w", err)
		}
		var c Class
		if err := it.Item().Value(func(v []byte) error {
			if len(v) != 4 {
				return fmt.Errorf("type index value of node %d: %w", id, ErrCorrupt)
			}
			c = Class(binary.BigEndian.Uint32(v))
			return nil
		}); err != nil {
			return fmt.Errorf("load class cache: %w", err)
		}
		s.cache.set(id, c)
	}
	return nil
}

func (s *Store) loadOutboxSeq(txn *badger.Txn) error {
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte{tagOutbox}})
	defer it.Close()
	it.Seek(outboxKey(^uint64(0)))
	if it.Valid() {
		seq, err := parseOutboxKey(it.Item().Key())
		if err != nil {
			return fmt.Errorf("load outbox position: %w", err)
		}
		s.outSeq.Store(seq)
		s.nextSeq = seq
	}
	return nil
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// Close stops the indexer (after it has caught up with what was committed
// before Close), releases the id lease and closes Badger.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.gc.halt()
	in := s.search.Load()
	if in == nil {
		return s.closeBadger()
	}
	// Once the indexer has drained the outbox, the index only waits for
	// its persister to write what it holds and Badger only flushes its
	// memtable; neither needs the other, so they close side by side.
	in.haltOptimize()
	in.stopIndexing()
	ixErr := make(chan error, 1)
	go func() { ixErr <- in.ix.Close() }()
	err := s.closeBadger()
	return errors.Join(<-ixErr, err)
}

func (s *Store) closeBadger() error {
	var errs []error
	if err := s.closeAudit(); err != nil {
		errs = append(errs, err)
	}
	if s.seq != nil {
		if err := s.seq.Release(); err != nil {
			errs = append(errs, fmt.Errorf("release id lease: %w", err))
		}
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close badger: %w", err))
	}
	return errors.Join(errs...)
}

// nextID allocates a node id from the leased sequence.
func (s *Store) nextID() (ID, error) {
	if s.seq == nil {
		return 0, ErrReadOnly
	}
	for {
		n, err := s.seq.Next()
		if err != nil {
			return 0, fmt.Errorf("allocate id: %w", err)
		}
		if n != 0 && n <= 1<<63-1 {
			return ID(n), nil
		}
		if n > 1<<63-1 {
			return 0, fmt.Errorf("allocate id: id space exhausted: %w", ErrInvalid)
		}
	}
}

// classFor interns a policy as a class of its own.
func (s *Store) classFor(p Policy) (Class, error) { return s.classForSet([]Policy{p}) }

// classForSet interns a set of policies, persisting a new class in its own
// transaction. A class written for a batch that later fails is harmless:
// it is unused.
func (s *Store) classForSet(ps []Policy) (Class, error) {
	set := normalizeSet(ps)
	if len(set) == 0 {
		return 0, nil
	}
	key := string(encodeSet(set))
	s.classes.mu.Lock()
	defer s.classes.mu.Unlock()
	if c, ok := s.classes.byKey[key]; ok {
		return c, nil
	}
	c := s.classes.next()
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(classKey(c), []byte(key))
	}); err != nil {
		return 0, fmt.Errorf("store access class: %w", err)
	}
	s.classes.addLocked(c, set)
	return c, nil
}

// unionClass is the class of the union of the policy sets of cs.
func (s *Store) unionClass(cs []Class) (Class, error) {
	ps, err := s.classes.union(cs)
	if err != nil {
		return 0, err
	}
	return s.classForSet(ps)
}

// symFor interns a name, persisting a new symbol in its own transaction.
func (s *Store) symFor(name string) (sym, error) {
	if y, ok := s.syms.lookup(name); ok {
		return y, nil
	}
	s.syms.mu.Lock()
	defer s.syms.mu.Unlock()
	if y, ok := s.syms.byName[name]; ok {
		return y, nil
	}
	y := sym(len(s.syms.names))
	if y == 0 {
		y = 1
	}
	if err := s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(symKey(name), binary.BigEndian.AppendUint32(nil, uint32(y))); err != nil {
			return err
		}
		return txn.Set(symNameKey(y), []byte(name))
	}); err != nil {
		return 0, fmt.Errorf("store symbol %q: %w", name, err)
	}
	s.syms.addLocked(y, name)
	return y, nil
}

// symTable interns type and edge-type names.
type symTable struct {
	mu     sync.RWMutex
	byName map[string]sym
	names  []string // index = sym; [0] = ""
	// authors are the symbols of the authorship edge types (IsAuthorship).
	authors []sym
}

func (t *symTable) lookup(name string) (sym, bool) {
	t.mu.RLock()
	y, ok := t.byName[name]
	t.mu.RUnlock()
	return y, ok
}

func (t *symTable) name(y sym) string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if int(y) < len(t.names) {
		return t.names[y]
	}
	return ""
}

func (t *symTable) addLocked(y sym, name string) {
	if t.byName == nil {
		t.byName = map[string]sym{}
	}
	for int(y) >= len(t.names) {
		t.names = append(t.names, "")
	}
	t.names[y] = name
	t.byName[name] = y
	if IsAuthorship(name) {
		t.authors = append(t.authors, y)
	}
}

// authorship returns the symbols of the authorship edge types; the caller
// must not change the slice.
func (t *symTable) authorship() []sym {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.authors[:len(t.authors):len(t.authors)]
}

func (t *symTable) load(txn *badger.Txn) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.names = []string{""}
	t.authors = nil
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: []byte{tagSymName}})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		y, err := parseSymNameKey(it.Item().Key())
		if err != nil {
			return fmt.Errorf("load symbols: %w", err)
		}
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("load symbol %d: %w", y, err)
		}
		t.addLocked(y, string(v))
	}
	return nil
}

// badgerLogger sends Badger's messages to slog. Badger's info chatter
// (memtable flushes, compaction summaries) goes to debug. Its debug
// messages, four for every write batch, go to levelBadgerTrace, below
// debug: with them "--log-level debug" printed 300,000 lines in a minute of
// the API bench. A message is formatted only when its level is on, since
// Badger logs on its write path.
type badgerLogger struct{ l *slog.Logger }

// levelBadgerTrace is the level of Badger's debug messages.
const levelBadgerTrace = slog.LevelDebug - 4

func (b badgerLogger) log(level slog.Level, f string, a []any) {
	ctx := context.Background()
	if !b.l.Enabled(ctx, level) {
		return
	}
	b.l.Log(ctx, level, "badger: "+trimNL(fmt.Sprintf(f, a...)))
}

func (b badgerLogger) Errorf(f string, a ...any)   { b.log(slog.LevelError, f, a) }
func (b badgerLogger) Warningf(f string, a ...any) { b.log(slog.LevelWarn, f, a) }
func (b badgerLogger) Infof(f string, a ...any)    { b.log(slog.LevelDebug, f, a) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.log(levelBadgerTrace, f, a) }

func trimNL(s string) string {
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return s
}
