package sfurpc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/plenaryhq/plenary/internal/noderegistry"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/signaling"
)

// Selector places participants on the SFU nodes of a node registry and
// reaches them through a Client — or directly, for the node running in this
// process.
type Selector struct {
	// Registry lists the live nodes.
	Registry noderegistry.Registry
	// Client reaches remote nodes.
	Client *Client
	// Local is this process's own node, if it runs one; it is called
	// directly when placement picks it.
	Local signaling.MediaNode
	// Placement tunes node choice (regions, capacity).
	Placement noderegistry.PlacementConfig
	// Region is the region hint used for every participant (the gateway's
	// own region): clients reach the gateway of their nearest region.
	Region string
}

var (
	_ signaling.NodeSelector = (*Selector)(nil)
	_ signaling.NodeAvoider  = (*Selector)(nil)
)

// RoomKey is the key SFU nodes report their rooms under in the registry
// (noderegistry.Node.Rooms), which gives placement its room affinity.
func RoomKey(t tenant.ID, room string) string { return string(t) + "/" + room }

// Select implements signaling.NodeSelector.
func (s *Selector) Select(ctx context.Context, t tenant.ID, room, participant string) (signaling.MediaNode, error) {
	return s.SelectAvoiding(ctx, t, room, participant, nil)
}

// SelectAvoiding implements signaling.NodeAvoider: a participant moving off
// a draining or failed node is never placed back on it, even while the
// registry still lists it.
func (s *Selector) SelectAvoiding(ctx context.Context, t tenant.ID, room, participant string, avoid []string) (signaling.MediaNode, error) {
	all, err := s.Registry.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: node registry: %w", signaling.ErrNoMedia, err)
	}
	nodes := all[:0:0]
	for _, n := range all {
		if !slices.Contains(avoid, n.ID) {
			nodes = append(nodes, n)
		}
	}
	req := noderegistry.Request{Room: RoomKey(t, room), RegionHint: s.Region}
	n, err := noderegistry.Place(nodes, req, s.Placement)
	if errors.Is(err, noderegistry.ErrNoNode) {
		// Every node is above the load threshold: an overloaded cluster
		// degrades (least-loaded live node) rather than refusing media;
		// the NodeOverloaded alert tells the operator to add nodes.
		full := s.Placement
		full.LoadThreshold = math.Inf(1)
		n, err = noderegistry.Place(nodes, req, full)
	}
	if err != nil {
		if errors.Is(err, noderegistry.ErrNoNode) {
			return nil, fmt.Errorf("%w: %w", signaling.ErrNoMedia, err)
		}
		return nil, err
	}
	if s.Local != nil && n.ID == s.Local.ID() {
		return s.Local, nil
	}
	if s.Client == nil {
		return nil, fmt.Errorf("%w: node %s is remote and no RPC client is configured", signaling.ErrNoMedia, n.ID)
	}
	return s.Client.Node(n.ID), nil
}
