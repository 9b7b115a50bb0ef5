package textindex

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
)

var (
	benchBatch      = flag.Int("textindex.batch", 2000, "documents per Apply in BenchmarkApply")
	benchSearchDocs = flag.Int("textindex.searchdocs", 200_000, "documents indexed before BenchmarkSearch runs")
)

// corpus generates a deterministic, realistic mix of documents:
// 60% SCOs with one exact value (half of them IP addresses), 25% SDOs with
// a 2–4 word name, a 15–40 word description and sometimes an external id,
// and 15% relationship-like documents without text.
type corpus struct {
	rng    *rand.Rand
	zipf   *rand.Zipf
	words  []string
	nextID uint64
	base   time.Time
}

func newCorpus(seed uint64) *corpus {
	rng := rand.New(rand.NewPCG(seed, 7))
	syll := []string{"ka", "lo", "mi", "tra", "zen", "vor", "ix", "bot", "net", "cry", "pha", "sto", "ul", "re", "dex", "qua", "sha", "wen", "yo", "fi"}
	words := make([]string, 20000)
	for i := range words {
		n := 2 + rng.IntN(3)
		var sb strings.Builder
		for j := 0; j < n; j++ {
			sb.WriteString(syll[rng.IntN(len(syll))])
		}
		words[i] = sb.String()
	}
	// A few real English words at the head of the distribution.
	copy(words, []string{"the", "malware", "uses", "and", "to", "of", "campaign", "targeting", "phishing", "loader", "banking", "trojan", "infrastructure", "actor", "c2"})
	return &corpus{
		rng:    rng,
		zipf:   rand.NewZipf(rng, 1.1, 2, uint64(len(words)-1)),
		words:  words,
		nextID: 1,
		base:   time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

func (c *corpus) sentence(n int) string {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(c.words[c.zipf.Uint64()])
	}
	return sb.String()
}

func (c *corpus) doc() Doc {
	id := c.nextID
	c.nextID++
	d := Doc{
		ID:       id,
		Class:    uint32(c.rng.IntN(8)),
		Created:  c.base.Add(time.Duration(id) * time.Second),
		Modified: c.base.Add(time.Duration(id) * time.Second),
	}
	switch p := c.rng.IntN(100); {
	case p < 30: // IP SCO
		d.Type = "ipv4-addr"
		d.IPs = []string{fmt.Sprintf("10.%d.%d.%d", (id>>16)&0xff, (id>>8)&0xff, id&0xff)}
	case p < 60: // other SCO
		switch id % 3 {
		case 0:
			d.Type, d.Keywords = "domain-name", []string{fmt.Sprintf("%s%d.example.com", c.words[c.zipf.Uint64()], id)}
		case 1:
			d.Type, d.Keywords = "url", []string{fmt.Sprintf("http://%s.test/%d/%s", c.words[c.zipf.Uint64()], id, c.words[c.zipf.Uint64()])}
		default:
			d.Type, d.Keywords = "file", []string{fmt.Sprintf("%016x%016x%016x%016x", id, id*31, id*131, id*1031)}
		}
	case p < 85: // SDO
		d.Type = []string{"malware", "intrusion-set", "campaign", "report", "indicator", "attack-pattern"}[id%6]
		d.Name = c.sentence(2 + c.rng.IntN(3))
		d.Text = []string{c.sentence(15 + c.rng.IntN(26))}
		if id%2 == 0 {
			d.Keywords = []string{fmt.Sprintf("T%04d", id%10000)}
		}
	default: // relationship-like, no text
		d.Type = "relationship"
	}
	return d
}

func (c *corpus) batch(n int) []Doc {
	docs := make([]Doc, n)
	for i := range docs {
		docs[i] = c.doc()
	}
	return docs
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkApply measures indexing throughput on the realistic mix, one
// Apply of -textindex.batch documents per iteration, for the default options
// and the alternatives that were tried. It reports "docs/s" until the last
// Apply returned (searchable), "durable-docs/s" until it was also persisted,
// and the process CPU time per thousand documents.
//
//	go test -run '^$' -bench BenchmarkApply -benchtime 100x ./graph/internal/textindex/
func BenchmarkApply(b *testing.B) {
	variants := []struct {
		name    string
		mod     func(*Options)
		noDates bool
	}{
		{name: "default"},
		{name: "bare-indexed", mod: func(o *Options) { o.IndexBare = true }},
		{name: "created-indexed", mod: func(o *Options) { o.IndexCreated = true }},
		{name: "no-dates", noDates: true},
		{name: "nap-0", mod: func(o *Options) { o.PersisterNap = time.Microsecond }},
		{name: "nap-200ms", mod: func(o *Options) { o.PersisterNap = 200 * time.Millisecond }},
		{name: "nap-2s", mod: func(o *Options) { o.PersisterNap = 2 * time.Second }},
		{name: "sync-apply", mod: func(o *Options) { o.SyncApply = true }},
		{name: "shards-2", mod: func(o *Options) { o.Shards = 2 }},
		{name: "merge-wide", mod: func(o *Options) {
			o.scorchConfig = map[string]interface{}{"scorchMergePlanOptions": map[string]interface{}{
				"MaxSegmentsPerTier": 20, "SegmentsPerMergeTask": 20, "FloorSegmentSize": 20000,
			}}
		}},
		{name: "persister-workers-2", mod: func(o *Options) {
			o.scorchConfig = map[string]interface{}{"scorchPersisterOptions": map[string]interface{}{
				"PersisterNapTimeMSec": 1000, "NumPersisterWorkers": 2, "MaxSizeInMemoryMergePerWorker": 20000000,
			}}
		}},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			opts := DefaultOptions()
			if v.mod != nil {
				v.mod(&opts)
			}
			ix, err := Open(filepath.Join(b.TempDir(), "ix"), opts)
			if err != nil {
				b.Fatal(err)
			}
			benchApply(b, v.noDates, func(docs []Doc, hwm uint64) error { return ix.Apply(docs, nil, hwm) },
				func() { ix.flush(time.Minute) })
			if err := ix.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
	// The naive way for comparison: bleve's default dynamic mapping (stored
	// fields, term vectors, _all), reflection over the Doc struct, safe
	// batches.
	b.Run("bleve-defaults", func(b *testing.B) {
		idx, err := bleve.New(filepath.Join(b.TempDir(), "naive"), bleve.NewIndexMapping())
		if err != nil {
			b.Fatal(err)
		}
		benchApply(b, false, func(docs []Doc, hwm uint64) error {
			batch := idx.NewBatch()
			for i := range docs {
				if err := batch.Index(DocID(docs[i].ID), docs[i]); err != nil {
					return err
				}
			}
			return idx.Batch(batch)
		}, func() {})
		if err := idx.Close(); err != nil {
			b.Fatal(err)
		}
	})
}

func benchApply(b *testing.B, noDates bool, apply func([]Doc, uint64) error, flush func()) {
	c := newCorpus(1)
	batches := make([][]Doc, b.N)
	for i := range batches {
		batches[i] = c.batch(*benchBatch)
		for j := range batches[i] {
			if noDates {
				batches[i][j].Modified = time.Time{}
			}
		}
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := apply(batches[i], uint64(i+1)); err != nil {
			b.Fatal(err)
		}
	}
	searchable := time.Since(start)
	flush()
	durable := time.Since(start)
	b.StopTimer()
	docs := float64(b.N * *benchBatch)
	b.ReportMetric(docs/searchable.Seconds(), "docs/s")
	b.ReportMetric(docs/durable.Seconds(), "durable-docs/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/(docs/1000), "cpu-ms/kdoc")
}

// BenchmarkSearch measures search latency over an index of
// -textindex.searchdocs documents of the realistic mix, each query
// restricted to three of the eight classes as a viewer's would be. It
// reports the median and 99th percentile latency in microseconds.
//
//	go test -run '^$' -bench BenchmarkSearch -textindex.searchdocs 1000000 ./graph/internal/textindex/
func BenchmarkSearch(b *testing.B) {
	ix, err := Open(filepath.Join(b.TempDir(), "ix"), DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	c := newCorpus(1)
	var all []Doc
	var building time.Duration
	cpu0 := cpuTime()
	for hwm := uint64(1); len(all) < *benchSearchDocs; hwm++ {
		docs := c.batch(min(*benchBatch, *benchSearchDocs-len(all)))
		t0 := time.Now()
		if err := ix.Apply(docs, nil, hwm); err != nil {
			b.Fatal(err)
		}
		building += time.Since(t0)
		all = append(all, docs...)
	}
	t0 := time.Now()
	ix.flush(time.Minute)
	b.Logf("built %d documents: %.0f docs/s searchable, %.0f docs/s durable, %.1f cpu-ms/kdoc (including generation)",
		len(all), float64(len(all))/building.Seconds(), float64(len(all))/(building+time.Since(t0)).Seconds(),
		float64(cpuTime()-cpu0)/float64(time.Millisecond)/(float64(len(all))/1000))
	b.Logf("%d segments after merges settled", settle(ix))
	var hashes, ips []string
	for _, d := range all {
		if d.Type == "file" {
			hashes = append(hashes, d.Keywords[0])
		}
		if d.Type == "ipv4-addr" {
			ips = append(ips, d.IPs[0])
		}
	}
	// A viewer that sees classes 1, 3 and 5, decided per document as the
	// graph decides per node: from memory, by id.
	class := make([]uint32, len(all)+1)
	for _, d := range all {
		if int(d.ID) < len(class) {
			class[d.ID] = d.Class
		}
	}
	visible := func(id uint64) bool {
		if id >= uint64(len(class)) {
			return false
		}
		c := class[id]
		return c == 1 || c == 3 || c == 5
	}
	rng := rand.New(rand.NewPCG(3, 4))
	queries := []struct {
		name string
		q    func() Query
	}{
		{"keyword", func() Query {
			return Query{Text: strings.ToUpper(hashes[rng.IntN(len(hashes))]), Keep: visible}
		}},
		{"ip", func() Query { return Query{Text: ips[rng.IntN(len(ips))], Keep: visible} }},
		{"external-id", func() Query { return Query{Text: fmt.Sprintf("t%04d", rng.IntN(10000)), Keep: visible} }},
		{"cidr-24", func() Query {
			ip := ips[rng.IntN(len(ips))]
			return Query{Text: ip[:strings.LastIndexByte(ip, '.')] + ".0/24", Keep: visible}
		}},
		{"words", func() Query {
			return Query{Text: c.words[5+rng.IntN(50)] + " " + c.words[5+rng.IntN(500)], Keep: visible}
		}},
		{"words-window", func() Query {
			after := c.base.Add(time.Duration(rng.IntN(len(all))) * time.Second)
			return Query{Text: c.words[5+rng.IntN(50)], Keep: visible, After: after, Before: after.Add(24 * time.Hour)}
		}},
		{"browse-type-facets", func() Query {
			return Query{Types: []string{"malware", "campaign"}, Keep: visible, Facets: true}
		}},
		{"words-facets", func() Query {
			return Query{Text: c.words[5+rng.IntN(50)] + " " + c.words[5+rng.IntN(500)], Keep: visible, Facets: true}
		}},
	}
	ctx := context.Background()
	for _, qc := range queries {
		b.Run(qc.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			var hits uint64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				q := qc.q()
				t0 := time.Now()
				r, err := ix.Search(ctx, q)
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				hits += r.Total
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
		})
	}
}

// settle waits until the number of segments has not changed for two seconds
// (at most two minutes), so that searches do not race background merges,
// and returns that number.
func settle(ix *Index) int {
	count := func() int {
		n := 0
		for _, shard := range ix.shards {
			st, _ := shard.StatsMap()["index"].(map[string]interface{})
			for _, k := range []string{"num_root_filesegments", "num_root_memorysegments"} {
				if v, ok := st[k].(uint64); ok {
					n += int(v)
				}
			}
		}
		return n
	}
	last, since := count(), time.Now()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if n := count(); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) > 2*time.Second {
			break
		}
	}
	return last
}
