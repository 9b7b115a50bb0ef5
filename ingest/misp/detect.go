package misp

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
)

// DetectBytes is how many leading bytes Detect wants to see.
const DetectBytes = 4096

// Detect reports whether the first bytes of an input (plain or gzip;
// DetectBytes are plenty) look like MISP JSON rather than STIX: an object
// whose first member is "Event" or "response", or a field only a MISP
// event has ("Attribute", "info", "Orgc", …), or an array whose first
// element is such an object or a sharing group. STIX bundles and objects
// start with "type", "id", "spec_version" or "objects" and are not MISP.
func Detect(prefix []byte) bool {
	if len(prefix) >= 2 && prefix[0] == 0x1f && prefix[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(prefix))
		if err != nil {
			return false
		}
		var buf bytes.Buffer
		_, _ = io.CopyN(&buf, zr, DetectBytes) // a truncated stream still yields its start
		prefix = buf.Bytes()
	}
	prefix = bytes.TrimPrefix(prefix, []byte("\xef\xbb\xbf"))
	dec := json.NewDecoder(bytes.NewReader(prefix))
	tok, err := dec.Token()
	if err != nil {
		return false
	}
	if tok == json.Delim('[') {
		if tok, err = dec.Token(); err != nil || tok != json.Delim('{') {
			return false
		}
	} else if tok != json.Delim('{') {
		return false
	}
	// Look at the keys of the object, skipping their values, until one
	// decides.
	for i := 0; i < 64; i++ {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		key, ok := tok.(string)
		if !ok {
			return false
		}
		switch key {
		case "Event", "response", "SharingGroup":
			return true
		case "type", "id", "spec_version", "objects", "created", "modified":
			if key == "id" {
				// MISP events have a numeric "id" too: decide on its value.
				var v any
				if dec.Decode(&v) != nil {
					return false
				}
				if _, isString := v.(string); isString && len(v.(string)) > 30 {
					return false // a STIX identifier
				}
				continue
			}
			return false
		}
		for _, m := range eventMarkers {
			if key == m {
				return true
			}
		}
		for _, m := range detectMarkers {
			if key == m {
				return true
			}
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}

// detectMarkers are more fields of a MISP event that no STIX object has.
var detectMarkers = []string{"Tag", "RelatedEvent", "ShadowAttribute", "orgc_id", "org_id", "uuid", "Org",
	"sharing_group_id", "proposal_email_lock", "locked", "disable_correlation", "event_creator_email"}

// DetectFile reads the start of a file and applies Detect.
func DetectFile(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	buf := make([]byte, DetectBytes)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return false, err
	}
	return Detect(buf[:n]), nil
}
