package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

// concreteTypes maps the STIX types with a GraphQL type of their own to it;
// every other type is a GenericObject.
var concreteTypes = map[string]string{
	"attack-pattern":    "AttackPattern",
	"campaign":          "Campaign",
	"identity":          "Identity",
	"incident":          "Incident",
	"indicator":         "Indicator",
	"infrastructure":    "Infrastructure",
	"intrusion-set":     "IntrusionSet",
	"malware":           "Malware",
	"report":            "Report",
	"threat-actor":      "ThreatActor",
	"tool":              "Tool",
	"vulnerability":     "Vulnerability",
	schema.TypeCase:     "Case",
	"grouping":          "Grouping",
	"observed-data":     "ObservedData",
	"sighting":          "Sighting",
	"relationship":      "Relationship",
	"ipv4-addr":         "IPv4Address",
	"ipv6-addr":         "IPv6Address",
	"domain-name":       "DomainName",
	"url":               "URL",
	"email-addr":        "EmailAddress",
	"file":              "File",
	"autonomous-system": "AutonomousSystem",
}

// objectResolver resolves every STIX object type of the schema: the
// StixObject interface and each concrete type, whose typed fields read the
// object's properties. grp is the object's sibling group, whose loads are
// batched together.
type objectResolver struct {
	req *request
	n   *graph.Node
	grp *group

	// ID (the API id: the internal id, encrypted, see idCodec), StixID
	// and Type are set when the resolver is made (see request.resolver).
	// graphql-go reads a struct field with one reflective field access,
	// where a method costs a reflective call with its argument and result
	// slices: about a tenth of the CPU of a 2-hop neighbourhood of 100
	// objects went to those calls.
	ID     objectID `graphql:"id"`
	StixID string   `graphql:"stixId"`
	Type   string   `graphql:"type"`

	once   sync.Once
	parsed *schema.Object
}

// obj decodes the node's JSON once. A record that does not decode (which
// Store.Check would report) reads as an object without properties.
func (o *objectResolver) obj() *schema.Object {
	o.once.Do(func() {
		p, err := o.n.Object()
		if err != nil {
			p = &schema.Object{Type: o.n.Type, ID: o.n.StixID, Props: map[string]json.RawMessage{}}
		}
		o.parsed = p
	})
	return o.parsed
}

func (o *objectResolver) is(typ string) (*objectResolver, bool) { return o, o.n.Type == typ }

// Type assertions for the StixObject interface.

func (o *objectResolver) ToAttackPattern() (*objectResolver, bool)  { return o.is("attack-pattern") }
func (o *objectResolver) ToCampaign() (*objectResolver, bool)       { return o.is("campaign") }
func (o *objectResolver) ToIdentity() (*objectResolver, bool)       { return o.is("identity") }
func (o *objectResolver) ToIncident() (*objectResolver, bool)       { return o.is("incident") }
func (o *objectResolver) ToIndicator() (*objectResolver, bool)      { return o.is("indicator") }
func (o *objectResolver) ToInfrastructure() (*objectResolver, bool) { return o.is("infrastructure") }
func (o *objectResolver) ToIntrusionSet() (*objectResolver, bool)   { return o.is("intrusion-set") }
func (o *objectResolver) ToMalware() (*objectResolver, bool)        { return o.is("malware") }
func (o *objectResolver) ToReport() (*objectResolver, bool)         { return o.is("report") }
func (o *objectResolver) ToThreatActor() (*objectResolver, bool)    { return o.is("threat-actor") }
func (o *objectResolver) ToTool() (*objectResolver, bool)           { return o.is("tool") }
func (o *objectResolver) ToVulnerability() (*objectResolver, bool)  { return o.is("vulnerability") }
func (o *objectResolver) ToCase() (*objectResolver, bool)           { return o.is(schema.TypeCase) }
func (o *objectResolver) ToGrouping() (*objectResolver, bool)       { return o.is("grouping") }
func (o *objectResolver) ToObservedData() (*objectResolver, bool)   { return o.is("observed-data") }
func (o *objectResolver) ToSighting() (*objectResolver, bool)       { return o.is("sighting") }
func (o *objectResolver) ToRelationship() (*objectResolver, bool)   { return o.is("relationship") }
func (o *objectResolver) ToIPv4Address() (*objectResolver, bool)    { return o.is("ipv4-addr") }
func (o *objectResolver) ToIPv6Address() (*objectResolver, bool)    { return o.is("ipv6-addr") }
func (o *objectResolver) ToDomainName() (*objectResolver, bool)     { return o.is("domain-name") }
func (o *objectResolver) ToURL() (*objectResolver, bool)            { return o.is("url") }
func (o *objectResolver) ToEmailAddress() (*objectResolver, bool)   { return o.is("email-addr") }
func (o *objectResolver) ToFile() (*objectResolver, bool)           { return o.is("file") }
func (o *objectResolver) ToAutonomousSystem() (*objectResolver, bool) {
	return o.is("autonomous-system")
}
func (o *objectResolver) ToGenericObject() (*objectResolver, bool) {
	_, known := concreteTypes[o.n.Type]
	return o, !known
}

// Common fields.

// Created is the creation time.
func (o *objectResolver) Created() *graphql.Time { return gqlTime(o.n.Created) }

// Modified is the modification time.
func (o *objectResolver) Modified() *graphql.Time { return gqlTime(o.n.Modified) }

// Labels are the labels.
func (o *objectResolver) Labels() []string { return o.strs("labels") }

// Confidence is the confidence, when it is an integer.
func (o *objectResolver) Confidence() *int32 { return o.int32("confidence") }

// Owner is the owning organization.
func (o *objectResolver) Owner() *string { return optString(o.n.Policy.Owner) }

// ownerView reports whether the viewer may see protected details of the
// object: its owner organization, or the system viewer.
func (o *objectResolver) ownerView() bool {
	v := o.req.viewer
	return v.IsSystem() || (v.Org != "" && v.Org == o.n.Policy.Owner)
}

// markings is the Markings type.
type markings struct {
	TLP          string
	PAP          *string
	Definitions  []string
	SharedWith   []string
	Discoverable bool
}

// Markings are the enforced TLP level and the object's marking refs.
func (o *objectResolver) Markings() *markings {
	m := &markings{TLP: tlpEnum(o.n.Policy.TLP), Definitions: nonNil(o.strs("object_marking_refs")), SharedWith: []string{}}
	if p := schema.PAPOf(o.obj()); p != schema.PAPUnmarked {
		m.PAP = optString(p.String())
	}
	if o.ownerView() {
		m.SharedWith = nonNil(slices.Clone(o.n.Policy.Sharing))
		m.Discoverable = o.n.Policy.Discoverable
	}
	return m
}

// provenance is the Provenance type.
type provenance struct {
	Source     string
	File       *string
	At         *graphql.Time
	OriginalID *string
}

// Provenance lists where the viewer's own organization's contribution came
// from: the provenance of other organizations' contributions is protected.
func (o *objectResolver) Provenance() []*provenance {
	out := []*provenance{}
	v := o.req.viewer
	for _, c := range o.n.Contributions {
		if !v.IsSystem() && (v.Org == "" || v.Org != c.Policy.Owner) {
			continue
		}
		for _, p := range c.Provenance {
			out = append(out, &provenance{Source: p.Source, File: optString(p.File), At: gqlTime(p.At), OriginalID: optString(p.OriginalID)})
		}
	}
	return out
}

// Properties is the whole object as JSON.
func (o *objectResolver) Properties() JSON { return JSON{raw: o.n.Raw} }

// Property is one property as JSON.
func (o *objectResolver) Property(args struct{ Name string }) *JSON {
	raw, ok := o.obj().Props[args.Name]
	if !ok {
		return nil
	}
	return &JSON{raw: raw}
}

// CreatedBy is the identity of created_by_ref.
func (o *objectResolver) CreatedBy(ctx context.Context) (*objectResolver, error) {
	return o.ref(ctx, "created_by_ref")
}

// Neighbours is the page of edges at the object.
func (o *objectResolver) Neighbours(ctx context.Context, args neighbourArgs) (*neighbourConnection, error) {
	return o.neighbourPage(ctx, args)
}

// Typed fields, shared by the concrete types that have them.

func (o *objectResolver) Name() *string               { return o.str("name") }
func (o *objectResolver) Description() *string        { return o.str("description") }
func (o *objectResolver) Aliases() []string           { return o.strs("aliases") }
func (o *objectResolver) FirstSeen() *graphql.Time    { return o.time("first_seen") }
func (o *objectResolver) LastSeen() *graphql.Time     { return o.time("last_seen") }
func (o *objectResolver) Value() *string              { return o.str("value") }
func (o *objectResolver) Objective() *string          { return o.str("objective") }
func (o *objectResolver) IdentityClass() *string      { return o.str("identity_class") }
func (o *objectResolver) Sectors() []string           { return o.strs("sectors") }
func (o *objectResolver) ContactInformation() *string { return o.str("contact_information") }
func (o *objectResolver) Roles() []string             { return o.strs("roles") }
func (o *objectResolver) Pattern() *string            { return o.str("pattern") }
func (o *objectResolver) PatternType() *string        { return o.str("pattern_type") }
func (o *objectResolver) ValidFrom() *graphql.Time    { return o.time("valid_from") }
func (o *objectResolver) ValidUntil() *graphql.Time   { return o.time("valid_until") }
func (o *objectResolver) IndicatorTypes() []string    { return o.strs("indicator_types") }
func (o *objectResolver) InfrastructureTypes() []string {
	return o.strs("infrastructure_types")
}
func (o *objectResolver) Goals() []string              { return o.strs("goals") }
func (o *objectResolver) ResourceLevel() *string       { return o.str("resource_level") }
func (o *objectResolver) PrimaryMotivation() *string   { return o.str("primary_motivation") }
func (o *objectResolver) MalwareTypes() []string       { return o.strs("malware_types") }
func (o *objectResolver) IsFamily() *bool              { return o.bool("is_family") }
func (o *objectResolver) Capabilities() []string       { return o.strs("capabilities") }
func (o *objectResolver) Published() *graphql.Time     { return o.time("published") }
func (o *objectResolver) ReportTypes() []string        { return o.strs("report_types") }
func (o *objectResolver) ThreatActorTypes() []string   { return o.strs("threat_actor_types") }
func (o *objectResolver) Sophistication() *string      { return o.str("sophistication") }
func (o *objectResolver) ToolTypes() []string          { return o.strs("tool_types") }
func (o *objectResolver) ToolVersion() *string         { return o.str("tool_version") }
func (o *objectResolver) Context() *string             { return o.str("context") }
func (o *objectResolver) FirstObserved() *graphql.Time { return o.time("first_observed") }
func (o *objectResolver) LastObserved() *graphql.Time  { return o.time("last_observed") }
func (o *objectResolver) NumberObserved() *int32       { return o.int32("number_observed") }
func (o *objectResolver) Count() *int32                { return o.int32("count") }
func (o *objectResolver) Summary() *bool               { return o.bool("summary") }
func (o *objectResolver) StartTime() *graphql.Time     { return o.time("start_time") }
func (o *objectResolver) StopTime() *graphql.Time      { return o.time("stop_time") }
func (o *objectResolver) DisplayName() *string         { return o.str("display_name") }
func (o *objectResolver) Size() *float64               { return o.float("size") }
func (o *objectResolver) Number() *float64             { return o.float("number") }
func (o *objectResolver) Rir() *string                 { return o.str("rir") }
func (o *objectResolver) MimeType() *string            { return o.str("mime_type") }
func (o *objectResolver) OwnerOrganization() *string   { return o.str("x_owner_organization") }
func (o *objectResolver) ParticipatingOrganizations() []string {
	return o.strs("participating_organizations")
}

// RelationshipType is the relationship's type.
func (o *objectResolver) RelationshipType() string {
	s, _ := o.obj().String("relationship_type")
	return s
}

// SourceRef is the relationship's source_ref.
func (o *objectResolver) SourceRef() string { s, _ := o.obj().String("source_ref"); return s }

// TargetRef is the relationship's target_ref.
func (o *objectResolver) TargetRef() string { s, _ := o.obj().String("target_ref"); return s }

// Source is the relationship's source object.
func (o *objectResolver) Source(ctx context.Context) (*objectResolver, error) {
	return o.ref(ctx, "source_ref")
}

// Target is the relationship's target object.
func (o *objectResolver) Target(ctx context.Context) (*objectResolver, error) {
	return o.ref(ctx, "target_ref")
}

// SightingOf is the sighted object.
func (o *objectResolver) SightingOf(ctx context.Context) (*objectResolver, error) {
	return o.ref(ctx, "sighting_of_ref")
}

// WhereSighted are the visible objects of where_sighted_refs.
func (o *objectResolver) WhereSighted(ctx context.Context) ([]*objectResolver, error) {
	return o.refs(ctx, "where_sighted_refs")
}

// ObservedData are the visible objects of observed_data_refs.
func (o *objectResolver) ObservedData(ctx context.Context) ([]*objectResolver, error) {
	return o.refs(ctx, "observed_data_refs")
}

// Status is a case's status as the enum.
func (o *objectResolver) Status() *string { return enumOf(o.str("status"), schema.CaseStatuses) }

// Severity is a case's severity as the enum.
func (o *objectResolver) Severity() *string { return enumOf(o.str("severity"), schema.CaseSeverities) }

// Hashes are a file's hashes.
func (o *objectResolver) Hashes() *JSON {
	raw, ok := o.obj().Props["hashes"]
	if !ok {
		return nil
	}
	return &JSON{raw: raw}
}

// Hash is one hash of a file, by algorithm name (case and hyphens are
// ignored, so sha256 finds SHA-256).
func (o *objectResolver) Hash(args struct{ Algorithm string }) *string {
	var hashes map[string]string
	if raw, ok := o.obj().Props["hashes"]; !ok || json.Unmarshal(raw, &hashes) != nil {
		return nil
	}
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "")) }
	for k, v := range hashes {
		if norm(k) == norm(args.Algorithm) {
			return &v
		}
	}
	return nil
}

// killChainPhase is the KillChainPhase type.
type killChainPhase struct {
	KillChainName string `json:"kill_chain_name"`
	PhaseName     string `json:"phase_name"`
}

// KillChainPhases are the kill chain phases.
func (o *objectResolver) KillChainPhases() []*killChainPhase {
	var out []*killChainPhase
	if raw, ok := o.obj().Props["kill_chain_phases"]; ok {
		_ = json.Unmarshal(raw, &out)
	}
	return slices.DeleteFunc(nonNil(out), func(p *killChainPhase) bool { return p == nil })
}

// externalReference is the ExternalReference type.
type externalReference struct {
	SourceName  string  `json:"source_name"`
	ExternalID  *string `json:"external_id"`
	URL         *string `json:"url"`
	Description *string `json:"description"`
}

// ExternalReferences are the external references.
func (o *objectResolver) ExternalReferences() []*externalReference {
	var out []*externalReference
	if raw, ok := o.obj().Props["external_references"]; ok {
		_ = json.Unmarshal(raw, &out)
	}
	return slices.DeleteFunc(nonNil(out), func(r *externalReference) bool { return r == nil })
}

// ExternalID is the first external id.
func (o *objectResolver) ExternalID() *string {
	for _, r := range o.ExternalReferences() {
		if r.ExternalID != nil && *r.ExternalID != "" {
			return r.ExternalID
		}
	}
	return nil
}

// Members are the object_refs of a container.
func (o *objectResolver) Members(ctx context.Context, args pageArgs) (*neighbourConnection, error) {
	return o.neighbourPage(ctx, neighbourArgs{Direction: "OUT", EdgeTypes: &[]string{"object_refs"}, First: args.First, After: args.After})
}

// Property helpers.

func (o *objectResolver) str(name string) *string {
	if s, ok := o.obj().String(name); ok {
		return &s
	}
	return nil
}

func (o *objectResolver) strs(name string) []string { return nonNil(o.obj().Strings(name)) }

func (o *objectResolver) time(name string) *graphql.Time {
	s, ok := o.obj().String(name)
	if !ok {
		return nil
	}
	t, err := schema.ParseTimestamp(s)
	if err != nil {
		return nil
	}
	return gqlTime(t)
}

func (o *objectResolver) number(name string) (json.Number, bool) {
	raw, ok := o.obj().Props[name]
	if !ok {
		return "", false
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", false
	}
	return n, true
}

func (o *objectResolver) int32(name string) *int32 {
	n, ok := o.number(name)
	if !ok {
		return nil
	}
	v, err := strconv.ParseInt(string(n), 10, 32)
	if err != nil {
		return nil
	}
	i := int32(v)
	return &i
}

func (o *objectResolver) float(name string) *float64 {
	n, ok := o.number(name)
	if !ok {
		return nil
	}
	f, err := n.Float64()
	if err != nil {
		return nil
	}
	return &f
}

func (o *objectResolver) bool(name string) *bool {
	raw, ok := o.obj().Props[name]
	if !ok {
		return nil
	}
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		return nil
	}
	return &b
}

// refTargets returns the STIX ids an object's property references.
func refTargets(p *schema.Object, prop string) []string {
	if s, ok := p.String(prop); ok && s != "" {
		return []string{s}
	}
	return p.Strings(prop)
}

// prefetchRefs loads, in one batch, the targets of prop of every object in
// the group, so that siblings asking for the same reference hit the cache.
func (o *objectResolver) prefetchRefs(ctx context.Context, prop string) {
	if len(o.grp.ids) <= 1 {
		return
	}
	o.grp.onceFor(prop).Do(func() { o.prefetchGroupRefs(ctx, prop) })
}

func (o *objectResolver) prefetchGroupRefs(ctx context.Context, prop string) {
	var ids []string
	for _, id := range o.grp.ids {
		// The siblings' records are loaded (the group was prefetched), so
		// this reads the cache.
		n, err := o.req.nodes.load(ctx, id)
		if err != nil {
			continue
		}
		p, err := n.Object()
		if err != nil {
			continue
		}
		ids = append(ids, refTargets(p, prop)...)
	}
	o.req.byStix.prefetch(ctx, ids)
}

// ref resolves a single reference property to the visible object it names.
func (o *objectResolver) ref(ctx context.Context, prop string) (*objectResolver, error) {
	targets := refTargets(o.obj(), prop)
	if len(targets) == 0 {
		return nil, nil
	}
	o.prefetchRefs(ctx, prop)
	n, err := o.req.byStix.load(ctx, targets[0])
	if errors.Is(err, graph.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("resolve %s of %s: %w", prop, o.n.StixID, err)
	}
	return o.req.resolver(n, newGroup([]graph.ID{n.ID})), nil
}

// refs resolves a list reference property to the visible objects it names.
func (o *objectResolver) refs(ctx context.Context, prop string) ([]*objectResolver, error) {
	targets := refTargets(o.obj(), prop)
	out := []*objectResolver{}
	if len(targets) == 0 {
		return out, nil
	}
	if len(targets) > o.req.api.limits.MaxPageSize {
		targets = targets[:o.req.api.limits.MaxPageSize]
	}
	o.prefetchRefs(ctx, prop)
	o.req.byStix.prefetch(ctx, targets)
	var nodes []*graph.Node
	for _, t := range targets {
		n, err := o.req.byStix.load(ctx, t)
		if errors.Is(err, graph.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("resolve %s of %s: %w", prop, o.n.StixID, err)
		}
		nodes = append(nodes, n)
	}
	ids := make([]graph.ID, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	return o.req.objects(newGroup(ids), nodes), nil
}

// Scalars and conversions.

// JSON is the JSON scalar: any JSON value, kept as raw bytes.
type JSON struct {
	raw json.RawMessage
}

// ImplementsGraphQLType says JSON implements the JSON scalar.
func (JSON) ImplementsGraphQLType(name string) bool { return name == "JSON" }

// UnmarshalGraphQL takes an input value: any decoded JSON value.
func (j *JSON) UnmarshalGraphQL(input any) error {
	b, err := json.Marshal(input)
	if err != nil {
		return fmt.Errorf("JSON scalar: %w", err)
	}
	j.raw = b
	return nil
}

// MarshalJSON writes the raw value.
func (j JSON) MarshalJSON() ([]byte, error) {
	if len(j.raw) == 0 {
		return []byte("null"), nil
	}
	return j.raw, nil
}

func gqlTime(t time.Time) *graphql.Time {
	if t.IsZero() {
		return nil
	}
	return &graphql.Time{Time: t.UTC()}
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// enumOf maps a stored value ("in-progress") to its GraphQL enum value
// ("IN_PROGRESS"), or nil when it is not one of allowed.
func enumOf(v *string, allowed []string) *string {
	if v == nil || !slices.Contains(allowed, *v) {
		return nil
	}
	e := strings.ToUpper(strings.ReplaceAll(*v, "-", "_"))
	return &e
}

// enumValue maps a GraphQL enum value back to the stored value.
func enumValue(e string) string { return strings.ToLower(strings.ReplaceAll(e, "_", "-")) }

// tlpEnum is the TLP enum value of a level.
func tlpEnum(t schema.TLP) string {
	switch t {
	case schema.TLPClear:
		return "CLEAR"
	case schema.TLPGreen:
		return "GREEN"
	case schema.TLPAmber:
		return "AMBER"
	case schema.TLPAmberStrict:
		return "AMBER_STRICT"
	case schema.TLPRed:
		return "RED"
	}
	return "UNMARKED"
}

// parseTLPEnum is the level of a TLP enum value.
func parseTLPEnum(s string) schema.TLP {
	switch s {
	case "CLEAR":
		return schema.TLPClear
	case "GREEN":
		return schema.TLPGreen
	case "AMBER":
		return schema.TLPAmber
	case "AMBER_STRICT":
		return schema.TLPAmberStrict
	case "RED":
		return schema.TLPRed
	}
	return schema.TLPUnmarked
}
