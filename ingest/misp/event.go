package misp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/ingest/refdata"
	"github.com/verband-cti/verband/schema"
)

// The custom STIX types this package makes.
const (
	// TypeAttribute keeps a MISP attribute that has no STIX counterpart
	// (text, comment, port, pdb, …) or whose value cannot be made into one,
	// with every field.
	TypeAttribute = "x-misp-attribute"
	// TypeObject keeps a MISP object none of whose attributes became a
	// cyber observable (av-signature, victim, …), with every attribute.
	TypeObject = "x-misp-object"
	// TypeSharingGroup is a MISP sharing group, with its organisations as
	// organization_refs.
	TypeSharingGroup = "x-misp-sharing-group"
)

// entry is one converted object and the hints that go with it.
type entry struct {
	obj   *schema.Object
	hints ingest.Hints
}

// policy is what MISP says about who may see a thing: TLP tags and
// distribution.
type policy struct {
	tlp     schema.TLP // most restrictive TLP tag, when tagged
	tagged  bool
	tlpTags []string // the TLP tags as spelt
	dist    int      // 0 to 4, or -1 when unknown
	sharing []string // organisation names of the sharing group (dist 4)
}

// level is the TLP the thing gets: its TLP tag, made stricter by a
// distribution limited to the creator organisation (0: AMBER+STRICT) or a
// sharing group (4: AMBER); without a tag, distributions 1 to 3 (this
// community, connected communities, all communities) give GREEN.
func (p policy) level() schema.TLP {
	t := schema.TLPUnmarked
	if p.tagged {
		t = p.tlp
	}
	switch p.dist {
	case 0:
		t = max(t, schema.TLPAmberStrict)
	case 4:
		t = max(t, schema.TLPAmber)
	case 1, 2, 3:
		if !p.tagged {
			t = schema.TLPGreen
		}
	}
	return t
}

// markings returns the object_marking_refs of a domain object: the TLP 2.0
// marking of level when the thing is tagged or its distribution is limited.
func (p policy) markings() []string {
	if !p.tagged && p.dist != 0 && p.dist != 4 {
		return nil
	}
	if id := p.level().MarkingID(); id != "" {
		return []string{id}
	}
	return nil
}

func (p policy) hints(owner string) ingest.Hints {
	h := ingest.Hints{TLP: p.level(), Owner: owner}
	if p.dist == 4 {
		h.Sharing = slices.Clone(p.sharing)
	}
	return h
}

// child returns the policy of a thing inside p with its own tags and
// distribution (5 or absent: inherit). A distribution never widens what the
// parent allows.
func (p policy) child(tags []string, dist int, sharing []string) policy {
	c := p
	c.tlpTags = nil // a thing keeps only its own TLP tags as spelt
	if t, spelt, ok := tlpOfTags(tags); ok {
		c.tlp, c.tagged, c.tlpTags = t, true, spelt
	}
	switch {
	case dist < 0 || dist > 4:
	case p.dist == 0 || dist == 0:
		c.dist, c.sharing = 0, nil
	case dist == 4:
		c.dist, c.sharing = 4, sharing
	case p.dist == 4:
	case p.dist < 0:
		c.dist = dist
	default:
		c.dist = min(dist, p.dist)
	}
	return c
}

// tlpOfTags returns the most restrictive TLP among tags of the form
// tlp:<level>, and those tags.
func tlpOfTags(tags []string) (schema.TLP, []string, bool) {
	best, found := schema.TLPUnmarked, false
	var spelt []string
	for _, t := range tags {
		if !isTLPTag(t) {
			continue
		}
		l, _ := schema.ParseTLP(t)
		spelt = append(spelt, t)
		if !found || l > best {
			best = l
		}
		found = true
	}
	return best, spelt, found
}

func isTLPTag(t string) bool {
	if len(t) < 4 || !strings.EqualFold(t[:4], "tlp:") {
		return false
	}
	l, err := schema.ParseTLP(t)
	return err == nil && l != schema.TLPUnmarked
}

// tlpLabel is the tag Encode writes for a TLP level.
func tlpLabel(t schema.TLP) string { return strings.ToLower(t.String()) }

// eventConv converts one MISP event.
type eventConv struct {
	s        *Source
	index    int
	evUUID   string // the uuid that identifiers derive from
	reportID string
	ts       time.Time
	orgcID   string
	owner    string
	pol      policy

	out      []entry
	byID     map[string]int
	members  []string
	isMember map[string]bool
	errs     []error
	carriers map[string]string // MISP uuid (lower case) → STIX id of its carrier
	clusters map[string]string // galaxy tag → cluster id
	refs     []pendingRef
	// galaxyInfo holds the event's galaxies without their clusters.
	galaxyInfo []record
}

// pendingRef is an ObjectReference waiting for every carrier to be known.
type pendingRef struct {
	rec  record
	path string
	src  string
	pol  policy
	ts   time.Time
}

func (e *eventConv) fail(path, id string, err error) {
	oe := &ingest.ObjectError{File: e.s.name, Index: e.index, ID: id, Offset: -1, Err: err}
	var fe *fieldError
	if errors.As(err, &fe) {
		oe.Field = fe.field
	} else {
		oe.Field = strings.TrimSuffix(path, ".")
	}
	var ve *schema.ValidationError
	if errors.As(err, &ve) && ve.Property != "" && oe.Field == "" {
		oe.Field = ve.Property
	}
	e.errs = append(e.errs, oe)
}

// add queues an object, merging it with an earlier one of the same id
// (an observable named by several attributes), and makes it a member of
// the report when member is set.
func (e *eventConv) add(o *schema.Object, h ingest.Hints, member bool) {
	if i, ok := e.byID[o.ID]; ok {
		prev := &e.out[i]
		mergeObjects(prev.obj, o)
		prev.hints.TLP = max(prev.hints.TLP, h.TLP)
		for _, s := range h.Sharing {
			if !slices.Contains(prev.hints.Sharing, s) {
				prev.hints.Sharing = append(prev.hints.Sharing, s)
			}
		}
	} else {
		e.byID[o.ID] = len(e.out)
		e.out = append(e.out, entry{obj: o, hints: h})
	}
	if member && !e.isMember[o.ID] {
		e.isMember[o.ID] = true
		e.members = append(e.members, o.ID)
	}
}

// mergeObjects merges the hashes of two copies of one observable.
func mergeObjects(dst, src *schema.Object) {
	a, b := dst.Props["hashes"], src.Props["hashes"]
	if a == nil || b == nil || string(a) == string(b) {
		return
	}
	var ha, hb map[string]string
	if json.Unmarshal(a, &ha) != nil || json.Unmarshal(b, &hb) != nil {
		return
	}
	for k, v := range hb {
		if _, ok := ha[k]; !ok {
			ha[k] = v
		}
	}
	raw, _ := json.Marshal(ha)
	dst.Props["hashes"] = raw
}

// build makes an object from props; the STIX properties type and id must
// be among them. It panics only on values encoding/json cannot encode,
// which the converter never makes.
func build(props map[string]any) (*schema.Object, error) {
	o := &schema.Object{Props: make(map[string]json.RawMessage, len(props))}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := props[k]
		switch v := v.(type) {
		case string:
			o.Props[k] = schema.AppendJSONString(nil, v)
			continue
		case []string:
			b := []byte{'['}
			for i, x := range v {
				if i > 0 {
					b = append(b, ',')
				}
				b = schema.AppendJSONString(b, x)
			}
			o.Props[k] = append(b, ']')
			continue
		}
		if raw, ok := v.(json.RawMessage); ok {
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return nil, &schema.ValidationError{Property: k, Reason: "invalid JSON value", Err: err}
			}
			o.Props[k] = buf.Bytes()
			continue
		}
		if err := o.Set(k, v); err != nil {
			return nil, err
		}
	}
	typ, _ := o.String("type")
	id, _ := o.String("id")
	o.Type, o.ID = typ, id
	var err error
	if o.Created, err = timeOf(o, "created"); err != nil {
		return nil, err
	}
	if o.Modified, err = timeOf(o, "modified"); err != nil {
		return nil, err
	}
	if o.Modified.IsZero() {
		o.Modified = o.Created
	}
	if err := schema.Validate(o); err != nil {
		return nil, err
	}
	return o, nil
}

func timeOf(o *schema.Object, p string) (time.Time, error) {
	s, ok := o.String(p)
	if !ok {
		return time.Time{}, nil
	}
	return schema.ParseTimestamp(s)
}

func stamp(t time.Time) string { return refdata.FormatTime(t) }

// sdoBase returns the common properties of a domain object made for the
// event.
func (e *eventConv) sdoBase(typ, id string, created, modified time.Time, pol policy) map[string]any {
	if modified.Before(created) {
		created = modified
	}
	p := map[string]any{
		"type": typ, "id": id, "spec_version": "2.1",
		"created": stamp(created), "modified": stamp(modified),
	}
	if e.orgcID != "" {
		p["created_by_ref"] = e.orgcID
	}
	if m := pol.markings(); m != nil {
		p["object_marking_refs"] = m
		for _, ref := range m {
			e.s.marking(e, ref)
		}
	}
	if len(pol.tlpTags) > 0 {
		p["x_misp_tlp_tags"] = pol.tlpTags
	}
	return p
}

// convertEvent turns one event into STIX objects (queued in e.out, the
// report last) and errors (e.errs).
func (s *Source) convertEvent(index int, ev record) ([]entry, []error) {
	e := &eventConv{
		s: s, index: index, byID: map[string]int{}, isMember: map[string]bool{},
		carriers: map[string]string{}, clusters: map[string]string{},
	}
	e.run(ev)
	return e.out, e.errs
}

func (e *eventConv) run(ev record) {
	uuid, err := ev.str("uuid", "")
	if err != nil {
		e.fail("uuid", "", err)
		return
	}
	e.evUUID = strings.ToLower(strings.TrimSpace(uuid))
	if !refdata.IsUUID(e.evUUID) {
		canon, _ := json.Marshal(ev) // sorted keys: the same event always gives the same bytes
		e.evUUID = refdata.DerivedUUID("misp-event", uuid, string(canon))
	}
	e.reportID = "report--" + e.evUUID
	id := uuid
	if id == "" {
		id = e.reportID
	}
	info, err1 := ev.str("info", "")
	ts, hasTS, err2 := ev.unixTime("timestamp", "")
	date, hasDate, err3 := ev.isoTime("date", "")
	pubTS, hasPub, err4 := ev.unixTime("publish_timestamp", "")
	_, err5 := ev.boolean("published", "")
	dist, hasDist, err6 := ev.integer("distribution", "")
	for _, err := range []error{err1, err2, err3, err4, err5, err6} {
		if err != nil {
			e.fail("", id, err)
			return
		}
	}
	switch {
	case hasTS:
	case hasDate:
		ts = date
	default:
		ts = refdata.Epoch
	}
	if !hasDate || date.After(ts) {
		date = ts
	}
	e.ts = ts
	if !hasDist || e.s.opts.IgnoreDistribution {
		dist = -1
	}
	tags, err := tagNames(ev, "")
	if err != nil {
		e.fail("", id, err)
		return
	}
	sharing, err := sharingOrgs(ev, "")
	if err != nil {
		e.fail("", id, err)
		return
	}
	e.pol = policy{dist: -1}.child(tags, int(dist), sharing)

	// Organisations.
	orgc, err := e.identity(ev, "Orgc", "")
	if err != nil {
		e.fail("Orgc", id, err)
		return
	}
	org, err := e.identity(ev, "Org", "")
	if err != nil {
		e.fail("Org", id, err)
		return
	}
	if orgc != nil {
		e.orgcID = orgc.ID
		if e.s.opts.TrustCreatorOrg {
			e.owner, _ = orgc.String("name")
		}
	}

	e.galaxies(ev)
	for _, t := range tags {
		if strings.HasPrefix(t, "misp-galaxy:") {
			e.clusterForTag(t)
		}
	}
	attrs, err := ev.list("Attribute", "")
	if err != nil {
		e.fail("Attribute", id, err)
	}
	for i, raw := range attrs {
		path := "Attribute[" + strconv.Itoa(i) + "]."
		a, err := decodeRecord(raw, strings.TrimSuffix(path, "."))
		if err != nil {
			e.fail(path, "", err)
			continue
		}
		e.attribute(a, path, nil)
	}
	objs, err := ev.list("Object", "")
	if err != nil {
		e.fail("Object", id, err)
	}
	for i, raw := range objs {
		path := "Object[" + strconv.Itoa(i) + "]."
		o, err := decodeRecord(raw, strings.TrimSuffix(path, "."))
		if err != nil {
			e.fail(path, "", err)
			continue
		}
		e.object(o, path)
	}
	for _, r := range e.refs {
		e.objectReference(r)
	}
	e.relatedEvents(ev)
	e.eventReports(ev)

	// The report.
	name := info
	if strings.TrimSpace(name) == "" {
		name = "MISP event " + e.evUUID
	}
	published := ts
	if hasPub {
		published = pubTS
	}
	members := e.members
	if len(members) == 0 {
		switch {
		case orgc != nil:
			members = []string{orgc.ID}
		case org != nil:
			members = []string{org.ID}
		default:
			e.fail("", id, fmt.Errorf("%w: no attributes, objects, galaxies or organisation", ErrEmptyEvent))
			return
		}
	}
	p := e.sdoBase("report", e.reportID, date, ts, e.pol)
	p["name"] = name
	p["published"] = stamp(published)
	p["object_refs"] = members
	if uuid != "" {
		p["x_misp_event_uuid"] = uuid
	}
	if labels := labelsOf(tags); len(labels) > 0 {
		p["labels"] = labels
	}
	if org != nil {
		p["x_misp_org_ref"] = org.ID
	}
	keepFields(p, ev, eventKeys, "uuid", "info", "Tag", "Attribute", "Object", "Galaxy")
	if len(e.galaxyInfo) > 0 {
		// The galaxies' own fields; their clusters are objects of their own.
		p["x_misp_galaxy"] = e.galaxyInfo
	}
	rep, err := build(p)
	if err != nil {
		e.fail("", id, fmt.Errorf("build report: %w", err))
		return
	}
	e.add(rep, e.pol.hints(e.owner), false)
}

// tagNames reads the names of a record's Tag list (objects with a "name",
// or plain strings).
func tagNames(r record, path string) ([]string, error) {
	list, err := r.list("Tag", path)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, raw := range list {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out = append(out, s)
			continue
		}
		t, err := decodeRecord(raw, path+"Tag["+strconv.Itoa(i)+"]")
		if err != nil {
			return nil, err
		}
		name, err := t.str("name", path+"Tag["+strconv.Itoa(i)+"].")
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(name) != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// labelsOf returns the tags that become labels: all but TLP tags.
func labelsOf(tags []string) []string {
	var out []string
	for _, t := range tags {
		if !isTLPTag(t) {
			out = append(out, t)
		}
	}
	return out
}

// sharingOrgs returns the names of the organisations of a record's
// SharingGroup, sorted.
func sharingOrgs(r record, path string) ([]string, error) {
	raw, ok := r["SharingGroup"]
	if !ok || isNull(raw) || isEmptyList(raw) {
		return nil, nil
	}
	sg, err := decodeRecord(raw, path+"SharingGroup")
	if err != nil {
		return nil, err
	}
	var names []string
	addOrg := func(raw json.RawMessage, p string) error {
		org, err := decodeRecord(raw, p)
		if err != nil {
			return err
		}
		n, err := org.str("name", p+".")
		if err != nil {
			return err
		}
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
		return nil
	}
	if o, ok := sg["Organisation"]; ok && !isNull(o) {
		if err := addOrg(o, path+"SharingGroup.Organisation"); err != nil {
			return nil, err
		}
	}
	members, err := sg.list("SharingGroupOrg", path+"SharingGroup.")
	if err != nil {
		return nil, err
	}
	for i, m := range members {
		p := path + "SharingGroup.SharingGroupOrg[" + strconv.Itoa(i) + "]"
		mr, err := decodeRecord(m, p)
		if err != nil {
			return nil, err
		}
		if o, ok := mr["Organisation"]; ok && !isNull(o) {
			if err := addOrg(o, p+".Organisation"); err != nil {
				return nil, err
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

// identity queues the identity of an organisation record (Org, Orgc,
// Organisation) and returns it, or nil when the record is absent.
func (e *eventConv) identity(r record, key, path string) (*schema.Object, error) {
	raw, ok := r[key]
	if !ok || isNull(raw) {
		return nil, nil
	}
	org, err := decodeRecord(raw, path+key)
	if err != nil {
		return nil, err
	}
	return e.orgIdentity(org, path+key+".")
}

func (e *eventConv) orgIdentity(org record, path string) (*schema.Object, error) {
	name, err := org.str("name", path)
	if err != nil {
		return nil, err
	}
	uuid, err := org.str("uuid", path)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" && uuid == "" {
		return nil, nil
	}
	if strings.TrimSpace(name) == "" {
		name = "MISP organisation " + uuid
	}
	o, err := OrgIdentity(name, uuid)
	if err != nil {
		return nil, err
	}
	e.add(o, ingest.Hints{}, false)
	return o, nil
}

// OrgIdentity returns the identity of a MISP organisation: identity--<its
// uuid> (or a uuid derived from its name), class organization. MISP gives
// organisations no dates, so created and modified are refdata.Epoch.
func OrgIdentity(name, uuid string) (*schema.Object, error) {
	p := map[string]any{
		"type": "identity", "id": refdata.STIXID("identity", strings.TrimSpace(uuid), "misp-organisation", name),
		"spec_version": "2.1", "created": stamp(refdata.Epoch), "modified": stamp(refdata.Epoch),
		"name": name, "identity_class": "organization",
	}
	if uuid != "" {
		p["x_misp_uuid"] = uuid
	}
	return build(p)
}

// galaxies queues the clusters of the event's Galaxy list.
func (e *eventConv) galaxies(r record) {
	gals, err := r.list("Galaxy", "")
	if err != nil {
		e.fail("Galaxy", "", err)
		return
	}
	for gi, graw := range gals {
		path := "Galaxy[" + strconv.Itoa(gi) + "]."
		g, err := decodeRecord(graw, strings.TrimSuffix(path, "."))
		if err != nil {
			e.fail(path, "", err)
			continue
		}
		gtype, err := g.str("type", path)
		if err != nil {
			e.fail(path, "", err)
			continue
		}
		cl, err := g.list("GalaxyCluster", path)
		if err != nil {
			e.fail(path, "", err)
			continue
		}
		info := record{}
		for k, v := range g {
			if k != "GalaxyCluster" {
				info[k] = v
			}
		}
		e.galaxyInfo = append(e.galaxyInfo, info)
		for ci, craw := range cl {
			cpath := path + "GalaxyCluster[" + strconv.Itoa(ci) + "]"
			cr, err := decodeRecord(craw, cpath)
			if err != nil {
				e.fail(cpath, "", err)
				continue
			}
			c, err := refdata.NewCluster(cr, gtype, 0)
			if err != nil {
				e.fail(cpath, "", err)
				continue
			}
			o, err := refdata.ClusterObject(c)
			if err != nil {
				e.fail(cpath, refdata.ClusterID(c), err)
				continue
			}
			e.add(o, ingest.Hints{}, true)
			e.clusters[c.TagName()] = o.ID
			if tn, _ := cr.str("tag_name", ""); tn != "" {
				e.clusters[tn] = o.ID
			}
		}
	}
}

// clusterForTag returns the id of the cluster a misp-galaxy tag names:
// one from the event's galaxies, one from Options.Galaxies, or one made
// from the tag alone (with an id derived from galaxy type and value).
func (e *eventConv) clusterForTag(tag string) string {
	if id, ok := e.clusters[tag]; ok {
		return id
	}
	var c *refdata.Cluster
	if found, ok := e.s.opts.Galaxies.ByTag(tag); ok {
		c = found
	} else {
		typ, val, ok := refdata.ParseGalaxyTag(tag)
		if !ok {
			return ""
		}
		c = &refdata.Cluster{GalaxyType: typ, Value: val}
	}
	o, err := refdata.ClusterObject(c)
	if err != nil {
		return ""
	}
	e.add(o, ingest.Hints{}, true)
	e.clusters[tag] = o.ID
	return o.ID
}

// relatedEvents links the report to the reports of related events, which
// may arrive later.
func (e *eventConv) relatedEvents(ev record) {
	list, err := ev.list("RelatedEvent", "")
	if err != nil {
		e.fail("RelatedEvent", "", err)
		return
	}
	for i, raw := range list {
		path := "RelatedEvent[" + strconv.Itoa(i) + "]"
		r, err := decodeRecord(raw, path)
		if err != nil {
			e.fail(path, "", err)
			continue
		}
		if inner, ok := r["Event"]; ok {
			if r, err = decodeRecord(inner, path+".Event"); err != nil {
				e.fail(path, "", err)
				continue
			}
		}
		uuid, _ := r.str("uuid", path+".Event.")
		if !refdata.IsUUID(uuid) {
			continue // no report id to point to; the report keeps the entry
		}
		info, _ := r.str("info", path+".Event.")
		rel := refdata.Relationship(e.reportID, "related-to", "report--"+strings.ToLower(uuid), e.ts)
		if info != "" {
			rel.Props["description"], _ = json.Marshal("Related MISP event: " + info)
		}
		e.finishRelationship(rel, e.pol, path)
	}
}

// eventReports converts the event's reports (MISP 2.4.140+) to notes on
// the report.
func (e *eventConv) eventReports(ev record) {
	list, err := ev.list("EventReport", "")
	if err != nil {
		e.fail("EventReport", "", err)
		return
	}
	for i, raw := range list {
		path := "EventReport[" + strconv.Itoa(i) + "]."
		r, err := decodeRecord(raw, strings.TrimSuffix(path, "."))
		if err != nil {
			e.fail(path, "", err)
			continue
		}
		uuid, _ := r.str("uuid", path)
		name, _ := r.str("name", path)
		content, err := r.str("content", path)
		if err != nil {
			e.fail(path, uuid, err)
			continue
		}
		ts, ok, _ := r.unixTime("timestamp", path)
		if !ok {
			ts = e.ts
		}
		dist, hasDist, _ := r.integer("distribution", path)
		if !hasDist || e.s.opts.IgnoreDistribution {
			dist = -1
		}
		pol := e.pol.child(nil, int(dist), nil)
		id := refdata.STIXID("note", uuid, "misp-event-report", e.evUUID, path, name)
		p := e.sdoBase("note", id, ts, ts, pol)
		p["content"], p["object_refs"] = content, []string{e.reportID}
		if name != "" {
			p["abstract"] = name
		}
		keepFields(p, r, eventReportKeys, "content")
		o, err := build(p)
		if err != nil {
			e.fail(path, uuid, fmt.Errorf("build note: %w", err))
			continue
		}
		e.add(o, pol.hints(e.owner), true)
	}
}
