// Package graphtest holds what tests of every layer share: a helper that
// opens a real store in a temporary directory and checks every storage
// invariant when the test ends, and one small fixture graph.
//
// The fixture, drawn (→ is an edge in its stored direction; dashed names are
// edge types; every SDO also has created_by_ref → identity "ACME CERT"):
//
//	                 attributed-to
//	campaign "Ghost Lantern" ─────────────► intrusion-set "Ghost Bear"
//	   │ uses                                      ▲
//	   ▼                                           │ object_refs
//	malware "LanternRAT" ◄── indicates ── indicator "LanternRAT C2"   report "Lantern activity"
//	   ▲ object_refs                               │ object_refs        (object_refs: campaign,
//	   └──── report "Lantern activity" ──────────► ipv4-addr 203.0.113.7   malware, IP, domain)
//	                                               ▲ resolves_to_refs
//	                          domain-name c2.lantern.example
//
//	x-verband-case "Case 7" (AMBER, owner org-b, shared with org-c)
//	   object_refs → ipv4-addr 203.0.113.7, incident "Breach at ACME"
//	incident "Breach at ACME" (AMBER, owner org-b)
//	identity "ACME CERT" (GREEN, owner org-a); everything else GREEN, owner org-a.
//
// Fixture ids are stable, so tests can name them (FixtureIDs).
package graphtest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

// Open opens a store in t.TempDir() with default options (synchronous
// writes off, to keep tests fast), and when the test ends runs Store.Check
// and Store.AuditVerify and fails the test on any broken invariant or
// audit log problem before closing the store.
func Open(tb testing.TB) *graph.Store {
	tb.Helper()
	opts := graph.DefaultOptions()
	opts.SyncWrites = false
	opts.SearchPersistInterval = 10 * time.Millisecond // documents reach disk soon, as in a crash test
	return OpenWith(tb, tb.TempDir(), opts)
}

// OpenWith is Open with an explicit directory and options.
func OpenWith(tb testing.TB, dir string, opts graph.Options) *graph.Store {
	tb.Helper()
	s, err := graph.Open(dir, opts)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		CheckStore(tb, s)
		CheckAudit(tb, s)
		if err := s.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return s
}

// CheckStore runs Store.Check and reports every problem as a test error.
func CheckStore(tb testing.TB, s *graph.Store) {
	tb.Helper()
	rep, err := s.Check(context.Background())
	if err != nil {
		if err == graph.ErrClosed {
			return
		}
		tb.Errorf("check store: %v", err)
		return
	}
	reportProblems(tb, "store invariant", rep.Problems, rep.ProblemCount)
}

// Organizations of the fixture.
const (
	OrgA = "org-a"
	OrgB = "org-b"
	OrgC = "org-c"
)

// FixtureIDs names the fixture's objects by role.
var FixtureIDs = struct {
	Identity, Campaign, IntrusionSet, Malware, Indicator, Report, Case, Incident string
	Uses, Attributed, Indicates                                                  string
	IP, Domain                                                                   string
}{
	Identity:     "identity--8a1f0c6e-6f5d-4d7e-9a43-2f4a8c0b1d01",
	Campaign:     "campaign--8a1f0c6e-6f5d-4d7e-9a43-2f4a8c0b1d02",
	IntrusionSet: "intrusion-set--8a1f0c6e-6f5d-4d7e-9a43-2f4a8c0b1d03",
	Malware:      "malware--8a1f0c6e-6f5d-4d7e-9a43-2f4a8c0b1d04",
	Indicator:    "indicator--8a1f0c6e-6f5d-4d7e-9a43-2f4a8c0b1d05",
	Report:       "report--8a1f0c6e-6f5d-4d7e-9a43-2f4a8c0b1d06",
	Case:         "x-verband-case--8a1f0c6e-6f5d-4d7e-9a43-2f4a8c0b1d07",
	Incident:     "incident--8a1f0c6e-6f5d-4d7e-9a43-2f4a8c0b1d08",
	Uses:         "relationship--8a1f0c6e-6f5d-4d7e-9a43-2f4a8c0b1d10",
	Attributed:   "relationship--8a1f0c6e-6f5d-4d7e-9a43-2f4a8c0b1d11",
	Indicates:    "relationship--8a1f0c6e-6f5d-4d7e-9a43-2f4a8c0b1d12",
}

// Item is one fixture object with the metadata it is stored with.
type Item struct {
	Object *schema.Object
	Meta   graph.Meta
}

const ts = "2024-03-01T10:00:00.000Z"

// Fixture returns the fixture objects in an order that stores every
// reference target before or after its source alike (the store accepts
// both); SCO ids are computed as STIX 2.1 prescribes.
func Fixture(tb testing.TB) []Item {
	tb.Helper()
	ids := &FixtureIDs
	green := graph.Meta{Policy: graph.Policy{Owner: OrgA, TLP: schema.TLPGreen}, Provenance: graph.Provenance{Source: "fixture"}}
	amber := graph.Meta{Policy: graph.Policy{Owner: OrgB, TLP: schema.TLPAmber, Sharing: []string{OrgC}}, Provenance: graph.Provenance{Source: "fixture"}}
	ip := mustSCO(tb, map[string]any{"type": "ipv4-addr", "spec_version": "2.1", "value": "203.0.113.7"})
	dom := mustSCO(tb, map[string]any{"type": "domain-name", "spec_version": "2.1", "value": "c2.lantern.example", "resolves_to_refs": []string{ip.ID}})
	ids.IP, ids.Domain = ip.ID, dom.ID
	sdo := func(typ, id string, props map[string]any) *schema.Object {
		props["type"], props["id"], props["spec_version"] = typ, id, "2.1"
		props["created"], props["modified"] = ts, ts
		if typ != "identity" {
			props["created_by_ref"] = ids.Identity
		}
		return mustObject(tb, props)
	}
	rel := func(id, typ, src, dst string) *schema.Object {
		return sdo("relationship", id, map[string]any{"relationship_type": typ, "source_ref": src, "target_ref": dst})
	}
	return []Item{
		{sdo("identity", ids.Identity, map[string]any{"name": "ACME CERT", "identity_class": "organization"}), green},
		{sdo("campaign", ids.Campaign, map[string]any{"name": "Ghost Lantern", "description": "Phishing waves against energy utilities."}), green},
		{sdo("intrusion-set", ids.IntrusionSet, map[string]any{"name": "Ghost Bear", "aliases": []string{"GB-1"}}), green},
		{sdo("malware", ids.Malware, map[string]any{"name": "LanternRAT", "is_family": true, "description": "Remote access tool with a lantern icon."}), green},
		{sdo("indicator", ids.Indicator, map[string]any{"name": "LanternRAT C2", "pattern": "[ipv4-addr:value = '203.0.113.7']", "pattern_type": "stix", "valid_from": ts}), green},
		{rel(ids.Uses, "uses", ids.Campaign, ids.Malware), green},
		{rel(ids.Attributed, "attributed-to", ids.Campaign, ids.IntrusionSet), green},
		{rel(ids.Indicates, "indicates", ids.Indicator, ids.Malware), green},
		{sdo("report", ids.Report, map[string]any{"name": "Lantern activity", "published": ts, "object_refs": []string{ids.Campaign, ids.Malware, ip.ID, dom.ID, ids.IntrusionSet}}), green},
		{dom, green},
		{ip, green},
		{sdo("x-verband-case", ids.Case, map[string]any{"name": "Case 7", "status": "open", "severity": "high", "object_refs": []string{ip.ID, ids.Incident}}), amber},
		{sdo("incident", ids.Incident, map[string]any{"name": "Breach at ACME"}), amber},
	}
}

// Token returns the secret of a new API token of user, a member of org
// with role, creating the organization and the user when they are missing
// (Store.EnsureUser).
func Token(tb testing.TB, s *graph.Store, org, user string, role graph.Role) string {
	tb.Helper()
	ctx := context.Background()
	if _, err := s.EnsureUser(ctx, graph.UserSpec{Name: user, Org: org, Role: role}); err != nil {
		tb.Fatalf("account %s of %s: %v", user, org, err)
	}
	_, secret, err := s.CreateToken(ctx, graph.TokenSpec{User: user})
	if err != nil {
		tb.Fatalf("token of %s: %v", user, err)
	}
	return secret
}

// Load stores items in one transaction as the system viewer.
func Load(tb testing.TB, s *graph.Store, items []Item) {
	tb.Helper()
	err := s.Update(graph.System(), func(tx *graph.Tx) error {
		for _, it := range items {
			if _, _, err := tx.Put(it.Object, it.Meta); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("load fixture: %v", err)
	}
}

// Put stores objs with meta in one transaction as the system viewer.
func Put(tb testing.TB, s *graph.Store, meta graph.Meta, objs ...*schema.Object) {
	tb.Helper()
	err := s.Update(graph.System(), func(tx *graph.Tx) error {
		for _, o := range objs {
			if _, _, err := tx.Put(o, meta); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("store: %v", err)
	}
}

// Object makes a STIX object from properties, failing the test when they
// do not make one.
func Object(tb testing.TB, props map[string]any) *schema.Object {
	tb.Helper()
	return mustObject(tb, props)
}

// SCO makes a cyber observable from properties, with its deterministic id
// (STIX 2.1 section 2.9); props needs no id.
func SCO(tb testing.TB, props map[string]any) *schema.Object {
	tb.Helper()
	return mustSCO(tb, props)
}

func mustObject(tb testing.TB, props map[string]any) *schema.Object {
	tb.Helper()
	raw, err := json.Marshal(props)
	if err != nil {
		tb.Fatalf("encode fixture object: %v", err)
	}
	o, err := schema.ParseObject(raw)
	if err != nil {
		tb.Fatalf("fixture object: %v", err)
	}
	return o
}

func mustSCO(tb testing.TB, props map[string]any) *schema.Object {
	tb.Helper()
	props["id"] = fmt.Sprint(props["type"]) + "--00000000-0000-4000-8000-000000000000"
	o := mustObject(tb, props)
	id, err := schema.SCOID(o)
	if err != nil {
		tb.Fatalf("fixture SCO id: %v", err)
	}
	if err := o.Set("id", id); err != nil {
		tb.Fatalf("fixture SCO id: %v", err)
	}
	return o
}
