package query

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/verband-cti/verband/graph"
)

// Auditing. Every request to an authenticated endpoint (Server.Authenticated:
// /graphql, TAXII and whatever else is mounted with authentication) is
// appended to the store's audit log, including requests that fail
// authentication. The answer is held back until its entry is committed;
// when the entry cannot be appended the client gets 500 instead of an
// unaudited answer (a mutation's changes stay made, but its answer is
// withheld).

// AuditRecord collects what the audit entry of one HTTP request says while
// the request is served: who made it (set by the authentication
// middleware), what was asked (by default the method, path and query
// string; the GraphQL handler records the query and variables), which
// objects came back, and the error codes. Handlers find it with
// AuditRecordFrom. It is safe for concurrent use, and its methods do
// nothing on a nil record, so code that also runs unaudited may call them.
type AuditRecord struct {
	mu     sync.Mutex
	viewer graph.AuditViewer
	op     string
	args   json.RawMessage
	ids    map[string]struct{}
	codes  []string
}

type auditKey struct{}

// AuditRecordFrom returns the audit record of the request ctx belongs to,
// or nil when the request is not audited.
func AuditRecordFrom(ctx context.Context) *AuditRecord {
	r, _ := ctx.Value(auditKey{}).(*AuditRecord)
	return r
}

// SetOperation names what the request asked, such as "taxii".
func (r *AuditRecord) SetOperation(op string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.op = op
}

// Returned records the STIX ids of objects the answer holds.
func (r *AuditRecord) Returned(stixIDs ...string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range stixIDs {
		r.ids[id] = struct{}{}
	}
}

// setPrincipal records who made the request.
func (r *AuditRecord) setPrincipal(p graph.Principal) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.viewer = graph.AuditViewer{Org: p.Org, User: p.User, Role: string(p.Role), TokenID: p.TokenID}
}

// setGraphQL records a GraphQL request: its operation and, as arguments,
// its document, operation name and variables.
func (r *AuditRecord) setGraphQL(req Request) {
	if r == nil {
		return
	}
	op := "graphql"
	if name := operationName(req); name != "" {
		op += ":" + name
	}
	args, err := json.Marshal(req)
	if err != nil {
		// Variables came from JSON, so this does not happen; record that
		// they could not be encoded rather than drop the request.
		args, _ = json.Marshal(map[string]string{"query": req.Query, "operationName": req.OperationName, "variables": "unencodable: " + err.Error()})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.op, r.args = op, args
}

// addCodes records the error codes of an answer.
func (r *AuditRecord) addCodes(codes []string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range codes {
		if !slices.Contains(r.codes, c) {
			r.codes = append(r.codes, c)
		}
	}
}

// entry is the audit entry of a request answered with status.
func (r *AuditRecord) entry(status int) graph.AuditEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := graph.AuditEntry{Viewer: r.viewer, Operation: r.op, Args: r.args, IDs: slices.Sorted(maps.Keys(r.ids)),
		Errors: slices.Clone(r.codes), Outcome: graph.AuditOK}
	if status >= http.StatusBadRequest {
		e.Errors = append(e.Errors, "HTTP "+strconv.Itoa(status))
	}
	if len(e.Errors) > 0 {
		e.Outcome = graph.AuditError
	}
	return e
}

// httpArgs are the arguments of a request as HTTP sees them.
func httpArgs(r *http.Request) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery})
	return b
}

// audited appends every request h serves to the audit log: it holds h's
// answer back, appends the entry, and only then sends the answer, or 500
// when the entry could not be appended.
func audited(store *graph.Store, log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &AuditRecord{op: "http", args: httpArgs(r), ids: map[string]struct{}{}}
		bw := &heldResponse{header: http.Header{}, body: heldBodies.Get().(*bytes.Buffer)}
		defer bw.release()
		h.ServeHTTP(bw, r.WithContext(context.WithValue(r.Context(), auditKey{}, rec)))
		if bw.status == 0 {
			bw.status = http.StatusOK
		}
		// The entry is appended even when the client has gone away.
		e, err := store.AppendAudit(context.WithoutCancel(r.Context()), rec.entry(bw.status))
		if err != nil {
			log.LogAttrs(r.Context(), slog.LevelError, "append audit entry", slog.String("path", r.URL.Path),
				slog.String("user", e.Viewer.User), slog.String("error", err.Error()))
			writeError(w, http.StatusInternalServerError, CodeInternal, "the request could not be recorded in the audit log, so it is not answered")
			return
		}
		bw.send(w)
	})
}

// heldResponse holds an answer back until it may be sent.
type heldResponse struct {
	header http.Header
	status int
	body   *bytes.Buffer
}

// heldBodies recycles the buffers of held answers, which every request
// through the API fills.
var heldBodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxHeldBody is the largest buffer kept for reuse, so that one huge answer
// does not stay in memory.
const maxHeldBody = 1 << 20

// release gives the body buffer back once the answer is sent.
func (h *heldResponse) release() {
	if h.body.Cap() <= maxHeldBody {
		h.body.Reset()
		heldBodies.Put(h.body)
	}
	h.body = nil
}

func (h *heldResponse) Header() http.Header { return h.header }

func (h *heldResponse) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *heldResponse) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.body.Write(b)
}

// send writes the held answer to w.
func (h *heldResponse) send(w http.ResponseWriter) {
	maps.Copy(w.Header(), h.header)
	w.WriteHeader(h.status)
	_, _ = w.Write(h.body.Bytes())
}

// auditLogArgs are the arguments of Query.auditLog.
type auditLogArgs struct {
	Since, Until *graphql.Time
	NewestFirst  bool
	First        int32
	After        *string
}

// auditConnection is the AuditEntryConnection type.
type auditConnection struct {
	Edges    []*auditEdge
	PageInfo *pageInfo
	store    *graph.Store
	filter   graph.AuditFilter // the whole list: no cursor, no limit
}

// TotalCount counts the whole list only when asked: it reads the indexes
// of the log's segments.
func (c *auditConnection) TotalCount() (int32, error) {
	n, err := c.store.AuditCount(c.filter)
	return clampInt32(int64(n)), err
}

// auditEdge is the AuditEntryEdge type.
type auditEdge struct {
	Cursor string
	Node   *auditEntry
}

// AuditLog resolves Query.auditLog: the entries that concern the admin's
// organization.
func (q *queryResolver) AuditLog(ctx context.Context, args auditLogArgs) (*auditConnection, error) {
	r := reqFrom(ctx)
	p := r.principal
	if !p.Role.IsAdmin() || p.Org == "" {
		return nil, &Error{Code: CodeForbidden, Field: "auditLog", Message: "only an admin of an organization may read the audit log"}
	}
	first, err := r.api.limits.pageSize(args.First, 20)
	if err != nil {
		return nil, err
	}
	f := graph.AuditFilter{Org: p.Org, Limit: first + 1, Newest: args.NewestFirst}
	if args.Since != nil {
		f.Since = args.Since.Time
	}
	if args.Until != nil {
		f.Until = args.Until.Time
	}
	whole := f
	whole.Limit = 0
	parts, err := decodeCursor(args.After, "a", 1)
	if err != nil {
		return nil, err
	}
	if parts != nil {
		seq, err := strconv.ParseUint(parts[0], 10, 64)
		if err != nil {
			return nil, invalid("after", "after: not a cursor of this list")
		}
		if f.Newest {
			f.Before = seq
		} else {
			f.After = seq
		}
	}
	var entries []graph.AuditEntry
	if first > 0 {
		err = r.api.store.AuditEntries(ctx, f, func(e graph.AuditEntry) bool {
			entries = append(entries, e)
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	hasNext := len(entries) > first
	entries = entries[:min(len(entries), first)]
	c := &auditConnection{Edges: make([]*auditEdge, len(entries)), store: r.api.store, filter: whole}
	cursors := make([]string, len(entries))
	for i := range entries {
		cursors[i] = encodeCursor("a", strconv.FormatUint(entries[i].Seq, 10))
		c.Edges[i] = &auditEdge{Cursor: cursors[i], Node: &auditEntry{e: &entries[i]}}
	}
	c.PageInfo = newPageInfo(cursors, parts != nil, hasNext)
	return c, nil
}

// auditEntry is the AuditEntry type.
type auditEntry struct{ e *graph.AuditEntry }

func (a *auditEntry) Seq() string        { return strconv.FormatUint(a.e.Seq, 10) }
func (a *auditEntry) Time() graphql.Time { return graphql.Time{Time: a.e.Time} }
func (a *auditEntry) Operation() string  { return a.e.Operation }
func (a *auditEntry) ArgumentsBytes() float64 {
	return float64(a.e.ArgsBytes)
}
func (a *auditEntry) ArgumentsSha256() string { return a.e.ArgsSHA256 }
func (a *auditEntry) IDs() []string           { return nonNil(a.e.IDs) }
func (a *auditEntry) IDCount() float64        { return float64(a.e.IDCount) }
func (a *auditEntry) Outcome() string         { return a.e.Outcome }
func (a *auditEntry) Errors() []string        { return nonNil(a.e.Errors) }
func (a *auditEntry) Organizations() []string { return nonNil(a.e.Orgs) }
func (a *auditEntry) Truncated() []string     { return nonNil(a.e.Truncated) }
func (a *auditEntry) Prev() string            { return a.e.Prev }
func (a *auditEntry) Hash() string            { return a.e.Hash }

// Arguments are the recorded arguments, or null.
func (a *auditEntry) Arguments() *JSON { return optJSON(a.e.Args) }

// Result is the recorded result summary, or null.
func (a *auditEntry) Result() *JSON { return optJSON(a.e.Result) }

// Viewer is who made the request, or null when nobody authenticated.
func (a *auditEntry) Viewer() *auditViewer {
	v := a.e.Viewer
	if v == (graph.AuditViewer{}) {
		return nil
	}
	return &auditViewer{Organization: v.Org, User: v.User, Role: v.Role, TokenID: v.TokenID}
}

// auditViewer is the AuditViewer type.
type auditViewer struct {
	Organization, User, Role, TokenID string
}

func optJSON(raw json.RawMessage) *JSON {
	if len(raw) == 0 {
		return nil
	}
	return &JSON{raw: raw}
}
