// Package report is the document a cluster run produces for one audience:
// the JSON form that is written to disk and posted to webhooks (Report and
// its parts, versioned by FormatVersion), and the self-contained HTML page drawn
// from it for people. It holds no store access: the run fills a Report from
// what its audience may see, and this package only shapes and draws it.
//
// The main parts:
//
//   - Report: one run for one audience, with its Clusters (stable ids, a
//     Status, Members ranked by PageRank, Links with their Evidence, and
//     Bridges) and the Changes since the audience's previous run.
//   - HTML: writes a Report as one page for a joint case review: a header
//     with the audience, the run, its settings and totals; a summary of the
//     changes, with the evidence of each new link between a recent and a
//     past container; for each new or grown cluster a drawing (SVG) of its
//     members, new ones ringed, and its links, as wide as their score, with
//     the evidence in each link's tooltip, then a table of its members and
//     of its heaviest evidence; and a compact table of the other clusters.
//
// The page needs no network and runs no script: its style sheet and
// drawings are inline, and a Content-Security-Policy meta tag forbids
// loading anything, so it opens from a file or a mail attachment as it is.
// Names and values come from threat feeds and may be hostile; html/template
// escapes them in text and in SVG attributes alike. Drawings are laid out
// in Go by a Fruchterman–Reingold spring layout seeded from the cluster id,
// so the same Report always yields the same bytes (testdata/sample.html is
// the golden page; go test ./ui/report -update rewrites it). A cluster of
// more than 150 members is drawn by its new members and then its best
// ranked ones up to 150, and the caption says how many are left out.
//
// HTML is safe for concurrent use; it keeps no state between calls.
package report
