package textindex

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
)

// Query limits that are not options.
const (
	// maxClauses caps how many terms a wildcard, fuzzy or range query may
	// expand to in a scored query. It is installed as bleve's process-wide
	// searcher.DisjunctionMaxClauseCount (see init); bleve then rejects
	// broader expansions instead of allocating one searcher per term, and
	// unscored expansions (CIDR ranges, filters) are unioned in batches of
	// this size.
	maxClauses = 4096
	// maxLeaves caps the leaf queries of a query-string query.
	maxLeaves = 64
	// maxTokens caps the analysed words of a plain query.
	maxTokens = 32
	// maxFacetTerms caps the number of types a facet reports.
	maxFacetTerms = 1000
)

// Boosts of the ways a plain query can match.
const (
	boostExact = 10 // whole query equals a keyword or an address
	// boostID ranks the node a STIX id names above everything that merely
	// mentions the id: its match scores a constant with no term statistics
	// behind it, so it needs a far larger boost than a keyword match.
	boostID   = 1000
	boostName = 2 // a word in the name
	boostText = 1 // a word in other text
)

// maxRangeTerms caps how many distinct indexed terms one address or date
// range may cover. It is a variable so that tests can lower it.
var maxRangeTerms = 1 << 21

func init() {
	// See maxClauses. This package is the project's only bleve user.
	if searcher.DisjunctionMaxClauseCount == 0 {
		searcher.DisjunctionMaxClauseCount = maxClauses
	}
}

// Query is one search as a viewer asks it.
//
// Text is interpreted in this order:
//   - empty: every document in the restriction (useful with Facets);
//   - an IP prefix such as "10.0.0.0/8" or "2001:db8::/32": documents with an
//     address in it, unscored;
//   - query-string syntax when Text uses a field name ("name:emotet",
//     "type:malware", "kw:\"http://x.test/\""), a leading + or -, a quote,
//     a wildcard (* or ?) or a tilde: bleve's query string, guarded (no
//     regular expressions, at least two characters before a wildcard, at
//     most 64 leaves; quoted phrases match all their words in any order
//     because no positions are indexed). Text that looks like syntax but
//     does not parse is searched as plain text;
//   - otherwise plain text: documents whose Keywords or IPs equal the whole
//     text (case-insensitively, ranked first), or whose Name or Text contain
//     every analysed word.
type Query struct {
	// Text is what the user typed.
	Text string
	// Types restricts hits to these STIX types; empty means all types.
	Types []string
	// From and Size page through hits ordered by descending score. Size 0
	// means Options.DefaultSize; larger sizes are capped at Options.MaxSize;
	// From+Size beyond Options.MaxWindow returns ErrBadQuery.
	From, Size int
	// Facets asks for per-type counts over all hits.
	Facets bool
	// After and Before restrict hits to After <= Modified < Before, all
	// three truncated to whole seconds; a zero bound is open. With either
	// bound set, documents without Modified do not match.
	After, Before time.Time
	// OnlyMulti restricts hits to documents marked Multi.
	OnlyMulti bool
	// Keep, when set, restricts hits to the documents whose node id it
	// accepts: Total, Facets and the pages count only those. The search
	// asks about each document its query matches as it reaches it, so the
	// cost grows with the matches, not with what Keep rejects. It may be
	// called from several goroutines at once (one per shard) and must be
	// cheap.
	Keep func(id uint64) bool
}

// Hit is one matching document.
type Hit struct {
	ID    uint64
	Score float64
}

// Result is the answer to a Query. Total and Facets count exactly the hits
// inside the query's restriction (types, classes, time window), never
// documents outside it.
type Result struct {
	Total  uint64
	Hits   []Hit
	Facets map[string]uint64 // STIX type → hits; nil unless Query.Facets
}

// Search runs q. It may be called from many goroutines at once. A context
// without deadline gets Options.SearchTimeout.
func (ix *Index) Search(ctx context.Context, q Query) (*Result, error) {
	ix.closeMu.RLock()
	defer ix.closeMu.RUnlock()
	if ix.closed {
		return nil, fmt.Errorf("search: %w", ErrClosed)
	}

	size := q.Size
	if size <= 0 {
		size = ix.opts.DefaultSize
	}
	size = min(size, ix.opts.MaxSize)
	from := max(q.From, 0)
	if from+size > ix.opts.MaxWindow {
		return nil, fmt.Errorf("search: from %d + size %d beyond %d: %w", from, size, ix.opts.MaxWindow, ErrBadQuery)
	}
	if len(q.Text) > ix.opts.MaxQueryLength {
		return nil, fmt.Errorf("search: query of %d bytes longer than %d: %w", len(q.Text), ix.opts.MaxQueryLength, ErrBadQuery)
	}
	main, unscored, err := ix.userQuery(strings.TrimSpace(q.Text))
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	final, unscored := restrict(main, unscored, &q)
	req := bleve.NewSearchRequestOptions(final, size, from, false)
	if unscored {
		req.Score = "none"
	}
	if q.Facets {
		req.AddFacet(fieldType, bleve.NewFacetRequest(fieldType, maxFacetTerms))
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ix.opts.SearchTimeout)
		defer cancel()
	}
	sr, err := ix.search.SearchInContext(ctx, req)
	if err == nil && sr.Status != nil && (sr.Status.Failed > 0 || len(sr.Status.Errors) > 0) {
		// An alias over shards reports failed shards here, beside the
		// results of the others; a partial answer is not an answer.
		errs := make([]error, 0, len(sr.Status.Errors))
		for _, e := range sr.Status.Errors {
			errs = append(errs, e)
		}
		if err = errors.Join(errs...); err == nil {
			err = fmt.Errorf("%d of %d shards failed", sr.Status.Failed, sr.Status.Total)
		}
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("search: %w", cerr)
		}
		if strings.Contains(err.Error(), "TooManyClauses") {
			return nil, fmt.Errorf("search: query expands to too many terms: %v: %w", err, ErrBadQuery)
		}
		return nil, fmt.Errorf("search: %w", err)
	}

	res := &Result{Total: sr.Total, Hits: make([]Hit, 0, len(sr.Hits))}
	for _, h := range sr.Hits {
		id, err := parseDocID(h.ID)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		res.Hits = append(res.Hits, Hit{ID: id, Score: h.Score})
	}
	if q.Facets {
		res.Facets = map[string]uint64{}
		if fr := sr.Facets[fieldType]; fr != nil && fr.Terms != nil {
			for _, t := range fr.Terms.Terms() {
				res.Facets[t.Term] = uint64(t.Count)
			}
		}
	}
	return res, nil
}

// maxLazyTerms is the largest list of types that restricts joins as a
// lazily advanced disjunction; longer lists become a filter whose postings
// are unioned up front.
const maxLazyTerms = 256

// restrict combines the user's query with q's types, time window and Keep
// so that nothing outside them can match, and reports whether the result is
// best run unscored.
//
// Short type lists join the user's query in a conjunction with zero score:
// they leave scores unchanged and are only advanced to the documents the
// user's query finds, so a keyword lookup stays cheap however large the
// types are. (As a bleve filter they would be run unscored, and bleve
// unions unscored postings up front, which costs time in proportion to the
// index.) Long lists and the time window are unioned up front either way
// and go into the filter. Keep wraps the whole: it is asked only about the
// documents everything else matches.
func restrict(main query.Query, unscored bool, q *Query) (query.Query, bool) {
	var lazy, filter []query.Query
	terms := func(field string, values []string) {
		ds := make([]query.Query, 0, len(values))
		for _, v := range values {
			ds = append(ds, termQuery(field, v, 1))
		}
		if len(ds) <= maxLazyTerms {
			lazy = append(lazy, &zeroScoreQuery{query.NewDisjunctionQuery(ds)})
		} else {
			filter = append(filter, query.NewDisjunctionQuery(ds))
		}
	}
	if len(q.Types) > 0 {
		ts := make([]string, 0, len(q.Types))
		for _, t := range q.Types {
			ts = append(ts, strings.ToLower(t))
		}
		terms(fieldType, ts)
	}
	if !q.After.IsZero() || !q.Before.IsZero() {
		filter = append(filter, newDateQuery(fieldModified, q.After, true, q.Before, false))
	}
	if q.OnlyMulti {
		filter = append(filter, termQuery(fieldMulti, "1", 1))
	}
	if len(lazy) == 0 && len(filter) == 0 {
		return keep(main, q.Keep), unscored
	}
	if _, all := main.(*query.MatchAllQuery); all {
		// Browsing: let the restriction's postings drive the search instead
		// of testing every document; there is nothing to score.
		main, unscored = nil, true
		if len(lazy) == 0 {
			lazy, filter = filter, nil
		}
	}
	var must query.Query
	if main != nil {
		lazy = append([]query.Query{main}, lazy...)
	}
	if len(lazy) == 1 {
		must = lazy[0]
	} else {
		must = query.NewConjunctionQuery(lazy)
	}
	if len(filter) == 0 {
		return keep(must, q.Keep), unscored
	}
	bq := query.NewBooleanQuery(nil, nil, nil)
	bq.AddMust(must)
	if len(filter) == 1 {
		bq.AddFilter(filter[0])
	} else {
		bq.AddFilter(query.NewConjunctionQuery(filter))
	}
	return keep(bq, q.Keep), unscored
}

// keep restricts q to the documents fn accepts; a nil fn restricts nothing.
func keep(q query.Query, fn func(id uint64) bool) query.Query {
	if fn == nil {
		return q
	}
	return &keepQuery{q: q, keep: fn}
}

// advancedSyntax matches text that uses query-string syntax.
var advancedSyntax = regexp.MustCompile(`(?i)(^|[\s(])[+-]?(type|class|name|text|kw|ip|created|modified):|(^|\s)[+-]\S|["*?~]`)

// userQuery turns the typed text into a query. unscored reports that the
// query is best run without scoring (a CIDR range).
func (ix *Index) userQuery(text string) (q query.Query, unscored bool, err error) {
	if text == "" {
		return query.NewMatchAllQuery(), false, nil
	}
	if strings.Contains(text, "/") {
		if p, err := netip.ParsePrefix(text); err == nil {
			return newIPQuery(p), true, nil
		}
	}
	if advancedSyntax.MatchString(text) {
		parsed, perr := query.NewQueryStringQuery(text).Parse()
		if perr == nil {
			leaves := 0
			q, err := ix.rewrite(parsed, &leaves)
			if err != nil {
				return nil, false, fmt.Errorf("check query string: %w", err)
			}
			return q, false, nil
		}
		// Text that merely looks like syntax (a pasted command line with
		// an odd quote) is searched as plain text.
	}
	q, err = ix.plainQuery(text)
	return q, false, err
}

// plainQuery matches text as an exact keyword, STIX id or address, or as
// words.
func (ix *Index) plainQuery(text string) (query.Query, error) {
	should := ix.exact(nil, text)
	if a, err := netip.ParseAddr(text); err == nil {
		should = append(should, ipTermQuery(a, boostExact))
	}
	if words, err := ix.words(text); err != nil {
		return nil, err
	} else if len(words) > 0 {
		should = append(should, wordsQuery(words))
	}
	if len(should) == 1 {
		return should[0], nil
	}
	return query.NewDisjunctionQuery(should), nil
}

// words returns the distinct analysed words of text, at most maxTokens.
func (ix *Index) words(text string) ([]string, error) {
	ts, err := ix.im.AnalyzeText(ix.im.DefaultAnalyzer, []byte(text))
	if err != nil {
		return nil, fmt.Errorf("analyse query: %w", err)
	}
	seen := make(map[string]bool, len(ts))
	var words []string
	for _, t := range ts {
		w := string(t.Term)
		if !seen[w] && len(words) < maxTokens {
			seen[w] = true
			words = append(words, w)
		}
	}
	return words, nil
}

// wordsQuery requires every word in Name or Text.
func wordsQuery(words []string) query.Query {
	conj := make([]query.Query, 0, len(words))
	for _, w := range words {
		conj = append(conj, query.NewDisjunctionQuery([]query.Query{
			termQuery(fieldName, w, boostName),
			termQuery(fieldText, w, boostText),
		}))
	}
	if len(conj) == 1 {
		return conj[0]
	}
	return query.NewConjunctionQuery(conj)
}

// exact appends to qs the queries that match text whole: as a keyword and,
// when text is a STIX id that Options.ResolveID knows, as the document
// that stands for it.
func (ix *Index) exact(qs []query.Query, text string) []query.Query {
	qs = append(qs, termQuery(fieldKeyword, strings.ToLower(text), boostExact))
	if d := ix.idQuery(text); d != nil {
		d.SetBoost(boostID)
		qs = append(qs, d)
	}
	return qs
}

// idQuery matches the document of the STIX id text, or is nil when text is
// no STIX id that Options.ResolveID knows.
func (ix *Index) idQuery(text string) *query.DocIDQuery {
	id, ok := ix.resolveID(text)
	if !ok {
		return nil
	}
	return query.NewDocIDQuery([]string{DocID(id)})
}

// resolveID looks text up with Options.ResolveID when it has the shape of
// a STIX id, "type--uuid"; STIX ids are lower case, so other case is
// accepted as keywords were.
func (ix *Index) resolveID(text string) (uint64, bool) {
	if ix.opts.ResolveID == nil {
		return 0, false
	}
	typ, uuid, ok := strings.Cut(text, "--")
	if !ok || typ == "" || len(uuid) != 36 || strings.ContainsAny(text, " \t\n") {
		return 0, false
	}
	return ix.opts.ResolveID(strings.ToLower(text))
}

func termQuery(field, term string, boost float64) *query.TermQuery {
	t := query.NewTermQuery(term)
	t.SetField(field)
	t.SetBoost(boost)
	return t
}

// rewrite walks a parsed query string: it spreads field-less leaves over
// Name, Text and Keywords, turns phrases into all-words matches (no
// positions are indexed), turns "ip:" leaves into address queries, lower-
// cases wildcards, and rejects regular expressions, leading wildcards and
// queries of more than maxLeaves leaves.
func (ix *Index) rewrite(q query.Query, leaves *int) (query.Query, error) {
	leaf := func() error {
		*leaves++
		if *leaves > maxLeaves {
			return fmt.Errorf("more than %d terms: %w", maxLeaves, ErrBadQuery)
		}
		return nil
	}
	switch t := q.(type) {
	case *query.BooleanQuery:
		var err error
		if t.Must, err = ix.rewriteOptional(t.Must, leaves); err != nil {
			return nil, err
		}
		if t.Should, err = ix.rewriteOptional(t.Should, leaves); err != nil {
			return nil, err
		}
		if t.MustNot, err = ix.rewriteOptional(t.MustNot, leaves); err != nil {
			return nil, err
		}
		if t.Filter, err = ix.rewriteOptional(t.Filter, leaves); err != nil {
			return nil, err
		}
		return t, nil
	case *query.ConjunctionQuery:
		for i, c := range t.Conjuncts {
			r, err := ix.rewrite(c, leaves)
			if err != nil {
				return nil, err
			}
			t.Conjuncts[i] = r
		}
		return t, nil
	case *query.DisjunctionQuery:
		for i, c := range t.Disjuncts {
			r, err := ix.rewrite(c, leaves)
			if err != nil {
				return nil, err
			}
			t.Disjuncts[i] = r
		}
		return t, nil
	case *query.MatchQuery:
		if err := leaf(); err != nil {
			return nil, err
		}
		t.Fuzziness = min(t.Fuzziness, 1)
		switch t.FieldVal {
		case "":
			return ix.anyField(t.Match, t.Operator, t.Fuzziness), nil
		case fieldIP:
			return ipFieldQuery(t.Match), nil
		case fieldKeyword:
			return ix.keywordField(t, t.Match), nil
		}
		return t, nil
	case *query.MatchPhraseQuery:
		if err := leaf(); err != nil {
			return nil, err
		}
		switch t.FieldVal {
		case "":
			return ix.anyField(t.MatchPhrase, query.MatchQueryOperatorAnd, 0), nil
		case fieldIP:
			return ipFieldQuery(t.MatchPhrase), nil
		}
		m := query.NewMatchQuery(t.MatchPhrase)
		m.SetField(t.FieldVal)
		m.SetOperator(query.MatchQueryOperatorAnd)
		if t.FieldVal == fieldKeyword {
			return ix.keywordField(m, t.MatchPhrase), nil
		}
		return m, nil
	case *query.WildcardQuery:
		if err := leaf(); err != nil {
			return nil, err
		}
		w := strings.ToLower(t.Wildcard)
		if i := strings.IndexAny(w, "*?"); i >= 0 && i < 2 {
			return nil, fmt.Errorf("wildcard %q: at least two characters must come before * or ?: %w", t.Wildcard, ErrBadQuery)
		}
		fields := []string{t.FieldVal}
		if t.FieldVal == "" {
			fields = []string{fieldName, fieldText, fieldKeyword}
		}
		ds := make([]query.Query, 0, len(fields))
		for _, f := range fields {
			wq := query.NewWildcardQuery(w)
			wq.SetField(f)
			ds = append(ds, wq)
		}
		if len(ds) == 1 {
			return ds[0], nil
		}
		return query.NewDisjunctionQuery(ds), nil
	case *query.DateRangeQuery:
		if err := leaf(); err != nil {
			return nil, err
		}
		if t.FieldVal != fieldModified && t.FieldVal != fieldCreated {
			return query.NewMatchNoneQuery(), nil
		}
		inclStart := t.InclusiveStart == nil || *t.InclusiveStart
		inclEnd := t.InclusiveEnd != nil && *t.InclusiveEnd
		return newDateQuery(t.FieldVal, t.Start.Time, inclStart, t.End.Time, inclEnd), nil
	case *query.NumericRangeQuery:
		// No field holds numbers; a bare number also stays a match query.
		if err := leaf(); err != nil {
			return nil, err
		}
		return query.NewMatchNoneQuery(), nil
	case *query.RegexpQuery:
		return nil, fmt.Errorf("regular expressions are not supported: %w", ErrBadQuery)
	case *query.MatchAllQuery, *query.MatchNoneQuery:
		return q, nil
	default:
		return nil, fmt.Errorf("unsupported query %T: %w", q, ErrBadQuery)
	}
}

func (ix *Index) rewriteOptional(q query.Query, leaves *int) (query.Query, error) {
	if q == nil {
		return nil, nil
	}
	return ix.rewrite(q, leaves)
}

// keywordField is q, a "kw:" leaf for value, or the document value names
// when value is a STIX id.
func (ix *Index) keywordField(q query.Query, value string) query.Query {
	if d := ix.idQuery(value); d != nil {
		return query.NewDisjunctionQuery([]query.Query{q, d})
	}
	return q
}

// anyField matches text against Name and Text, and whole against Keywords
// (and as a STIX id, see exact).
func (ix *Index) anyField(text string, op query.MatchQueryOperator, fuzziness int) query.Query {
	ds := ix.exact(make([]query.Query, 0, 6), text)
	if fuzziness > 0 {
		// Values without words of their own (domains, hashes) are only
		// keywords, so a typo in one is forgiven here.
		f := query.NewFuzzyQuery(strings.ToLower(text))
		f.SetField(fieldKeyword)
		f.SetFuzziness(fuzziness)
		ds = append(ds, f)
	}
	if a, err := netip.ParseAddr(text); err == nil {
		ds = append(ds, ipTermQuery(a, boostExact))
	}
	for _, f := range []struct {
		name  string
		boost float64
	}{{fieldName, boostName}, {fieldText, boostText}} {
		m := query.NewMatchQuery(text)
		m.SetField(f.name)
		m.SetOperator(op)
		m.SetFuzziness(fuzziness)
		m.SetBoost(f.boost)
		ds = append(ds, m)
	}
	return query.NewDisjunctionQuery(ds)
}

// ipFieldQuery turns the value of an "ip:" leaf into an address or prefix
// query; other values match nothing.
func ipFieldQuery(v string) query.Query {
	if a, err := netip.ParseAddr(v); err == nil {
		return ipTermQuery(a, boostExact)
	}
	if p, err := netip.ParsePrefix(v); err == nil {
		return newIPQuery(p)
	}
	return query.NewMatchNoneQuery()
}

// Verify reports which of docs match q's text and time window: it indexes
// them in a throwaway in-memory index with the same mapping and runs the
// query there. Search uses it to check a hit on a Multi document against
// the part of the node a viewer may see.
func (ix *Index) Verify(ctx context.Context, q Query, docs []Doc) (map[uint64]bool, error) {
	out := map[uint64]bool{}
	if len(docs) == 0 {
		return out, nil
	}
	mem, err := bleve.NewMemOnly(ix.im)
	if err != nil {
		return nil, fmt.Errorf("verify: open memory index: %w", err)
	}
	defer mem.Close()
	b := mem.NewBatch()
	for i := range docs {
		d := docs[i]
		d.Multi = false
		if err := b.IndexAdvanced(ix.build.build(&d)); err != nil {
			return nil, fmt.Errorf("verify: index node %d: %w", d.ID, err)
		}
	}
	if err := mem.Batch(b); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	main, unscored, err := ix.userQuery(strings.TrimSpace(q.Text))
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	rq := Query{Types: q.Types, After: q.After, Before: q.Before}
	final, _ := restrict(main, unscored, &rq)
	req := bleve.NewSearchRequestOptions(final, len(docs), 0, false)
	req.Score = "none"
	sr, err := mem.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	for _, h := range sr.Hits {
		id, err := parseDocID(h.ID)
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		out[id] = true
	}
	return out, nil
}
