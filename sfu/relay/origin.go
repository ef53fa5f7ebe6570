package relay

import (
	"context"
	"slices"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/sfu"
)

// originLink is the origin side of one relay link: a subscriber participant
// of the local SFU whose subscriber connection's far end is the edge node.
type originLink struct {
	n    *Node
	id   string
	edge string
	// root is the node whose tracks the edge wants over this link: this
	// node's own clients' tracks when root is this node, or tracks relayed
	// in from root when this node is a regional hub.
	root string
	p    *sfu.Participant
	once sync.Once

	layerMu sync.Mutex
	layers  map[sfu.TrackID]sfu.Layer // layer each relayed track is sent at
}

// acceptJoin opens the origin side of a link an edge asked for.
func (n *Node) acceptJoin(m message) {
	t, err := tenant.Parse(m.Tenant)
	if err != nil {
		n.log.Warn("relay: join with bad tenant", "from", m.From, "err", err)
		return
	}
	n.mu.Lock()
	if n.closed || n.origins[m.Link] != nil {
		n.mu.Unlock()
		return
	}
	n.mu.Unlock()
	room := sfu.RoomID(m.Room)
	p, err := n.sfu.Join(n.ctx, t, room, sfu.ParticipantID(ParticipantPrefix+m.Link), sfu.JoinOptions{Hidden: true})
	if err != nil {
		n.log.Warn("relay: origin join failed", "from", m.From, "err", err)
		_ = send(n.ctx, n.bus, m.From, message{Type: msgLeave, Link: m.Link, From: n.id})
		return
	}
	root := m.Root
	if root == "" {
		root = n.id
	}
	o := &originLink{n: n, id: m.Link, edge: m.From, root: root, p: p, layers: make(map[sfu.TrackID]sfu.Layer)}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		p.Leave()
		return
	}
	n.origins[m.Link] = o
	n.mu.Unlock()
	relayLinks.WithLabelValues(linkLabel(n.id, m.From), "origin").Inc()
	n.wg.Add(1)
	go o.loop()
	if r, ok := n.sfu.LookupRoom(t, room); ok {
		for _, tr := range r.Tracks() {
			o.subscribe(tr)
		}
	}
	n.log.Info("relay: origin link open", "link", m.Link, "edge", m.From)
}

// subscribe relays tr if it comes from the root the edge asked for and
// has not already passed through the edge (a track never loops back).
func (o *originLink) subscribe(tr sfu.TrackInfo) {
	root, path := trackRoute(tr.ID, o.n.id)
	if root != o.root || slices.Contains(path, o.edge) {
		return
	}
	if err := o.p.Subscribe(tr.ID); err != nil {
		o.n.log.Debug("relay: subscribe", "track", tr.ID, "err", err)
	}
}

// loop relays the participant's signaling events to the edge.
func (o *originLink) loop() {
	defer o.n.wg.Done()
	ctx := o.n.ctx
	for ev := range o.p.Events() {
		switch ev.Kind {
		case sfu.EventSubscriberOffer:
			sdp := ev.SDP
			_ = send(ctx, o.n.bus, o.edge, message{Type: msgOffer, Link: o.id, From: o.n.id, SDP: &sdp})
		case sfu.EventICECandidate:
			if ev.Target == sfu.TargetSubscriber {
				c := ev.Candidate
				_ = send(ctx, o.n.bus, o.edge, message{Type: msgCandidate, Link: o.id, From: o.n.id, Candidate: &c})
			}
		case sfu.EventTrackPublished:
			o.subscribe(ev.Track)
		case sfu.EventLayerChanged:
			o.setLayer(ev.TrackID, ev.Layer)
		case sfu.EventTrackUnpublished:
			o.setLayer(ev.Track.ID, sfu.LayerNone)
		case sfu.EventConnectionState:
			if ev.Target == sfu.TargetSubscriber && ev.State == webrtc.PeerConnectionStateFailed {
				o.n.log.Warn("relay: origin link failed", "link", o.id, "edge", o.edge)
				go o.close()
			}
		}
	}
}

// handleAnswer applies the edge's answer.
func (o *originLink) handleAnswer(m message) {
	if m.SDP == nil {
		return
	}
	if err := o.p.HandleSubscriberAnswer(o.n.ctx, *m.SDP); err != nil {
		o.n.log.Warn("relay: apply answer", "link", o.id, "err", err)
	}
}

// handleDemand pauses, resumes or caps one relayed track as the edge asks.
func (o *originLink) handleDemand(m message) {
	err := o.p.SetTrackPreference(sfu.TrackID(m.Track), sfu.TrackPreference{Paused: m.Paused, MaxLayer: m.MaxLayer})
	if err != nil {
		o.n.log.Debug("relay: track preference", "link", o.id, "track", m.Track, "err", err)
	}
}

// handleCandidate adds one of the edge's candidates.
func (o *originLink) handleCandidate(m message) {
	if m.Candidate == nil {
		return
	}
	if err := o.p.AddICECandidate(o.n.ctx, sfu.TargetSubscriber, *m.Candidate); err != nil {
		o.n.log.Debug("relay: add candidate", "link", o.id, "err", err)
	}
}

// close leaves the room, forgets the link and tells the edge (best
// effort, so it rebuilds); it is idempotent.
func (o *originLink) close() {
	o.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		_ = send(ctx, o.n.bus, o.edge, message{Type: msgLeave, Link: o.id, From: o.n.id})
		cancel()
		o.n.mu.Lock()
		delete(o.n.origins, o.id)
		o.n.mu.Unlock()
		o.p.Leave()
		o.layerMu.Lock()
		for id := range o.layers {
			o.setLayerLocked(id, sfu.LayerNone)
		}
		o.layerMu.Unlock()
		relayLinks.WithLabelValues(linkLabel(o.n.id, o.edge), "origin").Dec()
	})
}

// setLayer records the layer a relayed track is now sent at (LayerNone:
// no longer relayed) in plenary_sfu_relay_layer_tracks.
func (o *originLink) setLayer(id sfu.TrackID, l sfu.Layer) {
	o.layerMu.Lock()
	defer o.layerMu.Unlock()
	o.setLayerLocked(id, l)
}

// setLayerLocked is setLayer with layerMu held.
func (o *originLink) setLayerLocked(id sfu.TrackID, l sfu.Layer) {
	label := linkLabel(o.n.id, o.edge)
	if old, ok := o.layers[id]; ok {
		relayLayers.WithLabelValues(label, old.String()).Dec()
		delete(o.layers, id)
	}
	if l != sfu.LayerNone {
		o.layers[id] = l
		relayLayers.WithLabelValues(label, l.String()).Inc()
	}
}

// OriginLayers returns the layer each track is relayed at, for links other nodes
// have open to this node, keyed by edge node ID.
func (n *Node) OriginLayers() map[string]map[sfu.TrackID]sfu.Layer {
	n.mu.Lock()
	links := make([]*originLink, 0, len(n.origins))
	for _, o := range n.origins {
		links = append(links, o)
	}
	n.mu.Unlock()
	out := make(map[string]map[sfu.TrackID]sfu.Layer, len(links))
	for _, o := range links {
		o.layerMu.Lock()
		m := out[o.edge]
		if m == nil {
			m = make(map[sfu.TrackID]sfu.Layer)
			out[o.edge] = m
		}
		for id, l := range o.layers {
			m[id] = l
		}
		o.layerMu.Unlock()
	}
	return out
}
