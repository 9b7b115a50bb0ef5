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

// periodic is background work that runs every interval until halted.
type periodic struct {
	stop, done chan struct{}
}

// startPeriodic runs fn every interval on a goroutine of its own. fn gets
// the channel that halt closes, to end long work early.
func startPeriodic(interval time.Duration, fn func(stop <-chan struct{})) *periodic {
	p := &periodic{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				fn(p.stop)
			}
		}
	}()
	return p
}

// halt stops the work and waits until fn has returned; a nil periodic is
// nothing to halt.
func (p *periodic) halt() {
	if p == nil {
		return
	}
	close(p.stop)
	<-p.done
}
