// Package crashtest runs a crash test's child: the test binary re-executed
// into one of its tests, which writes and prints what it has made durable,
// killed with SIGKILL at a moment the test chooses. The store's crash test
// (graph) and the audit segments' (graph/internal/auditseg) use it; it
// imports neither, so that both can.
package crashtest
