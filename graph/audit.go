package graph

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/verband-cti/verband/graph/internal/auditseg"
	"github.com/verband-cti/verband/schema"
)

// The audit log: an append-only, hash-chained record of every request made
// to the store through the API, TAXII and the command line (who asked, what
// they asked, which objects came back, how it ended, and which
// organizations it concerns), kept in the store so that it is backed up and
// encrypted with the data it speaks about.
//
// Format. Each entry is one JSON object in the canonical form of RFC 8785
// (JCS: no white space, members sorted by name, ECMAScript numbers,
// minimal string escapes), with these members:
//
//	args          the request's arguments as canonical JSON (null when none),
//	              cut to MaxAuditArgs bytes: values that do not fit are
//	              replaced by {"$truncated":{"bytes":N,"sha256":"…"}}, the
//	              length and SHA-256 of the canonical form of what was cut
//	args_bytes    the length of the canonical form of the complete arguments
//	args_sha256   its SHA-256 (lower-case hex); "" when there are none
//	errors        error codes or messages; [] when the request succeeded
//	id_count      how many object ids the request returned
//	ids           the STIX ids returned, at most MaxAuditIDs of them
//	operation     what was asked: "graphql:Name", "graphql", "http",
//	              "taxii", "cli export", "cli ingest", …
//	orgs          the organizations the entry concerns, sorted: the
//	              viewer's and any other whose data the answer touched
//	outcome       "ok" or "error"
//	prev          the hash of the previous entry; 64 zeros for entry 1
//	result        a summary of what a command did (counts), or null
//	seq           the sequence number: 1, 2, 3, … without gaps
//	time          when the entry was appended, RFC 3339 in UTC
//	truncated     the paths ("args.variables.input.data", "ids", …) of
//	              what was cut to keep the entry bounded
//	viewer        {"org","role","token","user"}: who asked; all "" when
//	              the request did not authenticate
//
// Hash recipe. An entry's hash is the SHA-256 (lower-case hex) of that
// canonical JSON object without a "hash" member. Exports (Store.AuditEntries
// with AuditEntry.MarshalJSON) add the hash as member "hash", so anyone can
// re-verify an exported log without Verband: for each line, remove "hash",
// canonicalize with any RFC 8785 implementation, hash with SHA-256, compare
// with "hash", and compare "prev" with the previous line's "hash" and "seq"
// with the previous line's "seq" plus one.
//
// Storage. Entry seq is stored as record seq of the segment log
// (auditstore.go): a version byte, the 32-byte hash and the canonical
// body, filed under the entry's organizations and time for the segments'
// indexes. A head file records the sequence number and hash of the last
// entry written to disk, so a log whose tail was cut no longer reaches its
// head.
//
// What verification can and cannot show. Store.AuditVerify detects an
// entry changed, removed, moved or added out of turn, and a cut tail. Like
// every hash chain kept by the party it records, it cannot detect someone
// who rewrites every hash from the point of change onwards, head included:
// an oversight body that keeps the last hash of each export it receives can,
// by checking that the next export continues from it.
//
// Concurrency. AppendAudit is safe for any number of concurrent callers.
// Appends are serialized by the log's own lock, held to chain and write
// one entry (a few microseconds), not by the store's writer lock, so
// auditing never waits for a bulk load.

// Bounds of one audit entry.
const (
	// MaxAuditIDs is how many returned ids an entry lists; id_count counts
	// them all.
	MaxAuditIDs = 10_000
	// MaxAuditArgs is the most bytes of canonical JSON an entry keeps of a
	// request's arguments.
	MaxAuditArgs = 64 << 10
	// maxAuditResult bounds the result summary.
	maxAuditResult = 16 << 10
	// maxAuditString bounds the operation, each viewer field, each
	// organization and each error.
	maxAuditString = 1024
	// maxAuditID bounds one returned id.
	maxAuditID = 512
	// maxAuditList bounds the number of errors and organizations.
	maxAuditList = 1000
)

// Outcomes of an audited request.
const (
	AuditOK    = "ok"
	AuditError = "error"
)

// auditEntryVersion is the encoding version of a stored entry.
const auditEntryVersion byte = 1

// auditHashLen is the length of an entry hash.
const auditHashLen = sha256.Size

// zeroAuditHash is the prev of entry 1.
var zeroAuditHash = strings.Repeat("0", 2*auditHashLen)

// AuditViewer is who made an audited request.
type AuditViewer struct {
	// Org and User name the viewer; both are empty for a request that did
	// not authenticate.
	Org  string `json:"org"`
	User string `json:"user"`
	// Role is the role of the token ("reader", "admin", …), or "operator"
	// for the command line.
	Role string `json:"role"`
	// TokenID is the id of the API token used, when there was one.
	TokenID string `json:"token"`
}

// AuditEntry is one entry of the audit log. Callers of AppendAudit fill
// Viewer, Operation, Args, Result, IDs (and IDCount when they counted more
// ids than they pass), Outcome, Errors and Orgs; the log sets the rest.
type AuditEntry struct {
	// Seq is the entry's sequence number, from 1.
	Seq uint64 `json:"seq"`
	// Time is when the entry was appended (UTC).
	Time time.Time `json:"time"`
	// Viewer is who asked.
	Viewer AuditViewer `json:"viewer"`
	// Operation is what was asked, such as "graphql:Search" or "cli export".
	Operation string `json:"operation"`
	// Args are the arguments as canonical JSON, cut to MaxAuditArgs bytes.
	Args json.RawMessage `json:"args"`
	// ArgsBytes and ArgsSHA256 are the length and SHA-256 (hex) of the
	// canonical form of the complete arguments.
	ArgsBytes  int64  `json:"args_bytes"`
	ArgsSHA256 string `json:"args_sha256"`
	// Result summarises what a command did, as JSON; nil when there is
	// nothing beyond the ids.
	Result json.RawMessage `json:"result"`
	// IDs are the STIX ids of the objects returned, at most MaxAuditIDs.
	IDs []string `json:"ids"`
	// IDCount is how many ids were returned in all.
	IDCount int64 `json:"id_count"`
	// Outcome is AuditOK or AuditError.
	Outcome string `json:"outcome"`
	// Errors are the error codes or messages of a failed request.
	Errors []string `json:"errors"`
	// Orgs are the organizations the entry concerns, sorted. AppendAudit
	// adds the viewer's.
	Orgs []string `json:"orgs"`
	// Truncated names what was cut to bound the entry.
	Truncated []string `json:"truncated"`
	// Prev is the hash of the previous entry, Hash this entry's (hex).
	Prev string `json:"prev"`
	Hash string `json:"hash"`
}

// MarshalJSON writes the entry in its canonical form with its hash: the
// line format of an audit export. Call it directly for the canonical bytes:
// json.Marshal escapes <, >, &, U+2028 and U+2029 in what it returns, which
// gives the same JSON value in another form.
func (e AuditEntry) MarshalJSON() ([]byte, error) { return appendAuditJSON(nil, &e, true), nil }

// appendAuditJSON appends the canonical JSON of e, with member "hash" when
// withHash is set. Members are written in RFC 8785 order (every name is
// ASCII, so byte order is UTF-16 order); strings are valid UTF-8 and Args
// and Result are canonical already (prepareAudit sees to both).
func appendAuditJSON(b []byte, e *AuditEntry, withHash bool) []byte {
	b = append(b, `{"args":`...)
	b = appendRawJSON(b, e.Args)
	b = append(b, `,"args_bytes":`...)
	b = strconv.AppendInt(b, e.ArgsBytes, 10)
	b = append(b, `,"args_sha256":`...)
	b = schema.AppendJSONString(b, e.ArgsSHA256)
	b = append(b, `,"errors":`...)
	b = schema.AppendJSONStrings(b, e.Errors)
	if withHash {
		b = append(b, `,"hash":`...)
		b = schema.AppendJSONString(b, e.Hash)
	}
	b = append(b, `,"id_count":`...)
	b = strconv.AppendInt(b, e.IDCount, 10)
	b = append(b, `,"ids":`...)
	b = schema.AppendJSONStrings(b, e.IDs)
	b = append(b, `,"operation":`...)
	b = schema.AppendJSONString(b, e.Operation)
	b = append(b, `,"orgs":`...)
	b = schema.AppendJSONStrings(b, e.Orgs)
	b = append(b, `,"outcome":`...)
	b = schema.AppendJSONString(b, e.Outcome)
	b = append(b, `,"prev":`...)
	b = schema.AppendJSONString(b, e.Prev)
	b = append(b, `,"result":`...)
	b = appendRawJSON(b, e.Result)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = append(b, `,"time":`...)
	b = schema.AppendJSONString(b, e.Time.UTC().Format(time.RFC3339Nano))
	b = append(b, `,"truncated":`...)
	b = schema.AppendJSONStrings(b, e.Truncated)
	b = append(b, `,"viewer":{"org":`...)
	b = schema.AppendJSONString(b, e.Viewer.Org)
	b = append(b, `,"role":`...)
	b = schema.AppendJSONString(b, e.Viewer.Role)
	b = append(b, `,"token":`...)
	b = schema.AppendJSONString(b, e.Viewer.TokenID)
	b = append(b, `,"user":`...)
	b = schema.AppendJSONString(b, e.Viewer.User)
	return append(b, "}}"...)
}

func appendRawJSON(b []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return append(b, "null"...)
	}
	return append(b, raw...)
}

// decodeAuditBody decodes a canonical entry body (without hash).
func decodeAuditBody(body []byte) (AuditEntry, error) {
	var e AuditEntry
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return AuditEntry{}, fmt.Errorf("decode audit entry: %w: %w", ErrCorrupt, err)
	}
	if string(e.Args) == "null" {
		e.Args = nil
	}
	if string(e.Result) == "null" {
		e.Result = nil
	}
	return e, nil
}

// appendAuditValue appends the stored value of e (version, hash, body) to
// b, and returns it with the hash.
func appendAuditValue(b []byte, e *AuditEntry) ([]byte, [auditHashLen]byte) {
	start := len(b) + 1 + auditHashLen
	b = append(b, auditEntryVersion)
	b = append(b, make([]byte, auditHashLen)...) // the hash, once known
	b = appendAuditJSON(b, e, false)
	hash := sha256.Sum256(b[start:])
	copy(b[start-auditHashLen:], hash[:])
	return b, hash
}

// maxKeptAuditBuffer is the largest value buffer an append keeps for the
// next.
const maxKeptAuditBuffer = 1 << 20

// splitAuditValue returns the stored hash and body of an entry value.
func splitAuditValue(v []byte) (hash [auditHashLen]byte, body []byte, err error) {
	if len(v) < 1+auditHashLen+2 || v[0] != auditEntryVersion {
		return hash, nil, fmt.Errorf("audit entry value of %d bytes: %w", len(v), ErrCorrupt)
	}
	copy(hash[:], v[1:])
	return hash, v[1+auditHashLen:], nil
}

// readAuditEntry decodes a stored entry value, with its stored hash.
func readAuditEntry(v []byte) (AuditEntry, error) {
	hash, body, err := splitAuditValue(v)
	if err != nil {
		return AuditEntry{}, err
	}
	e, err := decodeAuditBody(body)
	if err != nil {
		return AuditEntry{}, err
	}
	e.Hash = hex.EncodeToString(hash[:])
	return e, nil
}

// prepareAudit bounds an entry and puts its text in canonical form, in the
// caller's goroutine, so that the committing goroutine has only the chain
// to compute.
func prepareAudit(e AuditEntry) AuditEntry {
	var cut []string
	e.Seq, e.Prev, e.Hash, e.Time, e.Truncated = 0, "", "", time.Time{}, nil
	e.Operation = clipUTF8(e.Operation, maxAuditString)
	e.Outcome = clipUTF8(e.Outcome, maxAuditString)
	e.Viewer = AuditViewer{
		Org:     clipUTF8(e.Viewer.Org, maxAuditString),
		User:    clipUTF8(e.Viewer.User, maxAuditString),
		Role:    clipUTF8(e.Viewer.Role, maxAuditString),
		TokenID: clipUTF8(e.Viewer.TokenID, maxAuditString),
	}
	e.Errors = boundStrings(e.Errors, maxAuditList, maxAuditString, "errors", &cut)
	orgs := append(slices.Clone(e.Orgs), e.Viewer.Org)
	for i := range orgs {
		orgs[i] = clipUTF8(orgs[i], maxAuditString)
	}
	slices.Sort(orgs)
	orgs = slices.DeleteFunc(slices.Compact(orgs), func(s string) bool { return s == "" })
	e.Orgs = boundStrings(orgs, maxAuditList, maxAuditString, "orgs", &cut)
	e.IDCount = max(e.IDCount, int64(len(e.IDs)))
	e.IDs = boundStrings(e.IDs, MaxAuditIDs, maxAuditID, "ids", &cut)
	args, n, sum := boundJSON(e.Args, MaxAuditArgs, "args", &cut)
	e.Args, e.ArgsBytes, e.ArgsSHA256 = args, n, sum
	e.Result, _, _ = boundJSON(e.Result, maxAuditResult, "result", &cut)
	e.Truncated = cut
	return e
}

// clipUTF8 returns s as valid UTF-8 (invalid bytes become U+FFFD), cut at a
// character boundary to at most n bytes.
func clipUTF8(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// boundStrings keeps at most n strings, each clipped to size bytes, and
// notes what in the path when anything was cut.
func boundStrings(ss []string, n, size int, path string, cut *[]string) []string {
	out := make([]string, 0, min(len(ss), n))
	clipped := len(ss) > n
	for _, s := range ss[:min(len(ss), n)] {
		c := clipUTF8(s, size)
		clipped = clipped || c != s
		out = append(out, c)
	}
	if clipped {
		*cut = append(*cut, path)
	}
	return out
}

// boundJSON returns the canonical form of raw cut to about budget bytes,
// with the length and SHA-256 of the complete canonical form. Values that
// do not fit are replaced by placeholders (see the format above) and their
// paths added to cut. JSON that has no canonical form (it does not parse,
// or holds a number beyond the range of a double) is replaced whole.
func boundJSON(raw json.RawMessage, budget int, path string, cut *[]string) (json.RawMessage, int64, string) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, 0, ""
	}
	canon, err := schema.CanonicalJSON(raw)
	if err != nil {
		*cut = append(*cut, path)
		return placeholder(raw), int64(len(raw)), sha256Hex(raw)
	}
	size, sum := int64(len(canon)), sha256Hex(canon)
	if len(canon) <= budget {
		return canon, size, sum
	}
	dec := json.NewDecoder(bytes.NewReader(canon))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil { // unreachable: canon is valid JSON
		*cut = append(*cut, path)
		return placeholder(canon), size, sum
	}
	v, _ = shrinkJSON(v, canon, budget, path, cut)
	out := canonicalOf(v)
	if len(out) > 2*budget {
		// Many small members whose placeholders outgrow the budget.
		*cut = append(*cut, path)
		return placeholder(canon), size, sum
	}
	return out, size, sum
}

// placeholderSize is about the length of a placeholder.
const placeholderSize = len(`{"$truncated":{"bytes":12345678,"sha256":""}}`) + 2*sha256.Size

// shrinkJSON cuts v, whose canonical form is canon, to about budget bytes.
// Members (or elements) are visited from the smallest up, and each gets an
// even share of what is left, so that small members are kept whole and the
// budget goes to the large ones; a value that cannot be cut further is
// replaced by a placeholder. It returns the new value and its size.
func shrinkJSON(v any, canon []byte, budget int, path string, cut *[]string) (any, int) {
	if len(canon) <= budget {
		return v, len(canon)
	}
	type part struct {
		key   string // member name, or "" for an element
		idx   int
		v     any
		canon []byte
	}
	var parts []part
	switch t := v.(type) {
	case map[string]any:
		for k, m := range t {
			parts = append(parts, part{key: k, v: m, canon: canonicalOf(m)})
		}
	case []any:
		for i, m := range t {
			parts = append(parts, part{idx: i, v: m, canon: canonicalOf(m)})
		}
	}
	if len(parts) == 0 || budget < placeholderSize {
		*cut = append(*cut, path)
		return placeholderValue(canon), placeholderSize
	}
	slices.SortStableFunc(parts, func(a, b part) int {
		if c := len(a.canon) - len(b.canon); c != 0 {
			return c
		}
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return a.idx - b.idx
	})
	left := budget - 2
	for i := range parts {
		p := &parts[i]
		over := 1 // the comma
		sub := path + "[" + strconv.Itoa(p.idx) + "]"
		if _, ok := v.(map[string]any); ok {
			over += len(schema.AppendJSONString(nil, p.key)) + 1
			sub = path + "." + p.key
		}
		var n int
		p.v, n = shrinkJSON(p.v, p.canon, left/(len(parts)-i)-over, sub, cut)
		left -= n + over
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for _, p := range parts {
			out[p.key] = p.v
		}
		return out, len(canonicalOf(out))
	default:
		out := make([]any, len(parts))
		for _, p := range parts {
			out[p.idx] = p.v
		}
		return out, len(canonicalOf(out))
	}
}

// placeholderValue stands for a cut value whose canonical form is canon.
func placeholderValue(canon []byte) map[string]any {
	return map[string]any{"$truncated": map[string]any{"bytes": len(canon), "sha256": sha256Hex(canon)}}
}

// placeholder is placeholderValue as canonical JSON.
func placeholder(canon []byte) json.RawMessage { return canonicalOf(placeholderValue(canon)) }

// canonicalOf returns the canonical JSON of a decoded value.
func canonicalOf(v any) []byte {
	if s, ok := v.(string); ok {
		return schema.AppendJSONString(nil, s)
	}
	raw, err := json.Marshal(v)
	if err != nil { // unreachable: v was decoded from JSON
		return []byte("null")
	}
	out, err := schema.CanonicalJSON(raw)
	if err != nil { // unreachable: the numbers came from canonical JSON
		return []byte("null")
	}
	return out
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// auditClock stamps entries; tests may replace it.
var auditClock = func() time.Time { return time.Now().UTC() }

// AppendAudit appends e to the audit log and returns it as stored, with its
// sequence number, time and hashes. It is safe for concurrent use:
// sequence numbers increase strictly, without gaps, in the order of the
// appends. The entry survives a crash of the process when AppendAudit
// returns, and reaches the disk within Options.AuditFlushInterval (with
// an interval of 0, before AppendAudit returns).
func (s *Store) AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return AuditEntry{}, fmt.Errorf("append audit entry: %w", err)
	}
	if s.closed.Load() {
		return AuditEntry{}, ErrClosed
	}
	if s.opts.ReadOnly {
		return AuditEntry{}, fmt.Errorf("append audit entry: %w", ErrReadOnly)
	}
	if err := s.AuditErr(); err != nil {
		return AuditEntry{}, fmt.Errorf("append audit entry: %w", err)
	}
	e = prepareAudit(e)
	l := &s.audit
	l.mu.Lock()
	if l.refused != nil {
		l.mu.Unlock()
		return AuditEntry{}, fmt.Errorf("append audit entry: %w", l.refused)
	}
	e.Seq, e.Prev, e.Time = l.seq+1, l.hash, auditClock()
	var hash [auditHashLen]byte
	l.buf, hash = appendAuditValue(l.buf[:0], &e)
	err := l.seg.Append(auditseg.Record{Seq: e.Seq, Time: e.Time, Orgs: e.Orgs, Data: l.buf})
	if cap(l.buf) > maxKeptAuditBuffer {
		l.buf = nil // an entry with many ids; do not keep its buffer
	}
	if err == nil {
		e.Hash = hex.EncodeToString(hash[:])
		l.seq, l.hash = e.Seq, e.Hash
	}
	l.mu.Unlock()
	if err != nil {
		return AuditEntry{}, fmt.Errorf("append audit entry %d: %w", e.Seq, err)
	}
	switch {
	case l.flush != nil:
		l.flush.dirty.Store(true)
	case s.opts.SyncWrites:
		if err := l.sync(); err != nil {
			return AuditEntry{}, fmt.Errorf("append audit entry %d: the entry is written but could not be flushed to disk: %w", e.Seq, err)
		}
	}
	return e, nil
}

// auditReady returns an error when the audit log cannot be read.
func (s *Store) auditReady() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.audit.upgrade
}

// AuditFilter chooses entries of the audit log.
type AuditFilter struct {
	// Org keeps the entries that concern this organization; "" keeps all.
	Org string
	// After keeps entries with a greater sequence number; Before, when not
	// 0, entries with a smaller one.
	After, Before uint64
	// Since keeps entries appended at or after it, Until those appended
	// before it; zero times do not bound.
	Since, Until time.Time
	// Limit is the most entries passed on; 0 means no limit.
	Limit int
	// Newest passes entries newest first instead of oldest first.
	Newest bool
}

// AuditEntries calls fn with each entry that f keeps, in sequence order
// (reversed with f.Newest), until fn returns false. It reads the log as it
// was when it began: entries appended meanwhile are left out. Sequence
// bounds are seeks; an organization's entries are read through the index
// of each segment, and segments whose entries all lie outside the time
// window are skipped.
func (s *Store) AuditEntries(ctx context.Context, f AuditFilter, fn func(AuditEntry) bool) error {
	if err := s.auditReady(); err != nil {
		return err
	}
	sf, ok := s.auditSegFilter(f)
	if !ok {
		return nil
	}
	var stop error
	read, sent := 0, 0
	err := s.audit.seg.Find(sf, func(r auditseg.Record) bool {
		if read++; read%256 == 0 {
			if stop = ctx.Err(); stop != nil {
				return false
			}
		}
		e, err := readAuditEntry(r.Data)
		if err != nil {
			stop = fmt.Errorf("entry %d: %w", r.Seq, err)
			return false
		}
		sent++
		return fn(e) && (f.Limit <= 0 || sent < f.Limit)
	})
	if err = errors.Join(err, stop); err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	return nil
}

// AuditCount returns how many entries AuditEntries would pass on for f,
// f.Limit aside. It counts from the indexes of the log's segments, and
// reads only the segments that the edge of f's time window cuts.
func (s *Store) AuditCount(f AuditFilter) (int, error) {
	if err := s.auditReady(); err != nil {
		return 0, err
	}
	sf, ok := s.auditSegFilter(f)
	if !ok {
		return 0, nil
	}
	n, err := s.audit.seg.Count(sf)
	if err != nil {
		return 0, fmt.Errorf("count audit log entries: %w", err)
	}
	return n, nil
}

// auditSegFilter returns the segment filter of f, and false when no
// sequence number is in its range.
func (s *Store) auditSegFilter(f AuditFilter) (auditseg.Filter, bool) {
	lo, hi := f.After+1, ^uint64(0)
	if f.Before != 0 {
		hi = f.Before - 1
	}
	if f.After == ^uint64(0) || lo > hi {
		return auditseg.Filter{}, false
	}
	// Entries up to the base were pruned, though the segment of the first
	// entry kept may still hold some.
	lo = max(lo, s.audit.base.Load().Seq+1)
	return auditseg.Filter{Lo: lo, Hi: hi, Org: f.Org, Since: f.Since, Until: f.Until, Reverse: f.Newest}, true
}

// AuditProblemKind is what is wrong with the audit log at an entry.
type AuditProblemKind string

// Kinds of audit log problems.
const (
	// AuditAltered: an entry's contents do not match its hash, or the head
	// does not match the last entry.
	AuditAltered AuditProblemKind = "altered"
	// AuditChainBroken: the hash of an entry is not the prev of the entry
	// after it: the entry was replaced, hash and all (or the one after it
	// was). The problem names the earlier entry.
	AuditChainBroken AuditProblemKind = "chain broken"
	// AuditMissing: sequence numbers are missing (entries were removed).
	AuditMissing AuditProblemKind = "missing"
	// AuditMoved: an entry is stored under another sequence number than
	// its own (entries were reordered).
	AuditMoved AuditProblemKind = "moved"
	// AuditTruncated: the entries end before the head (the tail was cut),
	// or the head is missing.
	AuditTruncated AuditProblemKind = "truncated"
	// AuditCorrupt: an entry or the head does not decode, or is not in
	// canonical form.
	AuditCorrupt AuditProblemKind = "corrupt"
	// AuditIndex: the organization index does not match the entries.
	AuditIndex AuditProblemKind = "index"
	// AuditRewritten: an entry's hash is not the one recorded outside the
	// store (an AuditAnchor): the log was rewritten, hashes and all, from
	// that entry or before.
	AuditRewritten AuditProblemKind = "rewritten"
)

// AuditAnchor is the sequence number and hash of an entry as someone
// outside the store recorded them: an oversight body keeps the last line of
// each export, or what "verband audit verify" printed. The chain shows an
// entry changed, removed or moved, but not a log rewritten from some entry
// on with every hash computed anew; an anchor does: the entry it names must
// still have its hash.
type AuditAnchor struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// AuditProblem is one thing wrong with the audit log.
type AuditProblem struct {
	// Seq is the first entry concerned.
	Seq uint64 `json:"seq"`
	// Kind says what is wrong, Detail how.
	Kind   AuditProblemKind `json:"kind"`
	Detail string           `json:"detail"`
}

func (p AuditProblem) String() string {
	return fmt.Sprintf("entry %d: %s: %s", p.Seq, p.Kind, p.Detail)
}

// maxAuditProblems is how many problems a report lists.
const maxAuditProblems = 100

// AuditReport is the outcome of AuditVerify.
type AuditReport struct {
	// Entries is how many entries were read.
	Entries uint64 `json:"entries"`
	// HeadSeq and HeadHash are what the head records: the last entry.
	HeadSeq  uint64 `json:"head_seq"`
	HeadHash string `json:"head_hash"`
	// Base, when the log was pruned, is where it begins: the entries were
	// checked from the one after it (see PruneAudit).
	Base *AuditBase `json:"base,omitempty"`
	// AnchorsChecked counts the anchors compared with their entry (or with
	// the base); AnchorsPruned those of entries pruned before the base,
	// which can no longer be compared.
	AnchorsChecked int `json:"anchors_checked"`
	AnchorsPruned  int `json:"anchors_pruned"`
	// Problems lists the first problems found, in sequence order, so the
	// first names the first bad entry; ProblemCount counts them all.
	Problems     []AuditProblem `json:"problems"`
	ProblemCount int            `json:"problem_count"`
}

// OK reports whether the log verified.
func (r *AuditReport) OK() bool { return r.ProblemCount == 0 }

func (r *AuditReport) add(seq uint64, kind AuditProblemKind, format string, args ...any) {
	r.ProblemCount++
	if len(r.Problems) < maxAuditProblems {
		r.Problems = append(r.Problems, AuditProblem{Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
}

// AuditVerify flushes the audit log, reads it whole from the disk and
// checks: that
// sequence numbers run from 1 (or, in a pruned log, from the one after its
// base) without gaps, that every entry matches its hash, is in canonical
// form, is stored in its own place and names the hash of the entry before
// it as prev; that the log reaches the entry its head names, which has
// the head's hash; and that each record is filed (for the indexes) under
// the organizations and time of its entry, and each segment's index
// matches its records. Each anchor's entry must have the anchored hash,
// and the log must reach it. It returns an error only when the log cannot
// be read; what is wrong with it is in the report.
func (s *Store) AuditVerify(ctx context.Context, anchors ...AuditAnchor) (AuditReport, error) {
	if err := s.auditReady(); err != nil {
		return AuditReport{}, err
	}
	// The head on disk names the last entry flushed: flush first, so that
	// it names the last entry appended.
	if !s.opts.ReadOnly {
		if err := s.audit.sync(); err != nil {
			return AuditReport{}, fmt.Errorf("verify audit log: flush: %w", err)
		}
	}
	var rep AuditReport
	dir := s.audit.dir
	head, hasHead, err := readAuditHeadFile(dir)
	if err != nil {
		rep.add(0, AuditCorrupt, "the head record does not decode: %v", err)
	}
	rep.HeadSeq, rep.HeadHash = head.seq, head.hash
	v := auditVerifier{rep: &rep, next: 1, prev: zeroAuditHash, anchors: map[uint64]string{}, headSeq: head.seq}
	for _, a := range anchors {
		v.anchors[a.Seq] = a.Hash
	}
	base, err := readAuditBaseFile(dir)
	if err != nil {
		rep.add(0, AuditCorrupt, "the base record does not decode: %v", err)
	}
	if base.Seq > 0 {
		rep.Base = &base
		v.base, v.next, v.prev, v.last = base.Seq, base.Seq+1, base.Hash, base.Seq
		v.anchorBase(base)
	}
	// An entry's place is the sequence number its segment's name and its
	// position in the segment give it.
	var stop error
	var segment string
	var place uint64
	err = s.audit.seg.Walk(func(fd auditseg.Found) bool {
		if rep.Entries%256 == 255 {
			if stop = ctx.Err(); stop != nil {
				return false
			}
		}
		switch {
		case errors.Is(fd.Err, auditseg.ErrIndex):
			rep.add(fd.First, AuditIndex, "%v", fd.Err)
			return true
		case fd.Err != nil:
			rep.add(max(v.next, fd.First), AuditCorrupt, "segment %s does not read from offset %d on: %v", fd.Segment, fd.Offset, fd.Err)
			v.prev = "" // the link across what does not read cannot be checked
			return true
		}
		if fd.Segment != segment {
			segment, place = fd.Segment, fd.First
		} else {
			place++
		}
		if place > v.base {
			rep.Entries++
			v.record(place, fd.Record)
		}
		return true
	})
	if err = errors.Join(err, stop); err != nil {
		return AuditReport{}, fmt.Errorf("verify audit log: %w", err)
	}
	v.end(head.auditHead, hasHead)
	v.anchorsBeyond()
	slices.SortStableFunc(rep.Problems, func(a, b AuditProblem) int { return cmp.Compare(a.Seq, b.Seq) })
	return rep, nil
}

// auditVerifier walks the entries in the order they are stored.
type auditVerifier struct {
	rep  *AuditReport
	next uint64 // the sequence number expected next
	prev string // the hash of the entry before; "" when it could not be read
	last uint64 // the last sequence number seen
	base uint64 // the last entry pruned, or 0
	// headSeq is the entry the head names, and headHash its hash as
	// stored, once read.
	headSeq  uint64
	headHash string
	// anchors are the hashes recorded outside the store, by sequence
	// number; each is removed once compared.
	anchors map[uint64]string
}

// anchor compares the hash of entry seq with its anchor, if it has one.
func (v *auditVerifier) anchor(seq uint64, hash string) {
	want, ok := v.anchors[seq]
	if !ok {
		return
	}
	delete(v.anchors, seq)
	v.rep.AnchorsChecked++
	if hash != want {
		v.rep.add(seq, AuditRewritten, "entry %d has hash %s, but it was anchored with hash %s: the log was rewritten from entry %d or before", seq, hash, want, seq)
	}
}

// anchorBase compares the anchor of the base entry with the base, and
// counts the anchors of entries pruned before it.
func (v *auditVerifier) anchorBase(base AuditBase) {
	v.anchor(base.Seq, base.Hash)
	for seq := range v.anchors {
		if seq < base.Seq {
			delete(v.anchors, seq)
			v.rep.AnchorsPruned++
		}
	}
}

// anchorsBeyond reports the anchors of entries the log does not reach.
// Anchors of entries missing inside the log are left: the gap is reported.
func (v *auditVerifier) anchorsBeyond() {
	for _, seq := range slices.Sorted(maps.Keys(v.anchors)) {
		if seq > v.last {
			v.rep.AnchorsChecked++
			v.rep.add(seq, AuditTruncated, "entry %d was anchored with hash %s, but the log ends at entry %d: it was cut or rewritten", seq, v.anchors[seq], v.last)
		}
	}
}

// record checks the entry that the record at place seq holds, and that
// the record is numbered and filed under the entry's organizations and
// time.
func (v *auditVerifier) record(seq uint64, r auditseg.Record) {
	if seq > v.next {
		if seq == v.next+1 {
			v.rep.add(v.next, AuditMissing, "entry %d is missing", v.next)
		} else {
			v.rep.add(v.next, AuditMissing, "entries %d to %d are missing", v.next, seq-1)
		}
		v.prev = "" // the link across the gap cannot be checked
	}
	v.next, v.last = seq+1, seq
	e, stored, p := checkAuditEntry(seq, v.prev, r.Data)
	v.prev = stored
	if stored != "" {
		v.anchor(seq, stored)
		if seq == v.headSeq {
			v.headHash = stored
		}
	}
	if p != nil {
		v.rep.add(p.Seq, p.Kind, "%s", p.Detail)
		if p.Kind != AuditChainBroken {
			return
		}
	}
	if r.Seq != seq {
		v.rep.add(seq, AuditCorrupt, "the record of entry %d is numbered %d", seq, r.Seq)
	}
	if !slices.Equal(r.Orgs, e.Orgs) {
		v.rep.add(seq, AuditIndex, "the record is filed under organizations %q, but the entry concerns %q", r.Orgs, e.Orgs)
	}
	if !r.Time.Equal(e.Time) {
		v.rep.add(seq, AuditIndex, "the record is filed under time %s, but the entry was appended at %s", r.Time.Format(time.RFC3339Nano), e.Time.Format(time.RFC3339Nano))
	}
}

// checkAuditEntry checks the entry stored under seq as val: that it
// matches its hash, decodes, is in canonical form, is entry seq and, when
// prev is not "", names prev as its prev. It returns the entry, its stored
// hash ("" when val does not split into hash and body) and the first
// problem, or nil. Only a broken chain, checked last, comes with the
// entry.
func checkAuditEntry(seq uint64, prev string, val []byte) (AuditEntry, string, *AuditProblem) {
	problem := func(seq uint64, kind AuditProblemKind, format string, args ...any) *AuditProblem {
		return &AuditProblem{Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)}
	}
	hash, body, err := splitAuditValue(val)
	if err != nil {
		return AuditEntry{}, "", problem(seq, AuditCorrupt, "%v", err)
	}
	stored := hex.EncodeToString(hash[:])
	if got := sha256.Sum256(body); got != hash {
		return AuditEntry{}, stored, problem(seq, AuditAltered, "the contents do not match the entry's hash %s (they hash to %x)", stored, got)
	}
	e, err := decodeAuditBody(body)
	if err != nil {
		return AuditEntry{}, stored, problem(seq, AuditCorrupt, "%v", err)
	}
	if !bytes.Equal(appendAuditJSON(nil, &e, false), body) {
		return AuditEntry{}, stored, problem(seq, AuditCorrupt, "the entry is not in canonical form")
	}
	if e.Seq != seq {
		return AuditEntry{}, stored, problem(seq, AuditMoved, "the entry stored as %d is entry %d", seq, e.Seq)
	}
	if prev != "" && e.Prev != prev {
		return e, stored, problem(seq-1, AuditChainBroken, "entry %d has hash %s but entry %d names %s as its prev: entry %d was replaced, or entry %d altered", seq-1, prev, seq, e.Prev, seq-1, seq)
	}
	return e, stored, nil
}

// end compares the last entry with the head. Entries after the head are
// those appended after the last flush, which a crash keeps.
func (v *auditVerifier) end(head auditHead, hasHead bool) {
	switch {
	case !hasHead && v.last > v.base:
		v.rep.add(v.last, AuditTruncated, "the head record is missing")
	case !hasHead:
	case v.last < head.seq:
		v.rep.add(v.last+1, AuditTruncated, "the log ends at entry %d but its head names entry %d: entries %d to %d were cut", v.last, head.seq, v.last+1, head.seq)
	case v.headHash != "" && v.headHash != head.hash:
		v.rep.add(head.seq, AuditAltered, "the head names hash %s for entry %d, which has hash %s", head.hash, head.seq, v.headHash)
	}
}
