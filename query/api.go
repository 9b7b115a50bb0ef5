package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	graphql "github.com/graph-gophers/graphql-go"
	gqlerrors "github.com/graph-gophers/graphql-go/errors"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/correlate"
	"github.com/verband-cti/verband/schema"
)

// APIOptions configure an API.
type APIOptions struct {
	// Limits bound each request; zero fields take their defaults.
	Limits Limits
	// Reader is what resolvers read through. Default: the store. Tests
	// wrap the store to count reads.
	Reader Reader
	// Logger receives one line per request and resolver panics. Default
	// slog.Default().
	Logger *slog.Logger
	// OnPanic, when set, is called with the value of every resolver panic
	// (after it has been turned into an INTERNAL error), for tests.
	OnPanic func(v any)
	// Correlation configures Query.correlations: the document-frequency
	// cap and the warninglists. Zero fields take correlate's defaults.
	Correlation correlate.Options

	metrics *metrics
}

// API is Verband's GraphQL API over one store: the parsed schema, its
// resolvers and its limits. It is safe for concurrent use; all
// per-request state lives in the request's context.
type API struct {
	store   *graph.Store
	reader  Reader
	limits  Limits
	schema  *graphql.Schema
	log     *slog.Logger
	metrics *metrics
	onPanic func(any)
	corr    *correlate.Engine
	ids     *idCodec
}

// NewAPI parses the schema and binds it to the resolvers over store.
func NewAPI(store *graph.Store, opts APIOptions) (*API, error) {
	a := &API{store: store, reader: opts.Reader, limits: opts.Limits.withDefaults(), log: opts.Logger,
		metrics: opts.metrics, onPanic: opts.OnPanic}
	if a.reader == nil {
		a.reader = store
	}
	var err error
	if a.ids, err = newIDCodec(store); err != nil {
		return nil, err
	}
	a.corr = correlate.NewEngine(store, opts.Correlation)
	if a.log == nil {
		a.log = slog.Default()
	}
	root := &rootResolver{q: &queryResolver{api: a}, m: &mutationResolver{api: a}}
	s, err := graphql.ParseSchema(schema.GraphQL(), root,
		graphql.UseStringDescriptions(),
		graphql.UseFieldResolvers(),
		graphql.MaxDepth(a.limits.MaxDepth),
		graphql.MaxQueryLength(a.limits.MaxQueryLength),
		graphql.MaxSelections(a.limits.MaxSelections),
		graphql.MaxParallelism(a.limits.MaxParallelism),
		graphql.OverlapValidationLimit(10_000),
		graphql.Logger(panicLogger{a}),
		graphql.PanicHandler(panicHandler{a}),
	)
	if err != nil {
		return nil, fmt.Errorf("parse GraphQL schema: %w", err)
	}
	a.schema = s
	return a, nil
}

// Close stops the correlation builds under way; call it before closing
// the store.
func (a *API) Close() { a.corr.Close() }

// Limits returns the limits in force.
func (a *API) Limits() Limits { return a.limits }

// Request is one GraphQL request.
type Request struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName,omitempty"`
	Variables     map[string]any `json:"variables,omitempty"`
}

// Response is a GraphQL response: data, and errors each with
// extensions.code.
type Response = graphql.Response

// Exec runs a request as viewer v, who is principal p, within the
// request timeout. Mutations run only when readOnly is false.
func (a *API) Exec(ctx context.Context, v graph.Viewer, p graph.Principal, req Request) *Response {
	return a.exec(ctx, v, p, req, false)
}

// execGrace is how long after its deadline a request waits for resolvers
// to notice; then it answers with a timeout error and leaves them to
// finish alone.
const execGrace = 250 * time.Millisecond

func (a *API) exec(ctx context.Context, v graph.Viewer, p graph.Principal, req Request, readOnly bool) *Response {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, a.limits.Timeout)
	defer cancel()
	rq := a.newRequest(v, p, readOnly)
	rq.audit = AuditRecordFrom(ctx)
	ctx = withRequest(ctx, rq)
	done := make(chan *Response, 1)
	go func() {
		defer func() {
			if rv := recover(); rv != nil {
				a.panicked(ctx, rv)
				done <- &Response{Errors: []*gqlerrors.QueryError{{Message: "internal error", Extensions: map[string]any{"code": string(CodeInternal)}}}}
			}
		}()
		done <- a.schema.Exec(ctx, req.Query, req.OperationName, req.Variables)
	}()
	var resp *Response
	select {
	case resp = <-done:
	case <-ctx.Done():
		select {
		case resp = <-done:
		case <-time.After(execGrace):
			resp = &Response{Errors: []*gqlerrors.QueryError{{Message: "the request exceeded its time limit of " + a.limits.Timeout.String()}}}
		}
	}
	if ctx.Err() == context.DeadlineExceeded && len(resp.Errors) == 0 {
		resp.Errors = append(resp.Errors, &gqlerrors.QueryError{Message: "the request exceeded its time limit of " + a.limits.Timeout.String()})
	}
	annotate(resp.Errors)
	sortErrors(resp.Errors)
	a.record(ctx, req, p, resp, time.Since(start))
	return resp
}

// operationNameRE finds the first operation's name in a document.
var operationNameRE = regexp.MustCompile(`(?m)^[^#"]*?\b(query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]{0,63})`)

// operationName returns the name to log and count a request under.
func operationName(req Request) string {
	if req.OperationName != "" {
		return req.OperationName
	}
	if !mayNameOperation(req.Query) {
		return ""
	}
	if m := operationNameRE.FindStringSubmatch(req.Query); m != nil {
		return m[2]
	}
	return ""
}

// mayNameOperation reports whether operationNameRE may match q: whether an
// operation keyword in q is followed by white space. Documents without an
// operation name, such as "query($id: ID!) {…}", mostly hold none, and on
// them the expression tries a match from every position: 2.6% of the CPU
// of the API benchmark's neighbourhood requests, since each request looks
// its name up twice (log and audit).
func mayNameOperation(q string) bool {
	for _, kw := range []string{"query", "mutation", "subscription"} {
		for rest := q; ; {
			i := strings.Index(rest, kw)
			if i < 0 {
				break
			}
			rest = rest[i+len(kw):]
			if rest != "" && strings.IndexByte(" \t\n\f\r", rest[0]) >= 0 {
				return true
			}
		}
	}
	return false
}

// errorCodes returns the distinct error codes of a response.
func errorCodes(resp *Response) []string {
	var codes []string
	for _, e := range resp.Errors {
		if c, ok := e.Extensions["code"].(string); ok && !containsString(codes, c) {
			codes = append(codes, c)
		}
	}
	return codes
}

// record logs a request and counts it in the metrics.
func (a *API) record(ctx context.Context, req Request, p graph.Principal, resp *Response, d time.Duration) {
	op := operationName(req)
	codes := errorCodes(resp)
	status := "ok"
	if len(codes) > 0 {
		status = "error"
	}
	a.metrics.request(op, status, codes, resp.Errors, d)
	level := slog.LevelInfo
	if containsString(codes, string(CodeInternal)) {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("operation", op),
		slog.Duration("duration", d),
		slog.String("user", p.User),
		slog.String("org", p.Org),
		slog.String("status", status),
	}
	if len(codes) > 0 {
		attrs = append(attrs, slog.String("codes", strings.Join(codes, ",")), slog.String("error", resp.Errors[0].Message))
	}
	a.log.LogAttrs(ctx, level, "graphql request", attrs...)
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// panicked logs a resolver panic and reports it to OnPanic.
func (a *API) panicked(ctx context.Context, v any) {
	a.log.LogAttrs(ctx, slog.LevelError, "graphql resolver panic", slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
	if a.onPanic != nil {
		a.onPanic(v)
	}
}

// panicHandler turns a resolver panic into an INTERNAL error.
type panicHandler struct{ a *API }

func (h panicHandler) MakePanicError(ctx context.Context, v any) *gqlerrors.QueryError {
	return &gqlerrors.QueryError{Message: "internal error", Extensions: map[string]any{"code": string(CodeInternal)}}
}

// panicLogger logs resolver panics through the API's logger.
type panicLogger struct{ a *API }

func (l panicLogger) LogPanic(ctx context.Context, v any) { l.a.panicked(ctx, v) }

// ServeHTTP serves /graphql: POST with a JSON body ({"query",
// "operationName", "variables"}) or an application/graphql body, and GET
// with query, operationName and variables parameters (queries only). The
// caller must be authenticated (see Server); the viewer comes from the
// request's context.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v, p, ok := PrincipalFrom(r.Context())
	if !ok {
		writeError(w, http.StatusUnauthorized, CodeUnauthenticated, "authentication required")
		return
	}
	var req Request
	readOnly := false
	switch r.Method {
	case http.MethodGet:
		readOnly = true
		q := r.URL.Query()
		req.Query, req.OperationName = q.Get("query"), q.Get("operationName")
		if s := q.Get("variables"); s != "" {
			if err := json.Unmarshal([]byte(s), &req.Variables); err != nil {
				writeError(w, http.StatusBadRequest, CodeBadQuery, "variables: not a JSON object")
				return
			}
		}
	case http.MethodPost:
		body := http.MaxBytesReader(w, r.Body, a.limits.MaxBodyBytes)
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch mt {
		case "application/graphql":
			b, err := io.ReadAll(body)
			if err != nil {
				bodyError(w, err)
				return
			}
			req.Query = string(b)
		case "application/json", "":
			dec := json.NewDecoder(body)
			if err := dec.Decode(&req); err != nil {
				bodyError(w, err)
				return
			}
		default:
			writeError(w, http.StatusUnsupportedMediaType, CodeBadQuery, "send application/json or application/graphql")
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, CodeMethod, "use GET or POST")
		return
	}
	if strings.TrimSpace(req.Query) == "" {
		writeError(w, http.StatusBadRequest, CodeBadQuery, "no query")
		return
	}
	audit := AuditRecordFrom(r.Context())
	audit.setGraphQL(req)
	resp := a.exec(r.Context(), v, p, req, readOnly)
	audit.addCodes(errorCodes(resp))
	code := http.StatusOK
	for _, e := range resp.Errors {
		if e.Extensions["code"] == string(CodeMethod) {
			code = http.StatusMethodNotAllowed
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := writeResponse(w, resp); err != nil {
		a.log.Warn("write GraphQL response", "err", err)
	}
}

// writeResponse writes resp as a json.Encoder does. An answer of data
// alone is written as is when the encoder would copy it unchanged: graphql-go
// builds it compact and valid, and it holds none of the characters the
// encoder escapes. That spares a second scan of every answer, 4% of the
// CPU of a neighbourhood request.
func writeResponse(w io.Writer, resp *Response) error {
	d := resp.Data
	if len(resp.Errors) > 0 || len(resp.Extensions) > 0 || len(d) == 0 ||
		bytes.ContainsAny(d, "<>&") || bytes.Contains(d, []byte("\u2028")) || bytes.Contains(d, []byte("\u2029")) {
		return json.NewEncoder(w).Encode(resp)
	}
	for _, b := range [][]byte{[]byte(`{"data":`), d, []byte("}\n")} {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// bodyError answers a request whose body cannot be read.
func bodyError(w http.ResponseWriter, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, CodeLimit, fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit))
		return
	}
	writeError(w, http.StatusBadRequest, CodeBadQuery, "the request body is not a GraphQL request: "+err.Error())
}

// writeError writes a GraphQL-shaped error response.
func writeError(w http.ResponseWriter, status int, code Code, msg string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]any{{"message": msg, "extensions": map[string]any{"code": string(code)}}}})
}

// sortErrors orders errors by path and message, so that the errors of
// fields resolved in parallel come in a stable order.
func sortErrors(errs []*gqlerrors.QueryError) {
	key := func(e *gqlerrors.QueryError) string { return fmt.Sprint(e.Path) + "\x00" + e.Message }
	slices.SortStableFunc(errs, func(a, b *gqlerrors.QueryError) int { return strings.Compare(key(a), key(b)) })
}
