package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

// LoadOptions configure Load.
type LoadOptions struct {
	// ChunkObjects is the bulk chunk size; 0 means the store's default.
	ChunkObjects int
	// Samples is the size of each sample Load draws (start nodes, keyword
	// queries, text queries). Default 1000.
	Samples int
	// Seed seeds the samples.
	Seed uint64
	// Viewer is who will query: only objects it may see are sampled, as a
	// user searches for and expands what they see. The zero Viewer sees
	// only unrestricted objects.
	Viewer graph.Viewer
	// Compare, when set, is a second viewer: Load then also draws
	// Samples.Compare among the objects it may see, from a random stream of
	// its own, so that the main samples are the same with or without it.
	Compare *graph.Viewer
	// OnCommit, when set, is called after each committed chunk with the
	// number of objects committed so far.
	OnCommit func(committed int)
}

// LoadStats says how a load went. Durations run from the start of the load.
type LoadStats struct {
	// Objects is the number of objects put; Created of them were new.
	Objects, Created int
	// Chunks is the number of committed chunks.
	Chunks int
	// Committed is the time until the last chunk was committed.
	Committed time.Duration
	// Searchable is the time until the search index had caught up with
	// everything committed (Store.WaitIndexed returned).
	Searchable time.Duration
	// Generate is the part of Committed spent producing the objects (in the
	// source's Next), which a real import spends parsing files instead.
	Generate time.Duration
}

// Samples are what the measurements query, drawn uniformly (by seeded
// reservoir sampling) from the loaded objects.
type Samples struct {
	// Starts are STIX ids of nodes to expand from: any object except
	// relationships, which are edges in the graph and have no neighbours
	// of their own.
	Starts []string
	// Keywords are exact values a user pastes: addresses, domains, URLs,
	// e-mail addresses, file hashes, ATT&CK and CVE ids.
	Keywords []string
	// Texts are free-text queries: an object's name, or two words of its
	// description.
	Texts []string
	// Compare holds samples of the same kinds drawn among the objects
	// LoadOptions.Compare may see, or is nil without one.
	Compare *Samples
}

// reservoir keeps a uniform sample of up to cap(items) of the offers made.
type reservoir struct {
	rng   *rand.Rand
	size  int
	seen  int
	items []string
}

// slot returns where the next offer goes, or -1 when it is not kept, so the
// caller computes the item only when it is kept.
func (r *reservoir) slot() int {
	r.seen++
	if len(r.items) < r.size {
		r.items = append(r.items, "")
		return len(r.items) - 1
	}
	if j := r.rng.IntN(r.seen); j < r.size {
		return j
	}
	return -1
}

// sampler draws one set of samples: uniform over the objects viewer may
// see, each reservoir offered only the objects it qualifies for.
type sampler struct {
	viewer                  graph.Viewer
	starts, keywords, texts *reservoir
}

// newSampler returns a sampler keeping up to size items of each kind, drawn
// with rng.
func newSampler(v graph.Viewer, size int, rng *rand.Rand) *sampler {
	return &sampler{
		viewer:   v,
		starts:   &reservoir{rng: rng, size: size},
		keywords: &reservoir{rng: rng, size: size},
		texts:    &reservoir{rng: rng, size: size},
	}
}

// Sample streams: the main samples and the comparison viewer's each draw
// from their own generator, seeded by the load's seed.
const (
	mainStream    = 0x73616d706c65 // "sample"
	compareStream = 0x68616c66     // "half"
)

// samplers returns the samplers of a load: the main one, and a second one
// when cmp is set.
func samplers(v graph.Viewer, cmp *graph.Viewer, size int, seed uint64) []*sampler {
	ss := []*sampler{newSampler(v, size, rand.New(rand.NewPCG(seed, mainStream)))}
	if cmp != nil {
		ss = append(ss, newSampler(*cmp, size, rand.New(rand.NewPCG(seed, compareStream))))
	}
	return ss
}

// offer offers it to every sampler whose viewer may see it.
func offer(ss []*sampler, it Item) {
	for _, sm := range ss {
		if sm.viewer.CanSee(it.Meta.Policy) {
			sample(it.Object, sm.starts, sm.keywords, sm.texts)
		}
	}
}

// collect returns what the samplers drew: the first one's samples, with
// the second one's as Compare.
func collect(ss []*sampler) *Samples {
	out := make([]*Samples, len(ss))
	for i, sm := range ss {
		out[i] = &Samples{Starts: sm.starts.items, Keywords: sm.keywords.items, Texts: sm.texts.items}
	}
	if len(out) > 1 {
		out[0].Compare = out[1]
	}
	return out[0]
}

// Load puts every object of src into s in bulk chunks as the system viewer,
// waits until the search index has caught up, and returns timings and
// samples of what was loaded.
func Load(ctx context.Context, s *graph.Store, src Source, opts LoadOptions) (LoadStats, *Samples, error) {
	if opts.Samples <= 0 {
		opts.Samples = 1000
	}
	ss := samplers(opts.Viewer, opts.Compare, opts.Samples, opts.Seed)
	var st LoadStats
	committed := 0
	bulk := s.NewBulk(graph.System(), graph.BulkOptions{
		ChunkObjects: opts.ChunkObjects,
		OnCommit: func(c graph.BulkStats) {
			committed += c.Objects
			if opts.OnCommit != nil {
				opts.OnCommit(committed)
			}
		},
	})
	start := time.Now()
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			bulk.Abort()
			return st, nil, fmt.Errorf("load: %w", ctx.Err())
		}
		t0 := time.Now()
		it, err := src.Next()
		st.Generate += time.Since(t0)
		if err == io.EOF {
			break
		}
		if err != nil {
			bulk.Abort()
			return st, nil, fmt.Errorf("load: %w", err)
		}
		if err := bulk.Put(it.Object, it.Meta); err != nil {
			bulk.Abort()
			return st, nil, fmt.Errorf("load: %w", err)
		}
		offer(ss, it)
	}
	bs, err := bulk.Close()
	if err != nil {
		return st, nil, fmt.Errorf("load: %w", err)
	}
	st.Committed = time.Since(start)
	st.Objects, st.Created, st.Chunks = bs.Objects, bs.Created, bs.Chunks
	if err := s.WaitIndexed(ctx); err != nil {
		return st, nil, fmt.Errorf("load: %w", err)
	}
	st.Searchable = time.Since(start)
	return st, collect(ss), nil
}

// sample offers o to the reservoirs it qualifies for.
func sample(o *schema.Object, starts, keywords, texts *reservoir) {
	if o.Type == "relationship" {
		return
	}
	if j := starts.slot(); j >= 0 {
		starts.items[j] = o.ID
	}
	if kw := keywordOf(o, false); kw != "" || o.Type == "attack-pattern" || o.Type == "vulnerability" || o.Type == "file" {
		if j := keywords.slot(); j >= 0 {
			keywords.items[j] = keywordOf(o, true)
		}
	}
	if _, ok := o.Props["name"]; ok && schema.KindOf(o.Type) != schema.KindSCO {
		if j := texts.slot(); j >= 0 {
			texts.items[j] = textOf(o, texts.rng)
		}
	}
}

// keywordOf returns the exact value a user would search o by. Unless full
// is set, it only reports cheaply whether o has a "value".
func keywordOf(o *schema.Object, full bool) string {
	if !full {
		if _, ok := o.Props["value"]; ok {
			return "value"
		}
		return ""
	}
	if v, ok := o.String("value"); ok {
		return v
	}
	switch o.Type {
	case "file":
		var h map[string]string
		if json.Unmarshal(o.Props["hashes"], &h) == nil {
			for _, alg := range []string{"SHA-256", "MD5", "SHA-1"} {
				if v := h[alg]; v != "" {
					return v
				}
			}
		}
	case "attack-pattern", "vulnerability":
		var refs []struct {
			ExternalID string `json:"external_id"`
		}
		if json.Unmarshal(o.Props["external_references"], &refs) == nil && len(refs) > 0 {
			return refs[0].ExternalID
		}
	}
	return o.ID
}

// textOf returns a free-text query for o: half the time its name, else two
// words of its description of four letters or more (short ones are often
// stop words), or its name when there are too few.
func textOf(o *schema.Object, rng *rand.Rand) string {
	name, _ := o.String("name")
	desc, _ := o.String("description")
	var words []string
	for _, w := range strings.Fields(strings.TrimSuffix(desc, ".")) {
		if len(w) >= 4 {
			words = append(words, w)
		}
	}
	if rng.IntN(2) == 0 || len(words) < 2 {
		return name
	}
	i := rng.IntN(len(words))
	j := (i + 1 + rng.IntN(len(words)-1)) % len(words)
	return words[i] + " " + words[j]
}

// errNoSamples reports a graph too small or too uniform to measure.
var errNoSamples = errors.New("nothing to sample")
