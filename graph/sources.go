package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/verband-cti/verband/schema"
)

// SourceMarking is the marking an import source gives the objects that carry
// no TLP marking of their own: a feed an agency receives under AMBER, say,
// whose files do not say so. The loader applies it unless the load names a
// TLP itself; markings in the data always win.
type SourceMarking struct {
	// TLP is the level; it may not be unmarked (remove the setting
	// instead).
	TLP schema.TLP
	// Sharing lists the organizations, besides the owner, that may see the
	// source's AMBER and AMBER+STRICT objects.
	Sharing []string
}

// sourceMarkingJSON is the stored form of a SourceMarking.
type sourceMarkingJSON struct {
	TLP     string   `json:"tlp"`
	Sharing []string `json:"sharing,omitempty"`
}

// maxSourceName bounds the length of an import source's name.
const maxSourceName = 200

// loadSourceMarkings reads the default markings of the import sources.
func (s *Store) loadSourceMarkings(txn *badger.Txn) error {
	m := map[string]SourceMarking{}
	item, err := txn.Get(keySourceMarking)
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
	case err != nil:
		return fmt.Errorf("load source markings: %w", err)
	default:
		var stored map[string]sourceMarkingJSON
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &stored) }); err != nil {
			return fmt.Errorf("load source markings: %w", err)
		}
		for name, sm := range stored {
			t, err := schema.ParseTLP(sm.TLP)
			if err != nil {
				return fmt.Errorf("load source markings: source %q: %w", name, err)
			}
			m[name] = SourceMarking{TLP: t, Sharing: sm.Sharing}
		}
	}
	s.srcMarks.Store(&m)
	return nil
}

// SourceMarkings returns the default marking of every import source that
// has one, by source name.
func (s *Store) SourceMarkings() map[string]SourceMarking {
	p := s.srcMarks.Load()
	if p == nil {
		return map[string]SourceMarking{}
	}
	out := make(map[string]SourceMarking, len(*p))
	for k, v := range *p {
		out[k] = SourceMarking{TLP: v.TLP, Sharing: slices.Clone(v.Sharing)}
	}
	return out
}

// SourceMarking returns the default marking of one import source, and false
// when it has none.
func (s *Store) SourceMarking(source string) (SourceMarking, bool) {
	p := s.srcMarks.Load()
	if p == nil {
		return SourceMarking{}, false
	}
	m, ok := (*p)[source]
	m.Sharing = slices.Clone(m.Sharing)
	return m, ok
}

// SetSourceMarking sets the default marking of an import source, or removes
// it when m is nil. The organizations on the sharing list must exist. It
// changes what later loads give unmarked objects, not what is stored.
func (s *Store) SetSourceMarking(source string, m *SourceMarking) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	source = strings.TrimSpace(source)
	if source == "" || len(source) > maxSourceName {
		return fmt.Errorf("set source marking: source name must be 1 to %d characters: %w", maxSourceName, ErrInvalid)
	}
	if m != nil {
		if m.TLP == schema.TLPUnmarked || m.TLP > schema.TLPRed {
			return fmt.Errorf("set source marking of %q: TLP %s: give clear, green, amber, amber+strict or red, or remove the setting: %w", source, m.TLP, ErrInvalid)
		}
		for _, org := range m.Sharing {
			if _, err := s.Organization(org); err != nil {
				return fmt.Errorf("set source marking of %q: sharing list: organization %q: %w", source, org, err)
			}
		}
	}
	s.srcMu.Lock()
	defer s.srcMu.Unlock()
	next := s.SourceMarkings()
	if m == nil {
		delete(next, source)
	} else {
		sharing := slices.Clone(m.Sharing)
		slices.Sort(sharing)
		next[source] = SourceMarking{TLP: m.TLP, Sharing: slices.Compact(sharing)}
	}
	stored := make(map[string]sourceMarkingJSON, len(next))
	for _, name := range slices.Sorted(maps.Keys(next)) {
		stored[name] = sourceMarkingJSON{TLP: strings.ToLower(strings.TrimPrefix(next[name].TLP.String(), "TLP:")), Sharing: next[name].Sharing}
	}
	b, err := json.Marshal(stored)
	if err != nil {
		return fmt.Errorf("set source marking of %q: encode: %w", source, err)
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(keySourceMarking, b) }); err != nil {
		return fmt.Errorf("set source marking of %q: store: %w", source, err)
	}
	s.srcMarks.Store(&next)
	return nil
}
