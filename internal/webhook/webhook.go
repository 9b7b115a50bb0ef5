package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the request header that carries the body's signature
// when Options.Secret is set.
const SignatureHeader = "X-Verband-Signature-256"

// DefaultUserAgent is the User-Agent header Post sends unless
// Options.UserAgent says otherwise.
const DefaultUserAgent = "Verband-Webhook (+https://github.com/verband-cti/verband)"

// The defaults that the zero values of Options select.
const (
	DefaultAttempts       = 5
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = time.Minute
	DefaultAttemptTimeout = 10 * time.Second
)

// snippetLen is how much of a failed answer's body an Error keeps.
const snippetLen = 256

// Options are the settings of a delivery. The zero value is ready to use:
// every zero field selects its documented default.
type Options struct {
	// Secret, when not empty, is the HMAC-SHA256 key of the signature
	// header (SignatureHeader).
	Secret []byte
	// Attempts is how many requests are sent at most, the first one
	// included (default 5).
	Attempts int
	// InitialBackoff is the wait before the second attempt (default 1s);
	// each later wait doubles it, up to MaxBackoff. Each wait is drawn at
	// random between half of it and all of it, so that the senders who
	// failed together do not retry together.
	InitialBackoff time.Duration
	// MaxBackoff caps a wait (default 1m). A Retry-After that asks for a
	// longer wait ends the delivery.
	MaxBackoff time.Duration
	// AttemptTimeout bounds one attempt, from sending the request to
	// reading the answer (default 10s).
	AttemptTimeout time.Duration
	// UserAgent is the User-Agent header (default DefaultUserAgent).
	UserAgent string
	// Header holds extra request headers, such as an Authorization that
	// the receiver asks for. It cannot override Content-Type, User-Agent
	// or the signature.
	Header http.Header
	// Client sends the requests (default: a client of its own on
	// http.DefaultTransport). Post does not follow redirects whatever the
	// client's policy.
	Client *http.Client
	// Sleep waits between attempts and returns early with the context's
	// error when ctx ends first (default: a timer). Tests replace it so as
	// not to wait for real.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Error is what Post returns when the document was not delivered.
type Error struct {
	// Host is the host the request went to; the rest of the URL is left out
	// because webhook URLs often carry a secret in their path or query.
	Host string
	// Attempts is the number of requests sent.
	Attempts int
	// Status is the HTTP status of the last answer, or 0 when the last
	// attempt got none; Body is the start of that answer's body.
	Status int
	Body   string
	// Err is why the last attempt failed or why Post stopped: a network
	// error, the caller's context error, or a description of the status.
	Err error
}

// Error describes the failure in one line.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "webhook to %s: %d attempt", e.Host, e.Attempts)
	if e.Attempts != 1 {
		b.WriteByte('s')
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Body != "" {
		fmt.Fprintf(&b, ": body %q", e.Body)
	}
	return b.String()
}

// Unwrap returns the cause, so that errors.Is finds context.Canceled and
// context.DeadlineExceeded.
func (e *Error) Unwrap() error { return e.Err }

// Sign returns the value of SignatureHeader for body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header, the value of SignatureHeader a receiver
// got, is the signature of body under secret. It compares in constant time.
func Verify(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(header), []byte(Sign(secret, body)))
}

// Post sends body to rawURL as a JSON POST and retries as the package
// documentation says until an answer is 2xx, the attempts run out, a
// failure is final, or ctx ends. It returns nil once the document was
// accepted and an *Error otherwise, except for a bad URL or options, which
// it reports before sending anything.
func Post(ctx context.Context, rawURL string, body []byte, opts Options) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the whole URL, which may hold a secret.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook: parse url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("webhook: url %q: want an absolute http or https url", u.Redacted())
	}
	o, err := opts.withDefaults()
	if err != nil {
		return err
	}
	e := &Error{Host: u.Host}
	backoff := o.InitialBackoff
	for {
		e.Attempts++
		status, snippet, retryAfter, err := o.attempt(ctx, rawURL, body)
		e.Status, e.Body, e.Err = status, snippet, err
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			e.Err = fmt.Errorf("%w (last attempt: %v)", context.Cause(ctx), err)
			return e
		}
		if !retryable(status) || e.Attempts >= o.Attempts {
			return e
		}
		wait := jitter(backoff)
		if retryAfter > o.MaxBackoff {
			e.Err = fmt.Errorf("%w; the server asks to retry after %v, more than the %v allowed", err, retryAfter, o.MaxBackoff)
			return e
		}
		wait = max(wait, retryAfter)
		if err := o.Sleep(ctx, wait); err != nil {
			e.Err = fmt.Errorf("%w (waiting to retry after: %v)", err, e.Err)
			return e
		}
		backoff = min(2*backoff, o.MaxBackoff)
	}
}

// withDefaults returns the options with the defaults filled in, or an error
// naming a setting that makes no sense.
func (o Options) withDefaults() (Options, error) {
	if o.Attempts < 0 || o.InitialBackoff < 0 || o.MaxBackoff < 0 || o.AttemptTimeout < 0 {
		return o, fmt.Errorf("webhook: options: negative attempts, backoff or timeout (%d, %v, %v, %v)", o.Attempts, o.InitialBackoff, o.MaxBackoff, o.AttemptTimeout)
	}
	if o.Attempts == 0 {
		o.Attempts = DefaultAttempts
	}
	if o.InitialBackoff == 0 {
		o.InitialBackoff = DefaultInitialBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.InitialBackoff > o.MaxBackoff {
		return o, fmt.Errorf("webhook: options: initial backoff %v exceeds max backoff %v", o.InitialBackoff, o.MaxBackoff)
	}
	if o.AttemptTimeout == 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	c := http.Client{}
	if o.Client != nil {
		c = *o.Client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	o.Client = &c
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	return o, nil
}

// attempt sends one request. It returns the answer's status (0 when there
// was none), the start of its body when it is not a success, how long a
// Retry-After header asks to wait, and an error unless the status is 2xx.
func (o Options) attempt(ctx context.Context, rawURL string, body []byte) (int, string, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, o.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, "", 0, fmt.Errorf("build request: %w", err)
	}
	for k, vs := range o.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", o.UserAgent)
	if len(o.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(o.Secret, body))
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return 0, "", 0, fmt.Errorf("send: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Reading the rest lets the connection be reused; its content
		// does not matter.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return resp.StatusCode, "", 0, nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, snippetLen))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, snippet(b), retryAfter(resp.Header.Get("Retry-After"), time.Now()), fmt.Errorf("status %s", resp.Status)
}

// retryable reports whether a failure with this status (0 for none) may
// pass on its own.
func retryable(status int) bool {
	return status == 0 || status == http.StatusTooManyRequests || status >= 500 && status < 600
}

// jitter draws a wait between half of d and d.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter parses a Retry-After value, a number of seconds or an HTTP
// date, into a wait from now; 0 when it is absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// snippet makes the start of an answer's body printable: valid UTF-8 (a
// rune cut at the end becomes "?") with its white space folded.
func snippet(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	return strings.Join(strings.Fields(s), " ")
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
