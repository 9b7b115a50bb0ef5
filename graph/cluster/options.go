package cluster

import (
	"fmt"
	"math"
)

// Defaults of Options.
const (
	// DefaultMinScore is the link score a link needs to join two containers
	// in a cluster. A value that two containers alone share among a few
	// dozen weighs about ln(1+N/2) ≈ 3; one shared with many, or derived
	// through a loose rule, weighs less. 1 keeps every link that a rare
	// value or several common ones make, and drops the links of a single
	// common value.
	DefaultMinScore = 1.0
	// DefaultLouvainAbove is the component size above which a component is
	// split into Louvain communities.
	DefaultLouvainAbove = 30
	// DefaultMinOverlap is the Jaccard overlap of members two clusters of
	// successive runs need to share one id.
	DefaultMinOverlap = 0.5
	// DefaultMaxLinks is how many links (heaviest first) a cluster keeps
	// for its report.
	DefaultMaxLinks = 200
	// DefaultMaxEvidence is how many pieces of evidence (heaviest first) a
	// reported link keeps.
	DefaultMaxEvidence = 10
	// DefaultMaxBridges is how many bridge values a cluster keeps.
	DefaultMaxBridges = 10
	// DefaultMaxNewLinks is how many new recent-to-past links a run keeps,
	// highest score first.
	DefaultMaxNewLinks = 500
	// DefaultExactBetweenness is the largest component whose link
	// betweenness is computed from every source; larger ones use
	// DefaultBetweennessSamples sources drawn by the seed.
	DefaultExactBetweenness   = 2000
	DefaultBetweennessSamples = 500
)

// Options configure a cluster run. The zero value takes every default.
type Options struct {
	// MinScore is the score below which a link is left out of the
	// components, the communities and the link graph; 0 means
	// DefaultMinScore. Use a tiny positive value to keep every link.
	MinScore float64
	// LouvainAbove is the component size above which Louvain splits a
	// component into communities; 0 means DefaultLouvainAbove.
	LouvainAbove int
	// Resolution is Louvain's γ; 0 means 1.
	Resolution float64
	// Seed seeds Louvain and the betweenness samples: the same projection
	// and seed give the same clusters.
	Seed uint64
	// MinOverlap is the Jaccard overlap two clusters of successive runs
	// need to keep one id (see Identify); 0 means DefaultMinOverlap.
	MinOverlap float64
	// RecentDays and PastDays define the new links a run reports: between
	// a container first seen within RecentDays of the run and one first
	// seen more than PastDays before it. 0 means 7 and 30.
	RecentDays, PastDays int
	// MaxLinks, MaxEvidence, MaxBridges and MaxNewLinks bound what a
	// snapshot keeps; 0 means the defaults.
	MaxLinks, MaxEvidence, MaxBridges, MaxNewLinks int
	// ExactBetweenness and BetweennessSamples: see
	// DefaultExactBetweenness; 0 means the defaults.
	ExactBetweenness, BetweennessSamples int
}

// WithDefaults returns the options in force: o with every zero field set
// to its default. It fails with ErrInvalid naming the first field out of
// range.
func (o Options) WithDefaults() (Options, error) {
	switch {
	case o.MinScore < 0 || math.IsNaN(o.MinScore) || math.IsInf(o.MinScore, 0):
		return o, fmt.Errorf("min score %v: want a finite number >= 0: %w", o.MinScore, ErrInvalid)
	case o.LouvainAbove < 0:
		return o, fmt.Errorf("louvain-above %d: want >= 0: %w", o.LouvainAbove, ErrInvalid)
	case o.Resolution < 0 || math.IsNaN(o.Resolution) || math.IsInf(o.Resolution, 0):
		return o, fmt.Errorf("resolution %v: want a finite number >= 0: %w", o.Resolution, ErrInvalid)
	case o.MinOverlap < 0 || o.MinOverlap > 1 || math.IsNaN(o.MinOverlap):
		return o, fmt.Errorf("min overlap %v: want a Jaccard share in (0, 1]: %w", o.MinOverlap, ErrInvalid)
	case o.RecentDays < 0 || o.PastDays < 0:
		return o, fmt.Errorf("recent days %d, past days %d: want >= 0: %w", o.RecentDays, o.PastDays, ErrInvalid)
	case o.MaxLinks < 0 || o.MaxEvidence < 0 || o.MaxBridges < 0 || o.MaxNewLinks < 0 || o.ExactBetweenness < 0 || o.BetweennessSamples < 0:
		return o, fmt.Errorf("a negative cap: %w", ErrInvalid)
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if o.MinScore == 0 {
		o.MinScore = DefaultMinScore
	}
	if o.Resolution == 0 {
		o.Resolution = 1
	}
	if o.MinOverlap == 0 {
		o.MinOverlap = DefaultMinOverlap
	}
	def(&o.LouvainAbove, DefaultLouvainAbove)
	def(&o.RecentDays, 7)
	def(&o.PastDays, 30)
	def(&o.MaxLinks, DefaultMaxLinks)
	def(&o.MaxEvidence, DefaultMaxEvidence)
	def(&o.MaxBridges, DefaultMaxBridges)
	def(&o.MaxNewLinks, DefaultMaxNewLinks)
	def(&o.ExactBetweenness, DefaultExactBetweenness)
	def(&o.BetweennessSamples, DefaultBetweennessSamples)
	return o, nil
}
