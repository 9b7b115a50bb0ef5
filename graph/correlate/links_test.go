package correlate_test

import (
	"math"
	"testing"

	"github.com/verband-cti/verband/graph/correlate"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/schema"
)

const (
	sha256a = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	sha256b = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
)

// TestRules stores, for each rule, two containers whose members meet only
// through that rule, and checks that they link with the rule, the value
// and the weight the rule gives.
func TestRules(t *testing.T) {
	type objs = []*schema.Object
	cases := []struct {
		name string
		// a and b are the members of the two containers; extra is stored
		// in no container.
		a, b, extra func(t *testing.T) objs
		rule        correlate.Rule
		key         correlate.Key
	}{{
		name: "shared address",
		a:    func(t *testing.T) objs { return objs{value(t, "ipv4-addr", "192.0.2.10")} },
		b:    func(t *testing.T) objs { return objs{value(t, "ipv4-addr", "192.0.2.10")} },
		rule: correlate.RuleShared, key: correlate.Key{Kind: "ipv4-addr", Value: "192.0.2.10"},
	}, {
		name: "url-domain",
		a:    func(t *testing.T) objs { return objs{value(t, "url", "http://c2.evil-corp.com/gate.php")} },
		b:    func(t *testing.T) objs { return objs{value(t, "domain-name", "c2.evil-corp.com")} },
		rule: correlate.RuleURLDomain, key: correlate.Key{Kind: "domain-name", Value: "c2.evil-corp.com"},
	}, {
		name: "url-ip",
		a:    func(t *testing.T) objs { return objs{value(t, "url", "http://192.0.2.20/gate.php")} },
		b:    func(t *testing.T) objs { return objs{value(t, "ipv4-addr", "192.0.2.20")} },
		rule: correlate.RuleURLIP, key: correlate.Key{Kind: "ipv4-addr", Value: "192.0.2.20"},
	}, {
		name: "registered-domain",
		a:    func(t *testing.T) objs { return objs{value(t, "domain-name", "mail.evil-corp.com")} },
		b:    func(t *testing.T) objs { return objs{value(t, "domain-name", "cdn.evil-corp.com")} },
		rule: correlate.RuleRegisteredDomain, key: correlate.Key{Kind: "domain-name", Value: "evil-corp.com"},
	}, {
		name: "email-domain",
		a:    func(t *testing.T) objs { return objs{value(t, "email-addr", "ops@evil-mail.net")} },
		b:    func(t *testing.T) objs { return objs{value(t, "domain-name", "evil-mail.net")} },
		rule: correlate.RuleEmailDomain, key: correlate.Key{Kind: "domain-name", Value: "evil-mail.net"},
	}, {
		name: "resolves-to",
		a: func(t *testing.T) objs {
			ip := value(t, "ipv4-addr", "192.0.2.30")
			d := obj(t, map[string]any{"type": "domain-name", "value": "update.evil-corp.com", "resolves_to_refs": []string{ip.ID}})
			return objs{d}
		},
		b:    func(t *testing.T) objs { return objs{value(t, "ipv4-addr", "192.0.2.30")} },
		rule: correlate.RuleResolvesTo, key: correlate.Key{Kind: "ipv4-addr", Value: "192.0.2.30"},
	}, {
		name: "ip-in-cidr",
		a:    func(t *testing.T) objs { return objs{value(t, "ipv4-addr", "198.51.100.0/24")} },
		b:    func(t *testing.T) objs { return objs{value(t, "ipv4-addr", "198.51.100.77")} },
		rule: correlate.RuleIPInCIDR, key: correlate.Key{Kind: "ipv4-addr", Value: "198.51.100.0/24"},
	}, {
		// A file's id comes from its most preferred hash (MD5, SHA-1,
		// SHA-256), so these are two file objects sharing a SHA-256.
		name: "hash-equivalence through a shared hash",
		a: func(t *testing.T) objs {
			return objs{file(t, map[string]string{"SHA-1": "0123456789abcdef0123456789abcdef01234567", "SHA-256": sha256a})}
		},
		b:    func(t *testing.T) objs { return objs{file(t, map[string]string{"SHA-256": sha256a})} },
		rule: correlate.RuleHashEquivalence, key: correlate.Key{Kind: "file", Value: sha256a},
	}, {
		// The third object has an MD5 besides, so it is a file object of
		// its own, the only one that carries both hashes.
		name: "hash-equivalence through a third file object",
		a: func(t *testing.T) objs {
			return objs{file(t, map[string]string{"SHA-1": "fedcba9876543210fedcba9876543210fedcba98"})}
		},
		b: func(t *testing.T) objs { return objs{file(t, map[string]string{"SHA-256": sha256b})} },
		extra: func(t *testing.T) objs {
			return objs{file(t, map[string]string{"MD5": "fedcba9876543210fedcba9876543210", "SHA-1": "fedcba9876543210fedcba9876543210fedcba98", "SHA-256": sha256b})}
		},
		rule: correlate.RuleHashEquivalence, key: correlate.Key{Kind: "file", Value: sha256b},
	}, {
		name: "indicator-pattern",
		a: func(t *testing.T) objs {
			return objs{obj(t, map[string]any{"type": "indicator", "id": "indicator--" + uuid(900), "pattern": "[ipv4-addr:value = '192.0.2.40']",
				"pattern_type": "stix", "valid_from": ts})}
		},
		b:    func(t *testing.T) objs { return objs{value(t, "ipv4-addr", "192.0.2.40")} },
		rule: correlate.RuleIndicatorPattern, key: correlate.Key{Kind: "ipv4-addr", Value: "192.0.2.40"},
	}, {
		name: "infrastructure",
		a: func(t *testing.T) objs {
			return objs{obj(t, map[string]any{"type": "infrastructure", "id": "infrastructure--" + uuid(901), "name": "C2 server"})}
		},
		b: func(t *testing.T) objs { return objs{value(t, "ipv4-addr", "192.0.2.50")} },
		extra: func(t *testing.T) objs {
			return objs{obj(t, map[string]any{"type": "relationship", "id": "relationship--" + uuid(902), "relationship_type": "consists-of",
				"source_ref": "infrastructure--" + uuid(901), "target_ref": value(t, "ipv4-addr", "192.0.2.50").ID})}
		},
		rule: correlate.RuleInfrastructure, key: correlate.Key{Kind: "ipv4-addr", Value: "192.0.2.50"},
	}, {
		name: "malware-sample",
		a: func(t *testing.T) objs {
			f := file(t, map[string]string{"SHA-256": "aaaabbbbccccddddaaaabbbbccccddddaaaabbbbccccddddaaaabbbbccccdddd"})
			return objs{obj(t, map[string]any{"type": "malware", "id": "malware--" + uuid(903), "name": "sample 1", "is_family": false,
				"sample_refs": []string{f.ID}})}
		},
		b: func(t *testing.T) objs {
			return objs{file(t, map[string]string{"SHA-256": "aaaabbbbccccddddaaaabbbbccccddddaaaabbbbccccddddaaaabbbbccccdddd"})}
		},
		rule: correlate.RuleMalwareSample, key: correlate.Key{Kind: "file", Value: "aaaabbbbccccddddaaaabbbbccccddddaaaabbbbccccddddaaaabbbbccccdddd"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := graphtest.Open(t)
			a, b := c.a(t), c.b(t)
			all := append(append(objs{}, a...), b...)
			if c.extra != nil {
				all = append(all, c.extra(t)...)
			}
			ca, cb := container(t, 1, a...), container(t, 2, b...)
			graphtest.Put(t, s, green, append(all, ca, cb)...)
			p := build(t, s, viewerA, correlate.DefaultOptions())
			got, ok := related(t, s, p, ca.ID)[cb.ID]
			if !ok {
				t.Fatalf("container 1 does not link container 2")
			}
			// The heaviest evidence is the value the rule gives; a chain
			// may add a weaker derived value (a URL's registered domain).
			ev := got.Evidence[0]
			if ev.Rule != c.rule || ev.Key != c.key {
				t.Fatalf("evidence %s by %s, want %s by %s", ev.Key, ev.Rule, c.key, c.rule)
			}
			score := 0.0
			for i, e := range got.Evidence {
				score += e.Weight
				if i > 0 && (e.Rule == correlate.RuleShared || e.Weight > ev.Weight) {
					t.Errorf("more evidence than the rule gives: %+v", e)
				}
			}
			// Two containers, both holding the value: IDF ln(1 + 2/2).
			want := math.Log(2) * ev.Rule.Factor()
			if c.rule == correlate.RuleShared || c.rule == correlate.RuleHashEquivalence {
				want = math.Log(2)
			}
			if math.Abs(ev.Weight-want) > 1e-9 || math.Abs(got.Score-score) > 1e-9 {
				t.Errorf("weight %v, score %v; want %v", ev.Weight, got.Score, want)
			}
			if len(ev.Here) == 0 || len(ev.There) == 0 {
				t.Errorf("evidence without sources: %+v", ev)
			}
			// The link is symmetric, and in the projection.
			if _, ok := related(t, s, p, cb.ID)[ca.ID]; !ok {
				t.Error("container 2 does not link container 1")
			}
			if len(p.Links()) != 1 || p.Links()[0].Evidence[0].Key != c.key {
				t.Errorf("projection links %+v", p.Links())
			}
		})
	}
}

// TestNoRule checks that values no rule relates link nothing.
func TestNoRule(t *testing.T) {
	s := graphtest.Open(t)
	a := []*schema.Object{value(t, "domain-name", "one.evil-corp.com"), value(t, "ipv4-addr", "192.0.2.60"),
		file(t, map[string]string{"MD5": "11111111111111111111111111111111"})}
	b := []*schema.Object{value(t, "domain-name", "two.other-corp.org"), value(t, "ipv4-addr", "192.0.2.61"),
		file(t, map[string]string{"MD5": "22222222222222222222222222222222"}), value(t, "ipv4-addr", "192.0.3.0/24")}
	ca, cb := container(t, 1, a...), container(t, 2, b...)
	graphtest.Put(t, s, green, append(append(a, b...), ca, cb)...)
	p := build(t, s, viewerA, correlate.DefaultOptions())
	if r := related(t, s, p, ca.ID); len(r) != 0 {
		t.Errorf("unrelated containers link: %+v", r)
	}
	if st := p.Stats(); st.Containers != 2 || st.Links != 0 || st.Evidence != 7 {
		t.Errorf("stats %+v", st)
	}
}
