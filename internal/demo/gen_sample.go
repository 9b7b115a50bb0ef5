//go:build ignore

// gen_sample writes sample/attack-sample.json.gz, the ATT&CK sample that the
// demo loads when the shared data folder is absent. It reads the full ATT&CK
// Enterprise bundle from the shared data folder and keeps, unchanged, the
// objects around a few intrusion sets:
//
//   - the MITRE identity, its marking definition and the tactics;
//   - the intrusion sets named in groups, their "uses" relationships and the
//     techniques, malware and tools at the other end;
//   - the campaigns attributed to those sets, with their "attributed-to"
//     relationships and the "uses" relationships between a campaign and an
//     object already in the sample;
//   - the parent technique of every sub-technique in the sample, with its
//     "subtechnique-of" relationship.
//
// Revoked and deprecated objects are left out. Each object keeps all its
// properties and values; only the key order changes (sorted).
//
// Run it with "go generate ./internal/demo".
package main

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/verband-cti/verband/internal/shareddata"
)

var groups = []string{"APT28", "APT29", "Sandworm Team", "Turla"}

const bundleID = "bundle--7d3b8a52-3c1e-5f0a-9b6d-2e4c8f1a0b93"

type object map[string]json.RawMessage

func (o object) str(k string) string {
	var s string
	json.Unmarshal(o[k], &s)
	return s
}

func (o object) live() bool {
	var b bool
	if json.Unmarshal(o["revoked"], &b) == nil && b {
		return false
	}
	if json.Unmarshal(o["x_mitre_deprecated"], &b) == nil && b {
		return false
	}
	return true
}

func main() {
	root, ok := shareddata.Find()
	if !ok {
		log.Fatal("shared data folder not found")
	}
	f, err := os.Open(filepath.Join(root, "attack", "enterprise-attack.json.gz"))
	if err != nil {
		log.Fatal(err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		log.Fatal(err)
	}
	var bundle struct{ Objects []object }
	if err := json.NewDecoder(zr).Decode(&bundle); err != nil {
		log.Fatal(err)
	}
	byID := map[string]object{}
	var rels []object
	for _, o := range bundle.Objects {
		byID[o.str("id")] = o
		if o.str("type") == "relationship" && o.live() {
			rels = append(rels, o)
		}
	}
	sel := map[string]bool{}
	for _, o := range bundle.Objects {
		switch t := o.str("type"); {
		case t == "identity" || t == "marking-definition" || t == "x-mitre-tactic":
			sel[o.str("id")] = true
		case t == "intrusion-set" && slices.Contains(groups, o.str("name")) && o.live():
			sel[o.str("id")] = true
		}
	}
	isSet := func(id string) bool { return sel[id] && strings.HasPrefix(id, "intrusion-set--") }
	isCampaign := func(id string) bool { return sel[id] && strings.HasPrefix(id, "campaign--") }
	add := func(r object, ends ...string) {
		sel[r.str("id")] = true
		for _, id := range ends {
			sel[id] = true
		}
	}
	for _, r := range rels {
		src, dst := r.str("source_ref"), r.str("target_ref")
		if r.str("relationship_type") == "uses" && isSet(src) && byID[dst] != nil && byID[dst].live() {
			add(r, dst)
		}
	}
	for _, r := range rels {
		src, dst := r.str("source_ref"), r.str("target_ref")
		if r.str("relationship_type") == "attributed-to" && isSet(dst) && byID[src] != nil && byID[src].live() {
			add(r, src)
		}
	}
	for _, r := range rels {
		if r.str("relationship_type") == "uses" && isCampaign(r.str("source_ref")) && sel[r.str("target_ref")] {
			add(r)
		}
	}
	for _, r := range rels {
		src, dst := r.str("source_ref"), r.str("target_ref")
		if r.str("relationship_type") == "subtechnique-of" && sel[src] && byID[dst] != nil {
			add(r, dst)
		}
	}
	order := []string{"identity", "marking-definition", "x-mitre-tactic", "intrusion-set", "campaign", "attack-pattern", "malware", "tool", "relationship"}
	var out []object
	for id := range sel {
		out = append(out, byID[id])
	}
	slices.SortFunc(out, func(a, b object) int {
		if c := slices.Index(order, a.str("type")) - slices.Index(order, b.str("type")); c != 0 {
			return c
		}
		return strings.Compare(a.str("id"), b.str("id"))
	})
	w, err := os.Create(filepath.Join("sample", "attack-sample.json.gz"))
	if err != nil {
		log.Fatal(err)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(zw, "{\"type\":\"bundle\",\"id\":%q,\"objects\":[\n", bundleID)
	for i, o := range out {
		b, err := json.Marshal(o)
		if err != nil {
			log.Fatal(err)
		}
		if i > 0 {
			zw.Write([]byte(",\n"))
		}
		zw.Write(b)
	}
	zw.Write([]byte("\n]}\n"))
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %d objects\n", len(out))
}
