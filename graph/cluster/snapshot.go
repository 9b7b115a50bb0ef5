package cluster

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/correlate"
)

// Kind is the kind of run (see graph.Store.PutRun) under which snapshots
// are stored.
const Kind = "clusters"

// InstanceAudience is the audience of the operator's snapshots over
// everything the instance holds (the System viewer). Organizations'
// snapshots are stored under their names.
const InstanceAudience = "instance"

// SnapshotVersion is the version of the stored snapshot encoding. A
// snapshot of a later version is refused (ErrSnapshot) rather than misread.
const SnapshotVersion = 1

// Snapshot is everything one run found for one audience: the clusters with
// their members, links, evidence and bridges, what changed since the
// audience's previous run, and the links of the run for the next one to
// compare with. It is stored as JSON under Kind, the audience and the run
// id, and it holds only what the audience's projection held.
type Snapshot struct {
	Version  int    `json:"version"`
	Run      string `json:"run"`
	Previous string `json:"previous,omitempty"`
	Audience string `json:"audience"`
	// Started is when the run began (the reference time of the recent and
	// past windows); Finished when its snapshot was made.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Params   Params    `json:"params"`
	Totals   Totals    `json:"totals"`
	// Clusters lists the clusters: new, grown, merged and split ones first,
	// then by size, then by id.
	Clusters []Summary `json:"clusters"`
	Changes  Changes   `json:"changes"`
	// LinkHashes holds the sorted 64-bit FNV-1a hashes of the STIX id
	// pairs of every link at or above MinScore, eight big-endian bytes
	// each, so that the next run can tell which links are new.
	LinkHashes []byte `json:"link_hashes"`
}

// Params are the settings of a run.
type Params struct {
	MinScore     float64 `json:"min_score"`
	LouvainAbove int     `json:"louvain_above"`
	Resolution   float64 `json:"resolution"`
	Seed         uint64  `json:"seed"`
	MinOverlap   float64 `json:"min_overlap"`
	RecentDays   int     `json:"recent_days"`
	PastDays     int     `json:"past_days"`
	// MaxDF is the correlation document-frequency cap in force.
	MaxDF int `json:"max_df"`
}

// Totals count what a run saw.
type Totals struct {
	Containers int `json:"containers"`
	Links      int `json:"links"`
	Clusters   int `json:"clusters"`
	Singletons int `json:"singletons"`
}

// Summary is one cluster of a snapshot.
type Summary struct {
	ID     string `json:"id"`
	Status Status `json:"status"`
	// Members are ranked by PageRank, highest first.
	Members []Member `json:"members"`
	// NewMembers are the STIX ids of the members that were not in the
	// previous cluster of this id (every member, for a new id).
	NewMembers []string `json:"new_members,omitempty"`
	// Links are the links between members at or above MinScore (A and B
	// index Members), heaviest first, at most Options.MaxLinks.
	Links []Link `json:"links"`
	// Score sums the scores of all the cluster's links, not only those
	// kept.
	Score   float64       `json:"score"`
	Bridges []BridgeValue `json:"bridges,omitempty"`
}

// Member is a container of a cluster.
type Member struct {
	StixID string `json:"id"`
	Type   string `json:"type"`
	Name   string `json:"name"`
	// FirstSeen is the earliest of the container's first_seen, published
	// and created, as the audience sees it.
	FirstSeen time.Time `json:"first_seen,omitzero"`
	Rank      float64   `json:"rank"`
}

// Link is two containers that share evidence.
type Link struct {
	A        int        `json:"a"`
	B        int        `json:"b"`
	Score    float64    `json:"score"`
	Evidence []Evidence `json:"evidence"`
}

// Evidence is one shared value and the rule that made the link, heaviest
// first, at most Options.MaxEvidence per link.
type Evidence struct {
	Kind   string  `json:"kind"`
	Value  string  `json:"value"`
	Rule   string  `json:"rule"`
	Weight float64 `json:"weight"`
}

// BridgeValue is a Bridge of a snapshot, with cluster ids.
type BridgeValue struct {
	Kind        string   `json:"kind"`
	Value       string   `json:"value"`
	Betweenness float64  `json:"betweenness"`
	Clusters    []string `json:"clusters,omitempty"`
}

// Changes is what changed since the previous run (see Identify), and the
// new links between recent and past containers.
type Changes struct {
	New       []string  `json:"new"`
	Grown     []Growth  `json:"grown"`
	Merged    []Merge   `json:"merged"`
	Split     []Split   `json:"split"`
	Dissolved []string  `json:"dissolved"`
	NewLinks  []NewLink `json:"new_links"`
}

// NewLink is a link, absent from the previous run, between a container
// first seen within RecentDays of the run and one first seen more than
// PastDays before it.
type NewLink struct {
	Recent   Member     `json:"recent"`
	Past     Member     `json:"past"`
	Score    float64    `json:"score"`
	Evidence []Evidence `json:"evidence"`
	// Cluster is the id of the cluster holding both, if one does.
	Cluster string `json:"cluster,omitempty"`
}

// RunInfo names a run.
type RunInfo struct {
	// ID is the run id (see RunID); Audience whom it is for.
	ID, Audience string
	// Started is when the run began.
	Started time.Time
	// MaxDF is the correlation document-frequency cap of the projection,
	// recorded in Params.
	MaxDF int
}

// RunID returns the run id of a run started at t: its UTC time with
// nanoseconds in a fixed width ("20260301T101500.000000000Z"), so ids sort
// as times do.
func RunID(t time.Time) string { return t.UTC().Format("20060102T150405.000000000Z") }

// NewSnapshot makes the snapshot of a run: res computed over p, firstSeen
// from FirstSeen, compared with prev (nil for an audience's first run).
func NewSnapshot(p *correlate.Projection, res *Result, firstSeen []time.Time, prev *Snapshot, run RunInfo) *Snapshot {
	o := res.Options
	s := &Snapshot{Version: SnapshotVersion, Run: run.ID, Audience: run.Audience, Started: run.Started,
		Params: Params{MinScore: o.MinScore, LouvainAbove: o.LouvainAbove, Resolution: o.Resolution, Seed: o.Seed,
			MinOverlap: o.MinOverlap, RecentDays: o.RecentDays, PastDays: o.PastDays, MaxDF: run.MaxDF},
		Totals: Totals{Containers: p.Len(), Links: res.Links, Clusters: len(res.Clusters), Singletons: res.Singletons}}
	cur := make([][]string, len(res.Clusters))
	for ci, c := range res.Clusters {
		for _, m := range c.Members {
			cur[ci] = append(cur[ci], p.Container(m).StixID)
		}
	}
	var priors []Prior
	if prev != nil {
		s.Previous = prev.Run
		for _, c := range prev.Clusters {
			pr := Prior{ID: c.ID}
			for _, m := range c.Members {
				pr.Members = append(pr.Members, m.StixID)
			}
			priors = append(priors, pr)
		}
	}
	id := Identify(priors, cur, o.MinOverlap)
	s.Changes = Changes{New: id.New, Grown: id.Grown, Merged: id.Merged, Split: id.Split, Dissolved: id.Dissolved}
	links := p.Links()
	for ci, c := range res.Clusters {
		sum := Summary{ID: id.IDs[ci], Status: id.Status[ci], NewMembers: id.NewMembers[ci], Score: c.Score}
		pos := map[int32]int{}
		for k, m := range c.Members {
			pos[m] = k
			sum.Members = append(sum.Members, memberOf(p, m, firstSeen, c.Rank[k]))
		}
		for _, li := range c.Links[:min(len(c.Links), o.MaxLinks)] {
			l := links[li]
			sum.Links = append(sum.Links, Link{A: pos[l.A], B: pos[l.B], Score: l.Score, Evidence: evidence(l.Evidence, o.MaxEvidence)})
		}
		for _, b := range c.Bridges {
			bv := BridgeValue{Kind: b.Kind, Value: b.Value, Betweenness: b.Betweenness}
			for _, other := range b.Clusters {
				bv.Clusters = append(bv.Clusters, id.IDs[other])
			}
			slices.Sort(bv.Clusters)
			sum.Bridges = append(sum.Bridges, bv)
		}
		s.Clusters = append(s.Clusters, sum)
	}
	slices.SortStableFunc(s.Clusters, func(a, b Summary) int {
		if c := cmp.Compare(statusOrder(a.Status), statusOrder(b.Status)); c != 0 {
			return c
		}
		if c := cmp.Compare(len(b.Members), len(a.Members)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	s.LinkHashes, s.Changes.NewLinks = newLinks(p, res, firstSeen, prev, run.Started, id.IDs)
	s.Finished = time.Now().UTC()
	if s.Finished.Before(s.Started) {
		s.Finished = s.Started
	}
	return s
}

// memberOf describes container i.
func memberOf(p *correlate.Projection, i int32, firstSeen []time.Time, rank float64) Member {
	c := p.Container(i)
	return Member{StixID: c.StixID, Type: c.Type, Name: c.Name, FirstSeen: firstSeen[i], Rank: rank}
}

// statusOrder puts the clusters worth a look first.
func statusOrder(s Status) int {
	switch s {
	case StatusNew, StatusGrown, StatusMerged, StatusSplit:
		return 0
	}
	return 1
}

// evidence converts the heaviest max pieces of evidence.
func evidence(ev []correlate.Evidence, max int) []Evidence {
	out := make([]Evidence, 0, min(len(ev), max))
	for _, e := range ev[:min(len(ev), max)] {
		out = append(out, Evidence{Kind: e.Kind, Value: e.Value, Rule: string(e.Rule), Weight: e.Weight})
	}
	return out
}

// linkHash is the FNV-1a hash of a link's STIX ids in sorted order.
func linkHash(a, b string) uint64 {
	if b < a {
		a, b = b, a
	}
	h := fnv.New64a()
	h.Write([]byte(a))
	h.Write([]byte{0})
	h.Write([]byte(b))
	return h.Sum64()
}

// newLinks returns the packed sorted hashes of the links at or above
// MinScore, and the links among them, absent from prev, between a recent
// and a past container, highest score first (at most MaxNewLinks).
func newLinks(p *correlate.Projection, res *Result, firstSeen []time.Time, prev *Snapshot, at time.Time, ids []string) ([]byte, []NewLink) {
	o := res.Options
	recentFrom := at.AddDate(0, 0, -o.RecentDays)
	pastBefore := at.AddDate(0, 0, -o.PastDays)
	recent := func(i int32) bool { return !firstSeen[i].IsZero() && !firstSeen[i].Before(recentFrom) }
	past := func(i int32) bool { return !firstSeen[i].IsZero() && firstSeen[i].Before(pastBefore) }
	var had []byte
	if prev != nil {
		had = prev.LinkHashes
	}
	var hashes []uint64
	var out []NewLink
	for _, l := range p.Links() {
		if l.Score < o.MinScore {
			continue
		}
		a, b := p.Container(l.A), p.Container(l.B)
		h := linkHash(a.StixID, b.StixID)
		hashes = append(hashes, h)
		r, q := l.A, l.B
		switch {
		case recent(l.A) && past(l.B):
		case recent(l.B) && past(l.A):
			r, q = l.B, l.A
		default:
			continue
		}
		if hasHash(had, h) {
			continue
		}
		nl := NewLink{Score: l.Score, Evidence: evidence(l.Evidence, o.MaxEvidence),
			Recent: memberOf(p, r, firstSeen, 0), Past: memberOf(p, q, firstSeen, 0)}
		if c := res.Of[l.A]; c >= 0 && c == res.Of[l.B] {
			nl.Cluster = ids[c]
		}
		out = append(out, nl)
	}
	slices.Sort(hashes)
	packed := make([]byte, 0, 8*len(hashes))
	for _, h := range hashes {
		packed = binary.BigEndian.AppendUint64(packed, h)
	}
	slices.SortStableFunc(out, func(a, b NewLink) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Recent.StixID, b.Recent.StixID); c != 0 {
			return c
		}
		return cmp.Compare(a.Past.StixID, b.Past.StixID)
	})
	return packed, out[:min(len(out), o.MaxNewLinks)]
}

// hasHash reports whether the packed sorted hashes hold h.
func hasHash(packed []byte, h uint64) bool {
	n := len(packed) / 8
	lo, hi := 0, n
	for lo < hi {
		mid := (lo + hi) / 2
		v := binary.BigEndian.Uint64(packed[8*mid:])
		switch {
		case v == h:
			return true
		case v < h:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return false
}

// FirstSeen returns, for every container of p, the earliest of its
// first_seen, published and created times as viewer v sees it (zero when it
// has none, or is no longer visible), read in one snapshot of s.
func FirstSeen(ctx context.Context, s correlate.Store, v graph.Viewer, p *correlate.Projection) ([]time.Time, error) {
	out := make([]time.Time, p.Len())
	err := s.View(v, func(tx *graph.Tx) error {
		for i := range out {
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			n, err := tx.Node(p.Container(int32(i)).ID)
			if errors.Is(err, graph.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			o, err := n.Object()
			if err != nil {
				return err
			}
			first := o.Created
			for _, prop := range []string{"first_seen", "published"} {
				if str, ok := o.String(prop); ok {
					if t, err := time.Parse(time.RFC3339Nano, str); err == nil && (first.IsZero() || t.Before(first)) {
						first = t
					}
				}
			}
			out[i] = first.UTC()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: first seen of containers: %w", err)
	}
	return out, nil
}

// Encode returns the stored form of s.
func (s *Snapshot) Encode() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode snapshot %s: %w", s.Run, err)
	}
	return b, nil
}

// Decode reads a stored snapshot.
func Decode(b []byte) (*Snapshot, error) {
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w: %w", err, ErrSnapshot)
	}
	if s.Version < 1 || s.Version > SnapshotVersion {
		return nil, fmt.Errorf("decode snapshot %s: version %d, this build reads 1 to %d: %w", s.Run, s.Version, SnapshotVersion, ErrSnapshot)
	}
	if len(s.LinkHashes)%8 != 0 {
		return nil, fmt.Errorf("decode snapshot %s: link hashes of %d bytes: %w", s.Run, len(s.LinkHashes), ErrSnapshot)
	}
	return &s, nil
}

// RunStore is where snapshots live: *graph.Store implements it.
type RunStore interface {
	PutRun(ctx context.Context, kind, audience, id string, data []byte) error
	GetRun(kind, audience, id string) ([]byte, error)
	LatestRun(kind, audience string) (string, []byte, error)
	Runs(kind, audience string, q graph.RunQuery, fn func(id string, data []byte) bool) error
	PruneRuns(ctx context.Context, kind, audience string, keep int) (int, error)
}

// Save stores s under its audience and run id.
func Save(ctx context.Context, st RunStore, s *Snapshot) error {
	b, err := s.Encode()
	if err != nil {
		return err
	}
	if err := st.PutRun(ctx, Kind, s.Audience, s.Run, b); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	return nil
}

// Latest returns the newest snapshot of audience, or an error wrapping
// graph.ErrNotFound when it has none.
func Latest(st RunStore, audience string) (*Snapshot, error) {
	_, b, err := st.LatestRun(Kind, audience)
	if err != nil {
		return nil, fmt.Errorf("latest snapshot of %s: %w", audience, err)
	}
	return Decode(b)
}

// Load returns the snapshot of one run of audience, or an error wrapping
// graph.ErrNotFound.
func Load(st RunStore, audience, run string) (*Snapshot, error) {
	b, err := st.GetRun(Kind, audience, run)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s of %s: %w", run, audience, err)
	}
	return Decode(b)
}

// RunIDs lists the run ids of audience, newest first, older than before
// when it is not "".
func RunIDs(st RunStore, audience, before string) ([]string, error) {
	var ids []string
	err := st.Runs(Kind, audience, graph.RunQuery{Before: before, IDsOnly: true}, func(id string, _ []byte) bool {
		ids = append(ids, id)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list snapshots of %s: %w", audience, err)
	}
	return ids, nil
}
