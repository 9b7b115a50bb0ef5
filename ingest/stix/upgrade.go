package stix

import (
	"encoding/json"

	"github.com/verband-cti/verband/schema"
)

// scoTypes are the STIX 2.1 cyber-observable types. STIX 2.0 bundles carry
// none at the top level; if one does, the upgrade leaves it alone.
var scoTypes = map[string]bool{
	"artifact": true, "autonomous-system": true, "directory": true, "domain-name": true,
	"email-addr": true, "email-message": true, "file": true, "ipv4-addr": true,
	"ipv6-addr": true, "mac-addr": true, "mutex": true, "network-traffic": true,
	"process": true, "software": true, "url": true, "user-account": true,
	"windows-registry-key": true, "x509-certificate": true,
}

// upgrade turns a STIX 2.0 object into a 2.1 one, in place, when it is
// 2.0: it says spec_version "2.0" itself, or it has no spec_version and the
// bundle's spec_version "2.0" has been read. See the package documentation
// for what changes.
func (d *Decoder) upgrade(o *schema.Object) {
	if scoTypes[o.Type] {
		return
	}
	sv, has := o.String("spec_version")
	if _, present := o.Props["spec_version"]; present && !has {
		return // not a string: left for validation to report
	}
	switch {
	case has && sv == "2.0":
	case !has && d.inBundle && d.specVer == "2.0":
	default:
		if !has && d.inBundle && !d.hdrSeen["spec_version"] {
			// The bundle's spec_version, if any, is still to come.
			d.unversioned++
		}
		return
	}
	o.Props["spec_version"] = json.RawMessage(`"2.1"`)
	switch o.Type {
	case "malware":
		if _, ok := o.Props["is_family"]; !ok {
			o.Props["is_family"] = json.RawMessage(`true`)
		}
	case "indicator":
		if _, ok := o.Props["pattern_type"]; !ok {
			o.Props["pattern_type"] = json.RawMessage(`"stix"`)
		}
		if _, ok := o.Props["valid_from"]; !ok {
			if created, ok := o.Props["created"]; ok {
				o.Props["valid_from"] = append(json.RawMessage(nil), created...)
			}
		}
	}
}
