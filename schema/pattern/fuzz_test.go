package pattern

import (
	"testing"
)

// FuzzParse checks that Parse never panics, and that whatever parses
// prints to a pattern that parses back to the same tree and prints the
// same again.
func FuzzParse(f *testing.F) {
	for _, s := range specExamples {
		f.Add(s)
	}
	for _, s := range []string{
		`[x:a = 'it\'s' AND x:b IN (1, 2.5, true, b'AAE=', h'ff', t'2016-01-01T00:00:00Z')]`,
		`([a:b = 1] WITHIN 5 SECONDS) WITHIN 6 SECONDS`,
		`[x:'h-1'.'AND'[*][-3] = 1] /* c */ // d`,
		`((([a:b = 1])))`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		checkRoundTrip(t, s, p)
		_ = p.Observables()
		_, _ = ObservableIDs(s)
	})
}
