package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strings"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/schema"
)

// MaxDeferred bounds how many SCOs one input may defer (see putSCO); past
// it, further such SCOs are canonicalised at once with the references they
// have, and a warning says so.
const MaxDeferred = 50_000

// deferredItem is an SCO waiting for the SCOs it references.
type deferredItem struct {
	o *schema.Object
	w where
	h ingest.Hints
}

// refDependent holds the SCO types whose deterministic ids depend on
// references: an ID contributing property is a reference, or is
// "extensions", which may hold some (email-message from_ref, file
// parent_directory_ref and archive-ext contains_refs, network-traffic
// src_ref and dst_ref).
var refDependent = func() map[string]bool {
	m := map[string]bool{}
	for _, ti := range schema.Types() {
		for _, p := range ti.IDContributing {
			if strings.HasSuffix(p, "_ref") || strings.HasSuffix(p, "_refs") || p == "extensions" {
				m[ti.Name] = true
			}
		}
	}
	return m
}()

// scoRefs lists the references of o, nested ones included, that name SCOs.
func scoRefs(o *schema.Object) []string {
	var out []string
	schema.RewriteRefs(o, func(old string) (string, bool) {
		if schema.KindOf(schema.IdentifierType(old)) == schema.KindSCO {
			out = append(out, old)
		}
		return "", false
	})
	return out
}

// mustDefer reports whether o is an SCO whose id depends on a reference to
// an SCO that this load has not canonicalised yet. Such SCOs wait until the
// end of their input, so that their references can first be rewritten to
// canonical ids.
func (r *run) mustDefer(o *schema.Object) bool {
	if !refDependent[o.Type] {
		return false
	}
	if len(r.deferred) >= MaxDeferred {
		if !r.deferWarned {
			r.deferWarned = true
			r.stats.Warnings = append(r.stats.Warnings, fmt.Errorf(
				"%s: more than %d SCOs whose ids depend on references came before the SCOs they reference; later ones were canonicalised with their references as given", r.file, MaxDeferred))
		}
		return false
	}
	for _, ref := range scoRefs(o) {
		if !r.seenSCO(ref) {
			return true
		}
	}
	return false
}

// seenSCO reports whether this load has canonicalised an SCO the source
// called id.
func (r *run) seenSCO(id string) bool {
	_, ok := r.scoSeen[maphash.String(scoSeed, id)]
	return ok
}

// noteSCO records that the SCO a source called orig is stored as id. Only
// changed ids are kept as strings; every id seen is kept as a 64-bit hash
// (a collision, at odds of about n in 2^64, would let an SCO skip waiting
// for its reference), so that loads of millions of SCOs stay small.
func (r *run) noteSCO(orig, id string) {
	r.scoSeen[maphash.String(scoSeed, orig)] = struct{}{}
	if orig != id {
		r.scoIDs[orig] = id
	}
}

// scoSeed seeds the hashes of seen SCO ids.
var scoSeed = maphash.MakeSeed()

// putSCO makes an SCO canonical and stores it: references to SCOs already
// canonicalised are rewritten to their canonical ids (schema.RewriteRefs),
// values are canonicalised and the deterministic id is set
// (schema.Canonicalize). When anything changed, the provenance records the
// source's id (OriginalID) and, in Original, every property that changed as
// the source gave it (null for a property the source did not have), so the
// object can be exported exactly as received.
func (r *run) putSCO(o *schema.Object, w where, h ingest.Hints) error {
	origID := o.ID
	before := maps.Clone(o.Props)
	schema.RewriteRefs(o, func(old string) (string, bool) {
		id, ok := r.scoIDs[old]
		return id, ok && id != old
	})
	if _, err := schema.Canonicalize(o); err != nil {
		return r.badInput(objErr(w, origID, err))
	}
	if err := schema.Validate(o); err != nil {
		return r.badInput(objErr(w, origID, err))
	}
	var prov graph.Provenance
	if o.ID != origID {
		prov.OriginalID = origID
	}
	orig, err := original(before, o.Props)
	if err != nil {
		return r.badInput(objErr(w, origID, err))
	}
	prov.Original = orig
	r.noteSCO(origID, o.ID)
	return r.store(o, w, h, prov)
}

// original returns, as a JSON object with sorted keys, the properties of
// before that after changed or dropped, with their values in before, and
// null for the properties after added; nil when nothing changed.
func original(before, after map[string]json.RawMessage) (json.RawMessage, error) {
	var keys []string
	for k, v := range before {
		if av, ok := after[k]; !ok || !bytes.Equal(av, v) {
			keys = append(keys, k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	slices.Sort(keys)
	buf := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, fmt.Errorf("record original %s: %w", k, err)
		}
		buf = append(buf, kb...)
		buf = append(buf, ':')
		if v, ok := before[k]; ok {
			buf = append(buf, v...)
		} else {
			buf = append(buf, "null"...)
		}
	}
	return append(buf, '}'), nil
}

// flushDeferred stores the SCOs deferred while reading an input, each after
// the deferred SCOs it references, so that references rewrite to canonical
// ids before ids are computed over them. References to SCOs that neither
// this load nor an earlier one stored stay as given; so do the members of a
// reference cycle, which are stored in input order.
func (r *run) flushDeferred() error {
	pending := r.deferred
	r.deferred = nil
	if len(pending) == 0 {
		return nil
	}
	r.resolveStored(pending)
	for len(pending) > 0 {
		waiting := make(map[string]bool, len(pending))
		for _, it := range pending {
			waiting[it.o.ID] = true
		}
		var rest []deferredItem
		for _, it := range pending {
			blocked := false
			for _, ref := range scoRefs(it.o) {
				if ref != it.o.ID && waiting[ref] {
					blocked = true
					break
				}
			}
			if blocked {
				rest = append(rest, it)
				continue
			}
			delete(waiting, it.o.ID)
			if err := r.putSCO(it.o, it.w, it.h); err != nil {
				return err
			}
		}
		if len(rest) == len(pending) {
			for _, it := range rest {
				if err := r.putSCO(it.o, it.w, it.h); err != nil {
					return err
				}
			}
			return nil
		}
		pending = rest
	}
	return nil
}

// resolveStored looks up, in what earlier loads stored, the references of
// deferred SCOs that this load has not seen, and records the canonical ids
// of those it finds.
func (r *run) resolveStored(items []deferredItem) {
	deferred := make(map[string]bool, len(items))
	for _, it := range items {
		deferred[it.o.ID] = true
	}
	var unknown []string
	for _, it := range items {
		for _, ref := range scoRefs(it.o) {
			if !r.seenSCO(ref) && !deferred[ref] {
				unknown = append(unknown, ref)
			}
		}
	}
	if len(unknown) == 0 {
		return
	}
	_ = r.l.store.View(graph.System(), func(tx *graph.Tx) error {
		for _, ref := range unknown {
			if n, err := tx.NodeByStixID(ref); err == nil {
				r.noteSCO(ref, n.StixID)
			}
		}
		return nil
	})
}
