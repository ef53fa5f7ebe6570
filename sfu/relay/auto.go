package relay

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/plenaryhq/plenary/internal/noderegistry"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/sfu"
)

// Directory is what Auto reads from the node registry: every live node
// with the rooms it serves (Node.Rooms), the tracks its clients publish
// (Node.Origins) and what it relays in (Node.Relayed). Node.Presence fills
// those fields for this node's own heartbeat.
type Directory interface {
	List(ctx context.Context) ([]noderegistry.Node, error)
}

// AutoOptions tune Auto.
type AutoOptions struct {
	// Interval is how often the registry is read and links reconciled.
	// Default 500 ms.
	Interval time.Duration
	// Linger is how long a link stays open after nobody needs it any more
	// (a viewer reloading a page should not tear the link down). Default 5 s.
	Linger time.Duration
}

// routeKey is one link Auto keeps open: from upstream, carrying root's
// tracks of one room.
type routeKey struct {
	upstream, root string
	tenant         tenant.ID
	room           sfu.RoomID
}

// route is a running MaintainVia.
type route struct {
	cancel   context.CancelFunc
	done     chan struct{}
	unwanted time.Time // zero while wanted

	mu   sync.Mutex
	link *Link
}

// Auto opens relay links on demand until ctx ends. Every Interval it
// reads the registry and, for each room this node serves (a client of its
// own is in it) and each other node whose clients publish in that room,
// keeps one link carrying that node's tracks here. Links go through the
// regional hub, the lowest-ID node of this node's region that is not
// draining, when the publishing node is in another region: the hub links
// to the origin once (for the whole region's demand) and the other nodes
// of the region link to the hub, so a track crosses each inter-region
// pair once (origin → hub → edge). A link nobody needs any more closes
// after Linger. It returns ctx's error, or ErrClosed when the node closes.
func (n *Node) Auto(ctx context.Context, dir Directory, opts AutoOptions) error {
	if opts.Interval <= 0 {
		opts.Interval = 500 * time.Millisecond
	}
	if opts.Linger <= 0 {
		opts.Linger = 5 * time.Second
	}
	routes := make(map[routeKey]*route)
	n.autoMu.Lock()
	n.routes = routes
	n.autoMu.Unlock()
	defer func() {
		n.autoMu.Lock()
		defer n.autoMu.Unlock()
		n.routes = nil
		for _, r := range routes {
			r.cancel()
			<-r.done
		}
	}()
	tick := time.NewTicker(opts.Interval)
	defer tick.Stop()
	for {
		if nodes, err := dir.List(ctx); err != nil {
			if ctx.Err() == nil {
				n.log.Warn("relay: registry read failed", "err", err)
			}
		} else {
			n.reconcile(ctx, routes, n.wanted(nodes), opts.Linger)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.ctx.Done():
			return ErrClosed
		case <-tick.C:
		}
	}
}

// wanted computes the links this node should hold given the live nodes.
func (n *Node) wanted(nodes []noderegistry.Node) map[routeKey]bool {
	hub := n.id
	for _, nd := range nodes {
		if nd.Region == n.region && !nd.Draining && nd.ID < hub {
			hub = nd.ID
		}
	}
	// Rooms someone needs here: our own clients, plus, on the hub, the
	// clients of every node of the region.
	demand := make(map[string]bool)
	rooms, _, _ := n.Presence()
	for k, c := range rooms {
		if c > 0 {
			demand[k] = true
		}
	}
	if hub == n.id {
		for _, nd := range nodes {
			if nd.Region != n.region || nd.ID == n.id {
				continue
			}
			for k, c := range nd.Rooms {
				if c > 0 {
					demand[k] = true
				}
			}
		}
	}
	want := make(map[routeKey]bool)
	for _, nd := range nodes {
		if nd.ID == n.id {
			continue
		}
		for k, c := range nd.Origins {
			if c <= 0 || !demand[k] {
				continue
			}
			t, room, ok := parseRoomKey(k)
			if !ok {
				continue
			}
			up := nd.ID
			if nd.Region != n.region && hub != n.id {
				up = hub
			}
			want[routeKey{upstream: up, root: nd.ID, tenant: t, room: room}] = true
		}
	}
	return want
}

// reconcile starts wanted routes and stops those unwanted for linger.
func (n *Node) reconcile(ctx context.Context, routes map[routeKey]*route, want map[routeKey]bool, linger time.Duration) {
	n.autoMu.Lock()
	defer n.autoMu.Unlock()
	now := time.Now()
	for k, r := range routes {
		select {
		case <-r.done: // node closed under it
			delete(routes, k)
			continue
		default:
		}
		if want[k] {
			r.unwanted = time.Time{}
			continue
		}
		if r.unwanted.IsZero() {
			r.unwanted = now
		}
		if now.Sub(r.unwanted) >= linger {
			r.cancel()
			<-r.done
			delete(routes, k)
			n.log.Info("relay: link no longer needed", "upstream", k.upstream, "root", k.root, "room", k.room)
		}
	}
	for k := range want {
		if routes[k] != nil {
			continue
		}
		rctx, cancel := context.WithCancel(ctx)
		r := &route{cancel: cancel, done: make(chan struct{})}
		routes[k] = r
		n.log.Info("relay: opening link on demand", "upstream", k.upstream, "root", k.root, "tenant", k.tenant, "room", k.room)
		go func() {
			defer close(r.done)
			_ = n.MaintainVia(rctx, k.upstream, k.root, k.tenant, k.room, func(l *Link) {
				r.mu.Lock()
				r.link = l
				r.mu.Unlock()
			})
		}()
	}
}

// Presence summarises the node for its registry heartbeat: participants
// per room (hidden recorders counted, relay participants not), tracks its own clients
// publish per room, and per room the root nodes whose tracks it relays in.
// Keys are RoomKey.
func (n *Node) Presence() (rooms, origins map[string]int, relayed map[string][]string) {
	rooms, origins, relayed = make(map[string]int), make(map[string]int), make(map[string][]string)
	for _, r := range n.sfu.Rooms() {
		k := RoomKey(r.Tenant(), r.ID())
		for _, p := range r.MemberIDs() { // recorders (hidden) count, relay links do not
			if !isRelayParticipant(p) {
				rooms[k]++
			}
		}
		for _, tr := range r.Tracks() {
			if !isRelayParticipant(tr.Publisher) {
				origins[k]++
				continue
			}
			if root, _ := trackRoute(tr.ID, n.id); !slices.Contains(relayed[k], root) {
				relayed[k] = append(relayed[k], root)
			}
		}
	}
	return rooms, origins, relayed
}

// AutoLinks returns the links Auto currently holds open (nil when Auto is
// not running).
func (n *Node) AutoLinks() []*Link {
	n.autoMu.Lock()
	defer n.autoMu.Unlock()
	var out []*Link
	for _, r := range n.routes {
		r.mu.Lock()
		if r.link != nil {
			out = append(out, r.link)
		}
		r.mu.Unlock()
	}
	return out
}
