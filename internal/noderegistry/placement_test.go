package noderegistry_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/noderegistry"
)

func TestPlace(t *testing.T) {
	n := func(id, region string, cpu float64, rooms map[string]int) noderegistry.Node {
		return noderegistry.Node{ID: id, Region: region, Load: noderegistry.Load{CPU: cpu}, Rooms: rooms}
	}
	cfg := noderegistry.PlacementConfig{
		RegionOf:      map[string]string{"DE": "eu", "FR": "eu", "US": "us"},
		Nearby:        map[string][]string{"eu": {"us"}, "us": {"eu"}, "ap": {"us", "eu"}},
		DefaultRegion: "eu",
	}
	cases := []struct {
		name   string
		nodes  []noderegistry.Node
		req    noderegistry.Request
		cfg    *noderegistry.PlacementConfig
		want   string
		noNode bool
	}{
		{"hint is region, least load", []noderegistry.Node{n("e1", "eu", .5, nil), n("e2", "eu", .2, nil), n("u1", "us", 0, nil)},
			noderegistry.Request{Room: "r", RegionHint: "eu"}, nil, "e2", false},
		{"hint mapped country", []noderegistry.Node{n("e1", "eu", 0, nil), n("u1", "us", .3, nil)},
			noderegistry.Request{Room: "r", RegionHint: "US"}, nil, "u1", false},
		{"empty hint uses default region", []noderegistry.Node{n("e1", "eu", .6, nil), n("u1", "us", 0, nil)},
			noderegistry.Request{Room: "r"}, nil, "e1", false},
		{"room affinity beats lower load", []noderegistry.Node{n("e1", "eu", .1, nil), n("e2", "eu", .5, map[string]int{"r": 10})},
			noderegistry.Request{Room: "r", RegionHint: "DE"}, nil, "e2", false},
		{"room on most-populated node", []noderegistry.Node{n("e1", "eu", .1, map[string]int{"r": 2}), n("e2", "eu", .5, map[string]int{"r": 10})},
			noderegistry.Request{Room: "r", RegionHint: "eu"}, nil, "e2", false},
		{"room node over threshold spills to least load", []noderegistry.Node{n("e1", "eu", .3, nil), n("e2", "eu", .85, map[string]int{"r": 10}), n("e3", "eu", .2, nil)},
			noderegistry.Request{Room: "r", RegionHint: "eu"}, nil, "e3", false},
		{"room in other region does not pull", []noderegistry.Node{n("e1", "eu", .3, nil), n("u1", "us", .1, map[string]int{"r": 10})},
			noderegistry.Request{Room: "r", RegionHint: "eu"}, nil, "e1", false},
		{"draining skipped", []noderegistry.Node{{ID: "e1", Region: "eu", Draining: true, Rooms: map[string]int{"r": 5}}, n("e2", "eu", .7, nil)},
			noderegistry.Request{Room: "r", RegionHint: "eu"}, nil, "e2", false},
		{"region full falls back to nearby", []noderegistry.Node{n("e1", "eu", .95, nil), n("u1", "us", .5, nil), n("a1", "ap", 0, nil)},
			noderegistry.Request{Room: "r", RegionHint: "eu"}, nil, "u1", false},
		{"nearby order respected", []noderegistry.Node{n("e1", "eu", .1, nil), n("u1", "us", .5, nil)},
			noderegistry.Request{Room: "r", RegionHint: "ap"}, nil, "u1", false},
		{"unknown region falls back to any", []noderegistry.Node{n("x1", "sa", .4, nil), n("x2", "sa", .2, nil)},
			noderegistry.Request{Room: "r", RegionHint: "mars"}, &noderegistry.PlacementConfig{}, "x2", false},
		{"subscriber capacity scored", []noderegistry.Node{
			{ID: "e1", Region: "eu", Load: noderegistry.Load{Subscribers: 900}},
			{ID: "e2", Region: "eu", Load: noderegistry.Load{Subscribers: 100, CPU: .2}}},
			noderegistry.Request{Room: "r", RegionHint: "eu"}, &noderegistry.PlacementConfig{MaxSubscribers: 1000}, "e2", false},
		{"tie breaks by id", []noderegistry.Node{n("e2", "eu", .2, nil), n("e1", "eu", .2, nil)},
			noderegistry.Request{Room: "r", RegionHint: "eu"}, nil, "e1", false},
		{"all full", []noderegistry.Node{n("e1", "eu", .9, nil), n("u1", "us", .99, nil)},
			noderegistry.Request{Room: "r", RegionHint: "eu"}, nil, "", true},
		{"no nodes", nil, noderegistry.Request{Room: "r"}, nil, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			if tc.cfg != nil {
				c = *tc.cfg
			}
			got, err := noderegistry.Place(tc.nodes, tc.req, c)
			if tc.noNode {
				require.ErrorIs(t, err, noderegistry.ErrNoNode)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got.ID)
		})
	}
}
