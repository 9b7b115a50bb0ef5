package misp

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/ingest/refdata"
	"github.com/verband-cti/verband/schema"
)

// attrInfo is what the converter reads from one attribute.
type attrInfo struct {
	rec      record
	path     string
	typ      string
	value    string
	uuid     string // as given
	stixUUID string // valid uuid for identifiers
	toIDs    bool
	deleted  bool
	ts       time.Time
	first    time.Time
	last     time.Time
	tags     []string
	pol      policy
	m        mapping
}

func (e *eventConv) readAttribute(a record, path string, parent policy, parentTS time.Time) (*attrInfo, bool) {
	ai := &attrInfo{rec: a, path: path}
	var err error
	fail := func(err error) (*attrInfo, bool) {
		e.fail(path, ai.uuid, err)
		return nil, false
	}
	if ai.uuid, err = a.str("uuid", path); err != nil {
		return fail(err)
	}
	if ai.typ, err = a.str("type", path); err != nil {
		return fail(err)
	}
	if strings.TrimSpace(ai.typ) == "" {
		return fail(&fieldError{field: path + "type", err: fmt.Errorf("%w: attribute without type", ErrBadField)})
	}
	if _, ok := a["value"]; !ok {
		return fail(&fieldError{field: path + "value", err: fmt.Errorf("%w: attribute without value", ErrBadField)})
	}
	if ai.value, err = a.str("value", path); err != nil {
		return fail(err)
	}
	if ai.toIDs, err = a.boolean("to_ids", path); err != nil {
		return fail(err)
	}
	if ai.deleted, err = a.boolean("deleted", path); err != nil {
		return fail(err)
	}
	var ok bool
	if ai.ts, ok, err = a.unixTime("timestamp", path); err != nil {
		return fail(err)
	} else if !ok {
		ai.ts = parentTS
	}
	if ai.first, _, err = a.isoTime("first_seen", path); err != nil {
		return fail(err)
	}
	if ai.last, _, err = a.isoTime("last_seen", path); err != nil {
		return fail(err)
	}
	dist, hasDist, err := a.integer("distribution", path)
	if err != nil {
		return fail(err)
	}
	if !hasDist || e.s.opts.IgnoreDistribution {
		dist = -1
	}
	if ai.tags, err = tagNames(a, path); err != nil {
		return fail(err)
	}
	sharing, err := sharingOrgs(a, path)
	if err != nil {
		return fail(err)
	}
	data, err := a.str("data", path)
	if err != nil {
		return fail(err)
	}
	ai.pol = parent.child(ai.tags, int(dist), sharing)
	ai.stixUUID = strings.ToLower(strings.TrimSpace(ai.uuid))
	if !refdata.IsUUID(ai.stixUUID) {
		ai.stixUUID = refdata.DerivedUUID("misp-attribute", e.evUUID, path, ai.uuid, ai.typ, ai.value)
	}
	ai.m = mapAttribute(ai.typ, ai.value, data)
	if category, _ := a.str("category", path); isReference(ai.typ, category, ai.toIDs) {
		ai.m = mapping{unmapped: "a link to an external analysis, not an observable"}
	}
	if ai.deleted {
		// A deleted attribute is kept, revoked, but names no observable:
		// it must not link anything.
		ai.m = mapping{unmapped: "deleted in MISP", pattern: ai.m.pattern, patternType: ai.m.patternType}
	}
	return ai, true
}

// isReference reports an attribute that points at an analysis of the
// event rather than at something the threat used: a URL filed under
// "External analysis" and not meant for detection, as publishers file the
// address of their own write-up (ESET's events all cite
// www.welivesecurity.com so). It is kept like a "link" attribute, without
// an observable, so that it links no event to the others citing the same
// publisher. A URL under "External analysis" marked to_ids is an
// indicator and stays one.
func isReference(typ, category string, toIDs bool) bool {
	return (typ == "url" || typ == "uri") && category == "External analysis" && !toIDs
}

// attrProps returns the custom properties that keep an attribute's fields.
func (ai *attrInfo) attrProps(p map[string]any) {
	skip := []string{"Tag", "Galaxy", "Sighting"}
	if ai.m.usedData {
		skip = append(skip, "data")
	}
	keepFields(p, ai.rec, attributeKeys, skip...)
	if labels := labelsOf(ai.tags); len(labels) > 0 {
		p["labels"] = labels
	}
	if ai.m.unmapped != "" && !ai.deleted {
		p["x_misp_unmapped"] = ai.m.unmapped
	}
}

// indicator builds the indicator of a to_ids attribute.
func (e *eventConv) indicator(ai *attrInfo) (*schema.Object, error) {
	p := e.sdoBase("indicator", "indicator--"+ai.stixUUID, ai.ts, ai.ts, ai.pol)
	validFrom := ai.ts
	if !ai.first.IsZero() {
		validFrom = ai.first
	}
	p["valid_from"] = stamp(validFrom)
	if !ai.last.IsZero() && ai.last.After(validFrom) {
		p["valid_until"] = stamp(ai.last)
	}
	p["pattern"] = ai.m.pattern
	p["pattern_type"] = cmpOr(ai.m.patternType, "stix")
	if p["pattern_type"] == "stix" {
		p["pattern_version"] = "2.1"
	}
	if c, _ := ai.rec.str("comment", ""); c != "" {
		p["description"] = c
	}
	if ai.deleted {
		p["revoked"] = true
	}
	ai.attrProps(p)
	return build(p)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// attribute converts one attribute. obj is nil for an attribute of the
// event, and the enclosing object otherwise.
func (e *eventConv) attribute(a record, path string, obj *objectConv) {
	parent, parentTS := e.pol, e.ts
	if obj != nil {
		parent, parentTS = obj.pol, obj.ts
	}
	ai, ok := e.readAttribute(a, path, parent, parentTS)
	if !ok {
		return
	}
	hints := ai.pol.hints(e.owner)
	// Observables, and the relationships between them.
	var refs []string
	fileLike := obj != nil && obj.fileLike
	for _, sco := range ai.m.scos {
		if fileLike && sco.Type == "file" && ai.m.hashes != nil {
			obj.addHashes(ai.m.hashes)
			continue
		}
		if fileLike && sco.Type == "file" && ai.m.fileName != "" && ai.m.hashes == nil {
			obj.names = append(obj.names, sco)
			continue
		}
		e.add(sco, hints, true)
		refs = append(refs, sco.ID)
	}
	for _, r := range ai.m.rels {
		e.scoRelationship(r, ai.ts, hints)
	}
	for _, sdo := range ai.m.sdos {
		e.add(sdo, ingest.Hints{}, true)
		refs = append(refs, sdo.ID)
	}
	var carrier string
	switch {
	case ai.toIDs && ai.m.pattern != "":
		ind, err := e.indicator(ai)
		if err != nil {
			e.fail(path, ai.uuid, fmt.Errorf("build indicator: %w", err))
			return
		}
		if obj != nil {
			ind.Props["x_misp_object_uuid"], _ = json.Marshal(obj.uuid)
		}
		e.add(ind, hints, true)
		carrier = ind.ID
	case obj != nil:
		// The object's carrier keeps the attribute.
	case len(refs) > 0 && len(ai.m.sdos) == 0:
		p := e.sdoBase("observed-data", "observed-data--"+ai.stixUUID, ai.ts, ai.ts, ai.pol)
		first, last := ai.ts, ai.ts
		if !ai.first.IsZero() {
			first, last = ai.first, ai.first
		}
		if !ai.last.IsZero() && !ai.last.Before(first) {
			last = ai.last
		}
		p["first_observed"], p["last_observed"], p["number_observed"] = stamp(first), stamp(last), 1
		p["object_refs"] = refs
		if ai.deleted {
			p["revoked"] = true
		}
		ai.attrProps(p)
		od, err := build(p)
		if err != nil {
			e.fail(path, ai.uuid, fmt.Errorf("build observed-data: %w", err))
			return
		}
		e.add(od, hints, true)
		carrier = od.ID
	default:
		p := e.sdoBase(TypeAttribute, TypeAttribute+"--"+ai.stixUUID, ai.ts, ai.ts, ai.pol)
		if len(refs) > 0 {
			p["object_refs"] = refs
		}
		if ai.deleted {
			p["revoked"] = true
		}
		ai.attrProps(p)
		xa, err := build(p)
		if err != nil {
			e.fail(path, ai.uuid, fmt.Errorf("build %s: %w", TypeAttribute, err))
			return
		}
		e.add(xa, hints, true)
		carrier = xa.ID
	}
	if obj != nil {
		if ai.m.failed && ai.uuid != "" {
			if obj.unmapped == nil {
				obj.unmapped = map[string]string{}
			}
			obj.unmapped[ai.uuid] = ai.m.unmapped
		}
		obj.attrs = append(obj.attrs, ai)
		obj.refs = append(obj.refs, refs...)
		obj.indicators = append(obj.indicators, carrier)
		return
	}
	if ai.uuid != "" {
		e.carriers[strings.ToLower(ai.uuid)] = carrier
	}
	e.attrLinks(ai, carrier)
}

// attrLinks converts an attribute's sightings, galaxies and galaxy tags,
// which refer to the attribute's carrier.
func (e *eventConv) attrLinks(ai *attrInfo, carrier string) {
	sightings, err := ai.rec.list("Sighting", ai.path)
	if err != nil {
		e.fail(ai.path, ai.uuid, err)
	}
	for i, raw := range sightings {
		p := ai.path + "Sighting[" + strconv.Itoa(i) + "]"
		s, err := decodeRecord(raw, p)
		if err != nil {
			e.fail(p, ai.uuid, err)
			continue
		}
		e.sighting(s, p+".", carrier, ai)
	}
	var targets []string
	gals, err := ai.rec.list("Galaxy", ai.path)
	if err != nil {
		e.fail(ai.path, ai.uuid, err)
	}
	for gi, graw := range gals {
		path := ai.path + "Galaxy[" + strconv.Itoa(gi) + "]."
		g, err := decodeRecord(graw, strings.TrimSuffix(path, "."))
		if err != nil {
			e.fail(path, ai.uuid, err)
			continue
		}
		gtype, _ := g.str("type", path)
		cl, err := g.list("GalaxyCluster", path)
		if err != nil {
			e.fail(path, ai.uuid, err)
			continue
		}
		for ci, craw := range cl {
			c, err := refdata.ParseCluster(craw, gtype, 0)
			if err != nil {
				e.fail(path+"GalaxyCluster["+strconv.Itoa(ci)+"]", ai.uuid, err)
				continue
			}
			o, err := refdata.ClusterObject(c)
			if err != nil {
				e.fail(path+"GalaxyCluster["+strconv.Itoa(ci)+"]", ai.uuid, err)
				continue
			}
			e.add(o, ingest.Hints{}, true)
			e.clusters[c.TagName()] = o.ID
			targets = append(targets, o.ID)
		}
	}
	for _, t := range ai.tags {
		if strings.HasPrefix(t, "misp-galaxy:") {
			if id := e.clusterForTag(t); id != "" && !slices.Contains(targets, id) {
				targets = append(targets, id)
			}
		}
	}
	for _, tgt := range targets {
		relType := "related-to"
		if strings.HasPrefix(carrier, "indicator--") {
			switch schema.IdentifierType(tgt) {
			case "attack-pattern", "campaign", "infrastructure", "intrusion-set", "malware", "threat-actor", "tool":
				relType = "indicates"
			}
		}
		rel := refdata.Relationship(carrier, relType, tgt, ai.ts)
		if ai.uuid != "" {
			rel.Props["x_misp_attribute_uuid"], _ = json.Marshal(ai.uuid)
		}
		e.finishRelationship(rel, ai.pol, ai.path)
	}
}

// finishRelationship adds the event's creator and markings to a
// relationship made for the event, and queues it.
func (e *eventConv) finishRelationship(rel *schema.Object, pol policy, path string) {
	p := map[string]any{}
	for k, v := range rel.Props {
		p[k] = v
	}
	base := e.sdoBase("relationship", rel.ID, rel.Created, rel.Modified, pol)
	for k, v := range base {
		if _, ok := p[k]; !ok || k == "object_marking_refs" || k == "created_by_ref" {
			p[k] = v
		}
	}
	o, err := build(p)
	if err != nil {
		e.fail(path, rel.ID, fmt.Errorf("build relationship: %w", err))
		return
	}
	e.add(o, pol.hints(e.owner), true)
}

// scoRelationship queues a relationship between two observables, such as
// a domain resolving to an address. Like the observables it links, it
// belongs to no event: its id derives from its ends and type, and it has
// no creator or marking.
func (e *eventConv) scoRelationship(r [3]string, ts time.Time, h ingest.Hints) {
	e.add(refdata.Relationship(r[0], r[1], r[2], ts), h, true)
}

// sighting converts one sighting of the attribute carried by carrier.
func (e *eventConv) sighting(s record, path, carrier string, ai *attrInfo) {
	uuid, err := s.str("uuid", path)
	if err != nil {
		e.fail(path, ai.uuid, err)
		return
	}
	when, ok, err := s.unixTime("date_sighting", path)
	if err != nil {
		e.fail(path, uuid, err)
		return
	}
	if !ok {
		when = ai.ts
	}
	id := refdata.STIXID("sighting", uuid, "misp-sighting", carrier, path)
	p := e.sdoBase("sighting", id, when, when, ai.pol)
	p["sighting_of_ref"] = carrier
	p["first_seen"], p["last_seen"], p["count"] = stamp(when), stamp(when), 1
	if org, err := e.identity(s, "Organisation", path); err != nil {
		e.fail(path, uuid, err)
		return
	} else if org != nil {
		p["where_sighted_refs"] = []string{org.ID}
		p["created_by_ref"] = org.ID
	}
	keepFields(p, s, sightingKeys)
	o, err := build(p)
	if err != nil {
		e.fail(path, uuid, fmt.Errorf("build sighting: %w", err))
		return
	}
	e.add(o, ai.pol.hints(e.owner), true)
}
