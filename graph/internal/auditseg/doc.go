// Package auditseg is an append-only log of numbered records in segment
// files, written with pwrite and flushed with fsync. It holds the store's
// audit log outside Badger (graph/auditstore.go).
//
// Why a log of its own: every API request appends an audit entry, and at
// 3,000 requests/s on two cores the audit database's Badger work (its
// memtable rotations, flushes and compactions, on memory-mapped files)
// stalled the whole process now and then, even when no request waited for
// it. Measured with the API bench on a million-object store, 2-hop p99:
// 17-25 ms with the audit log in Badger, and a stall of a second or more
// in about one 20-second run in three; 17-111 ms, stalls included, with the
// requests writing a journal and Badger taking the entries from it in the
// background; 12-16 ms, without a stall in four runs, with the requests
// writing segments of this package and nothing else; 9-12 ms with no audit
// log at all.
//
// A log is a directory of segments. A segment is named by the sequence
// number of its first record (%020d.seg) and holds records with
// consecutive sequence numbers; the next segment starts where it ends. Only
// the last segment grows; it is sealed when it reaches Options.SegmentBytes
// or, with Options.SegmentAge, when its records span that long, so that
// DropBefore, which removes whole segments, can cut the log by age closely. A record is framed as
//
//	[4] n, the length of the body, big-endian
//	[4] CRC-32C of the body
//	[n] body: [8] sequence number, then the payload
//	[4] n again, so that the log reads backwards too
//
// The payload is the record's time (Unix nanoseconds), its organizations
// and its data. With a key it is sealed with AES-256-GCM under a random
// nonce, the sequence number as additional data, so that neither the
// organizations nor the time can be read from the disk.
//
// Durability: Append returns once the record is in the page cache, which
// survives a crash of the process; Sync (called by the owner, say every 50
// ms) writes what was appended to the disk. Open reads the last segment
// through and cuts a torn tail (a record that a crash left half-written)
// before it appends again. A damaged record in an earlier segment is an
// error of the read that meets it, never skipped.
//
// The log takes no lock on its directory: its owner must be the only
// process that opens it (the store holds Badger's lock on its data
// directory for as long as it is open).
//
// Each segment has an index (index.go) of the records by organization,
// with the bounds of their times, so that Find reads only the records of
// one organization, and skips the segments outside a time window.
//
// Walk reads every record as it lies on disk, in or out of order, and
// checks each sealed segment's index against its records: it is the
// reader of the store's audit verification. Options.Synced tells Open up
// to which record the log is known to be on disk, so that damage there is
// never mistaken for a torn tail and cut; Open then keeps the segment
// whole and marks the log damaged (Damaged), which refuses appends.
package auditseg
