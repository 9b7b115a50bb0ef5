package graph

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"

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
// Storage. Entry seq is stored under l|e|seq as a version byte, the 32-byte
// hash and the canonical body (keys.go). The head key holds the sequence
// number and hash of the last entry and is written in the same transaction
// as the entries, so a log whose tail was cut no longer matches its head.
// An index l|o|org|seq lists the entries of each organization.
//
// What verification can and cannot show. Store.AuditVerify detects an
// entry changed, removed, moved or added out of turn, and a cut tail. Like
// every hash chain kept by the party it records, it cannot detect someone
// who rewrites every hash from the point of change onwards, head included:
// an oversight body that keeps the last hash of each export it receives can,
// by checking that the next export continues from it.
//
// Concurrency. AppendAudit is safe for any number of concurrent callers.
// Appends are serialized by the log, not by the store's writer lock, so
// auditing never waits for a bulk load. Concurrent appends are committed
// together: the first caller commits what is queued while the others wait,
// and hands the next batch to the first of those waiting.

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

// Batching of concurrent appends: the most entries and body bytes one
// commit holds (well under Badger's transaction size limit).
const (
	auditBatchEntries = 256
	auditBatchBytes   = 4 << 20
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

// encodeAuditValue is the stored value of an entry: version, hash, body.
func encodeAuditValue(hash [auditHashLen]byte, body []byte) []byte {
	v := make([]byte, 0, 1+auditHashLen+len(body))
	v = append(v, auditEntryVersion)
	v = append(v, hash[:]...)
	return append(v, body...)
}

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

// auditLog is the append side of a store's audit log.
type auditLog struct {
	mu      sync.Mutex
	queue   []*auditAppend // waiting to be committed, oldest first
	leading bool           // an append is committing; the others wait

	// Owned by the committing append.
	loaded    bool
	seq       uint64
	hash      string
	batchSize int // entries per commit; 0 means auditBatchEntries
}

// auditAppend is one AppendAudit call waiting in the queue.
type auditAppend struct {
	e    AuditEntry
	wake chan struct{} // closed when committed, or when it is to lead
	lead bool
	err  error
}

// AppendAudit appends e to the audit log and returns it as stored, with its
// sequence number, time and hashes. It is safe for concurrent use:
// sequence numbers increase strictly, without gaps, in commit order, and
// concurrent appends are committed together. The entry is durable (as far
// as Options.SyncWrites makes commits durable) when AppendAudit returns.
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
	a := &auditAppend{e: prepareAudit(e), wake: make(chan struct{})}
	l := &s.audit
	l.mu.Lock()
	l.queue = append(l.queue, a)
	if l.leading {
		l.mu.Unlock()
		<-a.wake
		if !a.lead {
			return a.e, a.err
		}
	} else {
		l.leading = true
		l.mu.Unlock()
	}
	// a leads: it is first in the queue.
	l.mu.Lock()
	batch := l.take()
	l.mu.Unlock()
	err := s.commitAudit(batch)
	l.mu.Lock()
	for _, b := range batch {
		b.err = err
		if b != a {
			close(b.wake)
		}
	}
	if len(l.queue) > 0 {
		next := l.queue[0]
		next.lead = true
		close(next.wake)
	} else {
		l.leading = false
	}
	l.mu.Unlock()
	return a.e, err
}

// take removes the next batch from the queue; it holds at least one entry.
func (l *auditLog) take() []*auditAppend {
	limit := l.batchSize
	if limit <= 0 {
		limit = auditBatchEntries
	}
	n, size := 0, 0
	for n < len(l.queue) && n < limit && (n == 0 || size < auditBatchBytes) {
		size += len(l.queue[n].e.Args) + len(l.queue[n].e.Result) + 64*len(l.queue[n].e.IDs)
		n++
	}
	batch := slices.Clone(l.queue[:n])
	l.queue = slices.Delete(l.queue, 0, n)
	return batch
}

// commitAudit chains and commits a batch in one transaction, with the new
// head. Only the leading append calls it.
func (s *Store) commitAudit(batch []*auditAppend) error {
	l := &s.audit
	if !l.loaded {
		if err := s.loadAuditHead(); err != nil {
			return err
		}
	}
	seq, prev := l.seq, l.hash
	err := s.auditDB.Update(func(txn *badger.Txn) error {
		for _, a := range batch {
			seq++
			a.e.Seq, a.e.Prev, a.e.Time = seq, prev, auditClock()
			body := appendAuditJSON(nil, &a.e, false)
			hash := sha256.Sum256(body)
			a.e.Hash = hex.EncodeToString(hash[:])
			prev = a.e.Hash
			if err := txn.Set(auditEntryKey(seq), encodeAuditValue(hash, body)); err != nil {
				return fmt.Errorf("write audit entry %d: %w", seq, err)
			}
			for _, org := range a.e.Orgs {
				if err := txn.Set(s.auditIdx.key(org, seq), nil); err != nil {
					return fmt.Errorf("index audit entry %d: %w", seq, err)
				}
			}
		}
		h, _ := hex.DecodeString(prev)
		return txn.Set(auditHeadKey(), append(binary.BigEndian.AppendUint64(nil, seq), h...))
	})
	if err != nil {
		// Whether anything reached the disk is unknown: read the head again
		// before the next commit rather than reuse sequence numbers.
		l.loaded = false
		return fmt.Errorf("append audit entry: %w", err)
	}
	l.seq, l.hash = seq, prev
	if f := s.auditFlush; f != nil {
		f.dirty.Store(true)
	}
	return nil
}

// loadAuditHead reads the head of the log. It refuses a log whose entries
// run past its head, where appending would overwrite entries.
func (s *Store) loadAuditHead() error {
	l := &s.audit
	var seq uint64
	hash := zeroAuditHash
	err := s.auditDB.View(func(txn *badger.Txn) error {
		head, ok, err := readAuditHead(txn)
		if err != nil {
			return err
		}
		if ok {
			seq, hash = head.seq, head.hash
		}
		last, err := lastAuditSeq(txn)
		if err != nil {
			return err
		}
		if last > seq {
			return fmt.Errorf("the audit log has entries up to %d past its head %d (run verband audit verify): %w", last, seq, ErrCorrupt)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read audit log head: %w", err)
	}
	l.seq, l.hash, l.loaded = seq, hash, true
	return nil
}

// auditHead is the content of the head key.
type auditHead struct {
	seq  uint64
	hash string
}

// readAuditHead returns the head, and false when there is none.
func readAuditHead(txn *badger.Txn) (auditHead, bool, error) {
	item, err := txn.Get(auditHeadKey())
	if errors.Is(err, badger.ErrKeyNotFound) {
		return auditHead{}, false, nil
	}
	if err != nil {
		return auditHead{}, false, err
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return auditHead{}, false, err
	}
	if len(v) != 8+auditHashLen {
		return auditHead{}, false, fmt.Errorf("audit head of %d bytes: %w", len(v), ErrCorrupt)
	}
	return auditHead{seq: binary.BigEndian.Uint64(v), hash: hex.EncodeToString(v[8:])}, true, nil
}

// lastAuditSeq returns the sequence number of the last stored entry, or 0.
func lastAuditSeq(txn *badger.Txn) (uint64, error) {
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: auditEntryPrefix()})
	defer it.Close()
	it.Seek(auditEntryKey(^uint64(0)))
	if !it.Valid() {
		return 0, nil
	}
	return parseAuditEntryKey(it.Item().Key())
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
// (reversed with f.Newest), until fn returns false. It reads one snapshot.
// Time bounds are checked entry by entry, so a narrow time window over a
// long log reads the whole log; sequence bounds are seeks, and so is each
// bucket of the organization index (one per 65,536 entries) that an
// organization's entries are read from.
func (s *Store) AuditEntries(ctx context.Context, f AuditFilter, fn func(AuditEntry) bool) error {
	if s.closed.Load() {
		return ErrClosed
	}
	lo, hi := f.After+1, ^uint64(0)
	if f.Before != 0 {
		hi = f.Before - 1
	}
	if f.After == ^uint64(0) || lo > hi {
		return nil // no sequence number is in range
	}
	err := s.auditDB.View(func(txn *badger.Txn) error {
		r := auditReader{ctx: ctx, f: f, fn: fn}
		if f.Org == "" {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: auditEntryPrefix(), Reverse: f.Newest, PrefetchValues: true})
			defer it.Close()
			_, err := r.scan(it, auditEntryKey(lo), auditEntryKey(hi), func(item *badger.Item) ([]byte, error) {
				return item.ValueCopy(nil)
			})
			return err
		}
		last, err := lastAuditSeq(txn)
		if err != nil || last < lo {
			return err
		}
		x := s.auditIdx
		first, final := x.bucket(lo), x.bucket(min(hi, last)) // one bucket in the flat layout
		it := txn.NewIterator(badger.IteratorOptions{Prefix: x.space(), Reverse: f.Newest})
		defer it.Close()
		read := func(item *badger.Item) ([]byte, error) { return orgEntry(txn, x, item.Key()) }
		for i := range final - first + 1 {
			b := first + i
			if f.Newest {
				b = final - i
			}
			p := slices.Clip(x.prefix(f.Org, b)) // so that lo and hi do not share an array
			more, err := r.scan(it, binary.BigEndian.AppendUint64(p, lo), binary.BigEndian.AppendUint64(p, hi), read)
			if !more || err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	return nil
}

// auditReader passes the entries of one AuditEntries call on.
type auditReader struct {
	ctx  context.Context
	f    AuditFilter
	fn   func(AuditEntry) bool
	keys int // keys read, for checking ctx now and then
	sent int // entries passed on, for f.Limit
}

// scan passes on the entries of the keys from lo to hi, in the order of
// it, reading each with read. It reports whether the caller should go on.
func (r *auditReader) scan(it *badger.Iterator, lo, hi []byte, read func(*badger.Item) ([]byte, error)) (bool, error) {
	seek, stop := lo, hi
	if r.f.Newest {
		seek, stop = hi, lo
	}
	for it.Seek(seek); it.Valid(); it.Next() {
		k := it.Item().Key()
		if c := bytes.Compare(k, stop); (!r.f.Newest && c > 0) || (r.f.Newest && c < 0) {
			return true, nil
		}
		if r.keys++; r.keys%256 == 0 {
			if err := r.ctx.Err(); err != nil {
				return false, err
			}
		}
		v, err := read(it.Item())
		if err != nil {
			return false, err
		}
		e, err := readAuditEntry(v)
		if err != nil {
			return false, err
		}
		if (!r.f.Since.IsZero() && e.Time.Before(r.f.Since)) || (!r.f.Until.IsZero() && !e.Time.Before(r.f.Until)) {
			continue
		}
		r.sent++
		if !r.fn(e) || (r.f.Limit > 0 && r.sent >= r.f.Limit) {
			return false, nil
		}
	}
	return true, nil
}

// orgEntry reads the entry an organization index key names.
func orgEntry(txn *badger.Txn, x auditIndex, k []byte) ([]byte, error) {
	_, seq, err := x.parse(k)
	if err != nil {
		return nil, err
	}
	item, err := txn.Get(auditEntryKey(seq))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("audit entry %d is indexed but missing: %w", seq, ErrCorrupt)
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
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

// AuditVerify checks the whole audit log in one snapshot: that sequence
// numbers run from 1 (or, in a pruned log, from the one after its base)
// without gaps, that every entry matches its hash, is
// in canonical form, is stored under its own sequence number and names the
// hash of the entry before it as prev, that the last entry is the one the
// head names, and that the organization index matches the entries. Each
// anchor's entry must have the anchored hash, and the log must reach it.
// It returns an error only when the log cannot be read; what is wrong with
// it is in the report.
func (s *Store) AuditVerify(ctx context.Context, anchors ...AuditAnchor) (AuditReport, error) {
	if s.closed.Load() {
		return AuditReport{}, ErrClosed
	}
	var rep AuditReport
	err := s.auditDB.View(func(txn *badger.Txn) error {
		head, hasHead, err := readAuditHead(txn)
		if errors.Is(err, ErrCorrupt) {
			rep.add(0, AuditCorrupt, "the head record does not decode: %v", err)
		} else if err != nil {
			return err
		}
		rep.HeadSeq, rep.HeadHash = head.seq, head.hash
		v := auditVerifier{rep: &rep, next: 1, prev: zeroAuditHash, orgs: map[string][]uint64{}, idx: s.auditIdx, anchors: map[uint64]string{}}
		for _, a := range anchors {
			v.anchors[a.Seq] = a.Hash
		}
		base, err := readAuditBase(txn)
		if errors.Is(err, ErrCorrupt) {
			rep.add(0, AuditCorrupt, "the base record does not decode: %v", err)
		} else if err != nil {
			return err
		}
		if base.Seq > 0 {
			rep.Base = &base
			v.base, v.next, v.prev, v.last = base.Seq, base.Seq+1, base.Hash, base.Seq
			v.anchorBase(base)
		}
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: auditEntryPrefix()})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if rep.Entries%256 == 255 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			rep.Entries++
			seq, err := parseAuditEntryKey(it.Item().Key())
			if err != nil {
				rep.add(v.next, AuditCorrupt, "%v", err)
				continue
			}
			val, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			v.entry(seq, val)
		}
		v.end(head, hasHead)
		v.anchorsBeyond()
		return v.index(ctx, txn)
	})
	if err != nil {
		return AuditReport{}, fmt.Errorf("verify audit log: %w", err)
	}
	slices.SortStableFunc(rep.Problems, func(a, b AuditProblem) int { return cmp.Compare(a.Seq, b.Seq) })
	return rep, nil
}

// auditVerifier walks the entries in key order.
type auditVerifier struct {
	rep  *AuditReport
	next uint64 // the sequence number expected next
	prev string // the hash of the entry before; "" when it could not be read
	last uint64 // the last sequence number seen
	base uint64 // the last entry pruned, or 0
	orgs map[string][]uint64
	idx  auditIndex // the layout of the organization index
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

// entry checks the entry stored under seq.
func (v *auditVerifier) entry(seq uint64, val []byte) {
	if seq <= v.base {
		v.rep.add(seq, AuditCorrupt, "the entry is stored, but the log was pruned up to entry %d", v.base)
		return
	}
	if seq > v.next {
		if seq == v.next+1 {
			v.rep.add(v.next, AuditMissing, "entry %d is missing", v.next)
		} else {
			v.rep.add(v.next, AuditMissing, "entries %d to %d are missing", v.next, seq-1)
		}
		v.prev = "" // the link across the gap cannot be checked
	}
	v.next, v.last = seq+1, seq
	e, stored, p := checkAuditEntry(seq, v.prev, val)
	v.prev = stored
	if stored != "" {
		v.anchor(seq, stored)
	}
	if p != nil {
		v.rep.add(p.Seq, p.Kind, "%s", p.Detail)
		if p.Kind != AuditChainBroken {
			return
		}
	}
	for _, org := range e.Orgs {
		v.orgs[org] = append(v.orgs[org], seq)
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

// end compares the last entry with the head.
func (v *auditVerifier) end(head auditHead, hasHead bool) {
	switch {
	case !hasHead && v.last > 0:
		v.rep.add(v.last, AuditTruncated, "the head record is missing")
	case !hasHead:
	case v.last < head.seq:
		v.rep.add(v.last+1, AuditTruncated, "the log ends at entry %d but its head names entry %d: entries %d to %d were cut", v.last, head.seq, v.last+1, head.seq)
	case v.last > head.seq:
		v.rep.add(head.seq+1, AuditTruncated, "the head names entry %d but entries run to %d", head.seq, v.last)
	case v.prev != "" && v.prev != head.hash:
		v.rep.add(v.last, AuditAltered, "the head names hash %s for entry %d, which has hash %s", head.hash, v.last, v.prev)
	}
}

// index compares the organization index with the orgs of the entries. It
// gathers the index whole, because a bucketed index lists the newest
// bucket first.
func (v *auditVerifier) index(ctx context.Context, txn *badger.Txn) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: v.idx.space()})
	defer it.Close()
	got := map[string][]uint64{}
	n := 0
	for it.Rewind(); it.Valid(); it.Next() {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		org, seq, err := v.idx.parse(it.Item().Key())
		if err != nil {
			v.rep.add(0, AuditIndex, "%v", err)
			continue
		}
		got[org] = append(got[org], seq)
	}
	orgs := slices.Collect(maps.Keys(got))
	for org := range v.orgs {
		if _, ok := got[org]; !ok {
			orgs = append(orgs, org)
		}
	}
	slices.Sort(orgs)
	for _, org := range orgs {
		have, want := got[org], v.orgs[org]
		slices.Sort(have)
		i, j := 0, 0
		for i < len(have) || j < len(want) {
			switch {
			case j == len(want) || (i < len(have) && have[i] < want[j]):
				v.rep.add(have[i], AuditIndex, "organization %q indexes an entry that does not concern it", org)
				i++
			case i == len(have) || want[j] < have[i]:
				v.rep.add(want[j], AuditIndex, "the entry is not indexed under organization %q", org)
				j++
			default:
				i, j = i+1, j+1
			}
		}
	}
	return nil
}
