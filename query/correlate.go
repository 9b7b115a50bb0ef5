package query

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/correlate"
	"github.com/verband-cti/verband/schema"
)

// correlationConnection is the CorrelationConnection type.
type correlationConnection struct {
	Edges      []*correlationEdge
	PageInfo   *pageInfo
	TotalCount int32
	suppressed []correlate.Suppression
}

// correlationEdge is the CorrelationEdge type.
type correlationEdge struct {
	Cursor string
	Node   *correlationResolver
}

// correlationResolver is the Correlation type.
type correlationResolver struct {
	Container *objectResolver
	Score     float64
	evidence  []correlate.Evidence
	req       *request
}

// Evidence lists the shared values, heaviest first.
func (c *correlationResolver) Evidence() []*evidenceResolver {
	out := make([]*evidenceResolver, len(c.evidence))
	for i := range c.evidence {
		out[i] = &evidenceResolver{req: c.req, ev: &c.evidence[i]}
	}
	return out
}

// evidenceResolver is the Evidence type.
type evidenceResolver struct {
	req *request
	ev  *correlate.Evidence
}

// Kind is the value's kind.
func (e *evidenceResolver) Kind() string { return e.ev.Kind }

// Value is the value.
func (e *evidenceResolver) Value() string { return e.ev.Value }

// Rule is the rule that made the link.
func (e *evidenceResolver) Rule() string { return string(e.ev.Rule) }

// HereRule is how the container asked about holds the value.
func (e *evidenceResolver) HereRule() string { return string(e.ev.HereRule) }

// ThereRule is how the related container holds the value.
func (e *evidenceResolver) ThereRule() string { return string(e.ev.ThereRule) }

// Weight is the value's weight in the score.
func (e *evidenceResolver) Weight() float64 { return e.ev.Weight }

// IDF is the value's inverse document frequency.
func (e *evidenceResolver) IDF() float64 { return e.ev.IDF }

// DocumentFrequency is the number of containers holding the value.
func (e *evidenceResolver) DocumentFrequency() int32 { return clampInt32(int64(e.ev.DF)) }

// Object is the visible object that carries the value, or null.
func (e *evidenceResolver) Object(ctx context.Context) (*objectResolver, error) {
	if e.ev.Object == 0 {
		return nil, nil
	}
	return e.req.object(ctx, e.ev.Object)
}

// Here lists the members of the container asked about that give the value.
func (e *evidenceResolver) Here(ctx context.Context) ([]*objectResolver, error) {
	return e.req.objectList(ctx, e.ev.Here)
}

// There lists the members of the related container that give the value.
func (e *evidenceResolver) There(ctx context.Context) ([]*objectResolver, error) {
	return e.req.objectList(ctx, e.ev.There)
}

// objectList loads the visible objects of ids as one group.
func (r *request) objectList(ctx context.Context, ids []graph.ID) ([]*objectResolver, error) {
	g, nodes, err := r.groupNodes(ctx, ids)
	if err != nil {
		return nil, err
	}
	return r.objects(g, nodes), nil
}

// suppressedValue is the SuppressedValue type.
type suppressedValue struct {
	Kind, Value, Reason, Detail string
}

// Suppressed lists the values of the container that link nothing.
func (c *correlationConnection) Suppressed() []*suppressedValue {
	out := make([]*suppressedValue, len(c.suppressed))
	for i, s := range c.suppressed {
		out[i] = &suppressedValue{Kind: s.Kind, Value: s.Value, Detail: s.Detail,
			Reason: strings.ToUpper(strings.ReplaceAll(string(s.Reason), "-", "_"))}
	}
	return out
}

// Correlations resolves Query.correlations: the engine ranks the related
// containers over what the request's viewer may see, and this pages them.
func (q *queryResolver) Correlations(ctx context.Context, args struct {
	ID    graphql.ID
	First int32
	After *string
}) (*correlationConnection, error) {
	r := reqFrom(ctx)
	first, offset, err := offsetPage(q.api.limits, args.First, 20, args.After)
	if err != nil {
		return nil, err
	}
	id, err := r.lookup(ctx, "id", string(args.ID))
	if err != nil {
		return nil, err
	}
	res, err := q.api.corr.Correlate(ctx, r.viewer, id)
	switch {
	case errors.Is(err, correlate.ErrNotContainer):
		return nil, invalid("id", "%s is not a container (%s); correlations start from a case, incident, report, grouping, campaign or observed-data", args.ID, strings.Join(correlate.ContainerTypes, ", "))
	case errors.Is(err, graph.ErrNotFound):
		return nil, &Error{Code: CodeNotFound, Field: "id", Object: string(args.ID), Message: "no visible object has id " + string(args.ID), Err: err}
	case err != nil:
		return nil, err
	}
	page := res.Related[min(offset, len(res.Related)):]
	page = page[:min(first, len(page))]
	ids := make([]graph.ID, len(page))
	for i, c := range page {
		ids[i] = c.Container.ID
	}
	g, nodes, err := r.groupNodes(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := nodesByID(nodes)
	c := &correlationConnection{Edges: []*correlationEdge{}, TotalCount: clampInt32(int64(len(res.Related))), suppressed: res.Suppressed}
	var cursors []string
	for i, cor := range page {
		n, ok := byID[cor.Container.ID]
		if !ok {
			continue // hidden since the projection was built
		}
		e := &correlationEdge{Cursor: offsetCursor(offset + i), Node: &correlationResolver{
			Container: r.resolver(n, g), Score: cor.Score, evidence: cor.Evidence, req: r}}
		c.Edges = append(c.Edges, e)
		cursors = append(cursors, e.Cursor)
	}
	c.PageInfo = newPageInfo(cursors, offset > 0, offset+len(page) < len(res.Related))
	return c, nil
}

// MarkFalsePositive resolves Mutation.markFalsePositive: it stores an
// opinion labelled correlate.FalsePositiveLabel that names the object.
func (m *mutationResolver) MarkFalsePositive(ctx context.Context, args struct {
	ID          graphql.ID
	Explanation *string
	TLP         *string
}) (*objectPayload, error) {
	r := reqFrom(ctx)
	if err := r.canWrite(); err != nil {
		return nil, err
	}
	explanation, err := textArg("explanation", args.Explanation, false, 10_000)
	if err != nil {
		return nil, err
	}
	tlp := schema.TLPAmber
	if args.TLP != nil {
		tlp = parseTLPEnum(*args.TLP)
	}
	props := newProps("opinion", tlp)
	props["opinion"], props["labels"] = "strongly-disagree", []string{correlate.FalsePositiveLabel}
	if explanation != "" {
		props["explanation"] = explanation
	}
	o, err := r.create(ctx, props, graph.Policy{Owner: r.principal.Org, TLP: tlp}, "markFalsePositive", func(tx *graph.Tx) error {
		n, err := r.nodeArg(tx, "id", args.ID)
		if err != nil {
			return err
		}
		props["object_refs"] = []string{n.StixID}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &objectPayload{Object: o, Outcome: outcomeEnum(graph.Created)}, nil
}

// ClearFalsePositive resolves Mutation.clearFalsePositive: it revokes, as
// new versions, the visible unrevoked false-positive opinions about the
// object that the caller may change.
func (m *mutationResolver) ClearFalsePositive(ctx context.Context, args struct{ ID graphql.ID }) ([]*objectResolver, error) {
	r := reqFrom(ctx)
	if err := r.canWrite(); err != nil {
		return nil, err
	}
	var revoked []string
	err := r.update(ctx, func(tx *graph.Tx) error {
		target, err := r.resolveID(tx, "id", string(args.ID))
		if err != nil {
			return err
		}
		var ops []graph.ID
		err = tx.Neighbours(target, graph.NeighbourQuery{Dir: graph.In, EdgeTypes: []string{"object_refs"}}, func(e graph.Edge) bool {
			ops = append(ops, e.From)
			return true
		})
		if err != nil {
			return err
		}
		for _, id := range ops {
			n, err := tx.Node(id)
			if err != nil {
				return err
			}
			if n.Type != "opinion" || r.canEdit(n) != nil {
				continue
			}
			o, err := n.Object()
			if err != nil {
				return err
			}
			if !slices.Contains(o.Strings("labels"), correlate.FalsePositiveLabel) || string(o.Props["revoked"]) == "true" {
				continue
			}
			nv, err := newVersion(n, map[string]any{"revoked": true})
			if err != nil {
				return err
			}
			if _, err := put(tx, nv, r.meta(n.Policy, "clearFalsePositive"), false); err != nil {
				return fmt.Errorf("revoke %s: %w", n.StixID, err)
			}
			revoked = append(revoked, n.StixID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*objectResolver, 0, len(revoked))
	for _, id := range revoked {
		o, err := r.fresh(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}
