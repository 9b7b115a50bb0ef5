// Package webhook delivers a JSON document, such as a cluster report, to a
// URL someone gave Verband: one POST, retried with backoff when the failure
// may pass.
//
// Post is the whole API; Options holds its settings, each with a documented
// default that its zero value selects, and Error is what a delivery that
// did not succeed returns, with the number of attempts and the last answer.
//
// What is retried: network errors, an attempt that ran past
// Options.AttemptTimeout, 429 Too Many Requests and every 5xx status. Other
// statuses below 200 or from 300 up (redirects are not followed, so that a
// POST never turns into a GET) fail at once, as do a bad URL and the
// cancellation of the caller's context. Between attempts Post waits an
// exponential backoff with jitter, or as long as a Retry-After header asks
// when that is longer; a server that asks for more than Options.MaxBackoff
// ends the delivery rather than being retried early.
//
// Signature: when Options.Secret is set, each request carries the header
//
//	X-Verband-Signature-256: sha256=<hex of HMAC-SHA256(secret, body)>
//
// computed over the exact bytes of the body, the same recipe as GitHub's
// webhooks. A receiver recomputes the HMAC over the raw body it read, before
// parsing it, and compares in constant time (Verify does both). The
// signature covers the body only, so a receiver that must refuse replays
// should keep the report's run id (its "run" field) and refuse one it has
// seen.
//
// Post is safe for concurrent use; it holds no state between calls.
package webhook
