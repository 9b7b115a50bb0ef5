// Package demo runs Verband's demonstration: a query server on a temporary
// data directory preloaded with real threat intelligence, so that a new user
// sees a real graph with one command ("verband demo").
//
// The data is MITRE ATT&CK Enterprise and ESET's malware-ioc campaigns (MISP
// events) from the shared data folder (attack/, eset/, found by
// internal/shareddata) when it is present, and otherwise a sample of about
// a thousand ATT&CK objects embedded in the binary
// (sample/attack-sample.json.gz, with MITRE's license in
// sample/LICENSE-ATTACK.txt and its origin in sample/NOTICE). With
// containers that share evidence loaded, Run clusters them once for the
// demo's organization, so the cluster queries have a run to show; the
// shared MISP warninglists, when present, keep benign values (google.com,
// public resolvers) from linking containers, in that run and in the API.
//
// The main functions: Run loads the data, starts the server, prints where it
// listens and what to try, and serves until its context ends, then removes
// the temporary directory unless told to keep it; PickData picks the
// data; LoadSample loads the embedded sample into any store.
package demo
