package graph

import (
	"slices"
	"time"
)

func sortTypeCounts(tc []TypeCount) {
	slices.SortFunc(tc, func(a, b TypeCount) int {
		switch {
		case a.Type < b.Type:
			return -1
		case a.Type > b.Type:
			return 1
		}
		return 0
	})
}

// commitClock returns the time stamped on provenance; tests may replace it.
var commitClock = func() time.Time { return time.Now().UTC() }
