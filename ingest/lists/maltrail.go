package lists

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/verband-cti/verband/ingest"
	"github.com/verband-cti/verband/schema"
)

// MaltrailURL is where the upstream trail files live; the family's first
// external reference points at its file there.
const MaltrailURL = "https://github.com/stamparm/maltrail/blob/master/trails/static/malware/"

// maltrail is the state of a Decoder reading a Maltrail trail file.
type maltrail struct {
	family  string
	malware *schema.Object
	// block holds the references of the "# Reference" lines above the
	// current entry; inBlock says whether the last non-blank line was one.
	block   []extRef
	inBlock bool
}

// FamilyName returns the malware family a Maltrail trail file describes:
// its base name without ".txt" (or ".txt.gz"), less a "-<n>" suffix that Maltrail adds
// when it splits a long family over several files ("njrat-1.txt" is
// njrat).
func FamilyName(file string) string {
	name := file
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSuffix(name, ".gz")
	name = strings.TrimSuffix(name, ".txt")
	if i := strings.LastIndexByte(name, '-'); i > 0 && isNumber(name[i+1:]) {
		name = name[:i]
	}
	return name
}

// startMaltrail reads the whole file, builds the family from its comments
// and sets the decoder up to read the entries.
func (d *Decoder) startMaltrail(r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, d.opts.MaxFileBytes+1))
	if err != nil {
		return &ingest.ObjectError{File: d.name, Index: -1, Offset: -1, Fatal: true, Err: fmt.Errorf("read maltrail file: %w", err)}
	}
	if int64(len(data)) > d.opts.MaxFileBytes {
		return &ingest.ObjectError{File: d.name, Index: -1, Offset: -1, Fatal: true,
			Err: fmt.Errorf("read maltrail file: more than %d bytes: %w", d.opts.MaxFileBytes, ErrTooBig)}
	}
	d.mt = &maltrail{family: FamilyName(d.file)}
	d.mt.malware = d.familyObject(data)
	d.lines = newLineReader(bytes.NewReader(data), d.opts.MaxLineBytes)
	d.emit(d.mt.malware, d.opts.TLP, true)
	return nil
}

// commentKey splits a comment line "# Key: text" into a lower-case key and
// the text. Lines without a colon in their first word give an empty key.
func commentKey(line string) (key, text string) {
	body := strings.TrimSpace(strings.TrimLeft(line, "#"))
	i := strings.IndexByte(body, ':')
	if i <= 0 || strings.ContainsAny(body[:i], " \t") && !isReferenceKey(body[:i]) {
		if f := strings.Fields(body); len(f) > 1 && isReferenceKey(f[0]) {
			return "reference", strings.TrimSpace(body[len(f[0]):])
		}
		return "", body
	}
	key = strings.ToLower(strings.TrimSpace(body[:i]))
	if isReferenceKey(key) {
		key = "reference"
	}
	return key, strings.TrimSpace(body[i+1:])
}

// isReferenceKey reads the key of a reference line, misspellings included
// ("Refernece", "Referecne", "ReferencE" all occur upstream).
func isReferenceKey(k string) bool {
	k = strings.ToLower(strings.TrimSpace(k))
	return len(k) >= 6 && len(k) <= 12 && strings.HasPrefix(k, "ref")
}

// familyObject builds the malware object from the file's comments:
//
//	# Aliases: a, b          aliases
//	# CERT-UA: UAC-1, UAC-2  aliases
//	# MSTIC: DEV-0157        aliases
//	# MITRE: <url>           external reference "mitre-attack" with the
//	                         group id as external_id
//	# Reference: <url>       external reference named after the URL's host
//	# Note: <text>           description, one line per note
//
// Other comments (section titles such as "# Generic trails") are not kept.
func (d *Decoder) familyObject(data []byte) *schema.Object {
	fam := d.mt.family
	var aliases, notes []string
	refs := []extRef{{SourceName: "maltrail", URL: MaltrailURL + d.file, ExternalID: fam}}
	seenRef := map[string]bool{refs[0].URL: true}
	addRef := func(r extRef) {
		key := r.URL + "\x1f" + r.Description
		if !seenRef[key] {
			seenRef[key] = true
			refs = append(refs, r)
		}
	}
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] != '#' || !utf8.Valid(line) {
			continue
		}
		key, text := commentKey(string(line))
		switch key {
		case "aliases", "alias", "cert-ua", "mstic":
			for _, a := range strings.Split(text, ",") {
				if a = strings.TrimSpace(a); a != "" && !strings.EqualFold(a, fam) {
					aliases = append(aliases, a)
				}
			}
		case "mitre":
			if u := findURL(text); u != "" {
				r := extRef{SourceName: "mitre-attack", URL: u}
				if m := mitreID.FindString(u); m != "" {
					r.ExternalID = m
				}
				addRef(r)
			}
		case "reference":
			if r, ok := referenceOf(text); ok {
				addRef(r)
			}
		case "note":
			if text != "" {
				notes = append(notes, text)
			}
		}
	}
	o := d.c.sdo("malware", DeterministicID("malware", d.opts.Source, fam), 6)
	p := o.Props
	p["name"] = jstr(fam)
	p["is_family"] = jTrue
	if a := dedupeFold(aliases); len(a) > 0 {
		p["aliases"] = jstrs(a)
	}
	if len(notes) > 0 {
		p["description"] = jstr(strings.Join(notes, "\n"))
	}
	if len(d.c.labels) > 0 {
		p["labels"] = jstrs(d.c.labels)
	}
	p["external_references"] = encodeRefs(refs)
	return o
}

var mitreID = regexp.MustCompile(`[GSCT]\d{4}(\.\d{3})?`)

// dedupeFold drops repeated strings, without regard to case.
func dedupeFold(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		k := strings.ToLower(s)
		if !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

// findURL returns the first http(s) URL in text, up to white space, with a
// scheme written "https:/host" repaired.
func findURL(text string) string {
	i := strings.Index(strings.ToLower(text), "http")
	if i < 0 {
		return ""
	}
	u := text[i:]
	if j := strings.IndexAny(u, " \t"); j >= 0 {
		u = u[:j]
	}
	for _, s := range []string{"https:", "http:"} {
		if len(u) > len(s) && strings.EqualFold(u[:len(s)], s) {
			rest := strings.TrimLeft(u[len(s):], "/")
			if rest == "" {
				return ""
			}
			return strings.ToLower(s) + "//" + rest
		}
	}
	return ""
}

// referenceOf turns the text of a reference line into an external
// reference: a URL named after its host, or, for text without a URL (such
// as "CERT_FINGERPRINT-HOST: …"), a description.
func referenceOf(text string) (extRef, bool) {
	if u := findURL(text); u != "" {
		name := "maltrail-reference"
		if pu, err := url.Parse(u); err == nil && pu.Hostname() != "" {
			name = strings.TrimPrefix(strings.ToLower(pu.Hostname()), "www.")
		}
		return extRef{SourceName: name, URL: u}, true
	}
	text = strings.TrimSpace(strings.TrimLeft(text, "#"))
	if text == "" {
		return extRef{}, false
	}
	return extRef{SourceName: "maltrail-reference", Description: text}, true
}

// maltrailStep reads lines up to the next trail or error.
func (d *Decoder) maltrailStep() error {
	mt := d.mt
	for {
		line, n, err := d.nextLine()
		if err != nil || line == nil {
			return err
		}
		if line[0] == '#' {
			d.stats.Comments++
			if key, text := commentKey(string(line)); key == "reference" {
				if !mt.inBlock {
					mt.block = nil
				}
				mt.inBlock = true
				if r, ok := referenceOf(text); ok {
					mt.block = append(mt.block, r)
				}
			}
			continue
		}
		mt.inBlock = false
		if !utf8.Valid(line) {
			d.push(item{err: d.lineErr(n, "", fmt.Errorf("read trail: %w", ErrInvalidUTF8))})
			return nil
		}
		value, comment := cutComment(string(line))
		if err := d.trail(n, value, comment); err != nil {
			d.push(item{err: err})
		}
		return nil
	}
}

// trail emits the objects of one trail (see the package documentation).
func (d *Decoder) trail(line int, value, comment string) error {
	mt := d.mt
	malwareID := mt.malware.ID
	desc := "Maltrail trail of malware family " + mt.family + "."
	if comment != "" {
		desc += " " + comment
	}
	spec := indicatorSpec{
		scope: d.opts.Source + "\x1f" + d.file,
		desc:  desc,
		types: d.opts.IndicatorTypes,
		refs:  mt.block,
	}
	if strings.HasPrefix(value, "/") {
		if !isPathTrail(value) {
			return d.lineErr(line, "", fmt.Errorf("path trail %q: %w", clip(value), ErrUnknownType))
		}
		d.stats.Entries++
		d.stats.PathOnly++
		spec.name = value
		spec.pattern = PathPattern(value)
		ind := d.c.indicator(spec)
		if !d.emit(ind, d.opts.TLP, true) {
			d.stats.Duplicates++
			return nil
		}
		d.emit(d.c.relationship("indicates", ind.ID, malwareID), d.opts.TLP, false)
		return nil
	}
	v, err := Classify(value)
	if err != nil {
		return d.lineErr(line, "", err)
	}
	sco, err := observable(v)
	if err != nil {
		return d.lineErr(line, "", fmt.Errorf("make observable: %w", err))
	}
	d.count(v, sco.ID)
	if d.emit(sco, d.opts.TLP, true) {
		d.emit(d.c.relationship("communicates-with", malwareID, sco.ID), d.opts.TLP, false)
	}
	if d.opts.Indicators || v.Port != 0 {
		spec.name = v.String()
		spec.pattern = Pattern(v)
		ind := d.c.indicator(spec)
		if d.emit(ind, d.opts.TLP, true) {
			d.emit(d.c.relationship("indicates", ind.ID, malwareID), d.opts.TLP, false)
		}
	}
	return nil
}

// isPathTrail accepts a path trail: "/" and at least one more character,
// no white space or control characters.
func isPathTrail(s string) bool {
	if len(s) < 2 || len(s) > MaxValueBytes {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// PathPattern returns the pattern of a Maltrail path trail (a URL path
// without host, such as "/wp-content/x.php"), which matches any URL, on
// any host, whose path starts with it:
//
//	[url:value MATCHES '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]+/wp-content/x\\.php']
func PathPattern(path string) string {
	return "[url:value MATCHES " + quotePattern("^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]+"+regexp.QuoteMeta(path)) + "]"
}
