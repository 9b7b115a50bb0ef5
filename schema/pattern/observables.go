package pattern

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/verband-cti/verband/schema"
)

// Observable is one equality comparison that names a concrete observable
// value, such as ipv4-addr:value = '198.51.100.3'.
type Observable struct {
	// Type is the SCO type, such as "ipv4-addr" or "file".
	Type string
	// Path is the property path without the type, as the printer writes it,
	// such as "value" or "hashes.'SHA-256'".
	Path string
	// Value is the compared value as the pattern gives it (not
	// canonicalised); an integer is written in decimal.
	Value string
}

// Observables lists the observables a simple pattern names, in the order
// they appear, without duplicates. It returns nil for any other pattern.
//
// A pattern is simple when:
//
//   - its observation expressions are joined only by AND and OR (no
//     FOLLOWEDBY) and carry no qualifier (WITHIN, REPEATS, START/STOP);
//   - inside every pair of brackets, comparisons are joined only by AND and
//     OR; and
//   - every comparison is an equality (= or ==, not negated) or an IN
//     without NOT, which counts as one equality per member of its set.
//
// Of the equalities of a simple pattern, those that name a concrete
// observable are listed: a string compared with
//
//   - the value of ipv4-addr, ipv6-addr, domain-name, url, email-addr or
//     mac-addr (ipv4-addr:value);
//   - one hash of file, artifact or x509-certificate (file:hashes.MD5,
//     file:hashes.'SHA-256'), or the serial_number of x509-certificate;
//   - the name of mutex, the path of directory, or the key of
//     windows-registry-key;
//
// or an integer compared with the number of autonomous-system. Other
// equalities (file:name, network-traffic:dst_port, references such as
// network-traffic:dst_ref.value, whose type the pattern does not fix)
// belong to a simple pattern but name no observable of their own.
// So [ipv4-addr:value = '198.51.100.1' OR domain-name:value = 'example.com']
// names two observables, [file:hashes.MD5 = '…' AND file:name = 'a.exe']
// names the file's hash, and [url:value LIKE '%evil%'] or
// [ipv4-addr:value = '198.51.100.1'] FOLLOWEDBY [...] name none.
func (p *Pattern) Observables() []Observable {
	var out []Observable
	if !simpleObs(p.Expr, &out) {
		return nil
	}
	return dedupe(out)
}

func dedupe(in []Observable) []Observable {
	seen := make(map[Observable]bool, len(in))
	out := in[:0]
	for _, o := range in {
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	return out
}

func simpleObs(e ObservationExpr, out *[]Observable) bool {
	switch e := e.(type) {
	case *Observation:
		return simpleCmp(e.Expr, out)
	case *ObservationOp:
		return e.Op != FollowedBy && simpleObs(e.Left, out) && simpleObs(e.Right, out)
	}
	return false
}

func simpleCmp(e ComparisonExpr, out *[]Observable) bool {
	switch e := e.(type) {
	case *ComparisonOp:
		return simpleCmp(e.Left, out) && simpleCmp(e.Right, out)
	case *Comparison:
		if e.Negated {
			return false
		}
		switch e.Op {
		case Equal:
			if o, ok := observable(e.Path, e.Value); ok {
				*out = append(*out, o)
			}
			return true
		case In:
			for _, l := range e.Set {
				if o, ok := observable(e.Path, l); ok {
					*out = append(*out, o)
				}
			}
			return true
		}
	}
	return false
}

// valueProps maps an SCO type to the one property that identifies it.
var valueProps = map[string]string{
	"ipv4-addr": "value", "ipv6-addr": "value", "domain-name": "value", "url": "value",
	"email-addr": "value", "mac-addr": "value", "mutex": "name", "directory": "path",
	"windows-registry-key": "key", "x509-certificate": "serial_number",
}

// hashTypes are the SCO types identified by a hash.
var hashTypes = map[string]bool{"file": true, "artifact": true, "x509-certificate": true}

// observable returns the observable an equality names, if any.
func observable(path ObjectPath, l Literal) (Observable, bool) {
	o := Observable{Type: path.Type, Path: path.PropertyPath()}
	_, _, num, ok := identifying(path)
	switch {
	case !ok:
		return Observable{}, false
	case num && l.Kind == Int:
		o.Value = strconv.FormatInt(l.Int, 10)
	case !num && l.Kind == String:
		o.Value = l.Str
	default:
		return Observable{}, false
	}
	return o, true
}

// identifying reports whether path names a property that identifies an
// SCO, and which: the property, the hash algorithm for hashes, and whether
// the value is a number.
func identifying(path ObjectPath) (prop, algo string, num, ok bool) {
	st := path.Steps
	if len(st) == 0 || st[0].Kind != Key {
		return "", "", false, false
	}
	switch {
	case path.Type == "autonomous-system" && len(st) == 1 && st[0].Name == "number":
		return "number", "", true, true
	case len(st) == 1 && valueProps[path.Type] == st[0].Name:
		return st[0].Name, "", false, true
	case len(st) == 2 && hashTypes[path.Type] && st[0].Name == "hashes" && st[1].Kind == Key:
		return "hashes", st[1].Name, false, true
	}
	return "", "", false, false
}

// placeholderUUID stands in for the random part of the id of an SCO built
// from a comparison; Canonicalize replaces it with the deterministic id.
const placeholderUUID = "00000000-0000-4000-8000-000000000000"

// SCO builds the smallest cyber observable the comparison names (its type
// and the one compared property, with spec_version 2.1), canonicalised by
// schema.Canonicalize, so its ID is the deterministic STIX id. It fails
// with a *schema.ValidationError when the value cannot be canonicalised,
// such as ipv4-addr:value = 'not an address'. An IPv4-mapped IPv6 address
// becomes an ipv4-addr, as Canonicalize prescribes.
func (o Observable) SCO() (*schema.Object, error) {
	path, err := parsePath(o.Type + ":" + o.Path)
	if err != nil {
		return nil, fmt.Errorf("build SCO from %s:%s: %w", o.Type, o.Path, err)
	}
	prop, algo, num, ok := identifying(path)
	if !ok {
		return nil, fmt.Errorf("build SCO from %s:%s: the path identifies no observable: %w", o.Type, o.Path, schema.ErrNotSCO)
	}
	var v any = o.Value
	switch {
	case num:
		n, err := strconv.ParseInt(o.Value, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("build SCO from %s:%s: %w", o.Type, o.Path, err)
		}
		v = n
	case algo != "":
		v = map[string]string{algo: o.Value}
	}
	props := map[string]any{
		"type": o.Type, "spec_version": "2.1", "id": o.Type + "--" + placeholderUUID, prop: v,
	}
	raw, err := json.Marshal(props)
	if err != nil {
		return nil, fmt.Errorf("build SCO from %s:%s: %w", o.Type, o.Path, err)
	}
	obj, err := schema.ParseObject(raw)
	if err != nil {
		return nil, fmt.Errorf("build SCO from %s:%s: %w", o.Type, o.Path, err)
	}
	if _, err := schema.Canonicalize(obj); err != nil {
		return nil, fmt.Errorf("build SCO from %s:%s: %w", o.Type, o.Path, err)
	}
	return obj, nil
}

// parsePath parses an object path on its own.
func parsePath(s string) (ObjectPath, error) {
	p := &parser{lex: lexer{src: s}}
	if err := p.advance(); err != nil {
		return ObjectPath{}, err
	}
	path, err := p.objectPath()
	if err != nil {
		return ObjectPath{}, err
	}
	if p.tok.kind != tEOF {
		return ObjectPath{}, p.unexpected("the end of the object path")
	}
	return path, nil
}

// ObservableIDs parses a STIX pattern and returns the deterministic STIX
// ids of the cyber observables it names (see Pattern.Observables for which
// patterns and comparisons count), in order of appearance, without
// duplicates. These are the ids Verband's canonical SCOs carry, so an
// indicator can be linked to them with "based-on" edges whether or not the
// SCOs are stored yet.
//
// A comparison whose value is not a valid observable of its type (such as
// ipv4-addr:value = 'localhost') names nothing and is left out. The error
// is a *SyntaxError when the pattern does not parse; a pattern that parses
// but is not simple yields no ids and no error.
func ObservableIDs(pattern string) ([]string, error) {
	p, err := Parse(pattern)
	if err != nil {
		return nil, err
	}
	var ids []string
	seen := map[string]bool{}
	for _, o := range p.Observables() {
		sco, err := o.SCO()
		if err != nil {
			continue
		}
		if !seen[sco.ID] {
			seen[sco.ID] = true
			ids = append(ids, sco.ID)
		}
	}
	return ids, nil
}
