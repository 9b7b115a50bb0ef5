package stix

import (
	"bufio"
	"fmt"
	"io"
	"runtime"
	"testing"

	"go.uber.org/goleak"
)

// writeSynthetic writes a STIX 2.1 bundle of at least size bytes to w, and
// returns the number of objects in it.
func writeSynthetic(w io.Writer, size int64) (int, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var written int64
	put := func(b []byte) error {
		written += int64(len(b))
		_, err := bw.Write(b)
		return err
	}
	if err := put([]byte("{\n  \"type\": \"bundle\",\n  \"id\": \"bundle--00000000-0000-4000-8000-000000000000\",\n  \"objects\": [\n")); err != nil {
		return 0, err
	}
	var buf []byte
	n := 0
	for ; written < size; n++ {
		buf = buf[:0]
		if n > 0 {
			buf = append(buf, ",\n"...)
		}
		buf = fmt.Appendf(buf, `    {
      "type": "indicator",
      "spec_version": "2.1",
      "id": "indicator--%08x-0000-4000-8000-000000000000",
      "created": "2024-01-02T03:04:05.000Z",
      "modified": "2024-01-02T03:04:05.000Z",
      "name": "Synthetic indicator %d: Überwachung \u00e9t\u00e9 \ud83d\udd0d",
      "description": "`, n, n)
		for i := range 12 {
			buf = fmt.Appendf(buf, "Line %d of object %d says the host 198.51.%d.%d talked to its C2. ", i, n, n%256, i)
		}
		buf = fmt.Appendf(buf, `",
      "pattern": "[ipv4-addr:value = '198.51.%d.%d']",
      "pattern_type": "stix",
      "valid_from": "2024-01-02T03:04:05Z",
      "labels": ["malicious-activity", "c2"],
      "external_references": [{"source_name": "synthetic", "external_id": "S%d", "hashes": {"SHA-256": "%064x"}}]
    }`, n%256, n%200, n, n)
		if err := put(buf); err != nil {
			return n, err
		}
	}
	if err := put([]byte("\n  ]\n}\n")); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// TestStreamMemory streams a ~200 MB bundle, generated on the fly, through
// a pipe and checks that the heap stays far below the input size.
func TestStreamMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 200 MB")
	}
	defer goleak.VerifyNone(t)
	const size = 200 << 20
	const maxHeap = 16 << 20

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse

	pr, pw := io.Pipe()
	count := make(chan int, 1)
	go func() {
		n, err := writeSynthetic(pw, size)
		pw.CloseWithError(err)
		count <- n
	}()
	d, err := NewDecoder(pr, "synthetic.json", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var peak uint64
	n := 0
	for ; ; n++ {
		_, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n%2000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	if want := <-count; n != want {
		t.Errorf("decoded %d objects, want %d", n, want)
	}
	grew := int64(peak) - int64(base)
	t.Logf("%d objects, %d MiB streamed; heap in use grew by at most %.1f MiB (base %.1f MiB)",
		n, size>>20, float64(grew)/(1<<20), float64(base)/(1<<20))
	if grew > maxHeap {
		t.Errorf("heap in use grew by %d bytes, want at most %d for a %d-byte stream", grew, maxHeap, size)
	}
}
