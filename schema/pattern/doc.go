// Package pattern parses STIX 2.1 patterns, the language of an indicator's
// "pattern" property when its pattern_type is "stix" (STIX 2.1 part 9), and
// names the observables that simple patterns point at.
//
// The main types and functions:
//
//   - Parse turns a pattern string into a *Pattern, or fails with a
//     *SyntaxError that gives the byte offset of the problem.
//   - Pattern holds the tree: observation expressions (Observation, a
//     comparison expression in square brackets; ObservationOp, two of them
//     joined by AND, OR or FOLLOWEDBY; Qualified, one with a WITHIN, REPEATS
//     or START/STOP qualifier) over comparison expressions (ComparisonOp,
//     two joined by AND or OR; Comparison, an object path, an operator and a
//     Literal or a set of them). Parentheses are not kept: the tree holds
//     the grouping they imply. Pattern.String prints a pattern that parses
//     back to the same tree.
//   - Pattern.Observables lists the equality comparisons of a simple pattern
//     that name a concrete observable value, and ObservableIDs turns them into
//     the deterministic STIX ids of the cyber observables they name, which is
//     what the graph links an indicator to with "based-on" edges.
//
// Grammar. The parser follows the OASIS ANTLR grammar of STIX 2.1
// patterning (STIXPattern.g4 in oasis-open/cti-pattern-validator): keywords
// are upper case (true and false lower case); FOLLOWEDBY binds loosest, then
// OR, then AND, at the observation level; OR binds looser than AND inside
// brackets; qualifiers bind to the observation expression before them, and
// a bracketed observation may not carry the same kind of qualifier twice
// (the OASIS validator's rule). Strings escape only \' and \\. Comments (/* */ and //) and
// Unicode white space are skipped. Two liberties are taken: a property name
// after "." may hold a hyphen without quotes (as in the specification's own
// example file:extensions.windows-pebinary-ext.sections[*].entropy), and
// a keyword may be used unquoted as a property name. Nesting is limited to
// MaxDepth levels of parentheses and brackets.
//
// Concurrency. Parsing keeps no shared state; a *Pattern is read-only
// after Parse and may be shared between goroutines.
package pattern
