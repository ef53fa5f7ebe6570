// Package relay cascades a room across SFU nodes. A track published on an
// origin node reaches subscribers on an edge node over a relay link: a
// WebRTC peer connection (ICE/DTLS/SRTP, so media is encrypted between
// nodes) whose signaling travels over the bus on node-addressed system
// channels ("sfurelay.<node>"), so nodes need no direct HTTP between them.
//
// Links open on demand (Node.Auto): every node heartbeats into the node
// registry which rooms its clients are in (noderegistry.Node.Rooms), how
// many tracks its clients publish there (Origins) and whose tracks it
// relays in (Relayed); a node whose clients are in a room that another
// node publishes in links to it, and closes the link once nobody needs it.
// A link carries the tracks of one room that entered the cluster at one
// node (its root). Across regions links chain through one hub per region
// (origin → hub → edge), so a track crosses each region pair once; a
// relayed track records its route in its ID (see route.go) and is never
// sent back to a node it passed through.
//
// Built only on the sfu package's public API:
//
//   - On the upstream node, the link is a hidden subscriber participant
//     "relay~<link>" (sfu.JoinOptions.Hidden: not listed, not counted, never
//     active speaker) that subscribes to the room's tracks of the link's
//     root. The upstream SFU therefore sends one stream per track, at one
//     layer chosen by its allocator, however many subscribers the edge has.
//     Keyframe requests arrive as RTCP PLI on that connection and go
//     through the upstream's keyframe throttle like any subscriber's.
//   - On the edge, the link republishes each relayed track into the local
//     room through a hidden publisher participant "relay~<link>" (a
//     loopback peer connection inside the process, joined with
//     sfu.JoinOptions.Relay); local subscribers subscribe to it like to any
//     track, and their PLIs are passed back up the link. Each relayed track
//     is announced as published by its original participant (the upstream
//     sends that ID as the track's stream ID), whose audio can make them the
//     active speaker on the edge too. Tracks nobody on the edge subscribes
//     to are paused upstream. RFC 6464 audio levels are carried over
//     (renumbered at every hop: upstream down-track, link, loopback); other
//     header extensions are hop-by-hop.
package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/sfu"
)

// ParticipantPrefix starts the participant ID of every relay participant;
// tracks published by such participants are never relayed again, which
// keeps two nodes from looping a track between them.
const ParticipantPrefix = "relay~"

// Config configures a relay Node.
type Config struct {
	// NodeID is this node's ID in the node registry; it is also its bus
	// address. Required; no spaces, '>' or '/' (they delimit link and
	// track IDs).
	NodeID string
	// Region is the node's region; Auto uses it to chain links through one
	// hub per region. Default "local".
	Region string
	// API builds the peer connections the node opens (the edge's receiving
	// connection and its loopback publisher). Default: Pion's default codecs
	// and interceptors (NACK, RTCP reports, TWCC) with default settings;
	// tests pass one restricted to loopback or to a vnet.
	API *webrtc.API
	// LoopbackAPI builds the in-process publisher connection that feeds
	// relayed tracks into the local SFU. Default: API. Tests give the link
	// a lossy API and keep the loopback clean.
	LoopbackAPI *webrtc.API
	// ConnectTimeout is how long a new link may take to connect before it
	// is closed (Maintain then retries). Default DefaultConnectTimeout.
	ConnectTimeout time.Duration
}

// DefaultConnectTimeout is the Config.ConnectTimeout default.
const DefaultConnectTimeout = 10 * time.Second

// Node is one SFU node's relay endpoint: it answers links opened by other
// nodes (origin side) and opens links to other nodes (edge side).
type Node struct {
	id     string
	region string
	sfu    *sfu.SFU
	bus    bus.Bus
	log    *slog.Logger
	api    *webrtc.API
	lo     *webrtc.API

	connectTimeout time.Duration

	sub    bus.Subscription
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	origins map[string]*originLink // by link ID
	edges   map[string]*Link       // by link ID
	closed  bool

	autoMu sync.Mutex
	routes map[routeKey]*route // Auto's links; nil when Auto is not running

	absentMu sync.Mutex
	// absent records when a join to a node reached nobody on the bus
	// (ErrNotOnBus): a node killed a moment ago is still listed, and
	// recently heartbeated, so Auto's hub election would otherwise chain
	// through it until its entry goes stale. One entry per node ID,
	// dropped after absentHold.
	absent map[string]time.Time
	// absentKick wakes Auto when a node was found absent, so that it
	// elects another hub now rather than at its next tick.
	absentKick chan struct{}
}

// New starts the relay endpoint of node cfg.NodeID on s, listening on its
// bus channel. Close stops it and every link.
func New(ctx context.Context, cfg Config, s *sfu.SFU, b bus.Bus, log *slog.Logger) (*Node, error) {
	if cfg.NodeID == "" || strings.ContainsAny(cfg.NodeID, " >/") {
		return nil, fmt.Errorf("%w: NodeID %q must be set, without spaces, '>' or '/'", ErrInvalidConfig, cfg.NodeID)
	}
	if cfg.Region == "" {
		cfg.Region = "local"
	}
	if s == nil || b == nil {
		return nil, fmt.Errorf("%w: SFU and bus are required", ErrInvalidConfig)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.API == nil {
		api, err := defaultAPI()
		if err != nil {
			return nil, err
		}
		cfg.API = api
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.LoopbackAPI == nil {
		cfg.LoopbackAPI = cfg.API
	}
	ch, err := channelName(cfg.NodeID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	sub, err := b.Subscribe(ctx, ch)
	if err != nil {
		return nil, fmt.Errorf("relay: subscribe %s: %w", ch, err)
	}
	n := &Node{id: cfg.NodeID, region: cfg.Region, sfu: s, bus: b, log: log.With("relay_node", cfg.NodeID), api: cfg.API, lo: cfg.LoopbackAPI, connectTimeout: cfg.ConnectTimeout, sub: sub,
		origins: make(map[string]*originLink), edges: make(map[string]*Link), absent: make(map[string]time.Time), absentKick: make(chan struct{}, 1)}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.wg.Add(1)
	go n.dispatch()
	nodeSet.Store(n, struct{}{})
	return n, nil
}

// defaultAPI is NewAPI with Pion's default settings.
func defaultAPI() (*webrtc.API, error) { return NewAPI(webrtc.SettingEngine{}) }

// NewAPI builds the API relay links use, with se's network settings: Pion's
// default codecs and interceptors (NACK generator and responder, RTCP
// reports, TWCC) and the RFC 6464 audio level extension, which relays keep.
func NewAPI(se webrtc.SettingEngine) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("relay: codecs: %w", err)
	}
	// RFC 6464 audio levels are relayed (see Link.onTrack).
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("relay: audio level extension: %w", err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		return nil, fmt.Errorf("relay: interceptors: %w", err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// ID returns the node ID.
func (n *Node) ID() string { return n.id }

// dispatch routes control messages from the bus to links.
func (n *Node) dispatch() {
	defer n.wg.Done()
	for raw := range n.sub.C() {
		var m message
		if err := json.Unmarshal(raw, &m); err != nil || m.Link == "" || m.From == "" {
			n.log.Warn("relay: dropping control message", "err", fmt.Errorf("%w: %v", ErrBadMessage, err))
			continue
		}
		switch m.Type {
		case msgJoin:
			n.acceptJoin(m)
		case msgOffer:
			if l := n.edge(m.Link); l != nil {
				l.handleOffer(m)
			}
		case msgAnswer:
			if o := n.origin(m.Link); o != nil {
				o.handleAnswer(m)
			}
		case msgDemand:
			if o := n.origin(m.Link); o != nil {
				o.handleDemand(m)
			}
		case msgCandidate:
			if o := n.origin(m.Link); o != nil {
				o.handleCandidate(m)
			} else if l := n.edge(m.Link); l != nil {
				l.handleCandidate(m)
			}
		case msgProbe:
			// Reaching this node was the point (see LinkVia).
		case msgLeave:
			if o := n.origin(m.Link); o != nil {
				o.close()
			}
			if l := n.edge(m.Link); l != nil {
				l.closeLocal()
			}
		}
	}
}

// markAbsent records that node was not on the bus just now.
func (n *Node) markAbsent(node string) {
	n.absentMu.Lock()
	n.absent[node] = time.Now()
	n.absentMu.Unlock()
	select {
	case n.absentKick <- struct{}{}:
	default:
	}
	n.log.Info("relay: upstream not on the bus; not electing it hub for a while", "node", node, "for", absentHold)
}

// absentSince returns a copy of the absence records (see markAbsent).
func (n *Node) absentSince() map[string]time.Time {
	n.absentMu.Lock()
	defer n.absentMu.Unlock()
	out := make(map[string]time.Time, len(n.absent))
	for id, at := range n.absent {
		out[id] = at
	}
	return out
}

// origin returns the origin-side link with id, or nil.
func (n *Node) origin(id string) *originLink {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.origins[id]
}

// edge returns the edge-side link with id, or nil.
func (n *Node) edge(id string) *Link {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.edges[id]
}

// Links returns the edge-side links this node has open.
func (n *Node) Links() []*Link {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*Link, 0, len(n.edges))
	for _, l := range n.edges {
		out = append(out, l)
	}
	return out
}

// OriginLinks returns how many links other nodes have open to this node.
func (n *Node) OriginLinks() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.origins)
}

// OriginTracks returns, over every link other nodes have open to this node,
// the number of tracks relayed out: one per (link, track), whatever the
// number of subscribers behind the link.
func (n *Node) OriginTracks() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	total := 0
	for _, o := range n.origins {
		total += len(o.p.Subscriptions())
	}
	return total
}

// Close stops the endpoint and closes every link. It is idempotent.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	nodeSet.Delete(n)
	origins := make([]*originLink, 0, len(n.origins))
	for _, o := range n.origins {
		origins = append(origins, o)
	}
	edges := make([]*Link, 0, len(n.edges))
	for _, l := range n.edges {
		edges = append(edges, l)
	}
	n.mu.Unlock()
	for _, o := range origins {
		o.close()
	}
	for _, l := range edges {
		_ = l.Close()
	}
	n.cancel()
	_ = n.sub.Close()
	n.wg.Wait()
	return nil
}
