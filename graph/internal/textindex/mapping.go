package textindex

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/single"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"
)

// Field names in the bleve index. They are also the field names power users
// write in query-string syntax ("type:malware name:emotet").
const (
	fieldType     = "type"
	fieldClass    = "class"
	fieldName     = "name"
	fieldText     = "text"
	fieldKeyword  = "kw"
	fieldIP       = "ip"
	fieldCreated  = "created"
	fieldModified = "modified"
	fieldMulti    = "multi"
)

// keywordAnalyzer keeps the whole value as one token and lower-cases it.
const keywordAnalyzer = "kwlower"

// Indexing options per kind of field. Nothing is stored and nothing keeps
// term vectors; only the type field keeps doc values, which facets read.
// Filter-only fields skip frequencies and norms.
const (
	optsFacet   = index.IndexField | index.DocValues | index.SkipFreqNorm
	optsFilter  = index.IndexField | index.SkipFreqNorm
	optsText    = index.IndexField
	optsKeyword = index.IndexField
	optsDate    = index.IndexField | index.SkipFreqNorm
)

// Doc is one graph node as the index sees it.
type Doc struct {
	// ID is the graph node id; the bleve document id is its fixed-width
	// hex form (see DocID).
	ID uint64
	// Type is the STIX type, indexed as one exact keyword and faceted.
	Type string
	// Class is the access class; searches may be restricted to classes.
	Class uint32
	// Name is analysed text: name or title.
	Name string
	// Text is other analysed text: description, aliases and the like.
	Text []string
	// Keywords are exact values (canonical SCO values, hashes, external
	// ids, labels), matched whole and case-insensitively.
	Keywords []string
	// IPs are IPv4 or IPv6 addresses, indexed so that CIDR queries work.
	// Values that do not parse as addresses are indexed as Keywords.
	IPs []string
	// Created and Modified are date fields; the zero time means absent.
	Created, Modified time.Time
	// Multi marks the document of a node whose contributions differ, so
	// that it holds text not every viewer of the node may see. Searches for
	// viewers who may not see everything check such hits again against
	// the viewer's own view (see Verify).
	Multi bool
}

// bare reports whether d carries nothing to search for but its type.
func (d *Doc) bare() bool {
	return d.Name == "" && len(d.Text) == 0 && len(d.Keywords) == 0 && len(d.IPs) == 0
}

// DocID returns the bleve document id of a node id: 16 lower-case hex
// digits, so that ids sort like the numbers.
func DocID(id uint64) string {
	const hexdigits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = hexdigits[id&0xf]
		id >>= 4
	}
	return string(b[:])
}

// parseDocID is the inverse of DocID. It takes the bytes a segment holds, so
// that reading the id of a match allocates nothing.
func parseDocID[T string | []byte](s T) (uint64, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("parse doc id %q: want 16 hex digits", s)
	}
	var v uint64
	for i := range len(s) {
		c := s[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		default:
			return 0, fmt.Errorf("parse doc id %q: %q is not a lower-case hex digit", s, c)
		}
		v = v<<4 | uint64(d)
	}
	return v, nil
}

// newMapping builds the static index mapping. Documents are built directly
// as bleve documents (see docBuilder), so the mapping serves the query side:
// it names the analyzer of each field for match and query-string queries and
// lets bleve validate field types. Dynamic mapping and the _all field are off.
func newMapping(textAnalyzer string) (*mapping.IndexMappingImpl, error) {
	im := mapping.NewIndexMapping()
	if err := im.AddCustomAnalyzer(keywordAnalyzer, map[string]interface{}{
		"type":          custom.Name,
		"tokenizer":     single.Name,
		"token_filters": []string{lowercase.Name},
	}); err != nil {
		return nil, fmt.Errorf("add keyword analyzer: %w", err)
	}
	im.DefaultAnalyzer = textAnalyzer
	im.DefaultField = fieldName
	im.IndexDynamic = false
	im.StoreDynamic = false
	im.DocValuesDynamic = false

	kw := func(docValues bool) *mapping.FieldMapping {
		f := mapping.NewTextFieldMapping()
		f.Analyzer = keywordAnalyzer
		f.Store = false
		f.IncludeTermVectors = false
		f.IncludeInAll = false
		f.DocValues = docValues
		return f
	}
	text := func() *mapping.FieldMapping {
		f := mapping.NewTextFieldMapping()
		f.Analyzer = textAnalyzer
		f.Store = false
		f.IncludeTermVectors = false
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}
	// Dates are terms of the date trie (see dateTerms), exact bytes.
	date := func() *mapping.FieldMapping {
		f := kw(false)
		f.Analyzer = keyword.Name
		return f
	}
	ip := mapping.NewIPFieldMapping()
	ip.Store = false
	ip.IncludeInAll = false
	ip.DocValues = false

	dm := mapping.NewDocumentStaticMapping()
	dm.AddFieldMappingsAt(fieldType, kw(true))
	dm.AddFieldMappingsAt(fieldClass, kw(false))
	dm.AddFieldMappingsAt(fieldKeyword, kw(false))
	dm.AddFieldMappingsAt(fieldName, text())
	dm.AddFieldMappingsAt(fieldText, text())
	dm.AddFieldMappingsAt(fieldIP, ip)
	dm.AddFieldMappingsAt(fieldCreated, date())
	dm.AddFieldMappingsAt(fieldModified, date())
	im.DefaultMapping = dm
	if err := im.Validate(); err != nil {
		return nil, fmt.Errorf("validate mapping: %w", err)
	}
	return im, nil
}

// docBuilder turns Docs into bleve documents without going through the
// reflection-based mapper, with the analyzers of the mapping.
type docBuilder struct {
	text         analysis.Analyzer
	indexCreated bool
}

func newDocBuilder(im *mapping.IndexMappingImpl, indexCreated bool) (*docBuilder, error) {
	b := &docBuilder{
		text:         im.AnalyzerNamed(im.DefaultAnalyzer),
		indexCreated: indexCreated,
	}
	if b.text == nil {
		return nil, fmt.Errorf("look up analyzer %q: not registered", im.DefaultAnalyzer)
	}
	return b, nil
}

// build returns the bleve document of d. Exact values (type, class,
// keywords, addresses, dates) bypass bleve's analyzers: they become
// termsFields with their final terms, which is what the keyword analyzer
// would produce, at a fraction of the cost.
func (b *docBuilder) build(d *Doc) *document.Document {
	doc := document.NewDocument(DocID(d.ID))
	doc.Fields = make([]document.Field, 0, 6+len(d.Text))
	if d.Type != "" {
		doc.AddField(newTermsField(fieldType, optsFacet, []byte(strings.ToLower(d.Type))))
	}
	doc.AddField(newTermsField(fieldClass, optsFilter, strconv.AppendUint(nil, uint64(d.Class), 10)))
	if d.Multi {
		doc.AddField(newTermsField(fieldMulti, optsFilter, []byte("1")))
	}
	if d.Name != "" {
		doc.AddField(document.NewTextFieldCustom(fieldName, nil, []byte(d.Name), optsText, b.text))
	}
	for _, t := range d.Text {
		if t != "" {
			doc.AddField(document.NewTextFieldCustom(fieldText, nil, []byte(t), optsText, b.text))
		}
	}
	var kws, ips [][]byte
	for _, k := range d.Keywords {
		if k != "" {
			kws = append(kws, []byte(strings.ToLower(k)))
		}
	}
	for _, s := range d.IPs {
		addr, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			// Keep a value the caller believed to be an address findable
			// as an exact value rather than dropping it.
			if s != "" {
				kws = append(kws, []byte(strings.ToLower(s)))
			}
			continue
		}
		a16 := addr.Unmap().As16() // IPv4 as ::ffff:a.b.c.d, as bleve does
		ips = append(ips, a16[:])
	}
	if len(kws) > 0 {
		doc.AddField(newTermsField(fieldKeyword, optsKeyword, kws...))
	}
	if len(ips) > 0 {
		doc.AddField(newTermsField(fieldIP, optsFilter, ips...))
	}
	if b.indexCreated && !d.Created.IsZero() {
		doc.AddField(newTermsField(fieldCreated, optsDate, dateTerms(d.Created)...))
	}
	if !d.Modified.IsZero() {
		doc.AddField(newTermsField(fieldModified, optsDate, dateTerms(d.Modified)...))
	}
	return doc
}

// termsField is a bleve field whose terms are given, not analysed: each
// term occurs once, at no position.
type termsField struct {
	name  string
	opts  index.FieldIndexingOptions
	terms [][]byte
	freqs index.TokenFrequencies
}

var _ document.Field = (*termsField)(nil)

func newTermsField(name string, opts index.FieldIndexingOptions, terms ...[]byte) *termsField {
	return &termsField{name: name, opts: opts, terms: terms}
}

func (f *termsField) Name() string                        { return f.name }
func (f *termsField) ArrayPositions() []uint64            { return nil }
func (f *termsField) Options() index.FieldIndexingOptions { return f.opts }
func (f *termsField) EncodedFieldType() byte              { return 't' }
func (f *termsField) AnalyzedLength() int                 { return len(f.terms) }

func (f *termsField) AnalyzedTokenFrequencies() index.TokenFrequencies { return f.freqs }

// Value returns the first term; the field is never stored.
func (f *termsField) Value() []byte {
	if len(f.terms) == 0 {
		return nil
	}
	return f.terms[0]
}

func (f *termsField) NumPlainTextBytes() uint64 {
	var n uint64
	for _, t := range f.terms {
		n += uint64(len(t))
	}
	return n
}

func (f *termsField) Size() int {
	n := 64 + len(f.name)
	for _, t := range f.terms {
		n += 24 + len(t)
	}
	return n
}

// Analyze builds the term frequencies.
func (f *termsField) Analyze() {
	f.freqs = make(index.TokenFrequencies, len(f.terms))
	for _, t := range f.terms {
		if tf, ok := f.freqs[string(t)]; ok {
			if !f.opts.SkipFreqNorm() {
				tf.SetFrequency(tf.Frequency() + 1)
			}
			continue
		}
		tf := &index.TokenFreq{Term: t}
		if !f.opts.SkipFreqNorm() {
			tf.SetFrequency(1)
		}
		f.freqs[string(t)] = tf
	}
}
