package query

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
)

// BenchmarkAuditOverhead measures what auditing adds to a GraphQL request:
// the same authenticated request through the handler with and without the
// audit middleware, one request at a time ("serial") and from 16
// goroutines ("parallel", where concurrent appends share commits), with
// synchronous writes (the default, sync=true) and without. Compare ns/op of
// "audited" with "plain":
//
//	go test ./query -run '^$' -bench AuditOverhead
func BenchmarkAuditOverhead(b *testing.B) {
	log := slog.New(slog.DiscardHandler)
	body := `{"query":"query N($id: ID!) { node(id: $id) { stixId ... on Malware { name neighbours(first: 5) { edges { node { stixId } } } } } }","variables":{"id":"` +
		graphtest.FixtureIDs.Malware + `"}}`
	for _, sync := range []bool{true, false} {
		opts := graph.DefaultOptions()
		opts.SyncWrites = sync
		opts.SearchPersistInterval = 10 * time.Millisecond
		store := graphtest.OpenWith(b, b.TempDir(), opts)
		graphtest.Load(b, store, graphtest.Fixture(b))
		api, err := NewAPI(store, APIOptions{Logger: log})
		if err != nil {
			b.Fatal(err)
		}
		secret := graphtest.Token(b, store, graphtest.OrgA, "alice", graph.RoleReader)
		send := func(b *testing.B, h http.Handler) {
			req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK || strings.Contains(w.Body.String(), `"errors"`) {
				b.Errorf("%d %s", w.Code, w.Body) // not Fatal: RunParallel goroutines call it too
			}
		}
		handlers := []struct {
			name string
			h    http.Handler
		}{
			{"plain", authenticate(store, api)},
			{"audited", audited(store, log, authenticate(store, api))},
		}
		for _, h := range handlers {
			name := "sync=" + map[bool]string{true: "true", false: "false"}[sync]
			b.Run(name+"/serial/"+h.name, func(b *testing.B) {
				for b.Loop() {
					send(b, h.h)
				}
			})
			b.Run(name+"/parallel/"+h.name, func(b *testing.B) {
				b.SetParallelism(8)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						send(b, h.h)
					}
				})
			})
		}
	}
}
