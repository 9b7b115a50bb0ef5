package query

import (
	"fmt"
	"time"
)

// Limits bound what one GraphQL request may cost. Every limit has a safe
// default (DefaultLimits); a zero field means its default. A request over
// a limit fails at once with an error of code LIMIT that names the limit.
type Limits struct {
	// MaxDepth is the deepest field nesting a query may have. Default 15,
	// enough for an object's neighbours' neighbours with their fields.
	MaxDepth int
	// MaxQueryLength is the longest query document, in bytes (variables do
	// not count). Default 32 KiB.
	MaxQueryLength int
	// MaxSelections is the most field selections an operation may expand
	// to once fragments are spread. Default 5,000.
	MaxSelections int
	// MaxParallelism is how many resolvers of one request run at once.
	// Default 8.
	MaxParallelism int
	// Timeout bounds the time of one request. Default 15 s.
	Timeout time.Duration
	// MaxPageSize caps first on every connection; more is an error.
	// Default 500.
	MaxPageSize int
	// MaxNodes caps the objects one request may load in all, so nested
	// connections cannot multiply into millions. Default 20,000.
	MaxNodes int
	// MaxNeighbourDepth caps depth of the neighbours query. Default 3.
	MaxNeighbourDepth int
	// MaxPathDepth caps maxDepth of the paths query. Default 6.
	MaxPathDepth int
	// MaxPaths caps k of the paths query. Default 10.
	MaxPaths int
	// MaxPathVisits caps the edges one paths query may examine while it
	// searches. Default 200,000.
	MaxPathVisits int
	// MaxScan caps the objects a filtered listing (objects, cases,
	// sightings, a timeline, a count) may examine in one request. A page
	// that reaches it ends early with hasNextPage set, so the client can go
	// on from its endCursor; a count that reaches it fails. Default 100,000.
	MaxScan int
	// MaxBodyBytes caps a request body, which holds the data of the ingest
	// mutation. Default 32 MiB.
	MaxBodyBytes int64
}

// DefaultLimits returns the documented defaults.
func DefaultLimits() Limits {
	return Limits{
		MaxDepth:          15,
		MaxQueryLength:    32 << 10,
		MaxSelections:     5000,
		MaxParallelism:    8,
		Timeout:           15 * time.Second,
		MaxPageSize:       500,
		MaxNodes:          20_000,
		MaxNeighbourDepth: 3,
		MaxPathDepth:      6,
		MaxPaths:          10,
		MaxPathVisits:     200_000,
		MaxScan:           100_000,
		MaxBodyBytes:      32 << 20,
	}
}

// withDefaults returns l with every zero or negative field set to its
// default.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	setInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setInt(&l.MaxDepth, d.MaxDepth)
	setInt(&l.MaxQueryLength, d.MaxQueryLength)
	setInt(&l.MaxSelections, d.MaxSelections)
	setInt(&l.MaxParallelism, d.MaxParallelism)
	setInt(&l.MaxPageSize, d.MaxPageSize)
	setInt(&l.MaxNodes, d.MaxNodes)
	setInt(&l.MaxNeighbourDepth, d.MaxNeighbourDepth)
	setInt(&l.MaxPathDepth, d.MaxPathDepth)
	setInt(&l.MaxPaths, d.MaxPaths)
	setInt(&l.MaxPathVisits, d.MaxPathVisits)
	setInt(&l.MaxScan, d.MaxScan)
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = d.MaxBodyBytes
	}
	return l
}

// pageSize checks a connection's first argument against the page size
// cap.
func (l Limits) pageSize(first int32, _ int) (int, error) {
	n := int(first)
	switch {
	case n < 0:
		return 0, invalid("first", "first must not be negative, got %d", n)
	case n > l.MaxPageSize:
		return 0, limitErr("first", "first is %d, above the page size limit of %d", n, l.MaxPageSize)
	}
	return n, nil
}

// String describes the limits for logs.
func (l Limits) String() string {
	return fmt.Sprintf("depth %d, query %d bytes, selections %d, timeout %s, page %d, nodes %d, neighbour depth %d, path depth %d, paths %d",
		l.MaxDepth, l.MaxQueryLength, l.MaxSelections, l.Timeout, l.MaxPageSize, l.MaxNodes, l.MaxNeighbourDepth, l.MaxPathDepth, l.MaxPaths)
}
