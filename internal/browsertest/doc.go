// Package browsertest starts headless Chromium for the tests that check what
// a page really shows: Context finds the browser, or skips the test when
// there is none, except under CI, where .ci/run installs one and its absence
// is a failure; and returns a chromedp context that the test drives.
//
// Each Context call starts a browser of its own, with a fresh profile in the
// test's temporary directory and its background networking turned off, and
// stops it when the test ends.
package browsertest
