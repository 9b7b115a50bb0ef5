// Package ui holds Verband's web front ends, built with npm and committed as
// static assets that are embedded in the binary, so that serving them needs
// neither node nor any network.
//
// The GraphQL playground is GraphiQL (React), bundled by esbuild from
// ui/playground into ui/static/playground.js and playground.css; run
// ui/build.sh to rebuild it after changing ui/playground. Playground serves
// it at /playground. The page itself needs no token: the user types one in
// GraphiQL's header editor, or opens /playground#token=SECRET to have it
// filled in, and the GraphQL calls the page makes carry it.
package ui
