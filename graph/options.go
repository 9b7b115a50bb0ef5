package graph

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Options configure a store. Start from DefaultOptions and change what you
// need; the zero Options is not meant to be used directly.
type Options struct {
	// SyncWrites makes every commit wait for fsync, so a commit that returned
	// survives a crash of the machine. Default true. Without it a commit that
	// returned still survives a crash of the process (Badger writes through
	// memory-mapped files), and Close makes everything durable; bulk loads
	// that can be repeated use that to spare two disk flushes per chunk.
	SyncWrites bool
	// ReadOnly opens the store without write access (for check and backup
	// while another process holds no lock). Default false.
	ReadOnly bool
	// EncryptionKeyFile names a file holding the AES key for encryption at
	// rest: 16, 24 or 32 raw bytes, or the same as hex or base64 text.
	// Default empty (no encryption). Keys are never taken from the command
	// line, where they would show in process listings.
	EncryptionKeyFile string
	// EncryptionKeyEnv names an environment variable holding the key, hex or
	// base64 encoded. Used when EncryptionKeyFile is empty. Default empty.
	EncryptionKeyEnv string
	// CompressTables compresses Badger's tables (the LSM tree of keys and
	// small values) with Snappy. Default false: uncompressed tables are
	// read straight from their memory map, while compressed ones are
	// decoded block by block into a block cache of BlockCacheSize. That
	// cache was most of what the garbage collector had to mark under API
	// load (tens of thousands of cached blocks), and decoding cost CPU on
	// every miss. Measured at one million objects, off against on in the
	// same sitting: a verband bench load took 6 to 8% less CPU, in-process
	// 2-hop neighbourhoods took 0.07 to 0.08 ms at the median instead of
	// 0.10, and under verband bench api at 3,000 requests/s a collection's
	// mark phase took 10 ms instead of 32 (median of 30 cycles). The
	// tables take 335 MB instead of 181 MB (the whole store 1.03 GB
	// instead of 0.88 GB). The setting applies to tables written from then
	// on: a store with tables compressed earlier reads them through the
	// block cache until compactions rewrite them.
	CompressTables bool
	// BlockCacheSize is Badger's block cache in bytes, used when tables are
	// compressed (CompressTables, or tables of an older store) or encrypted.
	// Default 64 MiB.
	BlockCacheSize int64
	// IndexCacheSize is Badger's table index cache in bytes; required (and
	// defaulted to 64 MiB) when encryption is on. Default 0: indexes in memory.
	IndexCacheSize int64
	// MemTableSize is the size of one Badger memtable and bounds how much one
	// transaction (and so one atomic batch) may write. Default 64 MiB.
	MemTableSize int64
	// NumMemtables is how many memtables Badger keeps in memory (one being
	// written, the rest waiting to be flushed); each is MemTableSize and is
	// memory-mapped, so this bounds much of the store's resident memory.
	// Default 5 (Badger's own default).
	NumMemtables int
	// ValueThreshold is the size in bytes above which Badger keeps a value
	// (in practice a node record or an outbox entry) in its value log and
	// only a pointer to it in the LSM tree. Compactions then rewrite small
	// pointers instead of whole records, which cuts the CPU of a
	// million-object load by a third; observables and index entries stay
	// inline. Default 256.
	ValueThreshold int64
	// ValueLogFileSize is the size at which Badger starts a new value log
	// file. Garbage collection rewrites one file at a time, so smaller files
	// reclaim space in smaller steps. Default 64 MiB.
	ValueLogFileSize int64
	// ValueLogGCInterval is how often the store rewrites value log files
	// that are at least half garbage (records replaced or deleted, outbox
	// entries already indexed). Zero or negative turns it off, which lets
	// the value log grow with every update. Default 10 minutes.
	ValueLogGCInterval time.Duration
	// IDLease is how many node ids are leased from the persisted sequence at
	// once. A crash wastes at most this many ids. Default 10,000.
	IDLease uint64
	// Search turns on the full-text sidecar index under <dir>/search.
	// Default true.
	Search bool
	// SearchPersistInterval is how long the search index lets new documents
	// accumulate in memory before writing them to disk. Longer means less
	// merge work during bulk loads; documents are searchable at once either
	// way, and after a crash the outbox replays what was not yet written.
	// Close does not wait for it: it has the documents written at once.
	// Default 1s (the text index's default).
	SearchPersistInterval time.Duration
	// AuditFlushInterval is how often the audit log (segment files under
	// <dir>/auditlog) is written to disk. An audit append returns once its
	// entry is written to the operating system, which survives a crash of
	// the process; a crash of the machine may lose the entries of the last
	// interval. Zero or negative makes every append wait for a flush
	// (appends that wait together share one), which costs a light request
	// a disk flush. Without SyncWrites the audit log, like the graph, is
	// durable at Close. Appends go on while a flush runs. Default 50 ms,
	// well inside the windows of the asynchronous commit modes of
	// PostgreSQL (up to 600 ms) and MySQL (1 s).
	AuditFlushInterval time.Duration
	// AuditSegmentBytes is the size of the audit log's segment files: the
	// next entry past it starts a new one. Pruning frees disk a segment at
	// a time. Default (0) 64 MiB.
	AuditSegmentBytes int64
	// AuditRetention, when positive, is how long audit log entries are
	// kept: the store prunes older entries every hour (or every tenth of
	// the retention, when that is shorter), as PruneAudit does. Each
	// request adds one to two kilobytes to the log (about 1.5 for the mix
	// of verband bench api; an answer's ids are listed). Default 0:
	// entries are kept until pruned by hand.
	AuditRetention time.Duration
	// Logger receives store and Badger messages. Default slog.Default().
	Logger *slog.Logger
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{
		SyncWrites:     true,
		BlockCacheSize: 64 << 20,
		MemTableSize:   64 << 20,
		NumMemtables:   5,
		IDLease:        10_000,
		Search:         true,

		ValueThreshold:     256,
		ValueLogFileSize:   64 << 20,
		ValueLogGCInterval: 10 * time.Minute,
		AuditFlushInterval: 50 * time.Millisecond,
	}
}

// encryptionKey reads the key named by the options, or returns nil when
// encryption is off.
func (o Options) encryptionKey() ([]byte, error) {
	var text string
	switch {
	case o.EncryptionKeyFile != "":
		b, err := os.ReadFile(o.EncryptionKeyFile)
		if err != nil {
			return nil, fmt.Errorf("read encryption key file: %w: %w", ErrEncryptionKey, err)
		}
		if k := len(b); k == 16 || k == 24 || k == 32 {
			return b, nil
		}
		text = string(b)
	case o.EncryptionKeyEnv != "":
		v, ok := os.LookupEnv(o.EncryptionKeyEnv)
		if !ok || v == "" {
			return nil, fmt.Errorf("read encryption key: environment variable %s is not set: %w", o.EncryptionKeyEnv, ErrEncryptionKey)
		}
		text = v
	default:
		return nil, nil
	}
	text = strings.TrimSpace(text)
	for _, dec := range []func(string) ([]byte, error){hex.DecodeString, base64.StdEncoding.DecodeString} {
		if k, err := dec(text); err == nil && (len(k) == 16 || len(k) == 24 || len(k) == 32) {
			return k, nil
		}
	}
	return nil, fmt.Errorf("decode encryption key: want 16, 24 or 32 bytes (raw, hex or base64): %w", ErrEncryptionKey)
}
