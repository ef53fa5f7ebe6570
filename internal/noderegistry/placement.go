package noderegistry

import (
	"fmt"
	"math"
)

// DefaultLoadThreshold is the load score above which a node takes no new
// participants, even for a room it already hosts (PlacementConfig zero value).
const DefaultLoadThreshold = 0.8

// PlacementConfig tunes Place. The zero value places by load only, in
// whatever region the hint names.
type PlacementConfig struct {
	// RegionOf maps a client hint that is not itself a region (a country
	// code, a network name) to a region. Hints that name a region are used
	// as-is.
	RegionOf map[string]string
	// Nearby lists, per region, the other regions in order of distance; Place
	// falls back along it when a region has no usable node.
	Nearby map[string][]string
	// DefaultRegion is used when the hint is empty or unknown.
	DefaultRegion string
	// LoadThreshold is the load score (0..1, see Score) above which a node
	// is considered full. Default DefaultLoadThreshold.
	LoadThreshold float64
	// MaxSubscribers is the subscriber capacity of one node, used to turn
	// Load.Subscribers into a score. Default 0: subscribers are not scored.
	MaxSubscribers int
	// MaxPacketsPerSec is the forwarding capacity of one node. Default 0:
	// packet rate is not scored.
	MaxPacketsPerSec float64
}

// Request is one participant to place.
type Request struct {
	// Room is the room key nodes report in Node.Rooms.
	Room string
	// RegionHint is the client's region or a key of RegionOf.
	RegionHint string
}

// Score is a node's load in [0,∞): the largest of its CPU and its
// subscriber and packet-rate fractions of capacity.
func (c PlacementConfig) Score(n Node) float64 {
	s := n.Load.CPU
	if c.MaxSubscribers > 0 {
		s = math.Max(s, float64(n.Load.Subscribers)/float64(c.MaxSubscribers))
	}
	if c.MaxPacketsPerSec > 0 {
		s = math.Max(s, n.Load.PacketsPerSec/c.MaxPacketsPerSec)
	}
	return s
}

// regionOrder is the hint's region followed by its nearby regions.
func (c PlacementConfig) regionOrder(hint string) []string {
	r := hint
	if m, ok := c.RegionOf[hint]; ok {
		r = m
	}
	if r == "" {
		r = c.DefaultRegion
	}
	order := []string{r}
	order = append(order, c.Nearby[r]...)
	if c.DefaultRegion != "" && c.DefaultRegion != r {
		order = append(order, c.DefaultRegion)
	}
	return order
}

// Place picks the node for a participant: the nearest region that has a
// usable node (live, not draining, below the load threshold), and in it a
// node already hosting the room (the one with most of the room's
// participants, so a room stays on as few nodes as its size allows) or else
// the least-loaded node. When no region in the order has a usable node it
// falls back to the least-loaded usable node anywhere. nodes is what
// Registry.List returned. Ties break by node ID, so Place is deterministic.
func Place(nodes []Node, req Request, cfg PlacementConfig) (Node, error) {
	if cfg.LoadThreshold <= 0 {
		cfg.LoadThreshold = DefaultLoadThreshold
	}
	usable := func(n Node) bool { return !n.Draining && cfg.Score(n) < cfg.LoadThreshold }
	seen := make(map[string]bool)
	for _, region := range cfg.regionOrder(req.RegionHint) {
		if region == "" || seen[region] {
			continue
		}
		seen[region] = true
		if n, ok := pick(nodes, req.Room, cfg, func(n Node) bool { return n.Region == region && usable(n) }); ok {
			return n, nil
		}
	}
	if n, ok := pick(nodes, req.Room, cfg, usable); ok {
		return n, nil
	}
	return Node{}, fmt.Errorf("%w: %d nodes known, none usable for room %q", ErrNoNode, len(nodes), req.Room)
}

// pick applies room affinity then least load among nodes matching ok.
func pick(nodes []Node, room string, cfg PlacementConfig, ok func(Node) bool) (Node, bool) {
	var best Node
	found, bestInRoom, bestScore := false, 0, 0.0
	for _, n := range nodes {
		if !ok(n) {
			continue
		}
		inRoom := 0
		if room != "" {
			inRoom = n.Rooms[room]
		}
		score := cfg.Score(n)
		better := !found ||
			inRoom > bestInRoom ||
			(inRoom == bestInRoom && score < bestScore) ||
			(inRoom == bestInRoom && score == bestScore && n.ID < best.ID)
		if better {
			best, bestInRoom, bestScore, found = n, inRoom, score, true
		}
	}
	return best, found
}
