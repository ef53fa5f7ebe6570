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
	// LocalInterval is how often this node's own demand (its clients'
	// rooms) is checked against the last registry read, so that a client
	// moved here gets its link without waiting for the next read. Default
	// 100 ms, at most Interval.
	LocalInterval time.Duration
	// HubStaleAfter is how old a node's last heartbeat (Node.Updated) may
	// be for it to serve as its region's hub. A node that died stays in
	// the registry until its TTL expires (noderegistry.DefaultTTL, 6 s);
	// chaining through it meanwhile would leave the region's edges without
	// media for that long. Default 2.5 s (SFU nodes heartbeat every second).
	HubStaleAfter time.Duration
}

// DefaultHubStaleAfter is the AutoOptions.HubStaleAfter default.
const DefaultHubStaleAfter = 2500 * time.Millisecond

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
// reads the registry and, every LocalInterval, for each room this node
// serves (a client of its own is in it) and each other node whose clients
// publish in that room, keeps one link carrying that node's tracks here.
// Links go through the regional hub, the lowest-ID node of this node's
// region that is neither draining nor silent (HubStaleAfter), when the publishing node is in another region: the hub links
// to the origin once (for the whole region's demand) and the other nodes
// of the region link to the hub, so a track crosses each inter-region
// pair once (origin → hub → edge). A hub whose join reached nobody on
// the bus (ErrNotOnBus: killed a moment ago, its registry entry still
// fresh) is passed over for absentHold, so its region's edges link to the
// origin at once rather than after HubStaleAfter. A link nobody needs any
// more closes after Linger. It returns ctx's error, or ErrClosed when the
// node closes.
func (n *Node) Auto(ctx context.Context, dir Directory, opts AutoOptions) error {
	if opts.Interval <= 0 {
		opts.Interval = 500 * time.Millisecond
	}
	if opts.Linger <= 0 {
		opts.Linger = 5 * time.Second
	}
	if opts.HubStaleAfter <= 0 {
		opts.HubStaleAfter = DefaultHubStaleAfter
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
	if opts.LocalInterval <= 0 {
		opts.LocalInterval = 100 * time.Millisecond
	}
	opts.LocalInterval = min(opts.LocalInterval, opts.Interval)
	tick := time.NewTicker(opts.LocalInterval)
	defer tick.Stop()
	var (
		nodes  []noderegistry.Node
		listed time.Time // zero until a List succeeds
		tried  time.Time
	)
	for {
		if now := time.Now(); now.Sub(tried) >= opts.Interval {
			tried = now
			if l, err := dir.List(ctx); err != nil {
				if ctx.Err() == nil {
					n.log.Warn("relay: registry read failed", "err", err)
				}
			} else {
				nodes, listed = l, now
			}
		}
		if !listed.IsZero() {
			// A draining node serves as nobody's hub and keeps no link
			// its own clients do not need: links hold hidden relay
			// participants, and the drain waits for every participant.
			draining, linger := n.sfu.Draining(), opts.Linger
			if draining {
				linger = 0
			}
			absent := stillAbsent(n.absentSince(), time.Now())
			h := hub(n.id, draining, n.region, nodes, time.Now(), opts.HubStaleAfter, absent)
			want := n.wanted(nodes, h, draining)
			if draining {
				want = keepRoutes(want, routes)
			}
			n.reconcile(ctx, routes, want, linger, absent)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.ctx.Done():
			return ErrClosed
		case <-tick.C:
		case <-n.absentKick:
		}
	}
}

// hub returns the hub of region as node self sees it: the lowest ID among
// self (unless draining) and the region's other nodes that are not
// draining, heartbeated within staleAfter of now (a zero Updated counts
// as fresh) and are not in absent (found absent from the bus lately, see
// Node.markAbsent); self when there is no such node.
func hub(self string, selfDraining bool, region string, nodes []noderegistry.Node, now time.Time, staleAfter time.Duration, absent map[string]time.Time) string {
	h := ""
	if !selfDraining {
		h = self
	}
	for _, nd := range nodes {
		if nd.ID == self || nd.Region != region || nd.Draining || (h != "" && nd.ID >= h) {
			continue
		}
		if !nd.Updated.IsZero() && now.Sub(nd.Updated) > staleAfter {
			continue // silent: probably dead, not yet expired
		}
		if _, ok := absent[nd.ID]; ok {
			continue // gone from the bus: killed a moment ago
		}
		h = nd.ID
	}
	if h == "" {
		h = self
	}
	return h
}

// absentHold is how long a node found absent from the bus is passed over
// as a hub. A killed node's registry entry expires within
// noderegistry.DefaultTTL (6 s); a node that keeps heartbeating without
// serving relays is retried this often (its join fails at once, and the
// route through the origin stays open meanwhile, see reconcile).
const absentHold = 10 * time.Second

// stillAbsent drops from absent the records older than absentHold.
func stillAbsent(absent map[string]time.Time, now time.Time) map[string]time.Time {
	for id, at := range absent {
		if now.Sub(at) >= absentHold {
			delete(absent, id)
		}
	}
	return absent
}

// keepRoutes maps each wanted link to the open route carrying the same
// root's tracks of the same room, if any, whatever its upstream: a draining
// node's clients keep the media they get until they move away, rather than
// waiting for a link through the region's new hub.
func keepRoutes(want map[routeKey]bool, routes map[routeKey]*route) map[routeKey]bool {
	out := make(map[routeKey]bool, len(want))
	for k := range want {
		for open := range routes {
			if open.root == k.root && open.tenant == k.tenant && open.room == k.room {
				k = open
				break
			}
		}
		out[k] = true
	}
	return out
}

// wanted computes the links this node should hold given the live nodes,
// its region's hub and whether it drains (then it relays for its own
// clients only, never for the region).
func (n *Node) wanted(nodes []noderegistry.Node, hub string, draining bool) map[routeKey]bool {
	// Rooms someone needs here: our own clients, plus, on the hub, the
	// clients of every node of the region.
	demand := make(map[string]bool)
	rooms, _, _ := n.Presence()
	for k, c := range rooms {
		if c > 0 {
			demand[k] = true
		}
	}
	if hub == n.id && !draining {
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

// reconcile starts wanted routes and stops those unwanted for linger, or
// at once when their upstream is absent from the bus (nothing to linger
// for: the link cannot carry media).
func (n *Node) reconcile(ctx context.Context, routes map[routeKey]*route, want map[routeKey]bool, linger time.Duration, absent map[string]time.Time) {
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
		if _, gone := absent[k.upstream]; gone || now.Sub(r.unwanted) >= linger {
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
			if !isRelayedTrack(tr.ID) {
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
