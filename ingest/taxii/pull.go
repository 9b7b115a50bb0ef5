package taxii

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/ingest/pipeline"
	"github.com/verband-cti/verband/ingest/stix"
)

// PullOptions tune a Pull.
type PullOptions struct {
	// Collection is the id of the collection to read. Required.
	Collection string
	// Limit asks the server for pages of at most this many objects; 0
	// leaves the page size to the server.
	Limit int
	// Types reads only objects of these types.
	Types []string
	// From, when set, starts at this added_after timestamp instead of the
	// saved position; Restart starts from the beginning of the collection.
	// The position is saved as usual either way.
	From    string
	Restart bool
	// Decoder tunes the STIX decoder that checks each page.
	Decoder stix.Options
	// Progress, when set, is called after every page.
	Progress func(PullStats)
}

// PullStats counts what a pull did.
type PullStats struct {
	// Pages and Objects count the pages read and the objects they held.
	Pages   int `json:"pages"`
	Objects int `json:"objects"`
	// Load sums what the pipeline did with them.
	Load pipeline.Stats `json:"load"`
	// From is the position the pull started at, To where it ended (both
	// added_after timestamps; empty for the beginning).
	From string `json:"from"`
	To   string `json:"to"`
}

// Pull reads a collection of an API root from its saved position onwards
// and loads every page with the loader, saving the position after each
// page is stored. It follows "next" while the server gives one, and
// otherwise asks again with added_after set to the last page's
// X-TAXII-Date-Added-Last. On error (the server's, after retries, or the
// loader's) the position stays at the last page stored, so the next Pull
// resumes there.
func Pull(ctx context.Context, c *Client, apiRoot string, loader *pipeline.Loader, positions Positions, opts PullOptions) (PullStats, error) {
	var st PullStats
	if opts.Collection == "" {
		return st, fmt.Errorf("pull: no collection named: %w", ErrProtocol)
	}
	apiRoot = dirURL(apiRoot)
	pos, _, err := positions.Load(apiRoot, opts.Collection)
	if err != nil {
		return st, fmt.Errorf("pull: %w", err)
	}
	pos.APIRoot, pos.Collection = apiRoot, opts.Collection
	switch {
	case opts.Restart:
		pos.AddedAfter = ""
	case opts.From != "":
		pos.AddedAfter = opts.From
	}
	st.From, st.To = pos.AddedAfter, pos.AddedAfter
	q := ObjectsQuery{AddedAfter: pos.AddedAfter, Limit: opts.Limit, Types: opts.Types}
	decOpts := opts.Decoder
	if decOpts == (stix.Options{}) {
		decOpts = stix.DefaultOptions()
	}
	for {
		page, err := c.Objects(ctx, apiRoot, opts.Collection, q)
		if err != nil {
			return st, fmt.Errorf("pull %s: page %d: %w", pos.Key(), st.Pages+1, err)
		}
		st.Pages++
		st.Objects += len(page.Objects)
		if len(page.Objects) > 0 {
			src, err := newPageSource(page, pos.Key(), st.Pages, decOpts)
			if err != nil {
				return st, fmt.Errorf("pull %s: page %d: %w", pos.Key(), st.Pages, err)
			}
			ls, err := loader.LoadSource(ctx, src)
			addStats(&st.Load, ls)
			if err != nil {
				return st, fmt.Errorf("pull %s: page %d: %w", pos.Key(), st.Pages, err)
			}
			pos.Objects += len(page.Objects)
		}
		if page.DateAddedLast != "" && page.DateAddedLast != pos.AddedAfter {
			pos.AddedAfter = page.DateAddedLast
			pos.Updated = time.Now().UTC()
			if err := positions.Save(pos); err != nil {
				return st, fmt.Errorf("pull %s: %w", pos.Key(), err)
			}
			st.To = pos.AddedAfter
		}
		if opts.Progress != nil {
			opts.Progress(st)
		}
		if !page.More {
			return st, nil
		}
		switch {
		case page.Next != "":
			q.Next = page.Next
		case page.DateAddedLast != "" && page.DateAddedLast != q.AddedAfter:
			q.AddedAfter, q.Next = page.DateAddedLast, ""
		default:
			return st, fmt.Errorf("pull %s: page %d says there is more but gives neither next nor a new X-TAXII-Date-Added-Last: %w", pos.Key(), st.Pages, ErrProtocol)
		}
	}
}

func addStats(sum *pipeline.Stats, s pipeline.Stats) {
	sum.Files += s.Files
	sum.Bytes += s.Bytes
	sum.Objects += s.Objects
	sum.Created += s.Created
	sum.Updated += s.Updated
	sum.Unchanged += s.Unchanged
	sum.Older += s.Older
	sum.Rejected += s.Rejected
	sum.Chunks += s.Chunks
	sum.Duration += s.Duration
	sum.Errors = append(sum.Errors, s.Errors...)
	sum.Warnings = append(sum.Warnings, s.Warnings...)
}

// pageSource decodes one page's objects with the STIX decoder. Errors name
// the page; provenance names the collection, the same for every page.
type pageSource struct {
	*stix.Decoder
	collection string
}

var _ ingest.Source = (*pageSource)(nil)

func newPageSource(p *Page, collectionURL string, n int, opts stix.Options) (*pageSource, error) {
	size := 2
	for _, o := range p.Objects {
		size += len(o) + 1
	}
	buf := make([]byte, 0, size)
	buf = append(buf, '[')
	for i, o := range p.Objects {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, o...)
	}
	buf = append(buf, ']')
	dec, err := stix.NewDecoder(bytes.NewReader(buf), fmt.Sprintf("%sobjects/ page %d", collectionURL, n), opts)
	if err != nil {
		return nil, err
	}
	return &pageSource{Decoder: dec, collection: collectionURL}, nil
}

// ProvenanceFile names the collection (see pipeline.ProvenanceFiler).
func (s *pageSource) ProvenanceFile() string { return s.collection }
