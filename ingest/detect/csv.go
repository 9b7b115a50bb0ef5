package detect

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/schema"
)

// CSVHeader is the header row WriteCSV writes. The lists decoder maps every
// column by name, so an export loads back as it is.
var CSVHeader = []string{"value", "type", "first_seen", "last_seen", "labels", "tlp", "source"}

// WriteCSV writes one CSV record per entry under CSVHeader: the value (with
// ":port" when it has one), its kind (lists.Kind.String, which
// lists.ParseKind reads back), first and last seen as RFC 3339 timestamps,
// the labels joined by ";" (a ',', ';' or '|' inside a label becomes '_',
// since the decoder splits on them), the TLP ("TLP:AMBER", empty when
// unmarked) and the source. Fields are quoted as RFC 4180 requires.
func WriteCSV(w io.Writer, entries []Entry) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("write CSV header: %w", err)
	}
	rec := make([]string, len(CSVHeader))
	for _, e := range entries {
		rec[0] = lists.Value{Kind: e.Kind, Value: e.Value, Port: e.Port}.String()
		rec[1] = e.Kind.String()
		rec[2] = csvTime(e.FirstSeen)
		rec[3] = csvTime(e.LastSeen)
		labels := make([]string, 0, len(e.Labels))
		for _, l := range e.Labels {
			l = strings.Map(func(r rune) rune {
				if r == ',' || r == ';' || r == '|' {
					return '_'
				}
				return r
			}, strings.TrimSpace(l))
			if l != "" {
				labels = append(labels, l)
			}
		}
		rec[4] = strings.Join(labels, ";")
		rec[5] = ""
		if e.TLP != schema.TLPUnmarked {
			rec[5] = e.TLP.String()
		}
		rec[6] = e.Source
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write CSV record for %s: %w", e.Value, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	return nil
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
