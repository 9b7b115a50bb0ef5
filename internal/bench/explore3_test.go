package bench

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/verband-cti/verband/graph"
)

func TestExploreLoad(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	n, _ := strconv.Atoi(os.Getenv("N"))
	opts := graph.DefaultOptions()
	opts.SyncWrites = os.Getenv("SYNC") != ""
	opts.Search = os.Getenv("NOSEARCH") == ""
	s, err := graph.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, _, err := Load(context.Background(), s, NewGenerator(Config{Objects: n, Seed: 1}), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v committed %.0f/s searchable %.0f/s", st, float64(st.Objects)/st.Committed.Seconds(), float64(st.Objects)/st.Searchable.Seconds())
}
