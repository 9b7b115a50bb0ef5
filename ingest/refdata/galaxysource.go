package refdata

import (
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/schema"
)

// GalaxySource yields the STIX objects of loaded galaxies, for the ingest
// pipeline: one object per cluster (see ClusterObject), then one
// relationship per cluster relation whose target is among the loaded
// clusters. Relations to clusters that are not loaded stay in the source
// cluster's x_misp_related property, and become relationships when the
// galaxies are loaded together. Galaxy clusters are public reference data:
// the source gives no hints, so the load's own policy applies.
type GalaxySource struct {
	name  string
	g     *Galaxies
	gi    int // galaxy
	ci    int // cluster within the galaxy
	rels  []*schema.Object
	ri    int
	index int
	done  bool
}

// Source returns a source over the clusters of g; name names it in errors
// and provenance.
func (g *Galaxies) Source(name string) *GalaxySource {
	return &GalaxySource{name: name, g: g}
}

// Name returns the name given to Source.
func (s *GalaxySource) Name() string { return s.name }

// Next returns the next object, or io.EOF after the last. A cluster that
// cannot be converted yields an *ingest.ObjectError that is not fatal.
func (s *GalaxySource) Next() (*schema.Object, error) {
	for s.gi < len(s.g.galaxies) {
		gal := s.g.galaxies[s.gi]
		if s.ci >= len(gal.Clusters) {
			s.gi, s.ci = s.gi+1, 0
			continue
		}
		c := gal.Clusters[s.ci]
		s.ci++
		idx := s.index
		s.index++
		o, err := ClusterObject(c)
		if err != nil {
			return nil, &ingest.ObjectError{File: s.name, Index: idx, ID: ClusterID(c), Offset: -1, Err: err}
		}
		s.relations(c, o.ID)
		return o, nil
	}
	if s.ri < len(s.rels) {
		o := s.rels[s.ri]
		s.rels[s.ri] = nil
		s.ri++
		s.index++
		return o, nil
	}
	return nil, io.EOF
}

// relations queues the relationships of c whose targets are loaded.
func (s *GalaxySource) relations(c *Cluster, src string) {
	for _, r := range c.Related {
		dst, ok := s.g.ByUUID(r.DestUUID)
		if !ok || strings.TrimSpace(r.Type) == "" {
			continue
		}
		tgt := ClusterID(dst)
		o := Relationship(src, r.Type, tgt, VersionTime(max(c.Version, dst.Version)))
		if len(r.Tags) > 0 {
			raw, _ := json.Marshal(r.Tags)
			o.Props["x_misp_tags"] = raw
		}
		s.rels = append(s.rels, o)
	}
}

// Relationship returns a relationship with an id derived from its source,
// type and target, so the same relation from any input is one object, with
// created and modified set to at.
func Relationship(src, relType, tgt string, at time.Time) *schema.Object {
	ts, _ := json.Marshal(FormatTime(at))
	q := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	id := "relationship--" + DerivedUUID("relationship", src, relType, tgt)
	return &schema.Object{
		Type: "relationship", ID: id, Created: at.UTC().Truncate(time.Millisecond), Modified: at.UTC().Truncate(time.Millisecond),
		Props: map[string]json.RawMessage{
			"type": q("relationship"), "id": q(id), "spec_version": q("2.1"),
			"created": ts, "modified": ts,
			"relationship_type": q(relType), "source_ref": q(src), "target_ref": q(tgt),
		},
	}
}
