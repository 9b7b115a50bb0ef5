package query

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/ingest/pipeline"
	"github.com/verband-cti/verband/schema"
)

// mutationResolver resolves the fields of Mutation.
type mutationResolver struct{ api *API }

// canWrite checks that the request may change the store: it came by POST
// and its role writes.
func (r *request) canWrite() error {
	if r.readOnly {
		return &Error{Code: CodeMethod, Message: "mutations must be sent with POST"}
	}
	if !r.principal.Role.CanWrite() {
		return &Error{Code: CodeForbidden, Message: fmt.Sprintf("role %q may not change the store; mutations need analyst, reviewer, admin or service", r.principal.Role)}
	}
	return nil
}

// canEdit checks that the request may change an existing object: its
// organization owns it (an admin's role gives no more right to other
// organizations' objects than any other role).
func (r *request) canEdit(n *graph.Node) error {
	if r.viewer.IsSystem() || (r.principal.Org != "" && n.Policy.Owner == r.principal.Org) {
		return nil
	}
	return &Error{Code: CodeForbidden, Object: n.StixID, Message: fmt.Sprintf("%s is owned by another organization; only its owner may change it", n.StixID)}
}

// update runs fn in a write transaction as the request's viewer.
func (r *request) update(ctx context.Context, fn func(tx *graph.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return r.api.store.Update(r.viewer, fn)
}

// fresh returns the resolver of an object as stored now, read past the
// request's cache.
func (r *request) fresh(ctx context.Context, stixID string) (*objectResolver, error) {
	var n *graph.Node
	err := r.api.store.View(r.viewer, func(tx *graph.Tx) error {
		var err error
		n, err = tx.NodeByStixID(stixID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read back %s: %w", stixID, err)
	}
	return r.resolver(n, newGroup([]graph.ID{n.ID})), nil
}

// newProps starts the properties of an object this API creates: its type,
// a new id, now as created and modified, and its TLP marking.
func newProps(typ string, tlp schema.TLP) map[string]any {
	t := stixTime(now())
	props := map[string]any{"type": typ, "spec_version": "2.1", "id": newStixID(typ), "created": t, "modified": t}
	if refs := markingRefs(nil, tlp); len(refs) > 0 {
		props["object_marking_refs"] = refs
	}
	return props
}

// create stores a new object built from props, owned under policy, after
// refs (run in the same transaction) has added the references it resolves,
// and returns the object as stored.
func (r *request) create(ctx context.Context, props map[string]any, policy graph.Policy, op string, refs func(tx *graph.Tx) error) (*objectResolver, error) {
	err := r.update(ctx, func(tx *graph.Tx) error {
		if err := refs(tx); err != nil {
			return err
		}
		o, err := newObject(props)
		if err != nil {
			return err
		}
		_, err = put(tx, o, r.meta(policy, op), false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return r.fresh(ctx, props["id"].(string))
}

// meta is the metadata of an object the request writes.
func (r *request) meta(p graph.Policy, what string) graph.Meta {
	return graph.Meta{Policy: p, Provenance: graph.Provenance{Source: "api", File: what + " by " + r.principal.User + "@" + r.principal.Org}}
}

// newStixID returns a new random STIX id of type typ (UUID version 4).
func newStixID(typ string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%s--%x-%x-%x-%x-%x", typ, b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// stixTime formats a STIX timestamp with millisecond precision.
func stixTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// now returns the current time at millisecond precision.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// nextModified returns the modified time of a new version of an object
// last modified at old: now, or just after old when the clock lags.
func nextModified(old time.Time) time.Time {
	t := now()
	if !t.After(old) {
		t = old.Add(time.Millisecond)
	}
	return t
}

// newObject builds and validates an object from properties.
func newObject(props map[string]any) (*schema.Object, error) {
	raw, err := json.Marshal(props)
	if err != nil {
		return nil, fmt.Errorf("encode object: %w", err)
	}
	o, err := schema.ParseObject(raw)
	if err != nil {
		return nil, err
	}
	if err := schema.Validate(o); err != nil {
		return nil, err
	}
	return o, nil
}

// newVersion clones n's object with changed properties (nil deletes one)
// and, for objects that have one, a new modified time.
func newVersion(n *graph.Node, changes map[string]any) (*schema.Object, error) {
	o, err := n.Object()
	if err != nil {
		return nil, err
	}
	o = o.Clone()
	for k, v := range changes {
		if v == nil {
			delete(o.Props, k)
			continue
		}
		if err := o.Set(k, v); err != nil {
			return nil, err
		}
	}
	if _, ok := o.Props["modified"]; ok {
		if err := o.Set("modified", stixTime(nextModified(n.Modified))); err != nil {
			return nil, err
		}
	}
	if err := schema.Validate(o); err != nil {
		return nil, err
	}
	return o, nil
}

// put stores o; with newPolicy it replaces the stored access policy by
// deleting the object and storing it again in the same transaction (the
// store keeps an existing object's policy otherwise).
func put(tx *graph.Tx, o *schema.Object, m graph.Meta, newPolicy bool) (graph.Outcome, error) {
	_, outcome, err := tx.Put(o, m)
	if err != nil || !newPolicy {
		return outcome, err
	}
	// Put keeps the stored policy of the owner's contribution: change it
	// in place, keeping content and provenance.
	if err := tx.SetPolicy(o.ID, m.Policy.Owner, m.Policy); err != nil {
		return 0, err
	}
	return graph.Updated, nil
}

// markingRefs returns refs without TLP markings, plus the marking of tlp.
func markingRefs(refs []string, tlp schema.TLP) []string {
	out := slices.DeleteFunc(slices.Clone(refs), func(id string) bool { _, ok := schema.TLPOfMarking(id); return ok })
	if id := tlp.MarkingID(); id != "" {
		out = append(out, id)
	}
	return out
}

// orgList checks a list of organization names.
func orgList(field string, orgs *[]string) ([]string, error) {
	if orgs == nil {
		return nil, nil
	}
	if len(*orgs) > 100 {
		return nil, limitErr(field, "%s lists %d organizations, at most 100 are allowed", field, len(*orgs))
	}
	out := []string{}
	for i, o := range *orgs {
		o = strings.TrimSpace(o)
		if o == "" || len(o) > 200 {
			return nil, invalid(fmt.Sprintf("%s[%d]", field, i), "%s[%d] is not an organization name", field, i)
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out, nil
}

// textArg checks a free-text argument.
func textArg(field string, s *string, required bool, maxLen int) (string, error) {
	if s == nil || strings.TrimSpace(*s) == "" {
		if required {
			return "", invalid(field, "%s is required", field)
		}
		return "", nil
	}
	if len(*s) > maxLen {
		return "", limitErr(field, "%s is %d bytes, at most %d are allowed", field, len(*s), maxLen)
	}
	return *s, nil
}

// setRefs resolves an optional list argument (field) and, when it names
// any object, sets the reference property prop to their STIX ids.
func (r *request) setRefs(tx *graph.Tx, props map[string]any, field, prop string, ids *[]graphql.ID) error {
	if ids == nil || len(*ids) == 0 {
		return nil
	}
	refs, err := r.refsArg(tx, field, *ids)
	if err != nil {
		return err
	}
	props[prop] = refs
	return nil
}

// refsArg resolves a list of id arguments to the STIX ids of visible
// objects.
func (r *request) refsArg(tx *graph.Tx, field string, ids []graphql.ID) ([]string, error) {
	if len(ids) > 10_000 {
		return nil, limitErr(field, "%s lists %d objects, at most 10,000 are allowed", field, len(ids))
	}
	out := make([]string, 0, len(ids))
	for i, id := range ids {
		n, err := r.nodeArg(tx, fmt.Sprintf("%s[%d]", field, i), id)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, n.StixID) {
			out = append(out, n.StixID)
		}
	}
	return out, nil
}

// nodeArg loads the visible node an id argument names.
func (r *request) nodeArg(tx *graph.Tx, field string, id graphql.ID) (*graph.Node, error) {
	n, err := r.resolveID(tx, field, string(id))
	if err != nil {
		return nil, err
	}
	return tx.Node(n)
}

// casePayload is the CasePayload type.
type casePayload struct{ Case *objectResolver }

// createCaseInput is the CreateCaseInput input.
type createCaseInput struct {
	Name                       string
	Description                *string
	Status                     *string
	Severity                   *string
	ParticipatingOrganizations *[]string
	TLP                        *string
	Members                    *[]graphql.ID
}

// CreateCase resolves Mutation.createCase.
func (m *mutationResolver) CreateCase(ctx context.Context, args struct{ Input createCaseInput }) (*casePayload, error) {
	r := reqFrom(ctx)
	if err := r.canWrite(); err != nil {
		return nil, err
	}
	in := args.Input
	name, err := textArg("input.name", &in.Name, true, 1000)
	if err != nil {
		return nil, err
	}
	desc, err := textArg("input.description", in.Description, false, 100_000)
	if err != nil {
		return nil, err
	}
	orgs, err := orgList("input.participatingOrganizations", in.ParticipatingOrganizations)
	if err != nil {
		return nil, err
	}
	tlp := schema.TLPAmber
	if in.TLP != nil {
		tlp = parseTLPEnum(*in.TLP)
	}
	props := newProps(schema.TypeCase, tlp)
	props["name"], props["status"], props["x_owner_organization"] = name, "open", r.principal.Org
	if desc != "" {
		props["description"] = desc
	}
	if in.Status != nil {
		props["status"] = enumValue(*in.Status)
	}
	if in.Severity != nil {
		props["severity"] = enumValue(*in.Severity)
	}
	if len(orgs) > 0 {
		props["participating_organizations"] = orgs
	}
	o, err := r.create(ctx, props, graph.Policy{Owner: r.principal.Org, TLP: tlp, Sharing: orgs}, "createCase", func(tx *graph.Tx) error {
		return r.setRefs(tx, props, "input.members", "object_refs", in.Members)
	})
	if err != nil {
		return nil, err
	}
	return &casePayload{Case: o}, nil
}

// updateCaseInput is the UpdateCaseInput input.
type updateCaseInput struct {
	ID                         graphql.ID
	Name                       *string
	Description                *string
	Status                     *string
	Severity                   *string
	ParticipatingOrganizations *[]string
}

// caseArg loads the case an id argument names, checking that the request
// may change it.
func (r *request) caseArg(tx *graph.Tx, field string, id graphql.ID) (*graph.Node, error) {
	n, err := r.nodeArg(tx, field, id)
	if err != nil {
		return nil, err
	}
	if n.Type != schema.TypeCase {
		return nil, &Error{Code: CodeValidation, Field: field, Object: n.StixID, Message: fmt.Sprintf("%s is a %s, not a case", n.StixID, n.Type)}
	}
	return n, r.canEdit(n)
}

// UpdateCase resolves Mutation.updateCase.
func (m *mutationResolver) UpdateCase(ctx context.Context, args struct{ Input updateCaseInput }) (*casePayload, error) {
	r := reqFrom(ctx)
	if err := r.canWrite(); err != nil {
		return nil, err
	}
	in := args.Input
	changes := map[string]any{}
	if in.Name != nil {
		name, err := textArg("input.name", in.Name, true, 1000)
		if err != nil {
			return nil, err
		}
		changes["name"] = name
	}
	if in.Description != nil {
		desc, err := textArg("input.description", in.Description, false, 100_000)
		if err != nil {
			return nil, err
		}
		changes["description"] = desc
		if desc == "" {
			changes["description"] = nil
		}
	}
	if in.Status != nil {
		changes["status"] = enumValue(*in.Status)
	}
	if in.Severity != nil {
		changes["severity"] = enumValue(*in.Severity)
	}
	orgs, err := orgList("input.participatingOrganizations", in.ParticipatingOrganizations)
	if err != nil {
		return nil, err
	}
	if orgs != nil {
		changes["participating_organizations"] = orgs
		if len(orgs) == 0 {
			changes["participating_organizations"] = nil
		}
	}
	var id string
	err = r.update(ctx, func(tx *graph.Tx) error {
		n, err := r.caseArg(tx, "input.id", in.ID)
		if err != nil {
			return err
		}
		id = n.StixID
		o, err := newVersion(n, changes)
		if err != nil {
			return err
		}
		p := n.Policy
		newPolicy := orgs != nil && !slices.Equal(sortedCopy(orgs), sortedCopy(p.Sharing))
		if newPolicy {
			p.Sharing = orgs
		}
		_, err = put(tx, o, r.meta(p, "updateCase"), newPolicy)
		return err
	})
	if err != nil {
		return nil, err
	}
	o, err := r.fresh(ctx, id)
	if err != nil {
		return nil, err
	}
	return &casePayload{Case: o}, nil
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// AddCaseMembers resolves Mutation.addCaseMembers.
func (m *mutationResolver) AddCaseMembers(ctx context.Context, args struct {
	CaseID  graphql.ID
	Members []graphql.ID
}) (*casePayload, error) {
	return m.changeMembers(ctx, args.CaseID, args.Members, true)
}

// RemoveCaseMembers resolves Mutation.removeCaseMembers.
func (m *mutationResolver) RemoveCaseMembers(ctx context.Context, args struct {
	CaseID  graphql.ID
	Members []graphql.ID
}) (*casePayload, error) {
	return m.changeMembers(ctx, args.CaseID, args.Members, false)
}

func (m *mutationResolver) changeMembers(ctx context.Context, caseID graphql.ID, members []graphql.ID, add bool) (*casePayload, error) {
	r := reqFrom(ctx)
	if err := r.canWrite(); err != nil {
		return nil, err
	}
	if len(members) == 0 {
		return nil, invalid("members", "members is empty")
	}
	var id string
	err := r.update(ctx, func(tx *graph.Tx) error {
		n, err := r.caseArg(tx, "caseId", caseID)
		if err != nil {
			return err
		}
		id = n.StixID
		o, err := n.Object()
		if err != nil {
			return err
		}
		refs := o.Strings("object_refs")
		if add {
			more, err := r.refsArg(tx, "members", members)
			if err != nil {
				return err
			}
			for _, s := range more {
				if !slices.Contains(refs, s) {
					refs = append(refs, s)
				}
			}
		} else {
			for i, mid := range members {
				s := string(mid)
				if mn, err := r.nodeArg(tx, fmt.Sprintf("members[%d]", i), mid); err == nil {
					s = mn.StixID
				} else if !schema.IsIdentifier(s) {
					return err
				}
				refs = slices.DeleteFunc(refs, func(x string) bool { return x == s })
			}
		}
		var v any = refs
		if len(refs) == 0 {
			v = nil
		}
		nv, err := newVersion(n, map[string]any{"object_refs": v})
		if err != nil {
			return err
		}
		what := "addCaseMembers"
		if !add {
			what = "removeCaseMembers"
		}
		_, err = put(tx, nv, r.meta(n.Policy, what), false)
		return err
	})
	if err != nil {
		return nil, err
	}
	o, err := r.fresh(ctx, id)
	if err != nil {
		return nil, err
	}
	return &casePayload{Case: o}, nil
}

// objectPayload is the ObjectPayload type.
type objectPayload struct {
	Object  *objectResolver
	Outcome string
}

func outcomeEnum(o graph.Outcome) string { return strings.ToUpper(o.String()) }

// UpsertObject resolves Mutation.upsertObject. The object goes through
// the ingest pipeline, which makes observables canonical and validates.
func (m *mutationResolver) UpsertObject(ctx context.Context, args struct {
	Input struct {
		Object  JSON
		TLP     *string
		Sharing *[]string
	}
}) (*objectPayload, error) {
	r := reqFrom(ctx)
	if err := r.canWrite(); err != nil {
		return nil, err
	}
	raw := args.Input.Object.raw
	var text string
	if json.Unmarshal(raw, &text) == nil {
		raw = []byte(text) // the object sent as a JSON string
	}
	o, err := schema.ParseObject(raw)
	if err != nil {
		return nil, invalid("input.object", "input.object: %v", err)
	}
	if o.Type == "bundle" {
		return nil, invalid("input.object", "input.object is a bundle; send bundles with the ingest mutation")
	}
	final := o.ID
	if schema.KindOf(o.Type) == schema.KindSCO {
		c := o.Clone()
		if _, err := schema.Canonicalize(c); err != nil {
			return nil, &Error{Code: CodeValidation, Field: "input.object", Object: o.ID, Message: err.Error(), Err: err}
		}
		final = c.ID
	}
	sharing, err := orgList("input.sharing", args.Input.Sharing)
	if err != nil {
		return nil, err
	}
	// A visible object may be changed only by its owner (observables,
	// identified by their value, are shared by all). An object the caller
	// cannot see is written as the caller's own contribution beside the
	// hidden ones, as ingest does, and reads to it as created: the answer
	// is the same whether or not another organization holds the id.
	err = r.api.store.View(r.viewer, func(tx *graph.Tx) error {
		n, err := tx.NodeByStixID(final)
		if errors.Is(err, graph.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if schema.KindOf(n.Type) == schema.KindSCO {
			return nil
		}
		return r.canEdit(n)
	})
	if err != nil {
		return nil, err
	}
	tlp := schema.TLPAmber
	if args.Input.TLP != nil {
		tlp = parseTLPEnum(*args.Input.TLP)
	}
	st, err := r.ingest(ctx, raw, "upsertObject", "api", tlp, sharing, pipeline.Stop)
	if err != nil {
		return nil, err
	}
	outcome := graph.Created
	switch {
	case st.Updated > 0:
		outcome = graph.Updated
	case st.Unchanged > 0:
		outcome = graph.Unchanged
	case st.Older > 0:
		outcome = graph.Older
	}
	obj, err := r.fresh(ctx, final)
	if err != nil {
		return nil, err
	}
	return &objectPayload{Object: obj, Outcome: outcomeEnum(outcome)}, nil
}

// ingest loads data through the pipeline, owned by the request's
// organization.
func (r *request) ingest(ctx context.Context, data []byte, name, source string, tlp schema.TLP, sharing []string, mode pipeline.ErrorMode) (pipeline.Stats, error) {
	v := r.viewer
	l := pipeline.New(r.api.store, pipeline.Options{
		Source: source, Owner: r.principal.Org, TLP: tlp, ExplicitTLP: true, Sharing: sharing, Viewer: &v, OnError: mode,
	})
	st, err := l.LoadReader(ctx, strings.NewReader(string(data)), name, int64(len(data)))
	r.api.metrics.ingested(st)
	return st, err
}

// relationshipPayload is the RelationshipPayload type.
type relationshipPayload struct{ Relationship *objectResolver }

// relationshipType is what a relationship_type may look like.
var relationshipType = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,249}$`)

// AddRelationship resolves Mutation.addRelationship.
func (m *mutationResolver) AddRelationship(ctx context.Context, args struct {
	Input struct {
		Source           graphql.ID
		Target           graphql.ID
		RelationshipType string
		Description      *string
		StartTime        *graphql.Time
		StopTime         *graphql.Time
		TLP              *string
	}
}) (*relationshipPayload, error) {
	r := reqFrom(ctx)
	if err := r.canWrite(); err != nil {
		return nil, err
	}
	in := args.Input
	if !relationshipType.MatchString(in.RelationshipType) {
		return nil, invalid("input.relationshipType", "input.relationshipType %q must be lower-case letters, digits and hyphens", in.RelationshipType)
	}
	desc, err := textArg("input.description", in.Description, false, 100_000)
	if err != nil {
		return nil, err
	}
	if in.StartTime != nil && in.StopTime != nil && !in.StopTime.Time.After(in.StartTime.Time) {
		return nil, invalid("input.stopTime", "input.stopTime must be after input.startTime")
	}
	tlp := schema.TLPAmber
	if in.TLP != nil {
		tlp = parseTLPEnum(*in.TLP)
	}
	props := newProps("relationship", tlp)
	props["relationship_type"] = in.RelationshipType
	if desc != "" {
		props["description"] = desc
	}
	if in.StartTime != nil {
		props["start_time"] = stixTime(in.StartTime.Time)
	}
	if in.StopTime != nil {
		props["stop_time"] = stixTime(in.StopTime.Time)
	}
	o, err := r.create(ctx, props, graph.Policy{Owner: r.principal.Org, TLP: tlp}, "addRelationship", func(tx *graph.Tx) error {
		src, err := r.nodeArg(tx, "input.source", in.Source)
		if err != nil {
			return err
		}
		dst, err := r.nodeArg(tx, "input.target", in.Target)
		if err != nil {
			return err
		}
		props["source_ref"], props["target_ref"] = src.StixID, dst.StixID
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &relationshipPayload{Relationship: o}, nil
}

// sightingPayload is the SightingPayload type.
type sightingPayload struct{ Sighting *objectResolver }

// AddSighting resolves Mutation.addSighting.
func (m *mutationResolver) AddSighting(ctx context.Context, args struct {
	Input struct {
		SightingOf   graphql.ID
		WhereSighted *[]graphql.ID
		ObservedData *[]graphql.ID
		FirstSeen    *graphql.Time
		LastSeen     *graphql.Time
		Count        *int32
		Description  *string
		TLP          *string
	}
}) (*sightingPayload, error) {
	r := reqFrom(ctx)
	if err := r.canWrite(); err != nil {
		return nil, err
	}
	in := args.Input
	desc, err := textArg("input.description", in.Description, false, 100_000)
	if err != nil {
		return nil, err
	}
	if in.Count != nil && (*in.Count < 0 || *in.Count > 999_999_999) {
		return nil, invalid("input.count", "input.count must be between 0 and 999,999,999")
	}
	if in.FirstSeen != nil && in.LastSeen != nil && in.LastSeen.Time.Before(in.FirstSeen.Time) {
		return nil, invalid("input.lastSeen", "input.lastSeen must not be before input.firstSeen")
	}
	tlp := schema.TLPAmber
	if in.TLP != nil {
		tlp = parseTLPEnum(*in.TLP)
	}
	props := newProps("sighting", tlp)
	if desc != "" {
		props["description"] = desc
	}
	if in.Count != nil {
		props["count"] = *in.Count
	}
	if in.FirstSeen != nil {
		props["first_seen"] = stixTime(in.FirstSeen.Time)
	}
	if in.LastSeen != nil {
		props["last_seen"] = stixTime(in.LastSeen.Time)
	}
	o, err := r.create(ctx, props, graph.Policy{Owner: r.principal.Org, TLP: tlp}, "addSighting", func(tx *graph.Tx) error {
		of, err := r.nodeArg(tx, "input.sightingOf", in.SightingOf)
		if err != nil {
			return err
		}
		props["sighting_of_ref"] = of.StixID
		if err := r.setRefs(tx, props, "input.whereSighted", "where_sighted_refs", in.WhereSighted); err != nil {
			return err
		}
		return r.setRefs(tx, props, "input.observedData", "observed_data_refs", in.ObservedData)
	})
	if err != nil {
		return nil, err
	}
	return &sightingPayload{Sighting: o}, nil
}

// SetMarkings resolves Mutation.setMarkings.
func (m *mutationResolver) SetMarkings(ctx context.Context, args struct {
	Input struct {
		ID           graphql.ID
		TLP          string
		Sharing      *[]string
		Discoverable *bool
	}
}) (*objectPayload, error) {
	r := reqFrom(ctx)
	if err := r.canWrite(); err != nil {
		return nil, err
	}
	tlp := parseTLPEnum(args.Input.TLP)
	sharing, err := orgList("input.sharing", args.Input.Sharing)
	if err != nil {
		return nil, err
	}
	var id string
	var outcome graph.Outcome
	err = r.update(ctx, func(tx *graph.Tx) error {
		n, err := r.nodeArg(tx, "input.id", args.Input.ID)
		if err != nil {
			return err
		}
		if err := r.canEdit(n); err != nil {
			return err
		}
		id = n.StixID
		o, err := n.Object()
		if err != nil {
			return err
		}
		var refs any = markingRefs(o.Strings("object_marking_refs"), tlp)
		if len(refs.([]string)) == 0 {
			refs = nil
		}
		nv, err := newVersion(n, map[string]any{"object_marking_refs": refs})
		if err != nil {
			return err
		}
		p := n.Policy
		p.TLP = tlp
		if sharing != nil {
			p.Sharing = sharing
		}
		if args.Input.Discoverable != nil {
			p.Discoverable = *args.Input.Discoverable
		}
		outcome, err = put(tx, nv, r.meta(p, "setMarkings"), true)
		return err
	})
	if err != nil {
		return nil, err
	}
	o, err := r.fresh(ctx, id)
	if err != nil {
		return nil, err
	}
	return &objectPayload{Object: o, Outcome: outcomeEnum(outcome)}, nil
}

// SetLabels resolves Mutation.setLabels.
func (m *mutationResolver) SetLabels(ctx context.Context, args struct {
	ID     graphql.ID
	Labels []string
}) (*objectPayload, error) {
	r := reqFrom(ctx)
	if err := r.canWrite(); err != nil {
		return nil, err
	}
	if len(args.Labels) > 100 {
		return nil, limitErr("labels", "labels lists %d labels, at most 100 are allowed", len(args.Labels))
	}
	labels := []string{}
	for i, l := range args.Labels {
		if strings.TrimSpace(l) == "" || len(l) > 250 {
			return nil, invalid(fmt.Sprintf("labels[%d]", i), "labels[%d] must be 1 to 250 bytes", i)
		}
		if !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	var id string
	var outcome graph.Outcome
	err := r.update(ctx, func(tx *graph.Tx) error {
		n, err := r.nodeArg(tx, "id", args.ID)
		if err != nil {
			return err
		}
		if err := r.canEdit(n); err != nil {
			return err
		}
		id = n.StixID
		var v any = labels
		if len(labels) == 0 {
			v = nil
		}
		nv, err := newVersion(n, map[string]any{"labels": v})
		if err != nil {
			return err
		}
		outcome, err = put(tx, nv, r.meta(n.Policy, "setLabels"), false)
		return err
	})
	if err != nil {
		return nil, err
	}
	o, err := r.fresh(ctx, id)
	if err != nil {
		return nil, err
	}
	return &objectPayload{Object: o, Outcome: outcomeEnum(outcome)}, nil
}

// ingestPayload is the IngestPayload type.
type ingestPayload struct {
	Objects, Created, Updated, Unchanged, Older, Rejected int32
	Errors                                                []*ingestError
}

// ingestError is the IngestError type.
type ingestError struct {
	Message  string
	Index    *int32
	ObjectID *string
	Field    *string
}

// maxIngestErrors caps the errors an ingest reports.
const maxIngestErrors = 100

// Ingest resolves Mutation.ingest.
func (m *mutationResolver) Ingest(ctx context.Context, args struct {
	Input struct {
		Data    string
		Name    *string
		Source  *string
		TLP     *string
		Sharing *[]string
	}
}) (*ingestPayload, error) {
	r := reqFrom(ctx)
	if err := r.canWrite(); err != nil {
		return nil, err
	}
	in := args.Input
	if strings.TrimSpace(in.Data) == "" {
		return nil, invalid("input.data", "input.data is empty")
	}
	name, err := textArg("input.name", in.Name, false, 500)
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = "request"
	}
	source, err := textArg("input.source", in.Source, false, 200)
	if err != nil {
		return nil, err
	}
	if source == "" {
		source = "api"
	}
	sharing, err := orgList("input.sharing", in.Sharing)
	if err != nil {
		return nil, err
	}
	tlp := schema.TLPAmber
	switch m, ok := r.api.store.SourceMarking(source); {
	case in.TLP != nil:
		tlp = parseTLPEnum(*in.TLP)
	case ok:
		tlp, sharing = m.TLP, append(sharing, m.Sharing...)
	}
	st, err := r.ingest(ctx, []byte(in.Data), name, source, tlp, sharing, pipeline.Skip)
	if err != nil {
		return nil, err
	}
	p := &ingestPayload{Objects: clampInt32(int64(st.Objects)), Created: clampInt32(int64(st.Created)), Updated: clampInt32(int64(st.Updated)),
		Unchanged: clampInt32(int64(st.Unchanged)), Older: clampInt32(int64(st.Older)), Rejected: clampInt32(int64(st.Rejected)), Errors: []*ingestError{}}
	for _, e := range st.Errors {
		if len(p.Errors) == maxIngestErrors {
			break
		}
		ie := &ingestError{Message: e.Error()}
		var oe *ingest.ObjectError
		if errors.As(e, &oe) {
			if oe.Index >= 0 {
				i := clampInt32(int64(oe.Index))
				ie.Index = &i
			}
			ie.ObjectID, ie.Field = optString(oe.ID), optString(oe.Field)
		}
		p.Errors = append(p.Errors, ie)
	}
	return p, nil
}

// OptimizeSearchIndex resolves Mutation.optimizeSearchIndex: it starts a
// merge of the search index unless one runs, and returns the status.
func (m *mutationResolver) OptimizeSearchIndex(ctx context.Context) (*ingestStatus, error) {
	r := reqFrom(ctx)
	if r.readOnly {
		return nil, &Error{Code: CodeMethod, Message: "mutations must be sent with POST"}
	}
	if !r.operator() {
		return nil, &Error{Code: CodeForbidden, Message: "only admins of the operator organization may merge the search index, which holds every organization's documents"}
	}
	if err := r.api.store.StartOptimizeSearch(); err != nil && !errors.Is(err, graph.ErrOptimizing) {
		return nil, classify(err)
	}
	return r.ingestStatus(ctx)
}
