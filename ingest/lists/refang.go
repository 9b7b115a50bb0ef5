package lists

import (
	"strings"

	"github.com/verband-cti/verband/schema"
)

// Refang undoes the defanging that reports and lists apply to indicators so
// nobody clicks them. On top of what schema.Refang undoes, it reads, without
// regard to case and in any of the bracket pairs [], () and {}:
//
//	[.] [dot]      → .
//	[:] [://] [:]// → : and ://
//	[@] [at]       → @
//	[/] [//]       → / and //
//
// and the schemes hxxp, hxxps, hXXp, fxp and fxps (→ http, https, ftp,
// ftps) at the start of the value. Nothing else changes; in particular
// brackets around anything else, such as an IPv6 literal "[2001:db8::1]",
// stay. Refang is not a canonicaliser: apply Classify to the result.
func Refang(s string) string {
	if strings.ContainsAny(s, "[({") {
		s = refangBrackets(s)
	}
	s = refangScheme(s)
	return schema.Refang(s)
}

// refangTokens maps the lower-case text inside a bracket pair to what it
// stands for.
var refangTokens = map[string]string{
	".": ".", "dot": ".", ":": ":", "://": "://", "@": "@", "at": "@", "/": "/", "//": "//",
}

const maxRefangToken = 3 // the longest key of refangTokens

func closer(open byte) byte {
	switch open {
	case '[':
		return ']'
	case '(':
		return ')'
	}
	return '}'
}

// refangBrackets replaces every bracketed token of refangTokens.
func refangBrackets(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '[' && c != '(' && c != '{' {
			continue
		}
		want := closer(c)
		end := -1
		for j := i + 1; j < len(s) && j <= i+1+maxRefangToken; j++ {
			if s[j] == want {
				end = j
				break
			}
		}
		if end < 0 {
			continue
		}
		rep, ok := refangTokens[strings.ToLower(s[i+1:end])]
		if !ok {
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:i])
		b.WriteString(rep)
		last = end + 1
		i = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// refangSchemes maps defanged schemes (lower case, with their colon) to the
// real ones.
var refangSchemes = []struct{ from, to string }{
	{"hxxps:", "https:"}, {"hxxp:", "http:"}, {"fxps:", "ftps:"}, {"fxp:", "ftp:"},
}

// refangScheme rewrites a defanged scheme at the start of s.
func refangScheme(s string) string {
	if len(s) < 4 || (s[0]|0x20) != 'h' && (s[0]|0x20) != 'f' {
		return s
	}
	for _, r := range refangSchemes {
		if len(s) >= len(r.from) && strings.EqualFold(s[:len(r.from)], r.from) {
			return r.to + s[len(r.from):]
		}
	}
	return s
}
