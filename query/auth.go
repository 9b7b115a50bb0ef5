package query

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/verband-cti/verband/graph"
)

// Authenticator turns a bearer token's secret into a viewer and a
// principal. *graph.Store implements it with its stored API tokens.
type Authenticator interface {
	Authenticate(secret string) (graph.Viewer, graph.Principal, error)
}

type principalKey struct{}

type principalValue struct {
	v graph.Viewer
	p graph.Principal
}

// WithPrincipal returns ctx carrying the viewer and principal of a request,
// as the authentication middleware sets them.
func WithPrincipal(ctx context.Context, v graph.Viewer, p graph.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, principalValue{v, p})
}

// PrincipalFrom returns the viewer and principal of an authenticated
// request's context.
func PrincipalFrom(ctx context.Context) (graph.Viewer, graph.Principal, bool) {
	pv, ok := ctx.Value(principalKey{}).(principalValue)
	return pv.v, pv.p, ok
}

// authenticate is the middleware that requires "Authorization: Bearer
// <token>" and puts the token's viewer and principal in the context.
// Requests without a valid token get 401 with a JSON error body.
func authenticate(auth Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, secret, ok := strings.Cut(h, " ")
		if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="verband"`)
			writeError(w, http.StatusUnauthorized, CodeUnauthenticated, "send an API token: Authorization: Bearer <token>")
			return
		}
		v, p, err := auth.Authenticate(strings.TrimSpace(secret))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="verband", error="invalid_token"`)
			msg := "invalid, expired or revoked token"
			if !errors.Is(err, graph.ErrUnauthenticated) {
				msg = "cannot check the token"
				writeError(w, http.StatusServiceUnavailable, CodeInternal, msg)
				return
			}
			writeError(w, http.StatusUnauthorized, CodeUnauthenticated, msg)
			return
		}
		AuditRecordFrom(r.Context()).setPrincipal(p)
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), v, p)))
	})
}
