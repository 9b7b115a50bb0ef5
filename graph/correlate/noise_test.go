package correlate_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/correlate"
	"github.com/verband-cti/verband/graph/graphtest"
	"github.com/verband-cti/verband/ingest/refdata"
	"github.com/verband-cti/verband/schema"
)

// noiseStore stores 100 containers that all hold 8.8.8.8, google.com and a
// Google search URL of their own, and each an address of their own;
// containers 1 and 2 also share one rare address. It returns the store and
// the containers' STIX ids.
func noiseStore(t *testing.T) (*graph.Store, []string) {
	s := graphtest.Open(t)
	dns, google := value(t, "ipv4-addr", "8.8.8.8"), value(t, "domain-name", "google.com")
	rare := value(t, "ipv4-addr", "203.0.113.99")
	objs := []*schema.Object{dns, google, rare}
	var ids []string
	for i := 1; i <= 100; i++ {
		own := value(t, "ipv4-addr", fmt.Sprintf("198.18.%d.%d", i/250, i%250+1))
		search := value(t, "url", fmt.Sprintf("https://www.google.com/search?q=case-%d", i))
		members := []*schema.Object{dns, google, own, search}
		if i <= 2 {
			members = append(members, rare)
		}
		c := container(t, i, members...)
		objs = append(objs, own, search, c)
		ids = append(ids, c.ID)
	}
	graphtest.Put(t, s, green, objs...)
	return s, ids
}

// warninglists loads two MISP warninglists the way the server does: public
// DNS resolvers (cidr) and Google's domains (hostname).
func warninglists(t *testing.T) func(typ, value string) (string, bool) {
	wl, err := refdata.NewWarninglists(
		&refdata.Warninglist{Name: "List of known IPv4 public DNS resolvers", Type: refdata.ListCIDR, List: []string{"8.8.8.8/32", "8.8.4.4/32"}},
		&refdata.Warninglist{Name: "List of known google domains", Type: refdata.ListHostname, List: []string{"google.com"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return wl.Listed
}

// TestNoise checks that 8.8.8.8 and google.com in a hundred containers
// link none of them, through the document-frequency cap and through a
// warninglist, while a rare shared value still links, and that without
// either mechanism the same values would link everything.
func TestNoise(t *testing.T) {
	s, ids := noiseStore(t)
	noisy := []correlate.Key{{Kind: "ipv4-addr", Value: "8.8.8.8"}, {Kind: "domain-name", Value: "google.com"},
		{Kind: "domain-name", Value: "www.google.com"}}
	check := func(t *testing.T, p *correlate.Projection, reason correlate.Reason) {
		t.Helper()
		if got := len(p.Links()); got != 1 {
			t.Errorf("%d links, want only the rare address's", got)
		}
		r := related(t, s, p, ids[0])
		if len(r) != 1 || len(r[ids[1]].Evidence) != 1 || r[ids[1]].Evidence[0].Value != "203.0.113.99" {
			t.Errorf("container 1 relates to %+v, want container 2 through 203.0.113.99 only", r)
		}
		if r := related(t, s, p, ids[50]); len(r) != 0 {
			t.Errorf("container 51 relates to %d containers", len(r))
		}
		for i, k := range noisy {
			sup, ok := p.Suppressed(k)
			// www.google.com is only derived from the search URLs, which a
			// warninglist suppresses as a whole: then no container holds it.
			if !ok && i == 2 && p.DF(k) == 0 && reason == correlate.ReasonWarninglist {
				continue
			}
			if !ok || sup.Reason != reason {
				t.Errorf("%s: suppressed %+v, %v; want reason %s", k, sup, ok, reason)
			}
		}
		res, err := p.Correlate(idOf(t, s, ids[50]))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Suppressed) < 2 {
			t.Errorf("container 51 reports suppressed %+v", res.Suppressed)
		}
	}
	t.Run("df cap", func(t *testing.T) {
		check(t, build(t, s, viewerA, correlate.DefaultOptions()), correlate.ReasonDFCap)
	})
	t.Run("warninglist", func(t *testing.T) {
		opts := correlate.Options{MaxDF: 1000, Warninglisted: warninglists(t)}
		p := build(t, s, viewerA, opts)
		check(t, p, correlate.ReasonWarninglist)
		if sup, _ := p.Suppressed(noisy[0]); sup.Detail != "List of known IPv4 public DNS resolvers" {
			t.Errorf("suppression detail %q", sup.Detail)
		}
	})
	t.Run("neither", func(t *testing.T) {
		// Without cap or list the noise links every pair: the mechanisms
		// above are what keeps it out.
		p := build(t, s, viewerA, correlate.Options{MaxDF: 1000})
		if got, want := len(p.Links()), 100*99/2; got != want {
			t.Errorf("%d links, want %d", got, want)
		}
		if r := related(t, s, p, ids[50]); len(r) != 99 {
			t.Errorf("container 51 relates to %d containers, want 99", len(r))
		}
	})
	t.Run("still searchable", func(t *testing.T) {
		if err := s.WaitIndexed(context.Background()); err != nil {
			t.Fatal(err)
		}
		res, err := s.Search(context.Background(), viewerA, graph.SearchQuery{Text: "8.8.8.8", Size: 5})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total == 0 {
			t.Error("8.8.8.8 is not searchable")
		}
	})
}

// TestSharedParents checks that customers of one dynamic DNS provider do
// not link through the provider's domain once it is a shared parent, while
// two subdomains of one customer's name still link through that name, and
// that without the list the provider's domain is what links them.
func TestSharedParents(t *testing.T) {
	s := graphtest.Open(t)
	// Containers 1 and 2: different customers of linkpc.net (and of
	// mooo.com). Containers 3 and 4: two hosts under one customer's name.
	a, b := value(t, "domain-name", "c2-alpha.linkpc.net"), value(t, "domain-name", "update.mooo.com")
	c, d := value(t, "domain-name", "c2-bravo.linkpc.net"), value(t, "url", "http://files.mooo.com/x.exe")
	e, f := value(t, "domain-name", "mail.kit.linkpc.net"), value(t, "domain-name", "gate.kit.linkpc.net")
	c1, c2, c3, c4 := container(t, 1, a, b), container(t, 2, c, d), container(t, 3, e), container(t, 4, f)
	graphtest.Put(t, s, green, a, b, c, d, e, f, c1, c2, c3, c4)

	opts := correlate.DefaultOptions()
	opts.SharedParent = refdata.BuiltinSharedParents().Has
	p := build(t, s, viewerA, opts)
	if r := related(t, s, p, c1.ID); len(r) != 0 {
		t.Errorf("container 1 relates to %+v; customers of one provider should not link", r)
	}
	r := related(t, s, p, c3.ID)
	ev := r[c4.ID].Evidence
	if len(r) != 1 || len(ev) != 1 || ev[0].Value != "kit.linkpc.net" || ev[0].Rule != correlate.RuleRegisteredDomain {
		t.Errorf("container 3 relates to %+v; want container 4 through kit.linkpc.net", r)
	}

	// Without the list, linkpc.net and mooo.com link every customer.
	p = build(t, s, viewerA, correlate.DefaultOptions())
	r = related(t, s, p, c1.ID)
	var values []string
	for _, e := range r[c2.ID].Evidence {
		values = append(values, e.Value)
	}
	slices.Sort(values)
	if !slices.Equal(values, []string{"linkpc.net", "mooo.com"}) {
		t.Errorf("without shared parents container 1 links container 2 through %v; want linkpc.net and mooo.com", values)
	}
}
