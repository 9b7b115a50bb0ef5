package schema

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// base objects, each valid, keyed by a short name.
var validObjects = map[string]string{
	"indicator": `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z",
		"created_by_ref":"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff","indicator_types":["malicious-activity"],
		"name":"Poison Ivy Malware","pattern":"[file:hashes.'SHA-256' = '4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877']",
		"pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z","valid_until":"2017-01-01T00:00:00Z","labels":["a","b"],
		"confidence":50,"lang":"en","revoked":false,
		"external_references":[{"source_name":"capec","external_id":"CAPEC-163","hashes":{"SHA-256":"6db12788c37247f2316052e142f42f4b259d6561751e5f401a1ae2a6df9c674b"}}],
		"object_marking_refs":["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"],
		"granular_markings":[{"marking_ref":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da","selectors":["description"]},{"lang":"de","selectors":["name"]}],
		"extensions":{"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e":{"extension_type":"property-extension","rank":5}},
		"x_custom":{"anything":[1,2]},"x_src_ref":"","x_none":null}`,
	"malware": `{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
		"created":"2016-04-06T20:07:09.000Z","modified":"2016-04-06T20:07:09.000Z","name":"Poison Ivy","is_family":true,
		"sample_refs":["file--364fe3e5-b1f4-5ba3-b951-ee5983b3538d"]}`,
	"relationship": `{"type":"relationship","spec_version":"2.1","id":"relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad",
		"created":"2016-04-06T20:06:37.000Z","modified":"2016-04-06T20:06:37.000Z","relationship_type":"indicates",
		"source_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","target_ref":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
		"start_time":"2016-04-06T20:06:37Z","stop_time":"2016-04-07T20:06:37Z"}`,
	"sighting": `{"type":"sighting","spec_version":"2.1","id":"sighting--ee20065d-2555-424f-ad9e-0f8428623c75",
		"created":"2016-04-06T20:08:31.000Z","modified":"2016-04-06T20:08:31.000Z","count":50,
		"sighting_of_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"observed_data_refs":["observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf"],
		"where_sighted_refs":["identity--b67d30ff-02ac-498a-92f9-32f845f448ff"],"first_seen":"2015-12-21T19:00:00Z","last_seen":"2015-12-21T19:00:00Z"}`,
	"case": `{"type":"x-verband-case","spec_version":"2.1","id":"x-verband-case--0c3b7b4a-6d4e-4c0a-9d56-0e2f3a1b2c3d",
		"created":"2024-01-02T03:04:05Z","modified":"2024-01-02T03:04:05Z","name":"Op Nightjar","status":"in-progress",
		"severity":"high","description":"Phishing wave","x_owner_organization":"ncsc","participating_organizations":["police","isac-fin"],
		"object_refs":["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}`,
	"observed-data": `{"type":"observed-data","spec_version":"2.1","id":"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
		"created":"2016-04-06T19:58:16.000Z","modified":"2016-04-06T19:58:16.000Z","first_observed":"2015-12-21T19:00:00Z",
		"last_observed":"2016-04-06T19:58:16Z","number_observed":50,"object_refs":["file--30038539-3eb6-44bc-a59e-d0d3fe84695a"]}`,
	"location": `{"type":"location","spec_version":"2.1","id":"location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64",
		"created":"2016-04-06T20:03:00.000Z","modified":"2016-04-06T20:03:00.000Z","latitude":48.8566,"longitude":2.3522}`,
	"marking": `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
		"created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:GREEN","definition":{"tlp":"green"}}`,
	"ipv4": `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3"}`,
	"file": `{"type":"file","id":"file--949eb97a-da1e-5292-8959-03c4249dc9f3","size":25536,"name":"foo.dll",
		"hashes":{"SHA-256":"fe90a7e910cb3a4739bed9180e807e93fa70c90f25a8915476f5e4bfbac681db","x_custom_hash":"abc"}}`,
	"traffic": `{"type":"network-traffic","id":"network-traffic--6e0cb830-0305-57d4-8536-7be874d42005",
		"src_ref":"ipv4-addr--9cf4a8ec-7640-5f40-a006-79942896168b","dst_port":80,"protocols":["tcp"]}`,
	"artifact": `{"type":"artifact","id":"artifact--a785c567-cc53-52a1-abeb-026bb7ddf8ba","payload_bin":"aGVsbG8="}`,
	"custom": `{"type":"x-mitre-tactic","id":"x-mitre-tactic--78b23412-0651-46d7-a540-170a1ce8bd5a","name":"Execution",
		"x_mitre_shortname":"execution","x_mitre_data_source_ref":"","effect_refs":[],"hashes":"not checked on custom types"}`,
}

func parseValid(t testing.TB, name string) *Object {
	t.Helper()
	src, ok := validObjects[name]
	if !ok {
		t.Fatalf("no base object %q", name)
	}
	o, err := ParseObject([]byte(src))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return o
}

func TestValidateAcceptsValidObjects(t *testing.T) {
	for name := range validObjects {
		t.Run(name, func(t *testing.T) {
			if err := Validate(parseValid(t, name)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	cases := []struct {
		name     string
		base     string
		set      map[string]string // property -> raw JSON
		del      []string
		wantProp string
		reason   string // substring of the reason
	}{
		{"id of another type", "indicator", map[string]string{"id": `"malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"`}, nil, "id", `must be "indicator--<uuid>"`},
		{"short uuid", "indicator", map[string]string{"id": `"indicator--1234"`}, nil, "id", ""},
		{"nil uuid", "indicator", map[string]string{"id": `"indicator--00000000-0000-0000-0000-000000000000"`}, nil, "id", "RFC 4122"},
		{"bad variant", "indicator", map[string]string{"id": `"indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f"`}, nil, "id", "RFC 4122"},
		{"id property differs from Object.ID", "indicator", map[string]string{"x_id_only": `1`, "id": `"indicator--9e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"`}, nil, "id", "does not match"},
		{"type mismatch", "indicator", map[string]string{"type": `"malware"`}, nil, "type", "does not match"},
		{"missing pattern", "indicator", nil, []string{"pattern"}, "pattern", "required"},
		{"null pattern", "indicator", map[string]string{"pattern": `null`}, nil, "pattern", "required"},
		{"empty pattern", "indicator", map[string]string{"pattern": `" "`}, nil, "pattern", "non-empty"},
		{"missing pattern_type", "indicator", nil, []string{"pattern_type"}, "pattern_type", "required"},
		{"missing spec_version", "indicator", nil, []string{"spec_version"}, "spec_version", "required"},
		{"spec_version 2.2", "indicator", map[string]string{"spec_version": `"2.2"`}, nil, "spec_version", "2.1"},
		{"bad created", "indicator", map[string]string{"created": `"yesterday"`}, nil, "created", "RFC 3339"},
		{"numeric created", "indicator", map[string]string{"created": `1460000000`}, nil, "created", "string"},
		{"modified before created", "indicator", map[string]string{"modified": `"2015-04-06T20:03:48.000Z"`}, nil, "modified", "earlier"},
		{"valid_until not after valid_from", "indicator", map[string]string{"valid_until": `"2016-01-01T00:00:00Z"`}, nil, "valid_until", "later"},
		{"bad valid_from", "indicator", map[string]string{"valid_from": `"2016-13-01T00:00:00Z"`}, nil, "valid_from", "RFC 3339"},
		{"created_by_ref not an id", "indicator", map[string]string{"created_by_ref": `"identity-f431f809"`}, nil, "created_by_ref", "identifier"},
		{"labels not strings", "indicator", map[string]string{"labels": `["a",1]`}, nil, "labels", "list of strings"},
		{"labels a string", "indicator", map[string]string{"labels": `"a"`}, nil, "labels", "list of strings"},
		{"confidence too high", "indicator", map[string]string{"confidence": `101`}, nil, "confidence", "0 to 100"},
		{"confidence negative", "indicator", map[string]string{"confidence": `-1`}, nil, "confidence", "0 to 100"},
		{"confidence fraction", "indicator", map[string]string{"confidence": `50.5`}, nil, "confidence", "0 to 100"},
		{"confidence string", "indicator", map[string]string{"confidence": `"50"`}, nil, "confidence", "0 to 100"},
		{"lang not a string", "indicator", map[string]string{"lang": `5`}, nil, "lang", "string"},
		{"revoked not a bool", "indicator", map[string]string{"revoked": `"no"`}, nil, "revoked", "true or false"},
		{"external reference without source_name", "indicator", map[string]string{"external_references": `[{"url":"http://x"}]`}, nil, "external_references", "source_name"},
		{"external references not a list", "indicator", map[string]string{"external_references": `{"source_name":"x"}`}, nil, "external_references", "list"},
		{"external reference bad hashes", "indicator", map[string]string{"external_references": `[{"source_name":"x","hashes":{"md":"00"}}]`}, nil, "external_references.hashes", "algorithm"},
		{"marking ref to identity", "indicator", map[string]string{"object_marking_refs": `["identity--f431f809-377b-45e0-aa1c-6a4751cae5ff"]`}, nil, "object_marking_refs", "marking-definition"},
		{"granular marking without selectors", "indicator", map[string]string{"granular_markings": `[{"marking_ref":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da","selectors":[]}]`}, nil, "granular_markings", "selectors"},
		{"granular marking bad ref", "indicator", map[string]string{"granular_markings": `[{"marking_ref":"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff","selectors":["a"]}]`}, nil, "granular_markings", "marking-definition"},
		{"extension not an object", "indicator", map[string]string{"extensions": `{"x":1}`}, nil, "extensions", "objects"},
		{"malformed custom ref", "indicator", map[string]string{"x_src_ref": `"not-an-id"`}, nil, "x_src_ref", "identifier"},
		{"custom ref not a string", "indicator", map[string]string{"x_src_ref": `5`}, nil, "x_src_ref", "identifier"},
		{"empty standard ref in list", "malware", map[string]string{"sample_refs": `[""]`}, nil, "sample_refs", "identifier"},
		{"refs not a list", "malware", map[string]string{"sample_refs": `"file--364fe3e5-b1f4-5ba3-b951-ee5983b3538d"`}, nil, "sample_refs", "list"},
		{"is_family a string", "malware", map[string]string{"is_family": `"yes"`}, nil, "is_family", "true or false"},
		{"family without name", "malware", nil, []string{"name"}, "name", "is_family"},
		{"missing target_ref", "relationship", nil, []string{"target_ref"}, "target_ref", "required"},
		{"bad source_ref", "relationship", map[string]string{"source_ref": `"indicator"`}, nil, "source_ref", "identifier"},
		{"empty relationship_type", "relationship", map[string]string{"relationship_type": `""`}, nil, "relationship_type", "non-empty"},
		{"stop_time equal start_time", "relationship", map[string]string{"stop_time": `"2016-04-06T20:06:37Z"`}, nil, "stop_time", "later"},
		{"count too large", "sighting", map[string]string{"count": `1000000000`}, nil, "count", "999999999"},
		{"count negative", "sighting", map[string]string{"count": `-1`}, nil, "count", "999999999"},
		{"missing sighting_of_ref", "sighting", nil, []string{"sighting_of_ref"}, "sighting_of_ref", "required"},
		{"last_seen before first_seen", "sighting", map[string]string{"last_seen": `"2015-12-20T19:00:00Z"`}, nil, "last_seen", "earlier"},
		{"bad where_sighted_refs", "sighting", map[string]string{"where_sighted_refs": `["identity--x"]`}, nil, "where_sighted_refs", "identifier"},
		{"case status", "case", map[string]string{"status": `"pending"`}, nil, "status", "open, in-progress, closed"},
		{"case severity", "case", map[string]string{"severity": `"urgent"`}, nil, "severity", "low, medium, high, critical"},
		{"case without status", "case", nil, []string{"status"}, "status", "required"},
		{"case without name", "case", nil, []string{"name"}, "name", "required"},
		{"case organisations", "case", map[string]string{"participating_organizations": `"police"`}, nil, "participating_organizations", "list of strings"},
		{"case owner", "case", map[string]string{"x_owner_organization": `["ncsc"]`}, nil, "x_owner_organization", "string"},
		{"case member", "case", map[string]string{"object_refs": `["indicator--nope"]`}, nil, "object_refs", "identifier"},
		{"number_observed zero", "observed-data", map[string]string{"number_observed": `0`}, nil, "number_observed", "1 to"},
		{"observed-data without objects", "observed-data", nil, []string{"object_refs"}, "object_refs", "object_refs or objects"},
		{"latitude alone", "location", nil, []string{"longitude"}, "latitude", "together"},
		{"latitude out of range", "location", map[string]string{"latitude": `91`}, nil, "latitude", "-90 to 90"},
		{"marking without definition", "marking", nil, []string{"definition"}, "definition", "definition_type"},
		{"empty value", "ipv4", map[string]string{"value": `""`}, nil, "value", "non-empty"},
		{"numeric value", "ipv4", map[string]string{"value": `3`}, nil, "value", "non-empty"},
		{"missing value", "ipv4", nil, []string{"value"}, "value", "required"},
		{"file without hashes or name", "file", nil, []string{"hashes", "name"}, "hashes", "hashes or name"},
		{"empty hashes", "file", map[string]string{"hashes": `{}`}, nil, "hashes", "non-empty"},
		{"hash not a string", "file", map[string]string{"hashes": `{"SHA-256":5}`}, nil, "hashes.SHA-256", "string"},
		{"negative size", "file", map[string]string{"size": `-1`}, nil, "size", "integer"},
		{"port out of range", "traffic", map[string]string{"dst_port": `70000`}, nil, "dst_port", "65535"},
		{"empty protocols", "traffic", map[string]string{"protocols": `[]`}, nil, "protocols", "non-empty"},
		{"artifact with payload and url", "artifact", map[string]string{"url": `"http://x/y"`}, nil, "url", "both"},
		{"custom type with bad id", "custom", map[string]string{"id": `"x-mitre-tactic--nope"`}, nil, "id", ""},
		{"custom ref malformed", "custom", map[string]string{"x_mitre_data_source_ref": `"x"`}, nil, "x_mitre_data_source_ref", "identifier"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := parseValid(t, c.base)
			for k, v := range c.set {
				o.Props[k] = json.RawMessage(v)
			}
			if _, only := c.set["x_id_only"]; !only {
				o.ID, _ = o.String("id") // keep Object.ID in step, as Set would
			}
			for _, k := range c.del {
				delete(o.Props, k)
			}
			err := Validate(o)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			if ve.Property != c.wantProp || !strings.Contains(ve.Reason, c.reason) {
				t.Fatalf("got property %q reason %q; want %q containing %q", ve.Property, ve.Reason, c.wantProp, c.reason)
			}
			if ve.ObjectID != o.ID {
				t.Errorf("error names object %q, want %q", ve.ObjectID, o.ID)
			}
		})
	}
}

func TestValidateIsDeterministic(t *testing.T) {
	o := parseValid(t, "indicator")
	o.Props["labels"] = json.RawMessage(`[1]`)
	o.Props["confidence"] = json.RawMessage(`500`)
	o.Props["lang"] = json.RawMessage(`1`)
	for range 50 {
		var ve *ValidationError
		if err := Validate(o); !errors.As(err, &ve) || ve.Property != "confidence" {
			t.Fatalf("got %v, want the confidence error every time", err)
		}
	}
}

func TestValidateNil(t *testing.T) {
	if err := Validate(nil); !errors.Is(err, ErrNotObject) {
		t.Fatalf("Validate(nil) = %v", err)
	}
}

func TestIsIdentifier(t *testing.T) {
	good := []string{
		"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"relationship--81f12913-1372-4c96-85ec-E9034ac98aba", // upper-case hex, as in MITRE ATT&CK
		"x-mitre-tactic--78b23412-0651-46d7-a540-170a1ce8bd5a",
		"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4",
	}
	bad := []string{"", "indicator", "indicator--", "indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "ab--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f0000", "indicator--8e2e2d2b-17d4-9cbf-938f-98ee46b3cd3f",
		"indicator--8e2e2d2b-17d4-4cbf-738f-98ee46b3cd3f", "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3g"}
	for _, s := range good {
		if !IsIdentifier(s) {
			t.Errorf("IsIdentifier(%q) = false", s)
		}
	}
	for _, s := range bad {
		if IsIdentifier(s) {
			t.Errorf("IsIdentifier(%q) = true", s)
		}
	}
	if got := IdentifierType("x-mitre-tactic--78b23412-0651-46d7-a540-170a1ce8bd5a"); got != "x-mitre-tactic" {
		t.Errorf("IdentifierType = %q", got)
	}
}

func BenchmarkValidate(b *testing.B) {
	var objs []*Object
	for name := range validObjects {
		objs = append(objs, parseValid(b, name))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := Validate(objs[i%len(objs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}
