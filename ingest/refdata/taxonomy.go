package refdata

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Taxonomy is one MISP taxonomy (misp-taxonomies <namespace>/machinetag.json):
// a namespace of machine tags such as tlp:amber or
// admiralty-scale:source-reliability="a".
type Taxonomy struct {
	Namespace, Description, Expanded string
	Version                          int64
	// Exclusive says that at most one of the taxonomy's predicates may tag
	// one thing.
	Exclusive bool
	// Entries are the tags the taxonomy defines, in file order: one per
	// predicate without values, one per value otherwise.
	Entries []TagEntry
}

// TagEntry is one tag a taxonomy defines.
type TagEntry struct {
	// Tag is the machine tag: namespace:predicate or
	// namespace:predicate="value".
	Tag                         string
	Namespace, Predicate, Value string
	// Expanded is the human-readable name, Description a longer text.
	Expanded, Description string
	// Colour is the display colour, if the taxonomy sets one.
	Colour string
	// NumericalValue is the value's rank, if the taxonomy sets one.
	NumericalValue *float64
	// Exclusive reports that the entry's predicate is exclusive: one thing
	// carries at most one of its values.
	Exclusive bool
}

// ReadTaxonomy decodes one machinetag.json. name names the input in errors.
func ReadTaxonomy(r io.Reader, name string) (*Taxonomy, error) {
	type entry struct {
		Value          string   `json:"value"`
		Expanded       string   `json:"expanded"`
		Description    string   `json:"description"`
		Colour         string   `json:"colour"`
		NumericalValue *float64 `json:"numerical_value"`
		Exclusive      bool     `json:"exclusive"`
	}
	var raw struct {
		Namespace   string          `json:"namespace"`
		Description string          `json:"description"`
		Expanded    string          `json:"expanded"`
		Version     json.RawMessage `json:"version"`
		Exclusive   bool            `json:"exclusive"`
		Predicates  []entry         `json:"predicates"`
		Values      []struct {
			Predicate string  `json:"predicate"`
			Entry     []entry `json:"entry"`
		} `json:"values"`
	}
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode taxonomy %s: %w: %w", name, ErrBadField, err)
	}
	if strings.TrimSpace(raw.Namespace) == "" {
		return nil, fmt.Errorf("decode taxonomy %s: %w", name, ErrNotTaxonomy)
	}
	t := &Taxonomy{Namespace: raw.Namespace, Description: raw.Description, Expanded: raw.Expanded, Exclusive: raw.Exclusive}
	if len(raw.Version) > 0 {
		t.Version, _ = flexInt(raw.Version)
	}
	values := map[string][]entry{}
	for _, v := range raw.Values {
		values[v.Predicate] = append(values[v.Predicate], v.Entry...)
	}
	for _, p := range raw.Predicates {
		vals, ok := values[p.Value]
		if !ok {
			t.Entries = append(t.Entries, TagEntry{
				Tag: t.Namespace + ":" + p.Value, Namespace: t.Namespace, Predicate: p.Value,
				Expanded: p.Expanded, Description: p.Description, Colour: p.Colour,
				NumericalValue: p.NumericalValue, Exclusive: p.Exclusive,
			})
			continue
		}
		for _, v := range vals {
			t.Entries = append(t.Entries, TagEntry{
				Tag:       t.Namespace + ":" + p.Value + "=" + strconv.Quote(v.Value),
				Namespace: t.Namespace, Predicate: p.Value, Value: v.Value,
				Expanded: v.Expanded, Description: v.Description, Colour: v.Colour,
				NumericalValue: v.NumericalValue, Exclusive: p.Exclusive,
			})
		}
	}
	return t, nil
}

// Vocabulary is the set of tags that loaded taxonomies define, for
// validating tags and describing labels. It is read-only once built and
// safe for concurrent use.
type Vocabulary struct {
	taxonomies map[string]*Taxonomy // by lower-case namespace
	byTag      map[string]*TagEntry // by lower-case tag
}

// LoadTaxonomies reads machinetag.json files (files, or directories walked
// for *.json) into a vocabulary.
func LoadTaxonomies(paths ...string) (*Vocabulary, error) {
	files, err := jsonFiles(paths)
	if err != nil {
		return nil, fmt.Errorf("load taxonomies: %w", err)
	}
	ts, err := readAll(files, ReadTaxonomy)
	if err != nil {
		return nil, fmt.Errorf("load taxonomies: %w", err)
	}
	return NewVocabulary(ts...), nil
}

// NewVocabulary indexes taxonomies. A later taxonomy of the same namespace
// replaces an earlier one.
func NewVocabulary(ts ...*Taxonomy) *Vocabulary {
	v := &Vocabulary{taxonomies: map[string]*Taxonomy{}, byTag: map[string]*TagEntry{}}
	for _, t := range ts {
		v.taxonomies[strings.ToLower(t.Namespace)] = t
	}
	for _, t := range v.taxonomies {
		for i := range t.Entries {
			e := &t.Entries[i]
			v.byTag[tagKey(e.Namespace, e.Predicate, e.Value, e.Value != "")] = e
		}
	}
	return v
}

// Namespaces returns the namespaces of the loaded taxonomies, sorted.
func (v *Vocabulary) Namespaces() []string {
	out := make([]string, 0, len(v.taxonomies))
	for _, t := range v.taxonomies {
		out = append(out, t.Namespace)
	}
	sort.Strings(out)
	return out
}

// Taxonomy returns the taxonomy of a namespace, without regard to case.
func (v *Vocabulary) Taxonomy(namespace string) (*Taxonomy, bool) {
	t, ok := v.taxonomies[strings.ToLower(namespace)]
	return t, ok
}

// Lookup returns the entry of a tag, such as "tlp:amber", "PAP:GREEN" or
// `admiralty-scale:source-reliability="a"`, without regard to case and to
// whether the value is quoted.
func (v *Vocabulary) Lookup(tag string) (TagEntry, bool) {
	ns, pred, val, hasVal, ok := ParseTag(tag)
	if !ok {
		return TagEntry{}, false
	}
	e, ok := v.byTag[tagKey(ns, pred, val, hasVal)]
	if !ok {
		return TagEntry{}, false
	}
	return *e, true
}

// Validate returns nil when a loaded taxonomy defines the tag, and an error
// wrapping ErrUnknownTag that says whether the namespace, the predicate or
// the value is unknown otherwise. Tags without a namespace (free-text
// labels) are unknown too.
func (v *Vocabulary) Validate(tag string) error {
	if _, ok := v.Lookup(tag); ok {
		return nil
	}
	ns, pred, _, _, ok := ParseTag(tag)
	if !ok {
		return fmt.Errorf("tag %q is not a machine tag: %w", tag, ErrUnknownTag)
	}
	t, ok := v.Taxonomy(ns)
	if !ok {
		return fmt.Errorf("tag %q: unknown namespace %q: %w", tag, ns, ErrUnknownTag)
	}
	for _, e := range t.Entries {
		if strings.EqualFold(e.Predicate, pred) {
			return fmt.Errorf("tag %q: unknown value for predicate %q of %s: %w", tag, pred, t.Namespace, ErrUnknownTag)
		}
	}
	return fmt.Errorf("tag %q: unknown predicate %q in %s: %w", tag, pred, t.Namespace, ErrUnknownTag)
}

// ParseTag splits a machine tag namespace:predicate[="value"] into its
// parts. The value may be quoted or not; hasValue tells whether "=" was
// present. It reports false for a tag without ":" or with an empty part.
func ParseTag(tag string) (namespace, predicate, value string, hasValue, ok bool) {
	tag = strings.TrimSpace(tag)
	ns, rest, found := strings.Cut(tag, ":")
	if !found || ns == "" || rest == "" {
		return "", "", "", false, false
	}
	pred, val, hasValue := strings.Cut(rest, "=")
	if pred == "" {
		return "", "", "", false, false
	}
	if hasValue {
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			if uq, err := strconv.Unquote(val); err == nil {
				val = uq
			} else {
				val = val[1 : len(val)-1]
			}
		}
	}
	return ns, pred, val, hasValue, true
}

func tagKey(ns, pred, val string, hasVal bool) string {
	k := strings.ToLower(ns) + ":" + strings.ToLower(pred)
	if hasVal {
		k += "=" + strings.ToLower(val)
	}
	return k
}
