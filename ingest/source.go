package ingest

import (
	"github.com/verband-cti/verband/schema"
)

// Source yields the STIX objects decoded from one input: a file, a feed
// page, a request body. Every format package (stix, misp, lists, …)
// provides one, and the pipeline loads any of them the same way.
//
// Next returns the next object, or io.EOF at the end. Any other error is an
// *ObjectError; IsFatal tells whether the source can go on after it (a bad
// object) or not (a broken stream).
type Source interface {
	Next() (*schema.Object, error)
	// Name names the input in errors and provenance, such as a file name.
	Name() string
}

// Hints carry what a source knows about an object beyond its STIX content,
// such as a MISP event's distribution turned into a sharing list.
type Hints struct {
	// Sharing lists organizations to share an AMBER object with, on top of
	// the load's own sharing list.
	Sharing []string
	// TLP applies when the object has no TLP marking of its own and is not
	// TLPUnmarked.
	TLP schema.TLP
	// Owner, when set, overrides the load's owner (for example a MISP
	// event's creator organization when the loader is told to trust it).
	Owner string
}

// Hinter is implemented by sources that give hints; Hints describes the
// object last returned by Next.
type Hinter interface {
	Hints() Hints
}
