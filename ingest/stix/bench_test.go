package stix

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"testing"

	"github.com/verband-cti/verband/internal/shareddata"
)

// BenchmarkDecodeATTACK decodes MITRE ATT&CK Enterprise (24,771 objects,
// 45.9 MB of JSON), from gzip as stored and from plain JSON in memory.
// MB/s counts uncompressed bytes.
func BenchmarkDecodeATTACK(b *testing.B) {
	path := shareddata.Dir(b, "attack", "enterprise-attack.json.gz")
	compressed, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		b.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		data []byte
	}{{"gzip", compressed}, {"json", plain}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			objects := 0
			for b.Loop() {
				d, err := NewDecoder(bytes.NewReader(bc.data), "enterprise-attack.json", DefaultOptions())
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := d.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					objects++
				}
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(objects)/sec, "objects/s")
			b.ReportMetric(float64(len(plain))*float64(b.N)/sec/1e6, "MB/s")
		})
	}
}
