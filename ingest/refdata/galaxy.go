package refdata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/verband-cti/verband/schema"
)

// Galaxy is one MISP galaxy: a clusters file of the misp-galaxy repository
// (clusters/<type>.json), optionally completed by its definition
// (galaxies/<type>.json), which names the galaxy and gives its namespace.
type Galaxy struct {
	// Type is the galaxy type, such as "threat-actor" or
	// "mitre-attack-pattern"; it appears in tags as misp-galaxy:<type>="…".
	Type string
	// Name, Description, Category, Source, Namespace and UUID describe the
	// galaxy; UUID is the clusters file's collection uuid.
	Name, Description, Category, Source, Namespace, UUID string
	// Authors lists the authors of the clusters file.
	Authors []string
	// Version is the clusters file's version.
	Version int64
	// Clusters are the galaxy's values, in file order.
	Clusters []*Cluster
}

// Cluster is one value of a galaxy, such as the threat actor "APT1".
type Cluster struct {
	// GalaxyType is the type of the galaxy the cluster belongs to.
	GalaxyType string
	// Value is the cluster's name.
	Value string
	// UUID is the cluster's uuid as given, possibly empty or malformed.
	UUID string
	// Description is free text.
	Description string
	// Version is the galaxy version the cluster comes from (0 when unknown).
	Version int64
	// Meta holds the cluster's meta dictionary as given: synonyms, refs,
	// country, kill_chain, external_id and whatever else the galaxy uses.
	Meta map[string]json.RawMessage
	// Related lists the cluster's relations to other clusters.
	Related []Related
	// Extra holds the cluster's other properties as given (source, authors,
	// collection_uuid, distribution, …), without the ids that are local to
	// one MISP instance (id, galaxy_id, tag_id, org_id, orgc_id,
	// sharing_group_id).
	Extra map[string]json.RawMessage
}

// Related is one relation of a cluster to another cluster.
type Related struct {
	// DestUUID is the uuid of the related cluster.
	DestUUID string `json:"dest-uuid"`
	// Type is the relation, such as "similar" or "uses".
	Type string `json:"type"`
	// Tags qualify the relation, such as an estimative-language tag.
	Tags []string `json:"tags,omitempty"`
}

// TagName returns the MISP tag that attaches the cluster to events:
// misp-galaxy:<galaxy type>="<value>".
func (c *Cluster) TagName() string {
	return "misp-galaxy:" + c.GalaxyType + "=" + strconv.Quote(c.Value)
}

// Synonyms returns the cluster's meta "synonyms".
func (c *Cluster) Synonyms() []string { return metaStrings(c.Meta, "synonyms") }

// Refs returns the cluster's meta "refs" (reference URLs).
func (c *Cluster) Refs() []string { return metaStrings(c.Meta, "refs") }

// metaStrings reads a meta entry that is a string or a list of strings.
func metaStrings(meta map[string]json.RawMessage, key string) []string {
	raw, ok := meta[key]
	if !ok {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "" {
			return nil
		}
		return []string{one}
	}
	var many []any
	if json.Unmarshal(raw, &many) != nil {
		return nil
	}
	out := make([]string, 0, len(many))
	for _, v := range many {
		switch v := v.(type) {
		case string:
			if v != "" {
				out = append(out, v)
			}
		case float64:
			out = append(out, strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	return out
}

// localClusterKeys are cluster properties that are ids local to one MISP
// instance; they are not kept, so that copies of one cluster from several
// instances are equal.
var localClusterKeys = map[string]bool{
	"id": true, "galaxy_id": true, "tag_id": true, "org_id": true, "orgc_id": true, "sharing_group_id": true,
}

// ParseCluster decodes one cluster as it appears in a clusters file's
// "values" or in an event's Galaxy[].GalaxyCluster[]. The galaxy type comes
// from the cluster's own "type" when it has one, or from galaxyType.
func ParseCluster(raw []byte, galaxyType string, version int64) (*Cluster, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode galaxy cluster: %w", err)
	}
	if m == nil {
		return nil, fmt.Errorf("decode galaxy cluster: %w", ErrNotCluster)
	}
	return NewCluster(m, galaxyType, version)
}

// NewCluster is ParseCluster for a cluster whose members are decoded
// already.
func NewCluster(m map[string]json.RawMessage, galaxyType string, version int64) (*Cluster, error) {
	c := &Cluster{GalaxyType: galaxyType, Version: version}
	for k, v := range m {
		var err error
		switch k {
		case "value":
			c.Value, err = flexString(v)
		case "uuid":
			c.UUID, err = flexString(v)
		case "description":
			c.Description, err = flexString(v)
		case "type":
			var t string
			if t, err = flexString(v); err == nil && t != "" {
				c.GalaxyType = t
			}
		case "version":
			if n, ok := flexInt(v); ok {
				c.Version = n
			} else if !isNull(v) {
				err = fmt.Errorf("not a number: %s", clip(v))
			}
		case "meta":
			if !isNull(v) {
				if err = json.Unmarshal(v, &c.Meta); err != nil {
					err = fmt.Errorf("not an object: %w", err)
				}
			}
		case "related":
			if !isNull(v) {
				err = json.Unmarshal(v, &c.Related)
			}
		default:
			if localClusterKeys[k] || isNull(v) || k == "tag_name" {
				continue // the tag name is TagName()
			}
			if c.Extra == nil {
				c.Extra = map[string]json.RawMessage{}
			}
			c.Extra[k] = v
		}
		if err != nil {
			return nil, fmt.Errorf("decode galaxy cluster %q field %q: %w: %w", c.Value, k, ErrBadField, err)
		}
	}
	if strings.TrimSpace(c.Value) == "" {
		return nil, fmt.Errorf("decode galaxy cluster %s: field \"value\": %w: empty", c.UUID, ErrBadField)
	}
	return c, nil
}

// STIXType returns the STIX type that clusters of a galaxy type become:
// attack-pattern, course-of-action, intrusion-set, malware, tool,
// threat-actor or vulnerability, and "x-misp-galaxy-cluster" for galaxies
// that fit none of them (sectors, countries, guidelines, …), which are kept
// as custom objects.
func STIXType(galaxyType string) string {
	t := strings.ToLower(strings.TrimSpace(galaxyType))
	if s, ok := galaxyTypes[t]; ok {
		return s
	}
	for _, suf := range galaxySuffixes {
		if strings.HasSuffix(t, suf[0]) {
			return suf[1]
		}
	}
	return TypeGalaxyCluster
}

// TypeGalaxyCluster is the custom STIX type of clusters whose galaxy has no
// STIX counterpart.
const TypeGalaxyCluster = "x-misp-galaxy-cluster"

// galaxyTypes maps galaxy types of misp-galaxy to STIX types where the name
// does not say it.
var galaxyTypes = map[string]string{
	"android": "malware", "backdoor": "malware", "banker": "malware", "botnet": "malware",
	"cryptominers": "malware", "malpedia": "malware", "ransomware": "malware", "rat": "malware",
	"stealer": "malware", "ios": "malware", "linux-malware": "malware",
	"exploit-kit": "tool", "tds": "tool", "tool": "tool", "surveillance-vendor": "threat-actor",
	"360net": "threat-actor", "microsoft-activity-group": "intrusion-set",
	"mitre-ics-techniques": "attack-pattern", "attck4fraud": "attack-pattern",
	"branded-vulnerability": "vulnerability", "preventive-measure": "course-of-action",
}

// galaxySuffixes maps galaxy type endings to STIX types, in order.
var galaxySuffixes = [][2]string{
	{"attack-pattern", "attack-pattern"},
	{"course-of-action", "course-of-action"},
	{"intrusion-set", "intrusion-set"},
	{"threat-actor", "threat-actor"},
	{"malware", "malware"},
	{"tool", "tool"},
	{"vulnerability", "vulnerability"},
}

// aliasTypes are the STIX types with an "aliases" property.
var aliasTypes = map[string]bool{"threat-actor": true, "intrusion-set": true, "malware": true, "tool": true, "campaign": true, "infrastructure": true}

var cveRE = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)

// ClusterID returns the STIX id of a cluster: its STIX type and its own uuid
// (which, for the MITRE ATT&CK galaxies, is the uuid of the same object in
// MITRE's own STIX, so both land on one node), or a uuid derived from the
// galaxy type and value when it has none.
func ClusterID(c *Cluster) string {
	return STIXID(STIXType(c.GalaxyType), c.UUID, c.GalaxyType, c.Value)
}

// ClusterObject turns a cluster into a STIX object of the type STIXType
// gives, with id ClusterID. The value becomes the name, synonyms become
// aliases, refs and external ids become external references, MITRE kill
// chains become kill_chain_phases, and everything else is kept in custom
// properties: x_misp_galaxy_type, x_misp_tag_name, x_misp_meta (the whole
// meta dictionary), x_misp_related, x_misp_version and x_misp_extra. Its
// created timestamp is Epoch and its modified timestamp VersionTime of the
// galaxy version, so a newer galaxy version replaces an older copy and a
// cluster never replaces an object of the same id that has real dates (such
// as MITRE's own ATT&CK object).
func ClusterObject(c *Cluster) (*schema.Object, error) {
	typ := STIXType(c.GalaxyType)
	o := &schema.Object{Props: map[string]json.RawMessage{}}
	set := func(k string, v any) {
		if err := o.Set(k, v); err != nil {
			panic(err) // encoding strings, slices and maps of them cannot fail
		}
	}
	set("type", typ)
	set("id", ClusterID(c))
	set("spec_version", "2.1")
	set("created", FormatTime(Epoch))
	set("modified", FormatTime(VersionTime(c.Version)))
	set("name", c.Value)
	if c.Description != "" {
		set("description", c.Description)
	}
	if typ == "malware" {
		set("is_family", true)
	}
	syn := slices.DeleteFunc(c.Synonyms(), func(s string) bool { return s == c.Value })
	if len(syn) > 0 && aliasTypes[typ] {
		set("aliases", syn)
	}
	var refs []map[string]string
	if typ == "vulnerability" && cveRE.MatchString(strings.ToUpper(c.Value)) {
		refs = append(refs, map[string]string{"source_name": "cve", "external_id": strings.ToUpper(c.Value)})
	}
	for _, id := range metaStrings(c.Meta, "external_id") {
		src := "misp-galaxy:" + c.GalaxyType
		if strings.HasPrefix(c.GalaxyType, "mitre-") {
			src = "mitre-attack"
		}
		refs = append(refs, map[string]string{"source_name": src, "external_id": id})
	}
	for _, u := range c.Refs() {
		refs = append(refs, map[string]string{"source_name": "url", "url": u})
	}
	if len(refs) > 0 {
		set("external_references", refs)
	}
	if typ == "attack-pattern" {
		var phases []map[string]string
		for _, kc := range metaStrings(c.Meta, "kill_chain") {
			i := strings.IndexByte(kc, ':')
			j := strings.LastIndexByte(kc, ':')
			if i <= 0 || j == len(kc)-1 {
				continue
			}
			phases = append(phases, map[string]string{"kill_chain_name": kc[:i], "phase_name": kc[j+1:]})
		}
		if len(phases) > 0 {
			set("kill_chain_phases", phases)
		}
	}
	set("x_misp_galaxy_type", c.GalaxyType)
	set("x_misp_tag_name", c.TagName())
	if c.UUID != "" && !IsUUID(c.UUID) {
		set("x_misp_uuid", c.UUID)
	}
	if c.Version != 0 {
		set("x_misp_version", c.Version)
	}
	if len(c.Meta) > 0 {
		set("x_misp_meta", c.Meta)
	}
	if len(c.Related) > 0 {
		set("x_misp_related", c.Related)
	}
	if len(c.Extra) > 0 {
		set("x_misp_extra", c.Extra)
	}
	if err := schema.Validate(o); err != nil {
		return nil, fmt.Errorf("convert galaxy cluster %q: %w", c.Value, err)
	}
	return o, nil
}

// ReadGalaxy decodes a misp-galaxy clusters file (with "values") or a galaxy
// definition file (without). name names the input in errors.
func ReadGalaxy(r io.Reader, name string) (*Galaxy, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read galaxy %s: %w", name, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode galaxy %s: %w", name, err)
	}
	if m == nil {
		return nil, fmt.Errorf("decode galaxy %s: %w", name, ErrNotGalaxy)
	}
	g := &Galaxy{}
	str := func(k string, dst *string) error {
		if v, ok := m[k]; ok {
			s, err := flexString(v)
			if err != nil {
				return fmt.Errorf("decode galaxy %s: field %q: %w: %w", name, k, ErrBadField, err)
			}
			*dst = s
		}
		return nil
	}
	for k, dst := range map[string]*string{"type": &g.Type, "name": &g.Name, "description": &g.Description,
		"category": &g.Category, "source": &g.Source, "namespace": &g.Namespace, "uuid": &g.UUID} {
		if err := str(k, dst); err != nil {
			return nil, err
		}
	}
	if g.Type == "" {
		return nil, fmt.Errorf("decode galaxy %s: field \"type\": %w", name, ErrNotGalaxy)
	}
	if v, ok := m["version"]; ok {
		g.Version, _ = flexInt(v)
	}
	if v, ok := m["authors"]; ok && !isNull(v) {
		if err := json.Unmarshal(v, &g.Authors); err != nil {
			return nil, fmt.Errorf("decode galaxy %s: field \"authors\": %w: %w", name, ErrBadField, err)
		}
	}
	if v, ok := m["values"]; ok {
		var vals []json.RawMessage
		if err := json.Unmarshal(v, &vals); err != nil {
			return nil, fmt.Errorf("decode galaxy %s: field \"values\": %w: %w", name, ErrBadField, err)
		}
		for i, raw := range vals {
			c, err := ParseCluster(raw, g.Type, g.Version)
			if err != nil {
				return nil, fmt.Errorf("decode galaxy %s: value %d: %w", name, i, err)
			}
			c.GalaxyType = g.Type // a clusters file's values belong to it
			g.Clusters = append(g.Clusters, c)
		}
	}
	return g, nil
}

// Galaxies is a set of loaded galaxies with their clusters, indexed by
// cluster uuid and by tag. It is read-only after loading and safe for
// concurrent use.
type Galaxies struct {
	galaxies []*Galaxy
	byUUID   map[string]*Cluster
	byTag    map[string]*Cluster
}

// LoadGalaxies reads clusters files and galaxy definition files (files, or
// directories walked for *.json) and merges the definitions into the
// galaxies of the same type.
func LoadGalaxies(paths ...string) (*Galaxies, error) {
	files, err := jsonFiles(paths)
	if err != nil {
		return nil, fmt.Errorf("load galaxies: %w", err)
	}
	gs, err := readAll(files, ReadGalaxy)
	if err != nil {
		return nil, fmt.Errorf("load galaxies: %w", err)
	}
	return NewGalaxies(gs...), nil
}

// NewGalaxies indexes galaxies. A definition (a galaxy without clusters)
// fills in the name, description and namespace of the clusters file of the
// same type. When two clusters share a uuid, the one from the newer galaxy
// version is kept.
func NewGalaxies(gs ...*Galaxy) *Galaxies {
	out := &Galaxies{byUUID: map[string]*Cluster{}, byTag: map[string]*Cluster{}}
	defs := map[string]*Galaxy{}
	for _, g := range gs {
		if len(g.Clusters) == 0 {
			defs[g.Type] = g
		}
	}
	for _, g := range gs {
		if len(g.Clusters) == 0 {
			continue
		}
		if d, ok := defs[g.Type]; ok {
			delete(defs, g.Type)
			if d.Namespace != "" {
				g.Namespace = d.Namespace
			}
			if g.Name == "" {
				g.Name = d.Name
			}
			if g.Description == "" {
				g.Description = d.Description
			}
		}
		out.galaxies = append(out.galaxies, g)
		for _, c := range g.Clusters {
			if c.UUID != "" {
				if old, ok := out.byUUID[strings.ToLower(c.UUID)]; !ok || old.Version <= c.Version {
					out.byUUID[strings.ToLower(c.UUID)] = c
				}
			}
			out.byTag[c.TagName()] = c
		}
	}
	for _, d := range defs { // definitions without clusters
		out.galaxies = append(out.galaxies, d)
	}
	return out
}

// Galaxies returns the loaded galaxies.
func (g *Galaxies) Galaxies() []*Galaxy { return g.galaxies }

// ByUUID returns the cluster with a uuid.
func (g *Galaxies) ByUUID(uuid string) (*Cluster, bool) {
	if g == nil {
		return nil, false
	}
	c, ok := g.byUUID[strings.ToLower(uuid)]
	return c, ok
}

// ByTag returns the cluster a misp-galaxy tag names, such as
// misp-galaxy:threat-actor="APT1".
func (g *Galaxies) ByTag(tag string) (*Cluster, bool) {
	if g == nil {
		return nil, false
	}
	c, ok := g.byTag[tag]
	if !ok {
		if typ, val, ok2 := ParseGalaxyTag(tag); ok2 {
			c, ok = g.byTag["misp-galaxy:"+typ+"="+strconv.Quote(val)]
		}
	}
	return c, ok
}

// ParseGalaxyTag splits a tag misp-galaxy:<type>="<value>" into the galaxy
// type and the cluster value.
func ParseGalaxyTag(tag string) (galaxyType, value string, ok bool) {
	rest, ok := strings.CutPrefix(tag, "misp-galaxy:")
	if !ok {
		return "", "", false
	}
	typ, val, ok := strings.Cut(rest, "=")
	if !ok || typ == "" {
		return "", "", false
	}
	if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
		val = val[1 : len(val)-1]
	}
	if val == "" {
		return "", "", false
	}
	return typ, val, true
}

func flexString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw), nil
	}
	return "", fmt.Errorf("not a string: %s", clip(raw))
}

func flexInt(raw json.RawMessage) (int64, bool) {
	s, err := flexString(raw)
	if err != nil || s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil
}

func isNull(raw []byte) bool { return string(bytes.TrimSpace(raw)) == "null" }

func clip(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}
