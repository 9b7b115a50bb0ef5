package refdata

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"strings"

	"github.com/verband-cti/verband/schema"
)

// builtinSharedParents is sharedparents.txt: its header says what the list
// holds and how it was made.
//
//go:embed sharedparents.txt
var builtinSharedParents []byte

// SharedParents is a set of shared parent domains: domains under which a
// service hands out subdomains to anyone (dynamic DNS, tunnels, free
// hosting). The correlation rule "registered-domain" treats them as public
// suffixes (correlate.Options.SharedParent), so that two unrelated
// customers of one provider do not link. It is read-only once loaded and
// safe for concurrent use.
type SharedParents struct {
	// set and wild map a canonical domain to where it was listed
	// (file:line); wild holds the parents of "*." entries.
	set, wild map[string]string
}

func newSharedParents() *SharedParents {
	return &SharedParents{set: map[string]string{}, wild: map[string]string{}}
}

// BuiltinSharedParents returns Verband's own list (sharedparents.txt in
// this package, embedded in the binary).
func BuiltinSharedParents() *SharedParents {
	s, err := ReadSharedParents(bytes.NewReader(builtinSharedParents), "built-in shared parents")
	if err != nil {
		// The list is part of the binary, and a test reads it.
		panic(err)
	}
	return s
}

// ReadSharedParents reads a list of shared parent domains: one domain per
// line, blank lines and lines starting with "#" ignored. A line
// "*.example.net" makes every domain one label below example.net a shared
// parent, as a wildcard rule does on the Public Suffix List; a "." before
// a domain is allowed and changes nothing. Domains are canonicalised as
// STIX domain-name values are (lower case, IDNA, no trailing dot). A line
// that is no domain name, or a top-level domain such as "com", is an error
// naming name and the line. name names the input in errors.
func ReadSharedParents(r io.Reader, name string) (*SharedParents, error) {
	s := newSharedParents()
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		into := s.set
		if rest, ok := strings.CutPrefix(text, "*."); ok {
			into, text = s.wild, rest
		}
		d, err := schema.CanonicalDomain(strings.TrimPrefix(text, "."))
		if err != nil {
			return nil, fmt.Errorf("read shared parents %s:%d: %w: %w", name, line, ErrBadEntry, err)
		}
		if !strings.Contains(d, ".") {
			return nil, fmt.Errorf("read shared parents %s:%d: %w: %q is a top-level domain; list the domains under it that a provider hands out subdomains of", name, line, ErrBadEntry, d)
		}
		if _, ok := into[d]; !ok {
			into[d] = fmt.Sprintf("%s:%d", name, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read shared parents %s: %w", name, err)
	}
	return s, nil
}

// LoadSharedParents reads the lists in the named files and returns their
// union.
func LoadSharedParents(paths ...string) (*SharedParents, error) {
	lists, err := readAll(paths, ReadSharedParents)
	if err != nil {
		return nil, fmt.Errorf("load shared parents: %w", err)
	}
	out := newSharedParents()
	for _, s := range lists {
		out.Add(s)
	}
	return out, nil
}

// Add adds the entries of o to s, keeping where s listed an entry first.
func (s *SharedParents) Add(o *SharedParents) {
	for _, m := range [][2]map[string]string{{s.set, o.set}, {s.wild, o.wild}} {
		for d, where := range m[1] {
			if _, ok := m[0][d]; !ok {
				m[0][d] = where
			}
		}
	}
}

// Len returns the number of entries (domains and wildcards) in s.
func (s *SharedParents) Len() int { return len(s.set) + len(s.wild) }

// Has reports whether domain, a canonical domain name, is a shared parent:
// listed itself, or one label below a wildcard entry's domain. Its
// signature is that of correlate.Options.SharedParent. A nil set holds
// nothing.
func (s *SharedParents) Has(domain string) bool {
	_, ok := s.Source(domain)
	return ok
}

// Source returns where s listed the entry that makes domain a shared
// parent ("file:line"), and whether there is one.
func (s *SharedParents) Source(domain string) (string, bool) {
	if s == nil {
		return "", false
	}
	if where, ok := s.set[domain]; ok {
		return where, true
	}
	if i := strings.IndexByte(domain, '.'); i >= 0 {
		where, ok := s.wild[domain[i+1:]]
		return where, ok
	}
	return "", false
}
