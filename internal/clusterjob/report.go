package clusterjob

import (
	"github.com/verband-cti/verband/graph/cluster"
	"github.com/verband-cti/verband/ui/report"
)

// ToReport turns a stored snapshot into the report document. The snapshot
// was computed for one audience, so the report holds only what that
// audience may see.
func ToReport(s *cluster.Snapshot) *report.Report {
	r := &report.Report{
		Version: report.FormatVersion, Run: s.Run, Previous: s.Previous, Audience: s.Audience,
		Started: s.Started, Finished: s.Finished,
		Params: report.Params{MinScore: s.Params.MinScore, LouvainAbove: s.Params.LouvainAbove, Resolution: s.Params.Resolution,
			Seed: int64(s.Params.Seed), MinOverlap: s.Params.MinOverlap, RecentDays: s.Params.RecentDays,
			PastDays: s.Params.PastDays, MaxDF: s.Params.MaxDF},
		Totals:   report.Totals(s.Totals),
		Clusters: make([]report.Cluster, 0, len(s.Clusters)),
		Changes: report.Changes{
			New: nonNil(s.Changes.New), Dissolved: nonNil(s.Changes.Dissolved),
			Grown: make([]report.Growth, 0, len(s.Changes.Grown)), Merged: make([]report.Merge, 0, len(s.Changes.Merged)),
			Split: make([]report.Split, 0, len(s.Changes.Split)), NewLinks: make([]report.NewLink, 0, len(s.Changes.NewLinks)),
		},
	}
	for _, c := range s.Clusters {
		rc := report.Cluster{ID: c.ID, Status: report.Status(c.Status), NewMembers: c.NewMembers, Score: c.Score,
			Members: make([]report.Container, 0, len(c.Members)), Links: make([]report.Link, 0, len(c.Links))}
		for _, m := range c.Members {
			rc.Members = append(rc.Members, container(m))
		}
		for _, l := range c.Links {
			rc.Links = append(rc.Links, report.Link{A: l.A, B: l.B, Score: l.Score, Evidence: evidence(l.Evidence)})
		}
		for _, b := range c.Bridges {
			rc.Bridges = append(rc.Bridges, report.Bridge(b))
		}
		r.Clusters = append(r.Clusters, rc)
	}
	for _, g := range s.Changes.Grown {
		r.Changes.Grown = append(r.Changes.Grown, report.Growth(g))
	}
	for _, m := range s.Changes.Merged {
		r.Changes.Merged = append(r.Changes.Merged, report.Merge(m))
	}
	for _, sp := range s.Changes.Split {
		r.Changes.Split = append(r.Changes.Split, report.Split(sp))
	}
	for _, nl := range s.Changes.NewLinks {
		r.Changes.NewLinks = append(r.Changes.NewLinks, report.NewLink{Recent: container(nl.Recent), Past: container(nl.Past),
			Score: nl.Score, Evidence: evidence(nl.Evidence), Cluster: nl.Cluster})
	}
	return r
}

func container(m cluster.Member) report.Container {
	return report.Container{StixID: m.StixID, Type: m.Type, Name: m.Name, FirstSeen: m.FirstSeen, Rank: m.Rank}
}

func evidence(ev []cluster.Evidence) []report.Evidence {
	out := make([]report.Evidence, len(ev))
	for i, e := range ev {
		out[i] = report.Evidence(e)
	}
	return out
}

// nonNil makes an absent list an empty one, so the JSON has [] not null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
