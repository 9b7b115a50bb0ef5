package textindex

import "time"

// Options tunes an Index. Start from DefaultOptions and change single fields;
// a zero field means "use the default" unless its comment says otherwise.
type Options struct {
	// Shards is the number of bleve indexes the documents are spread over
	// (by ID modulo Shards), searched together through an index alias. It
	// only takes effect when the index is created; an existing index keeps
	// the shard count it was created with. Default 1: on two cores a second
	// shard did not raise throughput (see BenchmarkApply).
	Shards int

	// Analyzer is the bleve analyzer for Name and Text. Default TextAnalyzer
	// (Unicode word segmentation that also splits at underscores,
	// lower-casing, English stop words). It only takes effect when the
	// index is created.
	Analyzer string

	// IndexBare makes Apply index documents that carry no Name, Text,
	// Keywords or IPs (relationship-like objects) with only their Type,
	// Class and dates. Default false: such documents are applied as deletes,
	// so they cost almost nothing and a node that lost all its text leaves
	// the index.
	IndexBare bool

	// IndexCreated indexes Doc.Created (queryable only with query-string
	// syntax, `created:>="2024-01-01T00:00:00Z"`). Default false: no
	// built-in query uses Created, and a date costs about a fifth of the
	// indexing time of a short document. It only takes effect when the
	// index is created.
	IndexCreated bool

	// SyncApply makes Apply return only after its batch is persisted to
	// disk. Default false: Apply returns as soon as the batch is searchable
	// and a background persister writes it within PersisterNap plus the
	// write time; DurableHWM tells how far persistence has got. Either way a
	// crash leaves a consistent index whose HWM matches its documents.
	SyncApply bool

	// PersisterNap is how long the background persister waits to let
	// in-memory segments accumulate before it merges and writes them.
	// Longer naps mean fewer, larger segment files and less merge work, and
	// a DurableHWM further behind. Default 1s (BenchmarkApply: about 10%
	// less CPU than 200ms or 0, 2s saved little more). Ignored when
	// SyncApply is set.
	PersisterNap time.Duration

	// CloseTimeout bounds how long Close waits for the persister to write
	// everything Apply has returned. Default 30s. When it expires Close
	// closes anyway; the index stays consistent at an older HWM.
	CloseTimeout time.Duration

	// SearchTimeout bounds a Search whose context has no deadline.
	// Default 10s.
	SearchTimeout time.Duration

	// DefaultSize is the page size when Query.Size is 0. Default 20.
	DefaultSize int

	// MaxSize caps Query.Size. Default 1000.
	MaxSize int

	// MaxWindow caps Query.From+Query.Size; deeper pages return
	// ErrBadQuery. Default 10000.
	MaxWindow int

	// MaxQueryLength caps len(Query.Text) in bytes. Default 1024.
	MaxQueryLength int

	// ResolveID maps a STIX id (or an alias of one) to the ID of the
	// document that stands for it. With it, a query that is a STIX id (the
	// whole plain text, a field-less term or a kw: term) matches that
	// document through its bleve id, so documents need not carry their
	// STIX ids as keywords: one unique term fewer per document, which is a
	// large share of the indexing work for observables. Without it such a
	// query only matches documents that list the id in Keywords. Default nil.
	ResolveID func(stixID string) (uint64, bool)

	// scorchConfig is merged into the scorch runtime configuration; the
	// benchmarks use it to try other knobs.
	scorchConfig map[string]interface{}
}

// DefaultOptions returns the options described on each Options field.
func DefaultOptions() Options {
	return Options{
		Shards:         1,
		Analyzer:       TextAnalyzer,
		PersisterNap:   time.Second,
		CloseTimeout:   30 * time.Second,
		SearchTimeout:  10 * time.Second,
		DefaultSize:    20,
		MaxSize:        1000,
		MaxWindow:      10000,
		MaxQueryLength: 1024,
	}
}

// withDefaults fills zero fields from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Shards <= 0 {
		o.Shards = d.Shards
	}
	if o.Analyzer == "" {
		o.Analyzer = d.Analyzer
	}
	if o.PersisterNap <= 0 {
		o.PersisterNap = d.PersisterNap
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = d.CloseTimeout
	}
	if o.SearchTimeout <= 0 {
		o.SearchTimeout = d.SearchTimeout
	}
	if o.DefaultSize <= 0 {
		o.DefaultSize = d.DefaultSize
	}
	if o.MaxSize <= 0 {
		o.MaxSize = d.MaxSize
	}
	if o.MaxWindow <= 0 {
		o.MaxWindow = d.MaxWindow
	}
	if o.MaxQueryLength <= 0 {
		o.MaxQueryLength = d.MaxQueryLength
	}
	return o
}
