package misp

import (
	"bytes"
	"encoding/json"
	"slices"
)

// The fields of each MISP record that are kept as custom properties named
// by propName (x_misp_<field in snake case>). Fields not listed here are
// kept too, verbatim, in one x_misp_extra dictionary, so that Encode can
// give every field back under its own name. Fields that are converted into
// STIX (tags, galaxies, sightings, attributes of events and objects) are
// not listed.
var (
	eventKeys = keySet("id", "orgc_id", "org_id", "date", "threat_level_id", "published", "attribute_count",
		"analysis", "timestamp", "distribution", "proposal_email_lock", "locked", "publish_timestamp",
		"sharing_group_id", "disable_correlation", "extends_uuid", "event_creator_email", "protected",
		"Org", "Orgc", "SharingGroup", "ShadowAttribute", "RelatedEvent", "CryptographicKey", "EventReport",
		"Galaxy")
	attributeKeys = keySet("id", "event_id", "object_id", "object_relation", "category", "type", "value",
		"to_ids", "uuid", "timestamp", "distribution", "sharing_group_id", "comment", "deleted",
		"disable_correlation", "first_seen", "last_seen", "SharingGroup", "ShadowAttribute", "data",
		"event_uuid", "object_uuid")
	objectKeys = keySet("id", "name", "meta-category", "description", "template_uuid", "template_version",
		"event_id", "uuid", "timestamp", "distribution", "sharing_group_id", "comment", "deleted",
		"first_seen", "last_seen", "ObjectReference", "SharingGroup", "event_uuid")
	referenceKeys = keySet("id", "uuid", "timestamp", "object_id", "object_uuid", "event_id", "source_uuid",
		"referenced_uuid", "referenced_id", "referenced_type", "relationship_type", "comment", "deleted")
	sightingKeys = keySet("id", "attribute_id", "event_id", "org_id", "date_sighting", "uuid", "source",
		"type", "Organisation", "attribute_uuid", "event_uuid")
	eventReportKeys = keySet("id", "uuid", "event_id", "name", "content", "distribution", "sharing_group_id",
		"timestamp", "deleted")
)

func keySet(keys ...string) map[string]string {
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[k] = propName(k)
	}
	return m
}

// keepFields copies the fields of r, except those in skip, into custom
// properties of props: known fields under their propName, the others into
// x_misp_extra. Null values and empty lists are left out; they carry no
// information.
func keepFields(props map[string]any, r record, known map[string]string, skip ...string) {
	var extra map[string]json.RawMessage
	for k, v := range r {
		if slices.Contains(skip, k) || isNull(v) || isEmptyList(v) {
			continue
		}
		if p, ok := known[k]; ok {
			props[p] = v
			continue
		}
		if extra == nil {
			extra = map[string]json.RawMessage{}
		}
		extra[k] = v
	}
	if extra != nil {
		props["x_misp_extra"] = extra
	}
}

// restoreFields is keepFields in reverse: it reads the custom properties of
// an object back into MISP fields.
func restoreFields(dst map[string]json.RawMessage, props map[string]json.RawMessage, known map[string]string) {
	for k, p := range known {
		if v, ok := props[p]; ok {
			dst[k] = v
		}
	}
	if raw, ok := props["x_misp_extra"]; ok {
		var extra map[string]json.RawMessage
		if json.Unmarshal(raw, &extra) == nil {
			for k, v := range extra {
				if _, taken := dst[k]; !taken {
					dst[k] = v
				}
			}
		}
	}
}

func isEmptyList(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) >= 2 && t[0] == '[' && t[len(t)-1] == ']' && len(bytes.TrimSpace(t[1:len(t)-1])) == 0
}
