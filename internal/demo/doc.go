// Package demo runs Verband's demonstration: a query server on a temporary
// data directory preloaded with real threat intelligence, so that a new user
// sees a real graph with one command ("verband demo").
//
// The data is MITRE ATT&CK Enterprise from the shared data folder
// (attack/enterprise-attack.json.gz, found by internal/shareddata) when it
// is present, and otherwise a sample of about a thousand ATT&CK objects
// embedded in the binary (sample/attack-sample.json.gz, with MITRE's license
// in sample/LICENSE-ATTACK.txt and its origin in sample/NOTICE).
//
// The main functions: Run loads the data, starts the server, prints where it
// listens and what to try, and serves until its context ends, then removes
// the temporary directory unless told to keep it; Dataset picks the data;
// LoadSample loads the embedded sample into any store.
package demo
