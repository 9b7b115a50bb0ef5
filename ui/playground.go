package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static/index.html static/playground.js static/playground.css
var static embed.FS

// PlaygroundPath is where Mount serves the playground page; its assets live
// under PlaygroundPath + "/".
const PlaygroundPath = "/playground"

// contentSecurityPolicy allows the page nothing beyond its own origin (and
// the data: URLs of the fonts and icons inlined in the CSS): the playground
// never fetches from the network.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one embedded file with what its responses need.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler mounts HTTP handlers; *query.Server is one.
type Handler interface {
	Handle(pattern string, h http.Handler, auth bool)
}

// Mount serves the playground on srv at PlaygroundPath, without
// authentication: the page and its assets are public, and the GraphQL
// requests the page makes carry the token the user gives it.
func Mount(srv Handler) {
	h := Playground()
	srv.Handle("GET "+PlaygroundPath, h, false)
	srv.Handle("GET "+PlaygroundPath+"/", h, false)
}

// Playground returns the handler of the playground page and its assets. It
// serves the page at any path ending in "/playground" and the assets at
// "/playground/NAME", so it works behind a proxy that adds a prefix; the
// page sends its GraphQL requests to the "graphql" next to it.
func Playground() http.Handler {
	assets := map[string]asset{}
	for name, typ := range map[string]string{
		"index.html":     "text/html; charset=utf-8",
		"playground.js":  "text/javascript; charset=utf-8",
		"playground.css": "text/css; charset=utf-8",
	} {
		b, err := fs.ReadFile(static, "static/"+name)
		if err != nil {
			panic("ui: embedded asset missing: " + err.Error()) // the go:embed line guarantees it
		}
		sum := sha256.Sum256(b)
		assets[name] = asset{body: b, contentType: typ, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := r.URL.Path
		name := "index.html"
		switch {
		case strings.HasSuffix(p, PlaygroundPath):
		case strings.HasSuffix(p, PlaygroundPath+"/"):
			// The page's relative asset URLs need the path without the slash.
			http.Redirect(w, r, "../playground", http.StatusMovedPermanently)
			return
		default:
			name = path.Base(p)
			if name == "index.html" || !strings.HasSuffix(path.Dir(p), PlaygroundPath) {
				http.NotFound(w, r)
				return
			}
		}
		a, ok := assets[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Referrer-Policy", "no-referrer")
		if name == "index.html" {
			h.Set("Cache-Control", "no-cache")
		} else {
			h.Set("Cache-Control", "public, max-age=3600")
		}
		if match := r.Header.Get("If-None-Match"); match != "" && match == a.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(a.body)
	})
}
