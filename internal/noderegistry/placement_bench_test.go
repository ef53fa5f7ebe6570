package noderegistry_test

import (
	"fmt"
	"testing"

	"github.com/plenaryhq/plenary/internal/noderegistry"
)

// BenchmarkPlace places one participant among 200 nodes in 4 regions.
func BenchmarkPlace(b *testing.B) {
	regions := []string{"eu", "us", "ap", "sa"}
	nodes := make([]noderegistry.Node, 200)
	for i := range nodes {
		nodes[i] = noderegistry.Node{ID: fmt.Sprintf("n%03d", i), Region: regions[i%4],
			Load: noderegistry.Load{CPU: float64(i%50) / 100}, Rooms: map[string]int{fmt.Sprintf("r%d", i%20): 5}}
	}
	cfg := noderegistry.PlacementConfig{Nearby: map[string][]string{"eu": {"us"}}, DefaultRegion: "eu"}
	req := noderegistry.Request{Room: "r7", RegionHint: "eu"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := noderegistry.Place(nodes, req, cfg); err != nil {
			b.Fatal(err)
		}
	}
}
