package misp

import (
	"bytes"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the user and system CPU time of the process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecodeESET decodes every MISP file of the ESET folder from
// memory and reports objects/s and attributes/s.
func BenchmarkDecodeESET(b *testing.B) {
	var inputs [][]byte
	var size int64
	for _, p := range mispFiles(b) {
		if !strings.Contains(p, "eset") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		inputs = append(inputs, data)
		size += int64(len(data))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	objects := 0
	for i := 0; i < b.N; i++ {
		for _, in := range inputs {
			s, err := NewSource(bytes.NewReader(in), "eset", Options{})
			if err != nil {
				b.Fatal(err)
			}
			d := drain(b, s)
			if len(d.errs) > 0 {
				b.Fatal(d.errs[0])
			}
			objects += len(d.objs)
		}
	}
	b.ReportMetric(float64(objects)/b.Elapsed().Seconds(), "objects/s")
	// On a shared machine wall time says little; CPU time says what the
	// decoder costs.
	b.ReportMetric(float64(objects)/(cpuTime()-cpu0).Seconds(), "objects/cpu-s")
	b.ReportMetric(float64(objects)/float64(b.N), "objects/op")
}
