package misp

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/verband-cti/verband/ingest/refdata"
	"github.com/verband-cti/verband/schema"
)

// objectConv collects one MISP object while its attributes are converted.
type objectConv struct {
	rec        record
	path       string
	uuid       string
	stixUUID   string
	name       string
	ts         time.Time
	pol        policy
	fileLike   bool
	hashes     []map[string]string // merged file hashes; one map per file
	names      []*schema.Object    // file-name observables, used when no hash is given
	attrs      []*attrInfo
	refs       []string          // observables and domain objects of the attributes
	indicators []string          // per attribute: its indicator, or ""
	unmapped   map[string]string // attribute uuid → why its value is no observable
}

// addHashes merges hashes into the object's file; a second value for an
// algorithm already set starts another file.
func (o *objectConv) addHashes(h map[string]string) {
	for _, m := range o.hashes {
		clash := false
		for k, v := range h {
			if old, ok := m[k]; ok && old != v {
				clash = true
			}
		}
		if !clash {
			for k, v := range h {
				m[k] = v
			}
			return
		}
	}
	c := map[string]string{}
	for k, v := range h {
		c[k] = v
	}
	o.hashes = append(o.hashes, c)
}

// object converts one MISP object.
func (e *eventConv) object(r record, path string) {
	oc := &objectConv{rec: r, path: path}
	var err error
	fail := func(err error) { e.fail(path, oc.uuid, err) }
	if oc.uuid, err = r.str("uuid", path); err != nil {
		fail(err)
		return
	}
	if oc.name, err = r.str("name", path); err != nil {
		fail(err)
		return
	}
	var ok bool
	if oc.ts, ok, err = r.unixTime("timestamp", path); err != nil {
		fail(err)
		return
	} else if !ok {
		oc.ts = e.ts
	}
	first, _, err := r.isoTime("first_seen", path)
	if err != nil {
		fail(err)
		return
	}
	last, _, err := r.isoTime("last_seen", path)
	if err != nil {
		fail(err)
		return
	}
	deleted, err := r.boolean("deleted", path)
	if err != nil {
		fail(err)
		return
	}
	dist, hasDist, err := r.integer("distribution", path)
	if err != nil {
		fail(err)
		return
	}
	if !hasDist || e.s.opts.IgnoreDistribution {
		dist = -1
	}
	sharing, err := sharingOrgs(r, path)
	if err != nil {
		fail(err)
		return
	}
	oc.pol = e.pol.child(nil, int(dist), sharing)
	oc.stixUUID = strings.ToLower(strings.TrimSpace(oc.uuid))
	if !refdata.IsUUID(oc.stixUUID) {
		canon, _ := json.Marshal(r)
		oc.stixUUID = refdata.DerivedUUID("misp-object", e.evUUID, path, oc.uuid, string(canon))
	}
	oc.fileLike = !strings.HasSuffix(oc.name, "-section") && oc.name != "x509"
	attrs, err := r.list("Attribute", path)
	if err != nil {
		fail(err)
		return
	}
	for i, raw := range attrs {
		ap := path + "Attribute[" + strconv.Itoa(i) + "]."
		a, err := decodeRecord(raw, strings.TrimSuffix(ap, "."))
		if err != nil {
			e.fail(ap, "", err)
			continue
		}
		if deleted {
			a["deleted"] = json.RawMessage("true")
		}
		e.attribute(a, ap, oc)
	}
	hints := oc.pol.hints(e.owner)
	for _, h := range oc.hashes {
		f, err := newSCO("file", map[string]any{"hashes": h})
		if err != nil {
			// The hashes were each valid alone; keep them apart.
			for k, v := range h {
				if g, err := newSCO("file", map[string]any{"hashes": map[string]string{k: v}}); err == nil {
					e.add(g, hints, true)
					oc.refs = append(oc.refs, g.ID)
				}
			}
			continue
		}
		e.add(f, hints, true)
		oc.refs = append(oc.refs, f.ID)
	}
	if len(oc.hashes) == 0 {
		for _, n := range oc.names {
			e.add(n, hints, true)
			oc.refs = append(oc.refs, n.ID)
		}
	}
	scos, sdos := 0, 0
	for _, id := range oc.refs {
		if schema.KindOf(schema.IdentifierType(id)) == schema.KindSCO {
			scos++
		} else {
			sdos++
		}
	}
	typ := TypeObject
	if scos > 0 && sdos == 0 {
		typ = "observed-data"
	}
	id := typ + "--" + oc.stixUUID
	p := e.sdoBase(typ, id, oc.ts, oc.ts, oc.pol)
	refs := uniq(oc.refs)
	if typ == "observed-data" {
		f, l := oc.ts, oc.ts
		if !first.IsZero() {
			f, l = first, first
		}
		if !last.IsZero() && !last.Before(f) {
			l = last
		}
		p["first_observed"], p["last_observed"], p["number_observed"] = stamp(f), stamp(l), 1
	} else if oc.name != "" {
		p["name"] = oc.name
	}
	if len(refs) > 0 {
		p["object_refs"] = refs
	}
	if deleted {
		p["revoked"] = true
	}
	keepFields(p, r, objectKeys, "Attribute")
	var kept []json.RawMessage
	for _, ai := range oc.attrs {
		m := map[string]json.RawMessage{}
		for k, v := range ai.rec {
			if k == "Sighting" || k == "Galaxy" || (k == "data" && ai.m.usedData) {
				continue
			}
			m[k] = v
		}
		raw, err := json.Marshal(m)
		if err != nil {
			fail(fmt.Errorf("keep attributes: %w", err))
			return
		}
		kept = append(kept, raw)
	}
	if len(kept) > 0 {
		p["x_misp_attributes"] = kept
	}
	if len(oc.unmapped) > 0 {
		p["x_misp_unmapped"] = oc.unmapped
	}
	o, err := build(p)
	if err != nil {
		fail(fmt.Errorf("build %s: %w", typ, err))
		return
	}
	e.add(o, hints, true)
	e.carriers[strings.ToLower(oc.uuid)] = o.ID
	for i, ai := range oc.attrs {
		carrier := oc.indicators[i]
		if carrier == "" {
			carrier = o.ID
		}
		if ai.uuid != "" {
			e.carriers[strings.ToLower(ai.uuid)] = carrier
		}
		e.attrLinks(ai, carrier)
	}
	refList, err := r.list("ObjectReference", path)
	if err != nil {
		fail(err)
		return
	}
	for i, raw := range refList {
		rp := path + "ObjectReference[" + strconv.Itoa(i) + "]"
		rr, err := decodeRecord(raw, rp)
		if err != nil {
			e.fail(rp, oc.uuid, err)
			continue
		}
		e.refs = append(e.refs, pendingRef{rec: rr, path: rp + ".", src: o.ID, pol: oc.pol, ts: oc.ts})
	}
}

func uniq(ids []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// objectReference converts an ObjectReference whose target is in the
// event. A reference to something outside the event stays in the source
// object's x_misp_object_reference only.
func (e *eventConv) objectReference(r pendingRef) {
	tgtUUID, err := r.rec.str("referenced_uuid", r.path)
	if err != nil {
		e.fail(r.path, "", err)
		return
	}
	tgt, ok := e.carriers[strings.ToLower(tgtUUID)]
	if !ok {
		return
	}
	relType, err := r.rec.str("relationship_type", r.path)
	if err != nil {
		e.fail(r.path, "", err)
		return
	}
	if strings.TrimSpace(relType) == "" {
		relType = "related-to"
	}
	uuid, _ := r.rec.str("uuid", r.path)
	ts, ok, _ := r.rec.unixTime("timestamp", r.path)
	if !ok {
		ts = r.ts
	}
	id := refdata.STIXID("relationship", uuid, "relationship", r.src, relType, tgt)
	p := e.sdoBase("relationship", id, ts, ts, r.pol)
	p["relationship_type"], p["source_ref"], p["target_ref"] = relType, r.src, tgt
	if c, _ := r.rec.str("comment", r.path); c != "" {
		p["description"] = c
	}
	keepFields(p, r.rec, referenceKeys)
	o, err := build(p)
	if err != nil {
		e.fail(r.path, uuid, fmt.Errorf("build relationship: %w", err))
		return
	}
	e.add(o, r.pol.hints(e.owner), true)
}
