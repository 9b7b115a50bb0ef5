// Package clusterjob runs Verband's scheduled cluster reports: for every
// audience (each organization, and the operator's instance-wide view when
// asked) it builds the correlation projection as that audience sees it,
// clusters it (package graph/cluster), compares it with the audience's
// previous snapshot, stores the new snapshot in the store's runs namespace,
// and turns it into a report.Report, which it writes as
// <out>/<audience>/<run>.json (and .html when RenderHTML is set) and posts to
// a webhook when one is configured.
//
// The main types:
//
//   - Job: one configuration of the run (store, audiences, options, output
//     folder, webhook), and Run, which runs it once. A Job never runs twice at
//     once: a Run that starts while another is under way fails with ErrBusy.
//   - Outcome: what one audience's run produced.
//   - Scheduler (Schedule): runs a Job on a cron schedule inside a long-lived
//     process (verband serve), skipping a tick while the previous run is
//     still going, and stops, waiting for the run under way, when its context
//     ends.
//
// Audiences are kept apart: an organization's report is computed from the
// projection of graph.Viewer{Org: name}, stored under its name and written
// to its own folder, so it holds nothing the organization may not see.
// ToReport is the only conversion from a snapshot to the report document.
package clusterjob
