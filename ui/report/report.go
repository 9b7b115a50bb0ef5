package report

import "time"

// FormatVersion is the version of the JSON document. It changes when a field
// changes meaning or goes away; new fields do not change it.
const FormatVersion = 1

// Report is what one cluster run found for one audience: the clusters of the
// containers the audience may see, and what changed since the audience's
// previous run. It is the JSON document a run writes and posts to a webhook,
// and the model the HTML page is drawn from. Everything in it was computed over
// the audience's view, so a report can go to the audience as it stands.
type Report struct {
	// Version is FormatVersion.
	Version int `json:"version"`
	// Run identifies the run; Previous the audience's run it was compared
	// with ("" for the first run).
	Run      string `json:"run"`
	Previous string `json:"previous,omitempty"`
	// Audience is the organization the report was computed for, or
	// "instance" for the system view of an operator's report.
	Audience string `json:"audience"`
	// Started and Finished bound the run.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Params are the settings the run used.
	Params Params `json:"params"`
	// Totals count what the run saw.
	Totals Totals `json:"totals"`
	// Clusters lists every cluster of the run, new and grown ones first,
	// then by size.
	Clusters []Cluster `json:"clusters"`
	// Changes says what changed since the previous run.
	Changes Changes `json:"changes"`
}

// Params are the settings of a run.
type Params struct {
	// MinScore is the link score below which links are left out of the
	// components.
	MinScore float64 `json:"min_score"`
	// LouvainAbove is the component size above which a component is split
	// into Louvain communities; Resolution and Seed are Louvain's.
	LouvainAbove int     `json:"louvain_above"`
	Resolution   float64 `json:"resolution"`
	Seed         int64   `json:"seed"`
	// MinOverlap is the share of members (Jaccard) two clusters of
	// successive runs must have in common to keep one id.
	MinOverlap float64 `json:"min_overlap"`
	// RecentDays and PastDays define the new links between a recent
	// container (first seen within RecentDays of the run) and a past one
	// (first seen more than PastDays before it).
	RecentDays int `json:"recent_days"`
	PastDays   int `json:"past_days"`
	// MaxDF is the correlation document-frequency cap in force.
	MaxDF int `json:"max_df"`
}

// Totals count what a run saw.
type Totals struct {
	Containers int `json:"containers"`
	Links      int `json:"links"`
	Clusters   int `json:"clusters"`
	// Singletons is the number of containers that link to nothing above
	// MinScore; they form no cluster.
	Singletons int `json:"singletons"`
}

// Status says how a cluster came to be in this run.
type Status string

// The statuses of a cluster.
const (
	StatusNew       Status = "new"
	StatusGrown     Status = "grown"
	StatusMerged    Status = "merged"
	StatusSplit     Status = "split"
	StatusShrunk    Status = "shrunk"
	StatusUnchanged Status = "unchanged"
)

// Cluster is one group of linked containers, with what links them.
type Cluster struct {
	// ID stays the same across runs for as long as the cluster's members
	// overlap enough (Params.MinOverlap).
	ID     string `json:"id"`
	Status Status `json:"status"`
	// Members are the containers, ranked by PageRank in the cluster's
	// link graph, highest first.
	Members []Container `json:"members"`
	// NewMembers lists the STIX ids of the members that were in no cluster
	// of this id in the previous run.
	NewMembers []string `json:"new_members,omitempty"`
	// Links are the links between members (by index into Members), with
	// their evidence, heaviest first; at most a run's link cap are kept.
	Links []Link `json:"links"`
	// Score is the sum of the link scores inside the cluster.
	Score float64 `json:"score"`
	// Bridges rank the values that hold the cluster together, or tie it to
	// other clusters, by the betweenness of the links they carry.
	Bridges []Bridge `json:"bridges,omitempty"`
}

// Container is one member of a cluster.
type Container struct {
	StixID string `json:"id"`
	Type   string `json:"type"`
	Name   string `json:"name"`
	// FirstSeen is the earliest time the container records (first_seen,
	// published, created).
	FirstSeen time.Time `json:"first_seen,omitzero"`
	// Rank is the container's PageRank in the cluster.
	Rank float64 `json:"rank"`
}

// Link is two members that share evidence.
type Link struct {
	A        int        `json:"a"`
	B        int        `json:"b"`
	Score    float64    `json:"score"`
	Evidence []Evidence `json:"evidence"`
}

// Evidence is one shared value and the rule that made the link.
type Evidence struct {
	Kind   string  `json:"kind"`
	Value  string  `json:"value"`
	Rule   string  `json:"rule"`
	Weight float64 `json:"weight"`
}

// Bridge is a value ranked by how much of the cluster structure passes
// through the links it carries.
type Bridge struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
	// Betweenness is the sum of the betweenness of the links carrying the
	// value; Clusters the ids of the clusters whose members hold it.
	Betweenness float64  `json:"betweenness"`
	Clusters    []string `json:"clusters,omitempty"`
}

// Changes is what changed since the previous run.
type Changes struct {
	// New lists the ids of clusters with no predecessor.
	New []string `json:"new"`
	// Grown lists clusters that kept their id and gained members.
	Grown []Growth `json:"grown"`
	// Merged lists clusters made of several previous ones.
	Merged []Merge `json:"merged"`
	// Split lists previous clusters whose members now form several.
	Split []Split `json:"split"`
	// Dissolved lists the ids of previous clusters with no successor.
	Dissolved []string `json:"dissolved"`
	// NewLinks are links, absent from the previous run, between a recent
	// container and a past one: a new case that links to an old incident.
	NewLinks []NewLink `json:"new_links"`
}

// Growth is a cluster that gained members.
type Growth struct {
	ID         string   `json:"id"`
	NewMembers []string `json:"new_members"`
}

// Merge is a cluster that took in several previous clusters.
type Merge struct {
	ID   string   `json:"id"`
	From []string `json:"from"`
}

// Split is a previous cluster whose members went to several clusters.
type Split struct {
	From string   `json:"from"`
	Into []string `json:"into"`
}

// NewLink is a new link between a recent and a past container.
type NewLink struct {
	Recent   Container  `json:"recent"`
	Past     Container  `json:"past"`
	Score    float64    `json:"score"`
	Evidence []Evidence `json:"evidence"`
	// Cluster is the id of the cluster holding both, if any.
	Cluster string `json:"cluster,omitempty"`
}
