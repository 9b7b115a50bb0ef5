package export

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/ingest/stix"
	"github.com/verband-cti/verband/schema"
)

// Form says how objects leave the store.
type Form uint8

// Forms.
const (
	// Canonical exports SCOs with canonical values and deterministic ids,
	// and rewrites every reference (an SDO's reference to an SCO by the id
	// its source gave it, say) to the id the store holds the target under,
	// so the bundle is consistent in itself. It is the default for partners.
	Canonical Form = iota
	// AsReceived exports every object as a source sent it: SCOs get back
	// the properties and id canonicalisation changed (graph.Provenance
	// Original); other objects are stored as received already. An SCO that
	// several sources (or several objects of one file) sent under different
	// ids is exported once per such contribution. Exact for the version
	// each contribution sent when that is the stored version; a node keeps
	// only its newest version, so an older version's other properties are
	// not restored.
	AsReceived
)

// String returns "canonical" or "as-received".
func (f Form) String() string {
	if f == AsReceived {
		return "as-received"
	}
	return "canonical"
}

// ParseForm parses "canonical" or "as-received".
func ParseForm(s string) (Form, error) {
	switch s {
	case "canonical", "":
		return Canonical, nil
	case "as-received", "received", "original":
		return AsReceived, nil
	}
	return Canonical, fmt.Errorf("parse export form %q: want canonical or as-received", s)
}

// Redactor removes what viewer v may not take out of the store from an
// object before it is written, beyond what the graph already removes
// (protected properties never reach it: exports read through
// Viewer.ForExport). It may return o changed, a new object, or nil to
// withhold the object. It runs inside the export's read snapshot and must
// not write to the store.
type Redactor interface {
	Redact(v graph.Viewer, n *graph.Node, o *schema.Object) (*schema.Object, error)
}

// RedactorFunc adapts a function to Redactor.
type RedactorFunc func(v graph.Viewer, n *graph.Node, o *schema.Object) (*schema.Object, error)

// Redact calls f.
func (f RedactorFunc) Redact(v graph.Viewer, n *graph.Node, o *schema.Object) (*schema.Object, error) {
	return f(v, n, o)
}

// KeepAll is the Redactor used when Options.Redact is nil: the graph has
// stripped protected properties already.
var KeepAll Redactor = RedactorFunc(func(_ graph.Viewer, _ *graph.Node, o *schema.Object) (*schema.Object, error) {
	return o, nil
})

// Options tune an export. The zero value exports the canonical form,
// uncompressed, with a random bundle id.
type Options struct {
	// Form is Canonical (default) or AsReceived.
	Form Form
	// Redact is applied to every object; nil means KeepAll.
	Redact Redactor
	// BundleID is the id of the written bundle; empty means a random one.
	BundleID string
	// Gzip compresses the written bundle.
	Gzip bool
	// Source and File choose, in the AsReceived form, which contributions
	// are restored (see Selection).
	Source, File string
	// Partner, when set, is the organization the export is for: only what
	// both the exporting viewer and the partner may read leaves.
	Partner *graph.Viewer
	// SkipRestricted leaves out, and counts as withheld, the objects the
	// exporting organization may read but not pass on (TLP:AMBER+STRICT
	// and TLP:RED of other owners). Without it such an object fails the
	// export with a *ReshareError, before anything is written.
	SkipRestricted bool
}

// ErrReshare is wrapped by a *ReshareError.
var ErrReshare = errors.New("may not re-share")

// ReshareError reports objects an export would pass on although their
// policy forbids it.
type ReshareError struct {
	// ID is the first such object, Reason says why, and Count is how many
	// there are in all.
	ID, Reason string
	Count      int
}

func (e *ReshareError) Error() string {
	more := ""
	if e.Count > 1 {
		more = fmt.Sprintf(" (and %d more objects like it)", e.Count-1)
	}
	return fmt.Sprintf("%s may not leave the store: %s%s; leave such objects out explicitly to export the rest", e.ID, e.Reason, more)
}

// Unwrap makes errors.Is(err, ErrReshare) true.
func (e *ReshareError) Unwrap() error { return ErrReshare }

// viewers returns the viewer an export reads as and the one it sends as.
// It reads through ForExport, so protected properties never leave, and
// only what the partner could read too. An organization exporting, and any
// export for a partner, sends only what may be passed on; the operator's
// own export (the System viewer, no partner) sends everything.
func viewers(v graph.Viewer, opts Options) (read, send graph.Viewer) {
	read = v.ForExport()
	if opts.Partner != nil {
		read = read.And(*opts.Partner)
	}
	send = read
	if !v.IsSystem() || opts.Partner != nil {
		send = read.Resharing()
	}
	return read, send
}

// restricted returns the ids of ids that read sees and send does not: the
// objects an export may not pass on. It reads only the class cache.
func restricted(store *graph.Store, read, send graph.Viewer, ids []graph.ID) ([]graph.ID, error) {
	var out []graph.ID
	err := store.View(read, func(rtx *graph.Tx) error {
		return store.View(send, func(stx *graph.Tx) error {
			for _, id := range ids {
				if rtx.Visible(id) && !stx.Visible(id) {
					out = append(out, id)
				}
			}
			return nil
		})
	})
	return out, err
}

// reshareError describes the first restricted object.
func reshareError(store *graph.Store, read graph.Viewer, exporter string, ids []graph.ID) error {
	e := &ReshareError{Count: len(ids)}
	err := store.View(read, func(tx *graph.Tx) error {
		n, err := tx.Node(ids[0])
		if err != nil {
			return err
		}
		e.ID, e.Reason = n.StixID, "its policy forbids passing it on"
		for _, c := range n.Contributions {
			if r := c.Policy.ReshareReason(exporter); r != "" {
				e.Reason = r
				break
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return fmt.Errorf("export: %w", e)
}

// Stats counts what an export wrote.
type Stats struct {
	// Nodes is the number of selected nodes, Objects the number of objects
	// written (more than Nodes when an SCO is exported once per
	// contribution).
	Nodes   int `json:"nodes"`
	Objects int `json:"objects"`
	// Withheld counts nodes left out: objects the exporter may read but
	// not pass on (with Options.SkipRestricted, or in an operator's export
	// for a partner), and objects the Redactor withheld.
	Withheld int `json:"withheld"`
}

// Objects calls fn with the object of every node of ids that v may see, in
// form opts.Form, after opts.Redact, inside one read snapshot. n is the node
// the object comes from.
func Objects(ctx context.Context, store *graph.Store, v graph.Viewer, ids []graph.ID, opts Options, fn func(o *schema.Object, n *graph.Node) error) (Stats, error) {
	var st Stats
	red := opts.Redact
	if red == nil {
		red = KeepAll
	}
	read, send := viewers(v, opts)
	if send != read {
		bad, err := restricted(store, read, send, ids)
		if err != nil {
			return st, fmt.Errorf("export: %w", err)
		}
		if len(bad) > 0 && !opts.SkipRestricted && !v.IsSystem() {
			return st, reshareError(store, read, v.Org, bad)
		}
		st.Withheld += len(bad)
		st.Nodes += len(bad)
	}
	sel := Selection{Source: opts.Source, File: opts.File}
	err := store.View(send, func(tx *graph.Tx) error {
		canon := map[string]string{}
		for i, id := range ids {
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			n, err := tx.Node(id)
			if errors.Is(err, graph.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			st.Nodes++
			objs, err := forms(tx, n, opts.Form, sel, canon)
			if err != nil {
				return err
			}
			for _, o := range objs {
				if o, err = red.Redact(v, n, o); err != nil {
					return fmt.Errorf("redact %s: %w", n.StixID, err)
				}
				if o == nil {
					st.Withheld++
					continue
				}
				if err := fn(o, n); err != nil {
					return err
				}
				st.Objects++
			}
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("export: %w", err)
	}
	return st, nil
}

// forms returns the objects a node exports as in form f.
func forms(tx *graph.Tx, n *graph.Node, f Form, sel Selection, canon map[string]string) ([]*schema.Object, error) {
	o, err := n.Object()
	if err != nil {
		return nil, err
	}
	if f == Canonical {
		schema.RewriteRefs(o, func(old string) (string, bool) {
			id := canonicalID(tx, old, canon)
			return id, id != old
		})
		return []*schema.Object{o}, nil
	}
	// As received: one object per distinct original among the chosen
	// contributions; the stored object itself for contributions that
	// changed nothing.
	var out []*schema.Object
	seen := map[string]bool{}
	for _, p := range n.Provenance {
		if !sel.matches(p) {
			continue
		}
		key := string(p.Original)
		if seen[key] {
			continue
		}
		seen[key] = true
		r, err := restore(o, p.Original)
		if err != nil {
			return nil, fmt.Errorf("restore %s as received from %s: %w", n.StixID, p.File, err)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		out = append(out, o) // no contribution matched: the node was chosen as a reference
	}
	return out, nil
}

// restore returns o with the properties of original put back (a null
// removes the property).
func restore(o *schema.Object, original json.RawMessage) (*schema.Object, error) {
	if len(original) == 0 {
		return o, nil
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(original, &props); err != nil {
		return nil, err
	}
	merged := maps.Clone(o.Props)
	for k, v := range props {
		if string(v) == "null" {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	return schema.NewObject(merged)
}

// canonicalID returns the id the store holds the target of a reference
// under (the same id unless the reference used an alias, such as an SCO's
// id before canonicalisation), or the reference itself when the viewer
// cannot see the target or it was never stored.
func canonicalID(tx *graph.Tx, ref string, cache map[string]string) string {
	if id, ok := cache[ref]; ok {
		return id
	}
	out := ref
	if id, err := tx.Lookup(ref); err == nil {
		if n, err := tx.Node(id); err == nil {
			out = n.StixID
		}
	}
	cache[ref] = out
	return out
}

// WriteBundle selects objects as viewer v and writes them to w as a STIX
// 2.1 bundle, streaming, gzip-compressed with opts.Gzip.
func WriteBundle(ctx context.Context, store *graph.Store, v graph.Viewer, sel Selection, w io.Writer, opts Options) (Stats, error) {
	ids, err := Select(ctx, store, v, sel)
	if err != nil {
		return Stats{}, err
	}
	if opts.Source == "" && opts.File == "" {
		opts.Source, opts.File = sel.Source, sel.File
	}
	var zw *gzip.Writer
	if opts.Gzip {
		zw = gzip.NewWriter(w)
		w = zw
	}
	bw, err := stix.NewBundleWriter(w, opts.BundleID)
	if err != nil {
		return Stats{}, fmt.Errorf("export: %w", err)
	}
	st, err := Objects(ctx, store, v, ids, opts, func(o *schema.Object, _ *graph.Node) error {
		return bw.Write(o)
	})
	if err != nil {
		return st, err
	}
	if err := bw.Close(); err != nil {
		return st, fmt.Errorf("export: %w", err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return st, fmt.Errorf("export: gzip: %w", err)
		}
	}
	return st, nil
}
