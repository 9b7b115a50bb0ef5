package query

import (
	"context"
	"fmt"
	"strings"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/ingest/lists"
)

// maxHitValues bounds one hits lookup.
const maxHitValues = 1000

// valueHits is the ValueHits type.
type valueHits struct {
	Value         string
	Organizations []string
}

// Hits resolves Query.hits.
func (q *queryResolver) Hits(ctx context.Context, args struct{ Values []string }) ([]*valueHits, error) {
	r := reqFrom(ctx)
	if len(args.Values) > maxHitValues {
		return nil, limitErr("values", "values lists %d values, at most %d are allowed", len(args.Values), maxHitValues)
	}
	out := make([]*valueHits, 0, len(args.Values))
	err := q.api.store.View(r.viewer, func(tx *graph.Tx) error {
		for i, raw := range args.Values {
			if err := ctx.Err(); err != nil {
				return err
			}
			v := canonicalLookupValue(raw)
			if v == "" {
				return invalid(fmt.Sprintf("values[%d]", i), "values[%d] is empty", i)
			}
			orgs, err := tx.Hits(v)
			if err != nil {
				return err
			}
			out = append(out, &valueHits{Value: v, Organizations: nonNil(orgs)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := r.recordHits(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// recordHits appends one audit entry per value that hit, concerning the
// asking organization and every holder, so both sides' audit logs show
// who learned what of whom. A hit that cannot be recorded is not answered.
func (r *request) recordHits(ctx context.Context, hits []*valueHits) error {
	p := r.principal
	for _, h := range hits {
		if len(h.Organizations) == 0 {
			continue
		}
		if err := r.api.store.RecordHit(ctx, graph.AuditViewer{Org: p.Org, User: p.User, Role: string(p.Role), TokenID: p.TokenID}, "hit", h.Value, h.Organizations); err != nil {
			return err
		}
	}
	return nil
}

// canonicalLookupValue is the form a value is indexed under: refanged and
// canonical when its kind is recognised, else trimmed as given.
func canonicalLookupValue(s string) string {
	if v, err := lists.Classify(s); err == nil {
		return v.Value
	}
	return strings.TrimSpace(s)
}
