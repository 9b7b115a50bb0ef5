package detect

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/verband-cti/verband/ingest/lists"
)

// ZeekHeader is the first line of an intel file WriteZeek writes: the
// fields the Zeek intelligence framework reads, tab-separated.
const ZeekHeader = "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url"

// ZeekOptions tune WriteZeek.
type ZeekOptions struct {
	// Source is meta.source for entries without a Source of their own.
	// Default "verband".
	Source string
}

// ZeekOutput is what WriteZeek wrote.
type ZeekOutput struct {
	// Lines counts the intel lines, without the header.
	Lines int
	// Skipped holds the entries Zeek cannot match (SHA-512 digests).
	Skipped []Skip
}

// zeekType maps a kind to its Intel::Type.
func zeekType(k lists.Kind) string {
	switch k {
	case lists.KindIPv4, lists.KindIPv6:
		return "Intel::ADDR"
	case lists.KindIPv4Net, lists.KindIPv6Net:
		return "Intel::SUBNET"
	case lists.KindDomain:
		return "Intel::DOMAIN"
	case lists.KindURL:
		return "Intel::URL"
	case lists.KindEmail:
		return "Intel::EMAIL"
	case lists.KindMD5, lists.KindSHA1, lists.KindSHA256:
		return "Intel::FILE_HASH"
	}
	return ""
}

// ZeekIndicator returns the indicator field Zeek matches for an entry: the
// value, except that a URL loses its scheme and fragment (Zeek's
// intel/seen scripts report URLs as host and path, "example.com/x?y") and
// ports are dropped (Intel::ADDR and Intel::DOMAIN have none).
func ZeekIndicator(e Entry) string {
	if e.Kind != lists.KindURL {
		return e.Value
	}
	_, rest, _ := strings.Cut(e.Value, "://")
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// WriteZeek writes a Zeek intel file: ZeekHeader, then one tab-separated
// line per entry (Intel::ADDR, Intel::SUBNET, Intel::DOMAIN, Intel::URL,
// Intel::EMAIL, Intel::FILE_HASH for MD5, SHA-1 and SHA-256), with "-" for
// an empty field. Tabs, line breaks and other control characters in
// descriptions become spaces. An indicator repeated with the same type is
// written once.
func WriteZeek(w io.Writer, entries []Entry, opts ZeekOptions) (ZeekOutput, error) {
	if opts.Source == "" {
		opts.Source = "verband"
	}
	var out ZeekOutput
	bw := bufio.NewWriter(w)
	bw.WriteString(ZeekHeader + "\n")
	seen := map[string]bool{}
	for _, e := range entries {
		typ := zeekType(e.Kind)
		if typ == "" {
			out.Skipped = append(out.Skipped, Skip{ID: e.ID, Value: e.Value, Reason: fmt.Errorf("Zeek, %s: %w", e.Kind, ErrNoRule)})
			continue
		}
		ind := zeekField(ZeekIndicator(e))
		if seen[typ+"\t"+ind] {
			continue
		}
		seen[typ+"\t"+ind] = true
		src := e.Source
		if src == "" {
			src = opts.Source
		}
		desc := e.Description
		if desc == "" {
			desc = e.Name
		}
		fields := []string{ind, typ, zeekField(src), zeekField(clipASCII(desc, 500)), zeekField(e.Reference)}
		bw.WriteString(strings.Join(fields, "\t"))
		bw.WriteByte('\n')
		out.Lines++
	}
	if err := bw.Flush(); err != nil {
		return out, fmt.Errorf("write Zeek intel file: %w", err)
	}
	return out, nil
}

// zeekField makes a value safe for a tab-separated field: control
// characters become spaces, surrounding space goes, and an empty value is
// written "-" (Zeek's unset marker).
func zeekField(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = ' '
		}
	}
	s = strings.TrimSpace(string(b))
	if s == "" {
		return "-"
	}
	return s
}
