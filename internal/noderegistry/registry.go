// Package noderegistry is the directory of SFU media nodes: each node
// announces its identity, region, public addresses and load with a
// heartbeat, and signaling reads the live set to place participants
// (Place). A node that stops heartbeating disappears once its TTL expires,
// so a crashed node drops out without anyone removing it.
//
// Two implementations share one contract (registrytest.Run): MemoryRegistry
// for a single process (the embedded default) and RedisRegistry for many
// processes sharing one Redis.
package noderegistry

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// DefaultTTL is how long a heartbeat keeps a node alive when
// Heartbeat is called with ttl <= 0. Nodes should heartbeat at about a
// third of it.
const DefaultTTL = 6 * time.Second

// MaxIDLen bounds node IDs and regions.
const MaxIDLen = 128

// Addresses are the public endpoints of a node.
type Addresses struct {
	// UDP is the host:port clients send WebRTC media to over UDP.
	UDP string `json:"udp,omitempty"`
	// TCP is the host:port of the ICE-TCP fallback.
	TCP string `json:"tcp,omitempty"`
	// Relay is the host:port other nodes reach this node's relay links on.
	Relay string `json:"relay,omitempty"`
}

// Load is a node's current load, reported with each heartbeat.
type Load struct {
	// Tracks is the number of published tracks the node receives.
	Tracks int `json:"tracks"`
	// Subscribers is the number of subscribing participants on the node.
	Subscribers int `json:"subscribers"`
	// PacketsPerSec is the forwarded RTP packet rate.
	PacketsPerSec float64 `json:"pps"`
	// CPU is the CPU utilisation in [0,1].
	CPU float64 `json:"cpu"`
}

// Node is one SFU node as the registry sees it.
type Node struct {
	// ID is the node's unique, stable identifier (also its bus address).
	ID string `json:"id"`
	// Region is the region the node runs in (e.g. "eu-west").
	Region string `json:"region"`
	// Addrs are the node's public endpoints.
	Addrs Addresses `json:"addrs"`
	// Load is the node's load at its last heartbeat.
	Load Load `json:"load"`
	// Draining is set while the node moves its participants away before
	// exiting; Place never picks a draining node.
	Draining bool `json:"draining,omitempty"`
	// Rooms maps an opaque room key (chosen by the caller, e.g.
	// "tenant/room") to the number of participants the node has in it.
	Rooms map[string]int `json:"rooms,omitempty"`
	// Origins maps a room key to the number of tracks the node's own
	// clients publish in it (tracks relayed in are not counted): where a
	// room's media enters the cluster. Relays open links towards them.
	Origins map[string]int `json:"origins,omitempty"`
	// Relayed maps a room key to the origin nodes whose tracks the node
	// receives over relay links for that room, so other nodes of its region
	// can chain from it (origin → regional hub → edge).
	Relayed map[string][]string `json:"relayed,omitempty"`
	// Updated is when the registry stored the last heartbeat (set by the
	// registry, ignored on input).
	Updated time.Time `json:"updated"`
}

// Registry stores live nodes.
type Registry interface {
	// Heartbeat inserts or replaces n and keeps it alive for ttl
	// (DefaultTTL when ttl <= 0). Errors: ErrInvalidNode, ErrClosed,
	// ErrUnavailable.
	Heartbeat(ctx context.Context, n Node, ttl time.Duration) error
	// Remove deletes a node at once (clean shutdown). Removing an unknown
	// node is not an error.
	Remove(ctx context.Context, id string) error
	// Get returns one live node or ErrNotFound.
	Get(ctx context.Context, id string) (Node, error)
	// List returns every live node, sorted by ID.
	List(ctx context.Context) ([]Node, error)
}

// Closer is implemented by registries that hold resources.
type Closer interface {
	// Close releases the registry; it is idempotent.
	Close() error
}

// validate checks the fields used as keys.
func validate(n Node) error {
	if err := validID(n.ID); err != nil {
		return err
	}
	if n.Region == "" || len(n.Region) > MaxIDLen {
		return fmt.Errorf("%w: region must be 1..%d bytes", ErrInvalidNode, MaxIDLen)
	}
	return nil
}

// validID rejects empty, long and key-breaking IDs.
func validID(id string) error {
	if id == "" || len(id) > MaxIDLen || strings.ContainsAny(id, ": \t\r\n*?[]") {
		return fmt.Errorf("%w: id %q must be 1..%d bytes without spaces, ':' or glob characters", ErrInvalidNode, id, MaxIDLen)
	}
	return nil
}

// cloneNode copies the maps so stored nodes are never aliased.
func cloneNode(n Node) Node {
	n.Rooms = maps.Clone(n.Rooms)
	n.Origins = maps.Clone(n.Origins)
	if n.Relayed != nil {
		m := make(map[string][]string, len(n.Relayed))
		for k, v := range n.Relayed {
			m[k] = slices.Clone(v)
		}
		n.Relayed = m
	}
	return n
}
