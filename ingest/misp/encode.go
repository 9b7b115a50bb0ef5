package misp

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/verband-cti/verband/ingest/refdata"
	"github.com/verband-cti/verband/schema"
)

// EncodeOptions tune Encode.
type EncodeOptions struct {
	// Container is the id of the report or x-verband-case whose name,
	// dates, creator, labels and markings become the event's. When empty,
	// Encode takes the only report or case among the objects, if there is
	// exactly one.
	Container string
	// Info and EventUUID name the event when there is no container.
	// EventUUID defaults to a uuid derived from the ids of the objects.
	Info, EventUUID string
	// Indent pretty-prints the JSON.
	Indent bool
}

// EncodeStats says what Encode did.
type EncodeStats struct {
	// Attributes counts the event's attributes, Objects its MISP objects
	// (with ObjectAttributes attributes in all), Clusters its galaxy
	// clusters, Sightings its sightings.
	Attributes, Objects, ObjectAttributes, Clusters, Sightings int
	// Skipped lists the objects that have no place in a MISP event, with
	// the reason; nothing else is left out.
	Skipped []Skipped
}

// Skipped is an object Encode could not express in MISP.
type Skipped struct {
	ID, Reason string
}

// Encode writes one MISP event, {"Event": {…}}, holding objs: typically a
// report or case and its members. It is the inverse of the decoder:
//
//   - objects the decoder made from MISP (carriers with x_misp_type, object
//     carriers with x_misp_attributes, sightings, ObjectReference
//     relationships, galaxy clusters) give back their attributes, objects,
//     sightings and galaxies with every field as it was;
//   - other cyber observables become attributes of the inverse type
//     (ipv4-addr → ip-dst, domain-name → domain, file → md5/sha1/sha256 or
//     a file object, …);
//   - other indicators become to_ids attributes: one per comparison of a
//     simple pattern ([type:prop = 'v'] joined by OR), a stix2-pattern
//     attribute otherwise, or a yara/snort/sigma/suricata attribute for
//     those pattern types;
//   - TLP markings and labels become tags; threat actors, intrusion sets,
//     malware, tools, attack patterns and courses of action become galaxy
//     clusters and misp-galaxy tags; vulnerabilities become vulnerability
//     attributes; notes on the container become event reports.
//
// What has no place in MISP (other containers, locations, relationships
// between attributes, …) is listed in EncodeStats.Skipped.
func Encode(w io.Writer, objs []*schema.Object, opts EncodeOptions) (EncodeStats, error) {
	enc := newEncoder(objs)
	ev, err := enc.event(opts)
	if err != nil {
		return enc.stats, err
	}
	var data []byte
	if opts.Indent {
		data, err = json.MarshalIndent(map[string]any{"Event": ev}, "", "  ")
	} else {
		data, err = json.Marshal(map[string]any{"Event": ev})
	}
	if err != nil {
		return enc.stats, fmt.Errorf("encode MISP event: %w", err)
	}
	if _, err := w.Write(append(data, '\n')); err != nil {
		return enc.stats, fmt.Errorf("write MISP event: %w", err)
	}
	return enc.stats, nil
}

type encoder struct {
	objs    []*schema.Object
	byID    map[string]*schema.Object
	covered map[string]bool
	stats   EncodeStats

	attrs    []map[string]json.RawMessage
	attrByID map[string]map[string]json.RawMessage // carrier id → attribute
	objects  []map[string]json.RawMessage
	objAttrs map[string]map[string]json.RawMessage // attribute uuid → attribute inside an object
	galaxies map[string]*galaxyOut
	galOrder []string
	tags     []string
	reports  []map[string]json.RawMessage
	fromMISP bool // the container was decoded from a MISP event
}

type galaxyOut struct {
	typ      string
	clusters []map[string]any
}

func newEncoder(objs []*schema.Object) *encoder {
	e := &encoder{objs: objs, byID: map[string]*schema.Object{}, covered: map[string]bool{},
		attrByID: map[string]map[string]json.RawMessage{}, objAttrs: map[string]map[string]json.RawMessage{},
		galaxies: map[string]*galaxyOut{}}
	for _, o := range objs {
		e.byID[o.ID] = o
	}
	return e
}

func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

func str(o *schema.Object, p string) string {
	s, _ := o.String(p)
	return s
}

func uuidOf(id string) string {
	if i := strings.LastIndex(id, "--"); i >= 0 {
		return id[i+2:]
	}
	return id
}

func unixString(t time.Time) json.RawMessage {
	return raw(strconv.FormatInt(t.Unix(), 10))
}

// event builds the event.
func (e *encoder) event(opts EncodeOptions) (map[string]json.RawMessage, error) {
	cont, err := e.container(opts)
	if err != nil {
		return nil, err
	}
	ev := map[string]json.RawMessage{}
	if cont != nil {
		e.covered[cont.ID] = true
		restoreFields(ev, cont.Props, eventKeys)
		uuid := str(cont, "x_misp_event_uuid")
		_, e.fromMISP = cont.Props["x_misp_distribution"]
		if uuid == "" {
			uuid = uuidOf(cont.ID)
		}
		ev["uuid"] = raw(uuid)
		ev["info"] = raw(str(cont, "name"))
		if _, ok := ev["date"]; !ok {
			ev["date"] = raw(cont.Created.UTC().Format("2006-01-02"))
		}
		if _, ok := ev["timestamp"]; !ok {
			ev["timestamp"] = unixString(cont.Modified)
		}
		if _, ok := ev["publish_timestamp"]; !ok {
			if t, err := timeOf(cont, "published"); err == nil && !t.IsZero() {
				ev["publish_timestamp"] = unixString(t)
				ev["published"] = raw(true)
			}
		}
		if _, ok := ev["distribution"]; !ok {
			ev["distribution"] = raw(distributionOf(schema.TLPOf(cont)))
		}
		if _, ok := ev["Orgc"]; !ok {
			if org, ok := e.byID[str(cont, "created_by_ref")]; ok {
				ev["Orgc"] = raw(map[string]string{"name": str(org, "name"), "uuid": orgUUID(org)})
			}
		}
		e.tags = append(e.tags, e.tagsOf(cont)...)
		if raw, ok := ev["Galaxy"]; ok { // the galaxies' own fields; clusters come from the objects
			var gs []map[string]json.RawMessage
			if json.Unmarshal(raw, &gs) == nil {
				for _, g := range gs {
					var t string
					_ = json.Unmarshal(g["type"], &t)
					e.galaxy(t)
				}
			}
		}
	} else {
		ids := make([]string, 0, len(e.objs))
		for _, o := range e.objs {
			ids = append(ids, o.ID)
		}
		uuid := opts.EventUUID
		if uuid == "" {
			uuid = refdata.DerivedUUID(append([]string{"misp-export"}, ids...)...)
		}
		info := opts.Info
		if info == "" {
			info = "Verband export"
		}
		now := time.Unix(0, 0).UTC()
		for _, o := range e.objs {
			if o.Modified.After(now) {
				now = o.Modified
			}
		}
		ev["uuid"], ev["info"] = raw(uuid), raw(info)
		ev["date"], ev["timestamp"] = raw(now.Format("2006-01-02")), unixString(now)
		ev["distribution"], ev["threat_level_id"], ev["analysis"] = raw("3"), raw("4"), raw("0")
		ev["published"] = raw(false)
	}
	for _, k := range []string{"threat_level_id", "analysis"} {
		if _, ok := ev[k]; !ok {
			ev[k] = raw(map[string]string{"threat_level_id": "4", "analysis": "0"}[k])
		}
	}

	// Objects first, so that their indicators are known; then attributes
	// and the rest.
	for _, o := range e.objs {
		if isObjectCarrier(o) {
			e.mispObject(o)
		}
	}
	for _, o := range e.objs {
		if isAttributeCarrier(o) && !e.covered[o.ID] {
			e.carrierAttribute(o)
		}
	}
	for _, o := range e.objs {
		if !e.covered[o.ID] {
			e.other(o)
		}
	}
	for _, o := range e.objs {
		if o.Type == "sighting" {
			e.sighting(o)
		}
	}
	for _, o := range e.objs {
		if !e.covered[o.ID] {
			e.skip(o.ID, "no counterpart in a MISP event for "+o.Type)
		}
	}

	if _, kept := ev["EventReport"]; !kept && len(e.reports) > 0 {
		ev["EventReport"] = raw(e.reports)
	}
	if e.attrs == nil {
		e.attrs = []map[string]json.RawMessage{}
	}
	ev["Attribute"] = raw(e.attrs)
	if len(e.objects) > 0 {
		ev["Object"] = raw(e.objects)
	} else {
		ev["Object"] = raw([]any{})
	}
	var tags []map[string]string
	seen := map[string]bool{}
	for _, t := range e.tags {
		if !seen[t] {
			seen[t] = true
			tags = append(tags, map[string]string{"name": t})
		}
	}
	if tags != nil {
		ev["Tag"] = raw(tags)
	}
	var gals []map[string]any
	for _, t := range e.galOrder {
		g := e.galaxies[t]
		if len(g.clusters) == 0 {
			continue
		}
		gals = append(gals, map[string]any{"type": t, "GalaxyCluster": g.clusters})
	}
	if gals != nil {
		ev["Galaxy"] = raw(gals)
	} else {
		delete(ev, "Galaxy")
	}
	e.stats.Attributes = len(e.attrs)
	e.stats.Objects = len(e.objects)
	return ev, nil
}

func (e *encoder) skip(id, reason string) {
	e.covered[id] = true
	e.stats.Skipped = append(e.stats.Skipped, Skipped{ID: id, Reason: reason})
}

// container finds the report or case that gives the event its metadata.
func (e *encoder) container(opts EncodeOptions) (*schema.Object, error) {
	if opts.Container != "" {
		c, ok := e.byID[opts.Container]
		if !ok {
			return nil, fmt.Errorf("encode MISP event: container %s is not among the objects", opts.Container)
		}
		return c, nil
	}
	var found *schema.Object
	for _, o := range e.objs {
		if o.Type == "report" || o.Type == schema.TypeCase {
			if found != nil {
				return nil, nil // several: none is the event
			}
			found = o
		}
	}
	return found, nil
}

// distributionOf maps a TLP level to a MISP distribution.
func distributionOf(t schema.TLP) string {
	switch t {
	case schema.TLPRed, schema.TLPAmberStrict:
		return "0"
	case schema.TLPAmber:
		return "1"
	}
	return "3"
}

func orgUUID(o *schema.Object) string {
	if u := str(o, "x_misp_uuid"); u != "" {
		return u
	}
	return uuidOf(o.ID)
}

// tagsOf returns the tags of an object: its TLP tags as spelt in MISP (or
// tlp:<level> of its marking), then its labels.
func (e *encoder) tagsOf(o *schema.Object) []string {
	var tags []string
	_, fromMISP := o.Props["x_misp_distribution"]
	if spelt := o.Strings("x_misp_tlp_tags"); len(spelt) > 0 {
		tags = append(tags, spelt...)
	} else if t := schema.TLPOf(o); t != schema.TLPUnmarked && !fromMISP {
		// An object from MISP without TLP tag got its marking from its
		// distribution, which the export keeps.
		tags = append(tags, tlpLabel(t))
	}
	tags = append(tags, o.Strings("labels")...)
	return tags
}

func tagList(tags []string) json.RawMessage {
	out := make([]map[string]string, 0, len(tags))
	for _, t := range tags {
		out = append(out, map[string]string{"name": t})
	}
	return raw(out)
}

func isAttributeCarrier(o *schema.Object) bool {
	switch o.Type {
	case "indicator", "observed-data", TypeAttribute:
		_, ok := o.Props["x_misp_type"]
		return ok
	}
	return false
}

func isObjectCarrier(o *schema.Object) bool {
	switch o.Type {
	case "observed-data", TypeObject:
		_, ok := o.Props["x_misp_attributes"]
		if !ok {
			_, ok = o.Props["x_misp_template_uuid"]
		}
		return ok
	}
	return false
}

// coverMapping marks the observables and relationships the decoder made
// from an attribute value as exported with it.
func (e *encoder) coverMapping(typ, value string) {
	m := mapAttribute(typ, value, "")
	for _, s := range m.scos {
		e.covered[s.ID] = true
	}
	for _, r := range m.rels {
		e.covered["relationship--"+refdata.DerivedUUID("relationship", r[0], r[1], r[2])] = true
	}
	for _, s := range m.sdos {
		e.covered[s.ID] = true
	}
}

// carrierAttribute gives back the attribute an indicator, observed-data or
// x-misp-attribute was made from.
func (e *encoder) carrierAttribute(o *schema.Object) {
	e.covered[o.ID] = true
	if ou := str(o, "x_misp_object_uuid"); ou != "" {
		if _, ok := e.objAttrs[strings.ToLower(str(o, "x_misp_uuid"))]; ok {
			return // the object gives it back
		}
	}
	a := map[string]json.RawMessage{}
	restoreFields(a, o.Props, attributeKeys)
	delete(a, "object_uuid")
	if tags := e.tagsOf(o); len(tags) > 0 {
		a["Tag"] = tagList(tags)
	}
	typ, _ := o.String("x_misp_type")
	value, _ := o.String("x_misp_value")
	for _, ref := range o.Strings("object_refs") {
		e.covered[ref] = true
		if art, ok := e.byID[ref]; ok && art.Type == "artifact" {
			if _, has := a["data"]; !has {
				a["data"] = art.Props["payload_bin"]
			}
		}
	}
	e.coverMapping(typ, value)
	e.attrs = append(e.attrs, a)
	e.attrByID[o.ID] = a
}

// mispObject gives back a MISP object.
func (e *encoder) mispObject(o *schema.Object) {
	e.covered[o.ID] = true
	obj := map[string]json.RawMessage{}
	restoreFields(obj, o.Props, objectKeys)
	var attrs []map[string]json.RawMessage
	_ = json.Unmarshal(o.Props["x_misp_attributes"], &attrs)
	var artifacts []*schema.Object
	for _, ref := range o.Strings("object_refs") {
		e.covered[ref] = true
		if a, ok := e.byID[ref]; ok && a.Type == "artifact" {
			artifacts = append(artifacts, a)
		}
	}
	for _, a := range attrs {
		var typ, value, uuid string
		_ = json.Unmarshal(a["type"], &typ)
		_ = json.Unmarshal(a["value"], &value)
		_ = json.Unmarshal(a["uuid"], &uuid)
		if (typ == "attachment" || typ == "malware-sample") && a["data"] == nil && len(artifacts) > 0 {
			a["data"] = artifacts[0].Props["payload_bin"]
			artifacts = artifacts[1:]
		}
		e.coverMapping(typ, value)
		if uuid != "" {
			e.objAttrs[strings.ToLower(uuid)] = a
		}
	}
	// Indicators of its attributes, and relationships of its references.
	ouuid := str(o, "x_misp_uuid")
	for _, x := range e.objs {
		switch {
		case x.Type == "indicator" && ouuid != "" && str(x, "x_misp_object_uuid") == ouuid:
			e.covered[x.ID] = true
		case x.Type == "relationship" && str(x, "source_ref") == o.ID && str(x, "x_misp_referenced_uuid") != "":
			e.covered[x.ID] = true
		}
	}
	if attrs == nil {
		attrs = []map[string]json.RawMessage{}
	}
	obj["Attribute"] = raw(attrs)
	e.objects = append(e.objects, obj)
	e.attrByID[o.ID] = nil
	e.stats.ObjectAttributes += len(attrs)
}

// defaultCategory is the MISP category of attributes made from foreign
// observables.
var defaultCategory = map[string]string{
	"ip-dst": "Network activity", "domain": "Network activity", "url": "Network activity",
	"email-src": "Payload delivery", "md5": "Payload delivery", "sha1": "Payload delivery",
	"sha256": "Payload delivery", "sha512": "Payload delivery", "ssdeep": "Payload delivery",
	"tlsh": "Payload delivery", "sha224": "Payload delivery", "sha384": "Payload delivery",
	"filename": "Payload delivery", "mutex": "Artifacts dropped", "regkey": "Persistence mechanism",
	"AS": "Network activity", "mac-address": "Network activity", "x509-fingerprint-md5": "Network activity",
	"x509-fingerprint-sha1": "Network activity", "x509-fingerprint-sha256": "Network activity",
	"attachment": "External analysis", "email-subject": "Payload delivery", "vulnerability": "External analysis",
	"stix2-pattern": "Network activity", "yara": "Payload installation", "snort": "Network activity",
	"sigma": "Payload installation", "suricata": "Network activity",
}

// newAttr makes an attribute for a foreign object.
func (e *encoder) newAttr(uuid, typ, value string, toIDs bool, ts time.Time, comment string, tags []string) map[string]json.RawMessage {
	a := map[string]json.RawMessage{
		"uuid": raw(uuid), "type": raw(typ), "value": raw(value), "to_ids": raw(toIDs),
		"category": raw(cmpOr(defaultCategory[typ], "Other")), "comment": raw(comment),
		"timestamp": unixString(ts), "distribution": raw("5"),
	}
	if len(tags) > 0 {
		a["Tag"] = tagList(tags)
	}
	e.attrs = append(e.attrs, a)
	return a
}

// inverseHash maps STIX hash names to MISP attribute types.
var inverseHash = func() map[string]string {
	m := map[string]string{}
	for t, a := range hashTypes {
		m[a] = t
	}
	return m
}()

// other handles an object the decoder did not make from an attribute.
func (e *encoder) other(o *schema.Object) {
	ts := o.Modified
	if ts.IsZero() {
		ts = time.Unix(0, 0).UTC()
	}
	tags := e.tagsOf(o)
	switch o.Type {
	case "identity", "marking-definition":
		e.covered[o.ID] = true // organisations and tags
	case "relationship":
		e.relationship(o)
	case "sighting":
		// Attached after the attributes.
	case "note":
		e.note(o)
	case "ipv4-addr", "ipv6-addr":
		e.covered[o.ID] = true
		e.newAttr(uuidOf(o.ID), "ip-dst", str(o, "value"), false, ts, "", tags)
	case "domain-name":
		e.covered[o.ID] = true
		e.newAttr(uuidOf(o.ID), "domain", str(o, "value"), false, ts, "", tags)
	case "url":
		e.covered[o.ID] = true
		e.newAttr(uuidOf(o.ID), "url", str(o, "value"), false, ts, "", tags)
	case "email-addr":
		e.covered[o.ID] = true
		e.newAttr(uuidOf(o.ID), "email-src", str(o, "value"), false, ts, "", tags)
	case "mutex":
		e.covered[o.ID] = true
		e.newAttr(uuidOf(o.ID), "mutex", str(o, "name"), false, ts, "", tags)
	case "windows-registry-key":
		e.covered[o.ID] = true
		e.newAttr(uuidOf(o.ID), "regkey", str(o, "key"), false, ts, "", tags)
	case "mac-addr":
		e.covered[o.ID] = true
		e.newAttr(uuidOf(o.ID), "mac-address", str(o, "value"), false, ts, "", tags)
	case "autonomous-system":
		e.covered[o.ID] = true
		var n int64
		_ = json.Unmarshal(o.Props["number"], &n)
		e.newAttr(uuidOf(o.ID), "AS", "AS"+strconv.FormatInt(n, 10), false, ts, "", tags)
	case "email-message":
		if s := str(o, "subject"); s != "" {
			e.covered[o.ID] = true
			e.newAttr(uuidOf(o.ID), "email-subject", s, false, ts, "", tags)
		}
	case "file", "x509-certificate":
		e.fileAttrs(o, ts, tags)
	case "artifact":
		if bin := str(o, "payload_bin"); bin != "" {
			e.covered[o.ID] = true
			a := e.newAttr(uuidOf(o.ID), "attachment", cmpOr(str(o, "x_misp_filename"), uuidOf(o.ID)+".bin"), false, ts, "", tags)
			a["data"] = raw(bin)
		}
	case "vulnerability":
		e.covered[o.ID] = true
		e.newAttr(uuidOf(o.ID), "vulnerability", str(o, "name"), false, ts, str(o, "description"), tags)
	case "indicator":
		e.indicator(o, ts, tags)
	case "threat-actor", "intrusion-set", "malware", "tool", "attack-pattern", "course-of-action", "campaign", refdata.TypeGalaxyCluster:
		e.cluster(o)
	}
}

// fileAttrs exports a file or certificate: one hash attribute, a filename
// attribute, or a file object when it has several properties.
func (e *encoder) fileAttrs(o *schema.Object, ts time.Time, tags []string) {
	var hs map[string]string
	_ = json.Unmarshal(o.Props["hashes"], &hs)
	type av struct{ typ, value string }
	var list []av
	for _, algo := range []string{"MD5", "SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512", "SSDEEP", "TLSH", "SHA3-256", "SHA3-512"} {
		v, ok := hs[algo]
		if !ok {
			continue
		}
		t := inverseHash[algo]
		if o.Type == "x509-certificate" {
			t = map[string]string{"MD5": "x509-fingerprint-md5", "SHA-1": "x509-fingerprint-sha1", "SHA-256": "x509-fingerprint-sha256"}[algo]
		}
		if t != "" {
			list = append(list, av{t, v})
		}
	}
	if name := str(o, "name"); name != "" && o.Type == "file" {
		list = append(list, av{"filename", name})
	}
	if len(list) == 0 {
		return // skipped: no hash or name MISP knows
	}
	e.covered[o.ID] = true
	if len(list) == 1 {
		e.newAttr(uuidOf(o.ID), list[0].typ, list[0].value, false, ts, "", tags)
		return
	}
	var attrs []map[string]json.RawMessage
	for i, x := range list {
		attrs = append(attrs, map[string]json.RawMessage{
			"uuid": raw(refdata.DerivedUUID("misp-export-attribute", o.ID, strconv.Itoa(i))), "type": raw(x.typ),
			"object_relation": raw(x.typ), "value": raw(x.value), "to_ids": raw(false),
			"category": raw(defaultCategory[x.typ]), "timestamp": unixString(ts), "distribution": raw("5"),
		})
	}
	name := "file"
	if o.Type == "x509-certificate" {
		name = "x509"
	}
	e.objects = append(e.objects, map[string]json.RawMessage{
		"uuid": raw(uuidOf(o.ID)), "name": raw(name), "meta-category": raw(map[string]string{"file": "file", "x509": "network"}[name]),
		"timestamp": unixString(ts), "distribution": raw("5"), "Attribute": raw(attrs),
	})
	e.stats.ObjectAttributes += len(attrs)
}

var comparisonRE = regexp.MustCompile(`^([a-z0-9-]+):([A-Za-z0-9_.\-]+|hashes\.'[A-Za-z0-9_\-]+')\s*=\s*'((?:[^'\\]|\\.)*)'$`)

// patternAttrs maps the comparisons of a simple pattern to MISP types and
// values; ok is false for any other pattern.
func patternAttrs(p string) (out [][2]string, ok bool) {
	for _, part := range splitOr(strings.TrimSpace(p)) {
		part = strings.TrimSpace(part)
		part = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(part, "["), "]"))
		m := comparisonRE.FindStringSubmatch(part)
		if m == nil {
			return nil, false
		}
		val := strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(m[3])
		path := strings.ReplaceAll(m[2], "'", "")
		var t string
		switch m[1] + ":" + path {
		case "ipv4-addr:value", "ipv6-addr:value":
			t = "ip-dst"
		case "domain-name:value":
			t = "domain"
		case "url:value":
			t = "url"
		case "email-addr:value":
			t = "email-src"
		case "file:name":
			t = "filename"
		case "mutex:name":
			t = "mutex"
		case "windows-registry-key:key":
			t = "regkey"
		case "email-message:subject":
			t = "email-subject"
		case "mac-addr:value":
			t = "mac-address"
		default:
			if algo, isHash := strings.CutPrefix(path, "hashes."); isHash && m[1] == "file" {
				t = hashBySqueezedName[squeeze(algo)]
			}
		}
		if t == "" {
			return nil, false
		}
		out = append(out, [2]string{t, val})
	}
	return out, len(out) > 0
}

// hashBySqueezedName maps hash names without case, hyphens and
// underscores to MISP types.
var hashBySqueezedName = func() map[string]string {
	m := map[string]string{}
	for t, a := range hashTypes {
		m[squeeze(a)] = t
	}
	return m
}()

func squeeze(s string) string {
	return strings.ToLower(strings.NewReplacer("-", "", "_", "", " ", "").Replace(s))
}

// splitOr splits a pattern at the OR operators outside quotes, both inside
// one observation ([a OR b]) and between observations ([a] OR [b]).
func splitOr(p string) []string {
	var parts []string
	depth, start := 0, 0
	inQuote := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case inQuote && c == '\\':
			i++
		case c == '\'':
			inQuote = !inQuote
		case inQuote:
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == 'O' && strings.HasPrefix(p[i:], "OR ") && i > 0 && p[i-1] == ' ':
			parts = append(parts, p[start:i])
			start = i + 3
			_ = depth
		}
	}
	return append(parts, p[start:])
}

// indicator exports a foreign indicator as to_ids attributes.
func (e *encoder) indicator(o *schema.Object, ts time.Time, tags []string) {
	e.covered[o.ID] = true
	pattern, pt := str(o, "pattern"), str(o, "pattern_type")
	comment := cmpOr(str(o, "description"), str(o, "name"))
	switch pt {
	case "yara", "snort", "sigma", "suricata":
		e.attrByID[o.ID] = e.newAttr(uuidOf(o.ID), pt, pattern, true, ts, comment, tags)
		return
	case "stix", "":
	default:
		e.attrByID[o.ID] = e.newAttr(uuidOf(o.ID), "other", pattern, false, ts, pt+" pattern: "+comment, tags)
		return
	}
	list, ok := patternAttrs(pattern)
	if !ok {
		e.attrByID[o.ID] = e.newAttr(uuidOf(o.ID), "stix2-pattern", pattern, true, ts, comment, tags)
		return
	}
	for i, av := range list {
		uuid := uuidOf(o.ID)
		if i > 0 {
			uuid = refdata.DerivedUUID("misp-export-indicator", o.ID, strconv.Itoa(i))
		}
		a := e.newAttr(uuid, av[0], av[1], true, ts, comment, tags)
		if i == 0 {
			e.attrByID[o.ID] = a // sightings of the indicator go to its first attribute
		}
		e.coverMapping(av[0], av[1])
	}
}

// galaxy returns the output galaxy of a type, creating it in order.
func (e *encoder) galaxy(typ string) *galaxyOut {
	g, ok := e.galaxies[typ]
	if !ok {
		g = &galaxyOut{typ: typ}
		e.galaxies[typ] = g
		e.galOrder = append(e.galOrder, typ)
	}
	return g
}

// defaultGalaxy is the galaxy of clusters from elsewhere than MISP.
var defaultGalaxy = map[string]string{
	"threat-actor": "threat-actor", "intrusion-set": "mitre-intrusion-set", "malware": "mitre-malware",
	"tool": "mitre-tool", "attack-pattern": "mitre-attack-pattern", "course-of-action": "mitre-course-of-action",
	"campaign": "campaign",
}

// cluster exports a threat actor, malware, … as a galaxy cluster and its
// tag.
func (e *encoder) cluster(o *schema.Object) {
	e.covered[o.ID] = true
	typ := cmpOr(str(o, "x_misp_galaxy_type"), defaultGalaxy[o.Type])
	name := str(o, "name")
	if typ == "" || name == "" {
		e.skip(o.ID, "galaxy cluster without galaxy type or name")
		return
	}
	c := map[string]any{"type": typ, "value": name, "uuid": cmpOr(str(o, "x_misp_uuid"), uuidOf(o.ID))}
	if d := str(o, "description"); d != "" {
		c["description"] = d
	}
	tag := cmpOr(str(o, "x_misp_tag_name"), "misp-galaxy:"+typ+"="+strconv.Quote(name))
	c["tag_name"] = tag
	if m, ok := o.Props["x_misp_meta"]; ok {
		c["meta"] = m
	} else {
		meta := map[string][]string{}
		if al := o.Strings("aliases"); len(al) > 0 {
			meta["synonyms"] = al
		}
		var refs []struct {
			URL        string `json:"url"`
			ExternalID string `json:"external_id"`
		}
		_ = json.Unmarshal(o.Props["external_references"], &refs)
		for _, r := range refs {
			if r.URL != "" {
				meta["refs"] = append(meta["refs"], r.URL)
			}
			if r.ExternalID != "" {
				meta["external_id"] = append(meta["external_id"], r.ExternalID)
			}
		}
		if len(meta) > 0 {
			c["meta"] = meta
		}
	}
	if v, ok := o.Props["x_misp_version"]; ok {
		c["version"] = v
	}
	if r, ok := o.Props["x_misp_related"]; ok {
		c["related"] = r
	}
	if x, ok := o.Props["x_misp_extra"]; ok {
		var extra map[string]json.RawMessage
		if json.Unmarshal(x, &extra) == nil {
			for k, v := range extra {
				if _, taken := c[k]; !taken {
					c[k] = v
				}
			}
		}
	}
	g := e.galaxy(typ)
	g.clusters = append(g.clusters, c)
	if !e.fromMISP {
		// An event from MISP has its galaxy tags among its labels already.
		e.tags = append(e.tags, tag)
	}
	e.stats.Clusters++
}

// relationship handles a relationship no object gave back.
func (e *encoder) relationship(o *schema.Object) {
	src, tgt := str(o, "source_ref"), str(o, "target_ref")
	switch {
	case str(o, "relationship_type") == "related-to" && schema.IdentifierType(src) == "report" && schema.IdentifierType(tgt) == "report":
		e.covered[o.ID] = true // RelatedEvent, kept on the report
	case e.covered[src] && e.covered[tgt] && schema.KindOf(schema.IdentifierType(src)) == schema.KindSCO:
		e.covered[o.ID] = true // between observables of one attribute (domain|ip)
	default:
		t, ok := e.byID[tgt]
		a := e.attrByID[src]
		if a == nil {
			a = e.objAttrs[strings.ToLower(str(o, "x_misp_attribute_uuid"))]
		}
		if ok && a != nil {
			if tag := str(t, "x_misp_tag_name"); tag != "" || defaultGalaxy[t.Type] != "" {
				if tag == "" {
					tag = "misp-galaxy:" + defaultGalaxy[t.Type] + "=" + strconv.Quote(str(t, "name"))
				}
				var tags []map[string]string
				_ = json.Unmarshal(a["Tag"], &tags)
				has := false
				for _, x := range tags {
					has = has || x["name"] == tag
				}
				if !has {
					tags = append(tags, map[string]string{"name": tag})
					a["Tag"] = raw(tags)
				}
				e.covered[o.ID] = true
				return
			}
		}
		e.skip(o.ID, "MISP events hold relationships only between objects (ObjectReference)")
	}
}

// sighting attaches a sighting to its attribute.
func (e *encoder) sighting(o *schema.Object) {
	a := e.objAttrs[strings.ToLower(str(o, "x_misp_attribute_uuid"))]
	if a == nil {
		a = e.attrByID[str(o, "sighting_of_ref")]
	}
	if a == nil {
		e.skip(o.ID, "sighting of an object that is not an exported attribute")
		return
	}
	e.covered[o.ID] = true
	s := map[string]json.RawMessage{}
	restoreFields(s, o.Props, sightingKeys)
	if _, ok := s["uuid"]; !ok {
		s["uuid"] = raw(uuidOf(o.ID))
	}
	if _, ok := s["date_sighting"]; !ok {
		t, _ := timeOf(o, "last_seen")
		if t.IsZero() {
			t = o.Modified
		}
		s["date_sighting"] = unixString(t)
	}
	if _, ok := s["type"]; !ok {
		s["type"] = raw("0")
	}
	if _, ok := s["Organisation"]; !ok {
		if refs := o.Strings("where_sighted_refs"); len(refs) > 0 {
			if org, ok := e.byID[refs[0]]; ok {
				s["Organisation"] = raw(map[string]string{"name": str(org, "name"), "uuid": orgUUID(org)})
			}
		}
	}
	var list []json.RawMessage
	_ = json.Unmarshal(a["Sighting"], &list)
	a["Sighting"] = raw(append(list, raw(s)))
	e.stats.Sightings++
}

// note exports a note on the container as an event report.
func (e *encoder) note(o *schema.Object) {
	r := map[string]json.RawMessage{}
	restoreFields(r, o.Props, eventReportKeys)
	r["content"] = o.Props["content"]
	if _, ok := r["name"]; !ok {
		r["name"] = raw(cmpOr(str(o, "abstract"), "Note "+uuidOf(o.ID)))
	}
	if _, ok := r["uuid"]; !ok {
		r["uuid"] = raw(uuidOf(o.ID))
	}
	e.covered[o.ID] = true
	e.reports = append(e.reports, r)
}
