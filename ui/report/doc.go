// Package report is the document a cluster run produces for one audience:
// the JSON form that is written to disk and posted to webhooks (Report and
// its parts, versioned by FormatVersion), and the self-contained HTML page drawn
// from it for people. It holds no store access: the run fills a Report from
// what its audience may see, and this package only shapes and draws it.
package report
