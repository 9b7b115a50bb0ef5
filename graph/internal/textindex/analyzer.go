package textindex

import (
	"bytes"
	"fmt"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/registry"
)

// TextAnalyzer is the default analyzer of Name and Text: bleve's standard
// analyzer (Unicode word segmentation, lower-casing, English stop words)
// that also splits words at underscores.
//
// Unicode word segmentation (UAX #29) treats an underscore as part of a
// word, so under the standard analyzer "apt_duke", Maltrail's name for the
// APT29 trail list, is one word, and a search for "duke" or "turla" misses
// the lists apt_duke and apt_turla. Threat intelligence is full of such
// names (malware families, tool names, sandbox labels), and an analyst
// types the part that means something. With the split, "duke" finds
// apt_duke and "apt_duke" finds it through both its words, and through the
// exact keyword first when the object lists it as an external id.
const TextAnalyzer = "verband_text"

func init() {
	if err := registry.RegisterAnalyzer(TextAnalyzer, newTextAnalyzer); err != nil {
		panic(fmt.Sprintf("register analyzer %s: %v", TextAnalyzer, err))
	}
}

// newTextAnalyzer builds TextAnalyzer from bleve's registry.
func newTextAnalyzer(_ map[string]interface{}, cache *registry.Cache) (analysis.Analyzer, error) {
	tok, err := cache.TokenizerNamed(unicode.Name)
	if err != nil {
		return nil, fmt.Errorf("build analyzer %s: %w", TextAnalyzer, err)
	}
	lower, err := cache.TokenFilterNamed(lowercase.Name)
	if err != nil {
		return nil, fmt.Errorf("build analyzer %s: %w", TextAnalyzer, err)
	}
	stop, err := cache.TokenFilterNamed(en.StopName)
	if err != nil {
		return nil, fmt.Errorf("build analyzer %s: %w", TextAnalyzer, err)
	}
	return &analysis.DefaultAnalyzer{
		CharFilters:  []analysis.CharFilter{underscoreFilter{}},
		Tokenizer:    tok,
		TokenFilters: []analysis.TokenFilter{lower, stop},
	}, nil
}

// underscoreFilter turns underscores into spaces before tokenizing. The
// text keeps its length, so token offsets still point into the original.
type underscoreFilter struct{}

// Filter implements analysis.CharFilter. It returns input itself when there
// is no underscore, and otherwise a copy: input belongs to the document.
func (underscoreFilter) Filter(input []byte) []byte {
	if bytes.IndexByte(input, '_') < 0 {
		return input
	}
	return bytes.ReplaceAll(input, []byte{'_'}, []byte{' '})
}
