package lists_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/ingest/pipeline"
	"github.com/verband-cti/verband/schema"
)

// BenchmarkMaltrail decodes all shared maltrail files and reports trails
// and objects per second, validation included.
func BenchmarkMaltrail(b *testing.B) {
	files := maltrailFiles(b)
	data := make([][]byte, len(files))
	for i, f := range files {
		var err error
		if data[i], err = os.ReadFile(f); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	entries, objects := 0, 0
	for range b.N {
		for i, f := range files {
			dec, err := lists.NewDecoder(bytesReader(data[i]), filepath.Base(f), lists.Options{Time: testTime})
			if err != nil {
				b.Fatal(err)
			}
			for {
				o, err := dec.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				if err := schema.Validate(o); err != nil {
					b.Fatal(err)
				}
				objects++
			}
			entries += dec.Stats().Entries
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(entries)/sec, "entries/s")
	b.ReportMetric(float64(objects)/sec, "objects/s")
}

// BenchmarkMaltrailStore loads all shared maltrail files through the
// pipeline into an empty store per iteration (run it with -benchtime=1x)
// and reports trails and objects per second until committed.
func BenchmarkMaltrailStore(b *testing.B) {
	files := maltrailFiles(b)
	entries, objects := 0, 0
	var elapsed time.Duration
	for range b.N {
		b.StopTimer()
		opts := graph.DefaultOptions()
		opts.SyncWrites = false
		s, err := graph.Open(b.TempDir(), opts)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		for _, f := range files {
			dec, err := lists.Open(f, lists.Options{})
			if err != nil {
				b.Fatal(err)
			}
			st, err := pipeline.New(s, pipeline.Options{Source: "maltrail"}).LoadSource(context.Background(), dec)
			if err != nil || st.Rejected > 0 {
				b.Fatalf("%s: %v %v", f, err, st.Errors)
			}
			entries += dec.Stats().Entries
			objects += st.Objects
			dec.Close()
		}
		elapsed += time.Since(start)
		b.StopTimer()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(entries)/elapsed.Seconds(), "entries/s")
	b.ReportMetric(float64(objects)/elapsed.Seconds(), "objects/s")
}
