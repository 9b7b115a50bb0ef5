package lists

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/verband-cti/verband/schema"
)

// Format is the layout of a list file.
type Format uint8

// Formats. FormatAuto picks one with DetectFormat.
const (
	FormatAuto Format = iota
	// FormatPlain is one value per line, with "#" and "//" comment lines.
	FormatPlain
	// FormatCSV is comma-, semicolon- or tab-separated records with a
	// column mapping (Options.Columns).
	FormatCSV
	// FormatMaltrail is a Maltrail static trail file: one malware family
	// per file, "#" comments with aliases and references, one trail per
	// line.
	FormatMaltrail
)

// String returns "auto", "plain", "csv" or "maltrail".
func (f Format) String() string {
	switch f {
	case FormatPlain:
		return "plain"
	case FormatCSV:
		return "csv"
	case FormatMaltrail:
		return "maltrail"
	}
	return "auto"
}

// ParseFormat parses "auto", "plain" (or "txt"), "csv" (or "tsv") and
// "maltrail".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return FormatAuto, nil
	case "plain", "txt", "text":
		return FormatPlain, nil
	case "csv", "tsv":
		return FormatCSV, nil
	case "maltrail":
		return FormatMaltrail, nil
	}
	return FormatAuto, fmt.Errorf("parse list format %q: want auto, plain, csv or maltrail", s)
}

// maltrailMark is the copyright line every Maltrail trail file starts with.
var maltrailMark = []byte("Maltrail developers")

// DetectFormat picks the format of a list from its file name and its first
// bytes: FormatMaltrail when the head names the Maltrail developers (the
// copyright line of every trail file), FormatCSV for names ending in .csv or
// .tsv, FormatPlain otherwise.
func DetectFormat(name string, head []byte) Format {
	if len(head) > 512 {
		head = head[:512]
	}
	if bytes.Contains(head, maltrailMark) {
		return FormatMaltrail
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv", ".tsv":
		return FormatCSV
	}
	return FormatPlain
}

// IsListFile reports whether a directory walk should pick up name as a list:
// it ends in .txt, .csv, .tsv or .list, in any case. Other names are loaded
// only when named explicitly.
func IsListFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".txt", ".csv", ".tsv", ".list":
		return true
	}
	return false
}

// Container says which STIX object holds a list file's members.
type Container uint8

// Containers.
const (
	// ContainerGrouping (the default) makes a grouping with context
	// "suspicious-activity".
	ContainerGrouping Container = iota
	// ContainerReport makes a report published at Options.Time.
	ContainerReport
	// ContainerNone makes no container.
	ContainerNone
)

// ParseContainer parses "grouping", "report" or "none".
func ParseContainer(s string) (Container, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "grouping":
		return ContainerGrouping, nil
	case "report":
		return ContainerReport, nil
	case "none":
		return ContainerNone, nil
	}
	return ContainerGrouping, fmt.Errorf("parse container %q: want grouping, report or none", s)
}

// Header says whether the first CSV record names the columns.
type Header uint8

// Header modes.
const (
	// HeaderAuto takes the first record for a header when no field of it is
	// an indicator value and at least one field is a known column name; it
	// is always a header when Columns name a column.
	HeaderAuto Header = iota
	// HeaderYes: the first record is a header.
	HeaderYes
	// HeaderNo: the first record is data.
	HeaderNo
)

// Columns map CSV columns to what they hold. Each field is either a header
// name (matched without regard to case, '_', '-' and spaces) or a 1-based
// column number ("3"). Empty fields take the column whose header is one of
// the usual names (see headerNames); without a header the value is column
// 1 and nothing else is read.
type Columns struct {
	// Value holds the indicator value (required).
	Value string
	// Type holds the value's type name (see ParseKind); empty cells are
	// detected.
	Type string
	// Comment becomes the indicator's description.
	Comment string
	// FirstSeen and LastSeen are timestamps (see ParseTime). FirstSeen
	// becomes the indicator's valid_from; both are kept as
	// x_verband_first_seen and x_verband_last_seen.
	FirstSeen, LastSeen string
	// Tags holds labels, separated by ',', ';' or '|'.
	Tags string
	// TLP holds a TLP level for the row (see schema.ParseTLP); it overrides
	// Options.TLP.
	TLP string
	// Source names where the row came from; it is kept on the indicator as
	// x_verband_source.
	Source string
	// Header says whether the first record is a header.
	Header Header
}

// ParseColumns parses a column mapping such as
// "value=2,type=3,comment=description,first_seen=1" (the form a command-line
// flag takes). Keys are value, type, comment, first_seen, last_seen, tags,
// tlp and source; "header=yes|no|auto" sets Header.
func ParseColumns(spec string) (Columns, error) {
	var c Columns
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(v) == "" {
			return Columns{}, fmt.Errorf("parse columns %q: %q is not key=column: %w", spec, part, ErrBadColumns)
		}
		v = strings.TrimSpace(v)
		switch normHeader(k) {
		case "value":
			c.Value = v
		case "type":
			c.Type = v
		case "comment":
			c.Comment = v
		case "firstseen":
			c.FirstSeen = v
		case "lastseen":
			c.LastSeen = v
		case "tags", "labels":
			c.Tags = v
		case "tlp":
			c.TLP = v
		case "source":
			c.Source = v
		case "header":
			switch strings.ToLower(v) {
			case "auto":
				c.Header = HeaderAuto
			case "yes", "true":
				c.Header = HeaderYes
			case "no", "false":
				c.Header = HeaderNo
			default:
				return Columns{}, fmt.Errorf("parse columns %q: header=%s: want yes, no or auto: %w", spec, v, ErrBadColumns)
			}
		default:
			return Columns{}, fmt.Errorf("parse columns %q: unknown key %q: %w", spec, k, ErrBadColumns)
		}
	}
	return c, nil
}

// Defaults of Options.
const (
	// DefaultSource names plain and CSV lists without Options.Source.
	DefaultSource = "list"
	// DefaultMaltrailSource names maltrail files without Options.Source.
	DefaultMaltrailSource = "maltrail"
	// DefaultMaxLineBytes is the longest line read, in bytes; longer lines
	// are reported (ErrLineTooLong) and skipped. 64 KiB holds any URL that
	// browsers and servers accept (most stop at 8 to 16 KiB) with room to
	// spare, while keeping hostile input from growing buffers.
	DefaultMaxLineBytes = 64 << 10
	// DefaultMaxFileBytes is the largest maltrail file read (they are read
	// whole); the largest upstream file is under 2 MB.
	DefaultMaxFileBytes = 256 << 20
	// DefaultMaxContainerRefs is the default cap on a container's
	// object_refs. The store writes an object, its edges and the degree
	// counters of every member in one transaction, and with its default
	// options a container of some 15,000 references no longer fits
	// (apt_gamaredon.txt has 53,201 trails), so larger lists are split.
	DefaultMaxContainerRefs = 10_000
)

// Options configure a Decoder. The zero value reads a plain list (or what
// DetectFormat finds), as source "list", unmarked, with observables and a
// grouping but no indicators.
type Options struct {
	// Format of the input; FormatAuto (the default) uses DetectFormat.
	Format Format
	// Source names the list's origin, such as "abuse.ch" or "maltrail". It
	// goes into the ids of the container and of indicators (so two sources
	// listing the same value keep separate indicators) and into the
	// container's name. Default DefaultSource, or DefaultMaltrailSource for
	// maltrail files.
	Source string
	// TLP marks what the decoder makes: object_marking_refs with the TLP
	// 2.0 marking on every SDO and relationship, and ingest.Hints.TLP for
	// every object, observables included (see the package documentation on
	// why observables carry no marking of their own). Default unmarked.
	TLP schema.TLP
	// Labels go on every indicator, container and malware object.
	Labels []string
	// CreatedBy, when set, is the identity id put in created_by_ref of
	// every SDO and relationship.
	CreatedBy string
	// Indicators makes an indicator (with a STIX pattern) for every value,
	// besides its observable. Without it, indicators are made only where an
	// observable cannot say everything: CSV rows with a comment, tags,
	// first_seen, last_seen, TLP or source, maltrail trails with a port or
	// without a host.
	Indicators bool
	// IndicatorTypes go into indicator_types of every indicator. Default
	// none for plain and CSV lists, "malicious-activity" for maltrail.
	IndicatorTypes []string
	// Container is the object that holds the file's members. Default
	// ContainerGrouping.
	Container Container
	// Time is created and modified of every SDO and relationship, the
	// indicators' valid_from (unless a row gives first_seen), and a
	// report's published. It must not change between two loads of the same
	// file, or the second load updates every object. Open sets it to the
	// file's modification time when it is zero; NewDecoder uses the Unix
	// epoch. It is kept to the millisecond.
	Time time.Time
	// Columns map CSV columns.
	Columns Columns
	// Comma is the CSV field separator. Default: ',' unless the first line
	// has tabs or semicolons and no commas.
	Comma rune
	// MaxLineBytes caps the length of a line. Default
	// DefaultMaxLineBytes.
	MaxLineBytes int
	// MaxFileBytes caps the size of a maltrail file. Default
	// DefaultMaxFileBytes.
	MaxFileBytes int64
	// MaxContainerRefs caps the object_refs of one container. A list with
	// more members gets several containers, "… (part k of n)"; parts 2 to
	// n refer to part 1, which keeps the id an unsplit container would
	// have. Default DefaultMaxContainerRefs.
	MaxContainerRefs int
}

// headerNames maps normalised header names (see normHeader) to the field
// of Columns they fill when the mapping leaves it empty.
var headerNames = map[string]string{
	"value": "value", "indicator": "value", "ioc": "value", "observable": "value",
	"iocvalue": "value", "indicatorvalue": "value", "domain": "value", "url": "value",
	"ip": "value", "ipaddress": "value", "hash": "value", "host": "value",
	"type": "type", "indicatortype": "type", "ioctype": "type", "kind": "type",
	"category": "type", "attributetype": "type",
	"comment": "comment", "description": "comment", "desc": "comment", "note": "comment",
	"notes": "comment", "info": "comment",
	"firstseen": "first_seen", "firstseenutc": "first_seen", "first": "first_seen",
	"datefirstseen": "first_seen", "dateadded": "first_seen", "created": "first_seen",
	"lastseen": "last_seen", "lastseenutc": "last_seen", "last": "last_seen",
	"datelastseen": "last_seen", "lastonline": "last_seen",
	"tags": "tags", "tag": "tags", "labels": "tags", "label": "tags", "malware": "tags",
	"threat": "tags",
	"tlp":    "tlp",
	"source": "source", "reporter": "source", "feed": "source",
}

// normHeader lower-cases a header name and drops '_', '-', ' ', '.' and a
// leading '#'.
func normHeader(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "#")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '_', '-', ' ', '.', '(', ')':
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// timeLayouts are the timestamp forms ParseTime reads, tried in order.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05 MST",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
	"2006/01/02 15:04:05",
	"2006/01/02",
}

// ParseTime reads a first_seen or last_seen field: RFC 3339, "YYYY-MM-DD
// hh:mm:ss" (UTC unless a zone is given), "YYYY-MM-DD", the same with '/',
// or Unix seconds (9 to 10 digits) or milliseconds (12 to 13 digits).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if n := len(s); n >= 9 && n <= 13 && strings.Trim(s, "0123456789") == "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			if n >= 12 {
				return time.UnixMilli(v).UTC(), nil
			}
			return time.Unix(v, 0).UTC(), nil
		}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("parse time %q: %w", clip(s), ErrBadTime)
}

// formatTime writes a STIX timestamp in UTC with milliseconds.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
