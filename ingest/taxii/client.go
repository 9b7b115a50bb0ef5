package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MediaType is the TAXII 2.1 media type, sent in Accept and expected in
// Content-Type.
const MediaType = "application/taxii+json;version=2.1"

// Errors callers test for with errors.Is.
var (
	// ErrUnauthorized reports a 401 or 403 answer: missing or wrong
	// credentials, or no permission on the collection.
	ErrUnauthorized = errors.New("not authorised")
	// ErrNotTAXII reports an answer that is not TAXII 2.1 JSON, such as a
	// login page or a TAXII 2.0 server.
	ErrNotTAXII = errors.New("not a TAXII 2.1 answer")
	// ErrProtocol reports an answer that breaks the TAXII 2.1 protocol in a
	// way the client cannot work around.
	ErrProtocol = errors.New("TAXII protocol error")
)

// HTTPError is a TAXII server's error answer.
type HTTPError struct {
	// URL is the request URL, Status the HTTP status code.
	URL    string
	Status int
	// Title and Description come from the TAXII error message in the body,
	// when there is one.
	Title, Description string
}

// Error renders the error as "GET <url>: 404 Not Found: <title>: <description>".
func (e *HTTPError) Error() string {
	s := fmt.Sprintf("GET %s: %d %s", e.URL, e.Status, http.StatusText(e.Status))
	if e.Title != "" {
		s += ": " + e.Title
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Unwrap returns ErrUnauthorized for 401 and 403.
func (e *HTTPError) Unwrap() error {
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		return ErrUnauthorized
	}
	return nil
}

// Credentials authenticate the client: a bearer token when Token is set,
// else HTTP basic authentication when Username is set, else none.
type Credentials struct {
	Username, Password string
	Token              string
}

// Options configure a Client. The zero value is usable.
type Options struct {
	// HTTPClient sends the requests. Default: a client with a 2-minute
	// timeout per request.
	HTTPClient *http.Client
	// Credentials authenticate every request.
	Credentials Credentials
	// MaxRetries is how often a request is retried after a 429 or 5xx
	// answer or a network error. Default 5; negative means none.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the wait before a retry, which doubles
	// from MinBackoff (with up to 25% random jitter) and never exceeds
	// MaxBackoff, except that a server's Retry-After is honoured up to
	// 10 minutes. Defaults 1 s and 60 s.
	MinBackoff, MaxBackoff time.Duration
	// MaxResponseBytes bounds one answer's body. Default 256 MiB.
	MaxResponseBytes int64
	// UserAgent is sent with every request. Default "verband".
	UserAgent string
}

// maxRetryAfter caps how long a server's Retry-After can make the client
// wait.
const maxRetryAfter = 10 * time.Minute

// Client is a TAXII 2.1 client.
type Client struct {
	opts Options
}

// NewClient returns a client with opts, defaults filled in.
func NewClient(opts Options) *Client {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 2 * time.Minute}
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 5
	}
	if opts.MaxRetries < 0 {
		opts.MaxRetries = 0
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Minute
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = 256 << 20
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "verband"
	}
	return &Client{opts: opts}
}

// answer is a successful response: its body and headers.
type answer struct {
	body   []byte
	header http.Header
}

// get fetches a TAXII resource, retrying as Options say.
func (c *Client) get(ctx context.Context, u string) (*answer, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		a, retryAfter, err := c.getOnce(ctx, u)
		if err == nil {
			return a, nil
		}
		lastErr = err
		if retryAfter < 0 || attempt >= c.opts.MaxRetries {
			if attempt > 0 {
				return nil, fmt.Errorf("%w (after %d retries)", lastErr, attempt)
			}
			return nil, lastErr
		}
		wait := c.backoff(attempt)
		if retryAfter > wait {
			wait = min(retryAfter, maxRetryAfter)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (while waiting to retry after: %w)", ctx.Err(), lastErr)
		case <-t.C:
		}
	}
}

// backoff returns the wait before retry number attempt (0-based).
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.MinBackoff << min(attempt, 30)
	if d <= 0 || d > c.opts.MaxBackoff {
		d = c.opts.MaxBackoff
	}
	return d + time.Duration(rand.Int64N(int64(d)/4+1))
}

// getOnce sends one request. retryAfter is negative when the error must
// not be retried, else the wait the server asked for (0 when none).
func (c *Client) getOnce(ctx context.Context, u string) (a *answer, retryAfter time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, -1, fmt.Errorf("GET %s: %w", u, err)
	}
	req.Header.Set("Accept", MediaType)
	req.Header.Set("User-Agent", c.opts.UserAgent)
	switch cr := c.opts.Credentials; {
	case cr.Token != "":
		req.Header.Set("Authorization", "Bearer "+cr.Token)
	case cr.Username != "":
		req.SetBasicAuth(cr.Username, cr.Password)
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, -1, fmt.Errorf("GET %s: %w", u, ctx.Err())
		}
		return nil, 0, fmt.Errorf("GET %s: %w", u, err) // network trouble: retry
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxResponseBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: read answer: %w", u, err)
	}
	if int64(len(body)) > c.opts.MaxResponseBytes {
		return nil, -1, fmt.Errorf("GET %s: answer larger than %d bytes: %w", u, c.opts.MaxResponseBytes, ErrProtocol)
	}
	if resp.StatusCode != http.StatusOK {
		he := &HTTPError{URL: u, Status: resp.StatusCode}
		var msg struct {
			Title       string `json:"title"`
			Description string `json:"description"`
		}
		if json.Unmarshal(body, &msg) == nil {
			he.Title, he.Description = clip(msg.Title), clip(msg.Description)
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return nil, parseRetryAfter(resp.Header.Get("Retry-After")), he
		}
		return nil, -1, he
	}
	ct, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case ct == "application/taxii+json" && (params["version"] == "" || params["version"] == "2.1"):
	case ct == "application/json":
		// Some servers send plain JSON; the body decides.
	default:
		return nil, -1, fmt.Errorf("GET %s: content type %q: %w", u, resp.Header.Get("Content-Type"), ErrNotTAXII)
	}
	return &answer{body: body, header: resp.Header}, 0, nil
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// decode unmarshals an answer's JSON body.
func decode(u string, a *answer, v any) error {
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("GET %s: decode answer: %w: %w", u, ErrNotTAXII, err)
	}
	return nil
}

// Discovery is the answer of a server's discovery endpoint (…/taxii2/).
type Discovery struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Contact     string   `json:"contact,omitempty"`
	Default     string   `json:"default,omitempty"`
	APIRoots    []string `json:"api_roots,omitempty"`
}

// Discover reads a discovery endpoint. Relative API root URLs are made
// absolute.
func (c *Client) Discover(ctx context.Context, discoveryURL string) (*Discovery, error) {
	a, err := c.get(ctx, discoveryURL)
	if err != nil {
		return nil, fmt.Errorf("discover: %w", err)
	}
	var d Discovery
	if err := decode(discoveryURL, a, &d); err != nil {
		return nil, fmt.Errorf("discover: %w", err)
	}
	if d.Default != "" {
		d.Default = resolveURL(discoveryURL, d.Default)
	}
	for i, r := range d.APIRoots {
		d.APIRoots[i] = resolveURL(discoveryURL, r)
	}
	return &d, nil
}

// APIRootInfo is the answer of an API root.
type APIRootInfo struct {
	Title            string   `json:"title"`
	Description      string   `json:"description,omitempty"`
	Versions         []string `json:"versions"`
	MaxContentLength int64    `json:"max_content_length"`
}

// APIRoot reads an API root's information.
func (c *Client) APIRoot(ctx context.Context, apiRoot string) (*APIRootInfo, error) {
	u := dirURL(apiRoot)
	a, err := c.get(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("read API root: %w", err)
	}
	var info APIRootInfo
	if err := decode(u, a, &info); err != nil {
		return nil, fmt.Errorf("read API root: %w", err)
	}
	return &info, nil
}

// Resolve returns the API root a URL leads to: the URL itself when it is an
// API root, or, for a discovery endpoint, its default API root (or its only
// one).
func (c *Client) Resolve(ctx context.Context, rawURL string) (string, error) {
	u := dirURL(rawURL)
	a, err := c.get(ctx, u)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", rawURL, err)
	}
	var probe struct {
		Versions []string `json:"versions"`
		APIRoots []string `json:"api_roots"`
		Default  string   `json:"default"`
	}
	if err := decode(u, a, &probe); err != nil {
		return "", fmt.Errorf("resolve %s: %w", rawURL, err)
	}
	switch {
	case probe.Versions != nil:
		for _, v := range probe.Versions {
			if strings.ReplaceAll(v, " ", "") == MediaType {
				return u, nil
			}
		}
		return "", fmt.Errorf("resolve %s: the API root supports %q, not %s: %w", rawURL, probe.Versions, MediaType, ErrNotTAXII)
	case probe.Default != "":
		return resolveURL(u, probe.Default), nil
	case len(probe.APIRoots) == 1:
		return resolveURL(u, probe.APIRoots[0]), nil
	case len(probe.APIRoots) > 1:
		return "", fmt.Errorf("resolve %s: the server has %d API roots and no default; name one: %s: %w", rawURL, len(probe.APIRoots), strings.Join(probe.APIRoots, ", "), ErrProtocol)
	}
	return "", fmt.Errorf("resolve %s: neither a discovery endpoint nor an API root: %w", rawURL, ErrNotTAXII)
}

// Collection describes one collection of an API root.
type Collection struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types,omitempty"`
}

// Collections lists an API root's collections.
func (c *Client) Collections(ctx context.Context, apiRoot string) ([]Collection, error) {
	u := dirURL(apiRoot) + "collections/"
	a, err := c.get(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("list collections: %w", err)
	}
	var out struct {
		Collections []Collection `json:"collections"`
	}
	if err := decode(u, a, &out); err != nil {
		return nil, fmt.Errorf("list collections: %w", err)
	}
	return out.Collections, nil
}

// ObjectsQuery narrows a request for a collection's objects.
type ObjectsQuery struct {
	// AddedAfter asks for objects added after this timestamp, as the server
	// wrote it (X-TAXII-Date-Added-Last of an earlier page).
	AddedAfter string
	// Next continues a paged answer with the server's "next" token.
	Next string
	// Limit asks for at most this many objects; 0 leaves it to the server.
	Limit int
	// Types asks for objects of these types only (match[type]).
	Types []string
}

// Page is one answer of the objects endpoint.
type Page struct {
	// Objects are the STIX objects, as raw JSON.
	Objects []json.RawMessage
	// More says the server has more objects for the query; Next, when the
	// server gives it, continues the query.
	More bool
	Next string
	// DateAddedFirst and DateAddedLast are the X-TAXII-Date-Added-First and
	// -Last headers: when the first and last object of the page were added.
	DateAddedFirst, DateAddedLast string
}

// Objects reads one page of a collection's objects.
func (c *Client) Objects(ctx context.Context, apiRoot, collection string, q ObjectsQuery) (*Page, error) {
	if collection == "" || strings.ContainsAny(collection, "/?#") {
		return nil, fmt.Errorf("read objects: collection id %q: %w", collection, ErrProtocol)
	}
	v := url.Values{}
	if q.AddedAfter != "" {
		v.Set("added_after", q.AddedAfter)
	}
	if q.Next != "" {
		v.Set("next", q.Next)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if len(q.Types) > 0 {
		v.Set("match[type]", strings.Join(q.Types, ","))
	}
	u := dirURL(apiRoot) + "collections/" + url.PathEscape(collection) + "/objects/"
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	a, err := c.get(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("read objects: %w", err)
	}
	var env struct {
		More    bool              `json:"more"`
		Next    string            `json:"next"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := decode(u, a, &env); err != nil {
		return nil, fmt.Errorf("read objects: %w", err)
	}
	return &Page{
		Objects: env.Objects, More: env.More, Next: env.Next,
		DateAddedFirst: a.header.Get("X-TAXII-Date-Added-First"),
		DateAddedLast:  a.header.Get("X-TAXII-Date-Added-Last"),
	}, nil
}

// dirURL returns u with a trailing slash, as TAXII endpoints end.
func dirURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

// resolveURL resolves ref against base; ref is returned unchanged when
// either does not parse.
func resolveURL(base, ref string) string {
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return dirURL(b.ResolveReference(r).String())
}
