package query

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/verband-cti/verband/graph"
)

// The settings of incoming data (schema/sources.graphql): default markings
// of import sources and protected properties. Any admin reads them; only
// instance admins change them, since they hold for every organization.

// instanceAdminOnly checks that the request comes from an instance admin
// by POST.
func (r *request) instanceAdminOnly(what string) error {
	if err := r.adminOnly(true); err != nil {
		return err
	}
	if !r.principal.InstanceAdmin {
		return &Error{Code: CodeForbidden, Message: "only admins of the operator organization may change " + what + ", which hold for every organization"}
	}
	return nil
}

// sourceMarkingResolver is the SourceMarking type.
type sourceMarkingResolver struct {
	source string
	m      graph.SourceMarking
}

// Source is the source name.
func (s *sourceMarkingResolver) Source() string { return s.source }

// Tlp is the TLP level.
func (s *sourceMarkingResolver) Tlp() string { return tlpEnum(s.m.TLP) }

// Sharing lists the organizations it is shared with.
func (s *sourceMarkingResolver) Sharing() []string { return nonNil(s.m.Sharing) }

// SourceMarkings resolves Query.sourceMarkings.
func (q *queryResolver) SourceMarkings(ctx context.Context) ([]*sourceMarkingResolver, error) {
	r := reqFrom(ctx)
	if err := r.adminOnly(false); err != nil {
		return nil, err
	}
	marks := r.api.store.SourceMarkings()
	out := []*sourceMarkingResolver{}
	for _, name := range slices.Sorted(maps.Keys(marks)) {
		out = append(out, &sourceMarkingResolver{name, marks[name]})
	}
	return out, nil
}

// sourceMarkingInput is the SourceMarkingInput type.
type sourceMarkingInput struct {
	Source  string
	Tlp     string
	Sharing *[]string
}

// SetSourceMarking resolves Mutation.setSourceMarking.
func (m *mutationResolver) SetSourceMarking(ctx context.Context, args struct{ Input sourceMarkingInput }) (*sourceMarkingResolver, error) {
	r := reqFrom(ctx)
	if err := r.instanceAdminOnly("default markings"); err != nil {
		return nil, err
	}
	sharing, err := orgList("input.sharing", args.Input.Sharing)
	if err != nil {
		return nil, err
	}
	sm := graph.SourceMarking{TLP: parseTLPEnum(args.Input.Tlp), Sharing: sharing}
	if err := r.api.store.SetSourceMarking(args.Input.Source, &sm); err != nil {
		return nil, settingError(err, "input")
	}
	got, _ := r.api.store.SourceMarking(args.Input.Source)
	return &sourceMarkingResolver{args.Input.Source, got}, nil
}

// RemoveSourceMarking resolves Mutation.removeSourceMarking.
func (m *mutationResolver) RemoveSourceMarking(ctx context.Context, args struct{ Source string }) (bool, error) {
	r := reqFrom(ctx)
	if err := r.instanceAdminOnly("default markings"); err != nil {
		return false, err
	}
	if _, ok := r.api.store.SourceMarking(args.Source); !ok {
		return false, nil
	}
	if err := r.api.store.SetSourceMarking(args.Source, nil); err != nil {
		return false, settingError(err, "source")
	}
	return true, nil
}

// settingError turns a rejected setting into a validation error about
// field, and passes other errors through.
func settingError(err error, field string) error {
	if errors.Is(err, graph.ErrInvalid) || errors.Is(err, graph.ErrNotFound) {
		return &Error{Code: CodeValidation, Field: field, Message: err.Error(), Err: err}
	}
	return err
}

// protectionResolver is the Protection type.
type protectionResolver struct{ p graph.Protection }

// Properties are protected in every contribution.
func (p *protectionResolver) Properties() []string { return nonNil(p.p.Properties) }

// BySource lists the properties protected per import source.
func (p *protectionResolver) BySource() []*sourceProtection {
	out := []*sourceProtection{}
	for _, src := range slices.Sorted(maps.Keys(p.p.BySource)) {
		out = append(out, &sourceProtection{Source: src, Properties: nonNil(p.p.BySource[src])})
	}
	return out
}

// sourceProtection is the SourceProtection type.
type sourceProtection struct {
	Source     string
	Properties []string
}

// Protection resolves Query.protection.
func (q *queryResolver) Protection(ctx context.Context) (*protectionResolver, error) {
	r := reqFrom(ctx)
	if err := r.adminOnly(false); err != nil {
		return nil, err
	}
	return &protectionResolver{r.api.store.Protection()}, nil
}

// protectArgs are the arguments of protectProperties and
// unprotectProperties.
type protectArgs struct {
	Properties []string
	Source     *string
}

// ProtectProperties resolves Mutation.protectProperties.
func (m *mutationResolver) ProtectProperties(ctx context.Context, args protectArgs) (*protectionResolver, error) {
	return reqFrom(ctx).changeProtection(true, args)
}

// UnprotectProperties resolves Mutation.unprotectProperties.
func (m *mutationResolver) UnprotectProperties(ctx context.Context, args protectArgs) (*protectionResolver, error) {
	return reqFrom(ctx).changeProtection(false, args)
}

// changeProtection adds or removes protected properties.
func (r *request) changeProtection(add bool, args protectArgs) (*protectionResolver, error) {
	if err := r.instanceAdminOnly("protected properties"); err != nil {
		return nil, err
	}
	for _, name := range args.Properties {
		if err := graph.ValidPropertyName(name); err != nil {
			return nil, &Error{Code: CodeValidation, Field: "properties", Message: err.Error(), Err: err}
		}
	}
	var source string
	if args.Source != nil {
		source = *args.Source
	}
	p, changed := r.api.store.Protection().Change(add, source, args.Properties...)
	if len(changed) > 0 {
		if err := r.api.store.SetProtection(p); err != nil {
			return nil, settingError(err, "properties")
		}
	}
	return &protectionResolver{r.api.store.Protection()}, nil
}
