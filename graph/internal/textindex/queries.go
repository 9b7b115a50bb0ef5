package textindex

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"time"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	index "github.com/blevesearch/bleve_index_api"
)

// zeroScoreQuery matches what its query matches, with score zero and no
// weight in the query norm, so that a restriction joined to a scored query
// in a conjunction leaves the scores of the hits unchanged. Unlike a bleve
// filter it keeps its query scored, so that disjunctions stay lazy instead
// of having their postings unioned up front.
type zeroScoreQuery struct{ q query.Query }

var _ query.Query = (*zeroScoreQuery)(nil)

// Searcher implements query.Query.
func (z *zeroScoreQuery) Searcher(ctx context.Context, i index.IndexReader, m mapping.IndexMapping,
	options search.SearcherOptions) (search.Searcher, error) {
	s, err := z.q.Searcher(ctx, i, m, options)
	if err != nil {
		return nil, err
	}
	return &zeroScoreSearcher{Searcher: s}, nil
}

type zeroScoreSearcher struct{ search.Searcher }

func (z *zeroScoreSearcher) Next(ctx *search.SearchContext) (*search.DocumentMatch, error) {
	return zero(z.Searcher.Next(ctx))
}

func (z *zeroScoreSearcher) Advance(ctx *search.SearchContext, id index.IndexInternalID) (*search.DocumentMatch, error) {
	return zero(z.Searcher.Advance(ctx, id))
}

func (z *zeroScoreSearcher) Weight() float64      { return 0 }
func (z *zeroScoreSearcher) SetQueryNorm(float64) {}

func zero(d *search.DocumentMatch, err error) (*search.DocumentMatch, error) {
	if d != nil {
		d.Score = 0
		d.Expl = nil
		d.ScoreBreakdown = nil
	}
	return d, err
}

// rangeQuery matches documents with a term of field inside any of a set of
// inclusive byte ranges. It enumerates the terms that exist in the index
// (at most maxRangeTerms) and unions their postings without scoring, in
// batches (see maxClauses), so unlike bleve's IPRangeQuery it does not fail
// on a wide CIDR and does not allocate one scored searcher per term.
type rangeQuery struct {
	field  string
	ranges [][2][]byte
	boost  float64
}

var _ query.Query = (*rangeQuery)(nil)

// Searcher implements query.Query.
func (q *rangeQuery) Searcher(ctx context.Context, i index.IndexReader, _ mapping.IndexMapping,
	options search.SearcherOptions) (search.Searcher, error) {
	// Range fields are indexed without norms (SkipFreqNorm), so they are
	// matched unscored: a scored term search on them yields NaN, which
	// poisons the sum of a disjunction. An exact address is scored through
	// the Keywords field instead.
	unscored := options
	unscored.Score = "none"
	unscored.IncludeTermVectors = false
	unscored.Explain = false
	if len(q.ranges) == 1 && string(q.ranges[0][0]) == string(q.ranges[0][1]) {
		return searcher.NewTermSearcherBytes(ctx, i, q.ranges[0][0], q.field, q.boost, unscored)
	}
	var terms []string
	for _, r := range q.ranges {
		var err error
		if terms, err = appendTerms(terms, i, q.field, r[0], r[1]); err != nil {
			return nil, err
		}
	}
	if len(terms) == 0 {
		return searcher.NewMatchNoneSearcher(i)
	}
	return searcher.NewMultiTermSearcher(ctx, i, terms, q.field, q.boost, unscored, false)
}

// appendTerms appends the terms of field in [lo, hi] to terms.
func appendTerms(terms []string, i index.IndexReader, field string, lo, hi []byte) ([]string, error) {
	dict, err := i.FieldDictRange(field, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("read term range of %s: %w", field, err)
	}
	var derr error
	for {
		e, err := dict.Next()
		if err != nil || e == nil {
			derr = err
			break
		}
		if len(terms) == maxRangeTerms {
			derr = fmt.Errorf("range covers more than %d indexed values of %s: %w", maxRangeTerms, field, ErrBadQuery)
			break
		}
		terms = append(terms, e.Term)
	}
	if err := dict.Close(); derr == nil && err != nil {
		derr = err
	}
	return terms, derr
}

// ipTermQuery matches one address exactly.
func ipTermQuery(a netip.Addr, boost float64) query.Query {
	return newIPQueryBoost(netip.PrefixFrom(a, a.BitLen()), boost)
}

// newIPQuery matches the addresses inside a prefix.
func newIPQuery(p netip.Prefix) query.Query { return newIPQueryBoost(p, 1) }

func newIPQueryBoost(p netip.Prefix, boost float64) query.Query {
	if a := p.Addr(); a.Is4In6() {
		p = netip.PrefixFrom(a.Unmap(), max(p.Bits()-96, 0))
	}
	p = p.Masked()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	lo := p.Addr().As16()
	hi := lo
	for i := bits; i < 128; i++ {
		hi[i/8] |= 1 << (7 - i%8)
	}
	return &rangeQuery{field: fieldIP, ranges: [][2][]byte{{lo[:], hi[:]}}, boost: boost}
}

// Dates are indexed as a small trie of exact terms instead of bleve's date
// field, which writes 16 prefix-coded terms per value and cost more than
// half of all indexing time in BenchmarkApply. A date becomes one term per
// level: its Unix time in whole seconds shifted right by each of dateShifts
// (buckets of 1 s, 64 s, 68 min, 3 days and 194 days), as a level byte and
// 8 bytes big-endian with the sign bit flipped so that order is preserved.
// A range query needs, per level, at most two runs of 63 existing terms at
// its edges, and a few top-level terms in the middle: about 300 terms for a
// one-day window.
var dateShifts = [...]uint{0, 6, 12, 18, 24}

func dateValue(t time.Time) uint64 { return uint64(t.Unix()) ^ (1 << 63) }

func dateTerm(level int, v uint64) []byte {
	b := make([]byte, 9)
	b[0] = byte('a' + level)
	binary.BigEndian.PutUint64(b[1:], v>>dateShifts[level])
	return b
}

// dateTerms returns the terms indexed for t.
func dateTerms(t time.Time) [][]byte {
	v := dateValue(t)
	out := make([][]byte, len(dateShifts))
	for l := range dateShifts {
		out[l] = dateTerm(l, v)
	}
	return out
}

// newDateQuery matches dates of field between start and end, both
// truncated to whole seconds; a zero bound is open.
func newDateQuery(field string, start time.Time, inclStart bool, end time.Time, inclEnd bool) query.Query {
	lo, hi := uint64(0), uint64(math.MaxUint64)
	if !start.IsZero() {
		lo = dateValue(start)
		if !inclStart {
			if lo == math.MaxUint64 {
				return query.NewMatchNoneQuery()
			}
			lo++
		}
	}
	if !end.IsZero() {
		hi = dateValue(end)
		if !inclEnd {
			if hi == 0 {
				return query.NewMatchNoneQuery()
			}
			hi--
		}
	}
	if lo > hi {
		return query.NewMatchNoneQuery()
	}
	return &rangeQuery{field: field, ranges: dateRanges(lo, hi), boost: 1}
}

// dateRanges splits [lo, hi] into term ranges over the date trie: at each
// level the unaligned edges, then the aligned middle one level up.
func dateRanges(lo, hi uint64) [][2][]byte {
	var out [][2][]byte
	emit := func(level int, a, b uint64) {
		s := dateShifts[level]
		out = append(out, [2][]byte{dateTerm(level, a<<s), dateTerm(level, b<<s)})
	}
	a, b := lo, hi // in units of 1<<dateShifts[level]
	for l := range dateShifts {
		if l == len(dateShifts)-1 {
			emit(l, a, b)
			break
		}
		step := dateShifts[l+1] - dateShifts[l]
		mask := uint64(1)<<step - 1
		if a&mask != 0 {
			end := min(b, a|mask)
			emit(l, a, end)
			if end == b {
				return out
			}
			a = end + 1
		}
		if b&mask != mask {
			start := max(a, b&^mask)
			emit(l, start, b)
			if start == a {
				return out
			}
			b = start - 1
		}
		a >>= step
		b >>= step
	}
	return out
}

// keepQuery matches what its query matches, less the documents whose node
// id keep rejects. It asks about each candidate as the search reaches it, so
// a restriction costs one call per document the query matches, however many
// documents the restriction would exclude; the collector counts (Total,
// facets) only what it lets through.
type keepQuery struct {
	q    query.Query
	keep func(id uint64) bool
}

var _ query.Query = (*keepQuery)(nil)

// Searcher implements query.Query.
func (k *keepQuery) Searcher(ctx context.Context, i index.IndexReader, m mapping.IndexMapping,
	options search.SearcherOptions) (search.Searcher, error) {
	s, err := k.q.Searcher(ctx, i, m, options)
	if err != nil {
		return nil, err
	}
	return &keepSearcher{Searcher: s, ids: newMatchIDs(i), keep: k.keep}, nil
}

type keepSearcher struct {
	search.Searcher
	ids  *matchIDs
	keep func(id uint64) bool
}

func (k *keepSearcher) Next(ctx *search.SearchContext) (*search.DocumentMatch, error) {
	d, err := k.Searcher.Next(ctx)
	return k.skip(ctx, d, err)
}

func (k *keepSearcher) Advance(ctx *search.SearchContext, id index.IndexInternalID) (*search.DocumentMatch, error) {
	d, err := k.Searcher.Advance(ctx, id)
	return k.skip(ctx, d, err)
}

// skip returns d if keep accepts it, else the next match that it accepts.
// The collector reads the external id of the hits it returns itself, so a
// match that is kept carries none: most of them are only counted.
func (k *keepSearcher) skip(ctx *search.SearchContext, d *search.DocumentMatch, err error) (*search.DocumentMatch, error) {
	for err == nil && d != nil {
		id, xerr := k.ids.id(d.IndexInternalID)
		if xerr != nil {
			return nil, fmt.Errorf("read the id of a match: %w", xerr)
		}
		if k.keep(id) {
			return d, nil
		}
		ctx.DocumentMatchPool.Put(d)
		d, err = k.Searcher.Next(ctx)
	}
	return d, err
}

// matchIDs reads the node id of a match, which a restriction asks for every
// match of a query: tens of thousands for a frequent word. Through the
// reader's ExternalID each costs a string allocation and a binary search
// over the snapshot's segments; on a scorch snapshot matchIDs reads the id
// from the segment in place and remembers the segment of the last match,
// since a searcher returns matches in increasing document number. The
// document number of a match is its segment's offset in the snapshot plus
// its number in the segment, the offset being the sum of the full sizes
// (deleted documents included) of the segments before it, as scorch
// numbers them; TestMatchIDs checks this against ExternalID.
type matchIDs struct {
	reader  index.IndexReader
	segs    []*scorch.SegmentSnapshot // none: read through reader.ExternalID
	offsets []uint64                  // first document number of each segment
	last    int                       // segment of the last match
}

func newMatchIDs(r index.IndexReader) *matchIDs {
	m := &matchIDs{reader: r}
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return m
	}
	m.segs = snap.Segments()
	m.offsets = make([]uint64, len(m.segs))
	var next uint64
	for i, s := range m.segs {
		m.offsets[i] = next
		next += uint64(s.FullSize())
	}
	return m
}

// id returns the node id of the document with internal id in.
func (m *matchIDs) id(in index.IndexInternalID) (uint64, error) {
	if len(m.segs) == 0 {
		ext, err := m.reader.ExternalID(in)
		if err != nil {
			return 0, err
		}
		return parseDocID(ext)
	}
	if len(in) != 8 {
		return 0, fmt.Errorf("internal id %x: want 8 bytes", []byte(in))
	}
	num := binary.BigEndian.Uint64(in)
	i := m.last
	if num < m.offsets[i] || i+1 < len(m.offsets) && num >= m.offsets[i+1] {
		i = sort.Search(len(m.offsets), func(x int) bool { return m.offsets[x] > num }) - 1
		if i < 0 {
			return 0, fmt.Errorf("document number %d before the first segment", num)
		}
		m.last = i
	}
	ext, err := m.segs[i].DocID(num - m.offsets[i])
	if err != nil {
		return 0, err
	}
	if ext == nil {
		return 0, fmt.Errorf("document number %d not found", num)
	}
	return parseDocID(ext)
}
