package pipeline_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/ingest/pipeline"
	"github.com/verband-cti/verband/internal/shareddata"
)

// BenchmarkLoadATTACK loads ATT&CK Enterprise into an empty store (without
// the search index, to measure the pipeline and the graph's write path).
func BenchmarkLoadATTACK(b *testing.B) {
	file := filepath.Join(shareddata.Dir(b, "attack"), "enterprise-attack.json.gz")
	var objects int
	for b.Loop() {
		b.StopTimer()
		opts := graph.DefaultOptions()
		opts.SyncWrites, opts.Search = false, false
		s := graphtest.OpenWith(b, b.TempDir(), opts)
		b.StartTimer()
		st, err := pipeline.New(s, pipeline.Options{Source: "mitre-attack"}).LoadFiles(context.Background(), []string{file})
		if err != nil {
			b.Fatal(err)
		}
		objects += st.Objects
	}
	b.ReportMetric(float64(objects)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkLoadMaltrail loads the 60 Maltrail files into an empty store
// (without the search index).
func BenchmarkLoadMaltrail(b *testing.B) {
	files, _, err := pipeline.Files([]string{shareddata.Dir(b, "maltrail")})
	if err != nil {
		b.Fatal(err)
	}
	var objects int
	for b.Loop() {
		b.StopTimer()
		opts := graph.DefaultOptions()
		opts.SyncWrites, opts.Search = false, false
		s := graphtest.OpenWith(b, b.TempDir(), opts)
		b.StartTimer()
		st, err := pipeline.New(s, pipeline.Options{Source: "maltrail"}).LoadFiles(context.Background(), files)
		if err != nil {
			b.Fatal(err)
		}
		objects += st.Objects
	}
	b.ReportMetric(float64(objects)/b.Elapsed().Seconds(), "objects/s")
}
