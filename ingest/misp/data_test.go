package misp

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verband-cti/verband/schema"
)

// rawAttr is an attribute as the test reads it from the JSON, without the
// decoder.
type rawAttr struct {
	uuid, typ, value string
	toIDs, inObject  bool
}

// rawEvents reads the events of a MISP file with encoding/json alone.
func rawEvents(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	var top any
	if err := json.NewDecoder(r).Decode(&top); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []map[string]any
	var add func(v any)
	add = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, x := range v {
				add(x)
			}
		case map[string]any:
			switch {
			case v["response"] != nil:
				add(v["response"])
			case v["Event"] != nil:
				out = append(out, v["Event"].(map[string]any))
			case v["SharingGroup"] != nil:
			default:
				out = append(out, v)
			}
		}
	}
	add(top)
	return out
}

func toBool(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "1" || v == "true"
	case float64:
		return v != 0
	}
	return false
}

func rawAttrs(ev map[string]any) []rawAttr {
	var out []rawAttr
	one := func(a map[string]any, inObj bool) {
		s := func(k string) string { x, _ := a[k].(string); return x }
		out = append(out, rawAttr{uuid: s("uuid"), typ: s("type"), value: s("value"), toIDs: toBool(a["to_ids"]), inObject: inObj})
	}
	attrs, _ := ev["Attribute"].([]any)
	for _, a := range attrs {
		one(a.(map[string]any), false)
	}
	objs, _ := ev["Object"].([]any)
	for _, o := range objs {
		oa, _ := o.(map[string]any)["Attribute"].([]any)
		for _, a := range oa {
			one(a.(map[string]any), true)
		}
	}
	return out
}

// detectable are the MISP types the test expects an indicator for, when
// to_ids is set: simple observables with a STIX pattern, and rules.
var detectable = map[string]bool{
	"ip-src": true, "ip-dst": true, "domain": true, "hostname": true, "url": true, "md5": true,
	"sha1": true, "sha256": true, "sha512": true, "ssdeep": true, "filename": true, "filename|md5": true,
	"filename|sha1": true, "filename|sha256": true, "email-src": true, "email-dst": true,
	"mutex": true, "regkey": true, "regkey|value": true, "domain|ip": true, "ip-dst|port": true,
	"yara": true, "snort": true, "sigma": true,
}

// observableTypes are the MISP types whose (lower-cased) value the test
// expects to find as an observable's value or hash.
var observableTypes = map[string]bool{
	"ip-src": true, "ip-dst": true, "domain": true, "hostname": true, "md5": true, "sha1": true,
	"sha256": true, "sha512": true, "email-src": true, "email-dst": true, "mutex": true,
}

// TestRealMISPFiles decodes every MISP file of the shared data and checks,
// against counts taken from the raw JSON, that no attribute is lost: every
// attribute of an event has its carrier (indicator, observed-data or
// x-misp-attribute with its uuid) or sits in its object's carrier, every
// to_ids attribute of a detectable type has its indicator, and every
// observable value is an observable. Every object must validate, survive
// canonicalisation unchanged and be referenced by its report.
func TestRealMISPFiles(t *testing.T) {
	files := mispFiles(t)
	if len(files) < 59 {
		t.Fatalf("found %d MISP files, want the 10 MISP events and 49 ESET files", len(files))
	}
	total := map[string]int{}
	var attrs, objAttrs, unmapped int
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			ok, err := DetectFile(path)
			if err != nil || !ok {
				t.Errorf("DetectFile(%s) = %v, %v; want true", name, ok, err)
			}
			d := decodeFile(t, path)
			for _, e := range d.errs {
				t.Errorf("error: %v", e)
			}
			byUUID := map[string]*schema.Object{}   // attribute carriers
			inObject := map[string]*schema.Object{} // attribute uuid → object carrier
			indicators := map[string]bool{}
			values := map[string]bool{}
			members := map[string]bool{}
			for _, o := range d.objs {
				total[o.Type]++
				before, _ := o.MarshalJSON()
				changed, err := schema.Canonicalize(o)
				if err != nil || changed {
					t.Errorf("%s: Canonicalize changed it (%v) or failed: %v", o.ID, changed, err)
				}
				if err := schema.Validate(o); err != nil {
					t.Errorf("%s: %v", o.ID, err)
				}
				if after, _ := o.MarshalJSON(); string(after) != string(before) {
					t.Errorf("%s: Canonicalize rewrote %s", o.ID, before)
				}
				if o.Type == "report" {
					for _, r := range o.Strings("object_refs") {
						members[r] = true
					}
				}
				if u, ok := o.String("x_misp_uuid"); ok && isAttributeCarrier(o) {
					if _, inObj := o.Props["x_misp_object_uuid"]; !inObj {
						byUUID[u] = o
					}
					if o.Type == "indicator" {
						indicators[u] = true
					}
				}
				if isObjectCarrier(o) {
					var list []map[string]any
					if err := json.Unmarshal(o.Props["x_misp_attributes"], &list); err != nil {
						t.Fatal(err)
					}
					for i, a := range list {
						u, _ := a["uuid"].(string)
						if u == "" {
							u = fmt.Sprintf("%s#%d", o.ID, i)
						}
						inObject[u] = o
					}
				}
				if schema.KindOf(o.Type) == schema.KindSCO {
					for _, v := range schema.IndexValues(o) {
						values[strings.ToLower(v)] = true
					}
				}
			}
			for _, o := range d.objs {
				switch o.Type {
				case "identity", "marking-definition", "report", "x-misp-sharing-group":
				default:
					if !members[o.ID] {
						t.Errorf("%s is not among its report's object_refs", o.ID)
					}
				}
			}
			nStandalone, nInObject := 0, 0
			for _, ev := range rawEvents(t, path) {
				for _, a := range rawAttrs(ev) {
					if a.inObject {
						nInObject++
					} else {
						nStandalone++
					}
					carrier := byUUID[a.uuid]
					switch {
					case a.inObject && a.uuid != "":
						if inObject[a.uuid] == nil {
							t.Errorf("object attribute %s (%s %q) is in no object carrier", a.uuid, a.typ, a.value)
						}
					case !a.inObject:
						if carrier == nil {
							t.Errorf("attribute %s (%s %q) has no carrier", a.uuid, a.typ, a.value)
							continue
						}
						if got, _ := carrier.String("x_misp_value"); got != a.value {
							t.Errorf("attribute %s: carrier keeps value %q, want %q", a.uuid, got, a.value)
						}
						if got, _ := carrier.String("x_misp_type"); got != a.typ {
							t.Errorf("attribute %s: carrier keeps type %q, want %q", a.uuid, got, a.typ)
						}
						if _, um := carrier.Props["x_misp_unmapped"]; um {
							unmapped++
						}
					}
					isUnmapped := func() bool {
						if carrier != nil {
							return carrier.Props["x_misp_unmapped"] != nil
						}
						var um map[string]string
						if oc := inObject[a.uuid]; oc != nil && json.Unmarshal(oc.Props["x_misp_unmapped"], &um) == nil {
							return um[a.uuid] != ""
						}
						return false
					}
					if a.toIDs && detectable[a.typ] && a.uuid != "" && !indicators[a.uuid] {
						if !isUnmapped() {
							t.Errorf("to_ids attribute %s (%s %q) has no indicator", a.uuid, a.typ, a.value)
						}
					}
					if observableTypes[a.typ] && !values[strings.ToLower(strings.TrimSpace(a.value))] {
						if !isUnmapped() {
							t.Errorf("value %q of %s attribute %s is no observable", a.value, a.typ, a.uuid)
						}
					}
				}
			}
			// Counts: standalone attributes are exactly the carriers with
			// their own uuid; object attributes exactly the entries of the
			// object carriers.
			if len(byUUID) != nStandalone {
				t.Errorf("%d attribute carriers for %d attributes", len(byUUID), nStandalone)
			}
			if len(inObject) != nInObject {
				t.Errorf("%d attributes kept in object carriers for %d object attributes", len(inObject), nInObject)
			}
			attrs += nStandalone
			objAttrs += nInObject
		})
	}
	t.Logf("%d files: %d attributes, %d object attributes (%d kept as x-misp-attribute); objects by type: %v",
		len(files), attrs, objAttrs, unmapped, total)
}
