package correlate_test

import (
	"context"
	"testing"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/graph/correlate"
	"github.com/verband-cti/verband/graph/graphtest"
)

// TestFalsePositive marks a shared address false-positive with an AMBER
// opinion of org-a: the address links nothing for org-a, still links for
// org-b (which cannot see the opinion), and links again for org-a once the
// opinion is revoked. The engine notices each change. An indicator that
// carries the label itself links nothing for anyone.
func TestFalsePositive(t *testing.T) {
	s := graphtest.Open(t)
	x := value(t, "ipv4-addr", "192.0.2.77")
	ind := obj(t, map[string]any{"type": "indicator", "id": "indicator--" + uuid(600), "pattern": "[domain-name:value = 'fp.example']",
		"pattern_type": "stix", "valid_from": ts, "labels": []string{correlate.FalsePositiveLabel}})
	c1, c2 := container(t, 1, x), container(t, 2, x)
	c3, c4 := container(t, 3, ind), container(t, 4, ind)
	graphtest.Put(t, s, green, x, ind, c1, c2, c3, c4)
	e := correlate.NewEngine(s, correlate.DefaultOptions())
	defer e.Close()
	ctx := context.Background()
	links := func(v graph.Viewer, from, to string) (bool, *correlate.Result) {
		t.Helper()
		res, err := e.Correlate(ctx, v, idOf(t, s, from))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Related {
			if c.Container.StixID == to {
				return true, res
			}
		}
		return false, res
	}
	if ok, _ := links(viewerA, c1.ID, c2.ID); !ok {
		t.Fatal("the shared address does not link before it is marked")
	}
	if ok, res := links(viewerB, c3.ID, c4.ID); ok || len(res.Suppressed) != 1 || res.Suppressed[0].Reason != correlate.ReasonFalsePositive {
		t.Errorf("an indicator labelled false-positive links, or is not reported: %+v", res)
	}

	opinion := map[string]any{"type": "opinion", "id": "opinion--" + uuid(601), "opinion": "strongly-disagree",
		"explanation": "Our sinkhole.", "labels": []string{correlate.FalsePositiveLabel}, "object_refs": []string{x.ID}}
	graphtest.Put(t, s, amber, obj(t, opinion))
	ok, res := links(viewerA, c1.ID, c2.ID)
	if ok {
		t.Error("org-a: the address still links after its opinion")
	}
	if len(res.Suppressed) != 1 || res.Suppressed[0].Value != "192.0.2.77" || res.Suppressed[0].Reason != correlate.ReasonFalsePositive {
		t.Errorf("org-a: suppressed %+v", res.Suppressed)
	}
	if ok, _ := links(viewerB, c1.ID, c2.ID); !ok {
		t.Error("org-b: another organization's AMBER marking changed its answer")
	}

	opinion["revoked"] = true
	revoked := obj(t, opinion)
	if err := revoked.Set("modified", "2024-06-01T00:00:00.000Z"); err != nil {
		t.Fatal(err)
	}
	graphtest.Put(t, s, amber, revoked)
	if ok, _ := links(viewerA, c1.ID, c2.ID); !ok {
		t.Error("org-a: the address does not link again after the opinion was revoked")
	}
}
