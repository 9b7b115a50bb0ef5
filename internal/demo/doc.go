// Package demo runs Verband's demonstration: a query server on a temporary
// data directory preloaded with real threat intelligence, so that a new user
// sees a real graph with one command ("verband demo").
//
// The data is MITRE ATT&CK Enterprise, ESET's malware-ioc campaigns (MISP
// events) and Maltrail's lists of APT28, APT29 and Turla from the shared
// data folder (attack/, eset/, maltrail/, found by internal/shareddata)
// when it is present, and otherwise a sample embedded in the binary
// (sample/, with each source's license and its origin in sample/NOTICE):
// about a thousand ATT&CK objects around four intrusion sets, ESET's
// events on those sets and the same Maltrail lists. Run clusters the
// containers that share evidence once for the demo's organization, so the
// cluster queries have a run to show; MISP warninglists (the shared
// folder's, or the embedded ones) keep benign values (google.com, public
// resolvers) from linking containers, in that run and in the API.
//
// The main functions: Run loads the data, starts the server, prints where it
// listens and what to try, and serves until its context ends, then removes
// the temporary directory unless told to keep it; PickData picks the
// data; LoadSample loads the embedded sample into any store.
package demo
