package bench

import (
	"io"
	"os"
	"testing"
	"time"
)

func TestExploreSpeed(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	g := NewGenerator(Config{Objects: 1_000_000, Seed: 1})
	start := time.Now()
	for {
		_, err := g.Next()
		if err == io.EOF {
			break
		}
	}
	t.Logf("gen 1M: %v", time.Since(start))
}
