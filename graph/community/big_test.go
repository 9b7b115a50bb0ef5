//go:build big

package community

import (
	"encoding/json"
	"flag"
	"os"
	"testing"
)

// The million-node benchmark of issue 6 runs only with the "big" tag:
//
//	/usr/bin/python3 shared/tools/cluster_peers.py gen --nodes 1000000 --edges 5000000 --seed 42 --out /tmp/g1m.txt
//	/usr/bin/python3 shared/tools/cluster_peers.py bench --edges-file /tmp/g1m.txt --libs igraph --cap 600 > /tmp/igraph.json
//	go test -tags big -run TestBigEdgeList -v ./graph/community/ -edges /tmp/g1m.txt -peers /tmp/igraph.json
var (
	bigEdges = flag.String("edges", "/tmp/g1m.txt", "edge-list file of the big benchmark (cluster_peers.py gen)")
	bigPeers = flag.String("peers", "", "cluster_peers.py bench output to compare with igraph's figures (optional)")
)

// maxPeakRSS is the memory target of the whole process: 1.5 GiB.
const maxPeakRSS = 1536 << 20

func TestBigEdgeList(t *testing.T) {
	f := clusterEdgeFile(t, *bigEdges)
	if f.peakRSS > maxPeakRSS {
		t.Errorf("peak RSS %d MiB, target ≤ %d MiB", f.peakRSS>>20, maxPeakRSS>>20)
	}
	if *bigPeers == "" {
		return
	}
	b, err := os.ReadFile(*bigPeers)
	if err != nil {
		t.Fatal(err)
	}
	var peers struct {
		Results []struct {
			Lib         string  `json:"lib"`
			LouvainS    float64 `json:"louvain_s"`
			Modularity  float64 `json:"modularity"`
			Communities int     `json:"communities"`
			PeakRSSMiB  float64 `json:"peak_rss_mib"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &peers); err != nil {
		t.Fatalf("decode %s: %v", *bigPeers, err)
	}
	for _, r := range peers.Results {
		if r.Lib != "igraph" || r.LouvainS == 0 {
			continue
		}
		t.Logf("igraph: Louvain %.2fs, %d communities, Q %.4f, peak RSS %.0f MiB; ours/igraph time %.3f",
			r.LouvainS, r.Communities, r.Modularity, r.PeakRSSMiB, f.louvain.Seconds()/r.LouvainS)
		if f.louvain.Seconds() > r.LouvainS {
			t.Errorf("Louvain took %.2fs, igraph %.2fs", f.louvain.Seconds(), r.LouvainS)
		}
		if f.modularity < r.Modularity-0.01 {
			t.Errorf("Q %.4f, more than 0.01 below igraph's %.4f", f.modularity, r.Modularity)
		}
		return
	}
	t.Fatalf("%s holds no igraph result with a Louvain time", *bigPeers)
}
