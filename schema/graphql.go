package schema

import (
	"embed"
	"io/fs"
	"strings"
)

// graphqlFiles holds the GraphQL SDL of the API, one file per area: the
// queries and their types (api.graphql), the STIX object types
// (objects.graphql), the mutations (mutations.graphql), and files that
// extend Query and Mutation: account administration (admin.graphql), the
// audit log (audit.graphql), hit/no-hit lookups (hits.graphql),
// correlations (correlate.graphql), clusters, cluster reports and
// correlation paths (cluster.graphql), and the settings of incoming data
// (sources.graphql).
//
//go:embed *.graphql
var graphqlFiles embed.FS

// GraphQL returns the API's GraphQL schema (SDL): the embedded *.graphql
// files joined in name order.
func GraphQL() string {
	names, err := fs.Glob(graphqlFiles, "*.graphql")
	if err != nil {
		return "" // unreachable: the pattern is valid
	}
	var b strings.Builder
	for _, n := range names {
		data, err := graphqlFiles.ReadFile(n)
		if err != nil {
			continue // unreachable: the file is embedded
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
}
