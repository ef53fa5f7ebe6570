package relay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/sfu"
)

// demandInterval is how often an edge checks which relayed tracks have
// local subscribers.
const demandInterval = 250 * time.Millisecond

// Link is the edge side of one relay link: it receives a room's tracks
// from the origin node and republishes them into the local SFU.
type Link struct {
	n      *Node
	id     string
	origin string
	label  string
	tenant tenant.ID
	room   sfu.RoomID

	recv  *webrtc.PeerConnection // origin → this node, over the network
	pub   *webrtc.PeerConnection // loopback into the local SFU
	local *sfu.Participant

	mu          sync.Mutex // guards pending candidates
	pendingRecv []webrtc.ICECandidateInit
	pendingPub  []webrtc.ICECandidateInit

	negMu sync.Mutex // serialises publisher renegotiation

	tracks  atomic.Int64
	packets atomic.Uint64
	bytes   atomic.Uint64
	plis    atomic.Uint64

	closeOnce sync.Once
	done      chan struct{}
}

// Link opens a relay link from node origin for room (t, room): every track
// published there (and not itself relayed) is republished here. The link
// lives until Close, the origin leaves, or the node closes.
func (n *Node) Link(ctx context.Context, origin string, t tenant.ID, room sfu.RoomID) (*Link, error) {
	if origin == "" || origin == n.id {
		return nil, fmt.Errorf("%w: origin %q must be another node", ErrInvalidConfig, origin)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	l := &Link{n: n, id: n.id + ">" + hex.EncodeToString(b[:]), origin: origin, label: linkLabel(origin, n.id),
		tenant: t, room: room, done: make(chan struct{})}
	var err error
	if l.recv, err = n.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return nil, fmt.Errorf("relay: link peer connection: %w", err)
	}
	if l.pub, err = n.lo.NewPeerConnection(webrtc.Configuration{}); err != nil {
		_ = l.recv.Close()
		return nil, fmt.Errorf("relay: loopback peer connection: %w", err)
	}
	if l.local, err = n.sfu.Join(ctx, t, room, sfu.ParticipantID(ParticipantPrefix+l.id), sfu.JoinOptions{}); err != nil {
		_ = l.recv.Close()
		_ = l.pub.Close()
		return nil, fmt.Errorf("relay: join local room: %w", err)
	}
	l.recv.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		ci := c.ToJSON()
		_ = send(n.ctx, n.bus, origin, message{Type: msgCandidate, Link: l.id, From: n.id, Candidate: &ci})
	})
	l.recv.OnTrack(l.onTrack)
	connectTimer := time.AfterFunc(n.connectTimeout, func() {
		n.log.Warn("relay: link did not connect in time", "link", l.id, "origin", origin)
		_ = l.Close()
	})
	l.recv.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		n.log.Debug("relay: link state", "link", l.id, "state", s)
		switch s {
		case webrtc.PeerConnectionStateConnected:
			connectTimer.Stop()
		case webrtc.PeerConnectionStateFailed:
			go func() { _ = l.Close() }()
		}
	})
	l.pub.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			_ = l.local.AddICECandidate(n.ctx, sfu.TargetPublisher, c.ToJSON())
		}
	})

	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		l.closeLocal()
		return nil, ErrClosed
	}
	n.edges[l.id] = l
	n.mu.Unlock()
	relayLinks.WithLabelValues(l.label, "edge").Inc()
	linkSet.Store(l, struct{}{})
	n.wg.Add(2)
	go l.localEvents()
	go l.demandLoop()

	if err := send(ctx, n.bus, origin, message{Type: msgJoin, Link: l.id, From: n.id, Tenant: t.String(), Room: string(room)}); err != nil {
		l.closeLocal()
		return nil, fmt.Errorf("relay: send join: %w", err)
	}
	return l, nil
}

// ID returns the link ID.
func (l *Link) ID() string { return l.id }

// Origin returns the node the link relays from.
func (l *Link) Origin() string { return l.origin }

// Done is closed when the link has closed (Close, origin left, failure).
func (l *Link) Done() <-chan struct{} { return l.done }

// localEvents serves the local publisher participant's events.
func (l *Link) localEvents() {
	defer l.n.wg.Done()
	for ev := range l.local.Events() {
		if ev.Kind == sfu.EventICECandidate && ev.Target == sfu.TargetPublisher {
			l.addCandidate(l.pub, &l.pendingPub, ev.Candidate)
		}
	}
}

// demandLoop tells the origin, per relayed track, whether anyone on this
// node is subscribed; tracks nobody wants are paused at the origin so
// nothing crosses the link for them. Only one layer of a track crosses the
// link in any case; the origin's allocator picks it from the link's
// bandwidth estimate.
func (l *Link) demandLoop() {
	defer l.n.wg.Done()
	prefix := string(l.local.ID()) + "/"
	paused := make(map[sfu.TrackID]bool)
	tick := time.NewTicker(demandInterval)
	defer tick.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-tick.C:
		}
		room, ok := l.n.sfu.LookupRoom(l.tenant, l.room)
		if !ok {
			continue
		}
		for _, tr := range room.Tracks() {
			if tr.Publisher != l.local.ID() || !strings.HasPrefix(string(tr.ID), prefix) {
				continue
			}
			p := room.TrackSubscribers(tr.ID) == 0
			if was, seen := paused[tr.ID]; seen && was == p || !seen && !p {
				continue // new tracks start unpaused at the origin
			}
			paused[tr.ID] = p
			m := message{Type: msgDemand, Link: l.id, From: l.n.id, Track: strings.TrimPrefix(string(tr.ID), prefix), Paused: p}
			_ = send(l.n.ctx, l.n.bus, l.origin, m)
		}
	}
}

// addCandidate adds cand to pc, or queues it until pc has a remote description.
func (l *Link) addCandidate(pc *webrtc.PeerConnection, pending *[]webrtc.ICECandidateInit, cand webrtc.ICECandidateInit) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if pc.RemoteDescription() == nil {
		*pending = append(*pending, cand)
		return
	}
	_ = pc.AddICECandidate(cand)
}

// setRemote applies desc to pc and flushes queued candidates.
func (l *Link) setRemote(pc *webrtc.PeerConnection, pending *[]webrtc.ICECandidateInit, desc webrtc.SessionDescription) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := pc.SetRemoteDescription(desc); err != nil {
		return err
	}
	for _, c := range *pending {
		_ = pc.AddICECandidate(c)
	}
	*pending = nil
	return nil
}

// handleOffer answers the origin's offer (trickle ICE).
func (l *Link) handleOffer(m message) {
	if m.SDP == nil {
		return
	}
	if err := l.setRemote(l.recv, &l.pendingRecv, *m.SDP); err != nil {
		l.n.log.Warn("relay: apply offer", "link", l.id, "err", err)
		return
	}
	ans, err := l.recv.CreateAnswer(nil)
	if err == nil {
		err = l.recv.SetLocalDescription(ans)
	}
	if err != nil {
		l.n.log.Warn("relay: answer", "link", l.id, "err", err)
		return
	}
	sdp := *l.recv.LocalDescription()
	_ = send(l.n.ctx, l.n.bus, l.origin, message{Type: msgAnswer, Link: l.id, From: l.n.id, SDP: &sdp})
}

// handleCandidate adds one of the origin's candidates.
func (l *Link) handleCandidate(m message) {
	if m.Candidate != nil {
		l.addCandidate(l.recv, &l.pendingRecv, *m.Candidate)
	}
}

// onTrack republishes one relayed track into the local room and forwards
// its packets until the origin stops it.
func (l *Link) onTrack(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability, remote.ID(), remote.StreamID())
	if err != nil {
		l.n.log.Warn("relay: local track", "link", l.id, "err", err)
		return
	}
	sender, err := l.addAndNegotiate(local)
	if err != nil {
		l.n.log.Warn("relay: republish", "link", l.id, "track", remote.ID(), "err", err)
		return
	}
	l.tracks.Add(1)
	relayTracks.WithLabelValues(l.label).Inc()
	defer func() {
		l.tracks.Add(-1)
		relayTracks.WithLabelValues(l.label).Dec()
		l.negMu.Lock()
		_ = l.pub.RemoveTrack(sender)
		l.negMu.Unlock()
	}()
	go l.forwardRTCP(sender, uint32(remote.SSRC()))
	pkts, bytes := relayPackets.WithLabelValues(l.label), relayBytes.WithLabelValues(l.label)
	for {
		pkt, _, err := remote.ReadRTP()
		if err != nil {
			return
		}
		// Extension IDs were negotiated on the link, not on the loopback.
		pkt.Header.Extension = false
		pkt.Header.Extensions = nil
		l.packets.Add(1)
		l.bytes.Add(uint64(len(pkt.Payload)))
		pkts.Inc()
		bytes.Add(float64(len(pkt.Payload)))
		if err := local.WriteRTP(pkt); err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
			l.n.log.Debug("relay: write", "link", l.id, "err", err)
		}
	}
}

// addAndNegotiate adds track to the loopback publisher and renegotiates it.
func (l *Link) addAndNegotiate(track webrtc.TrackLocal) (*webrtc.RTPSender, error) {
	l.negMu.Lock()
	defer l.negMu.Unlock()
	tx, err := l.pub.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, err
	}
	offer, err := l.pub.CreateOffer(nil)
	if err != nil {
		return nil, err
	}
	if err := l.pub.SetLocalDescription(offer); err != nil {
		return nil, err
	}
	ans, err := l.local.HandlePublisherOffer(l.n.ctx, *l.pub.LocalDescription())
	if err != nil {
		return nil, err
	}
	if err := l.setRemote(l.pub, &l.pendingPub, ans); err != nil {
		return nil, err
	}
	return tx.Sender(), nil
}

// forwardRTCP passes keyframe requests from local subscribers up the link.
func (l *Link) forwardRTCP(sender *webrtc.RTPSender, upstreamSSRC uint32) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				l.plis.Add(1)
				_ = l.recv.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: upstreamSSRC}})
			}
		}
	}
}

// Stats is a snapshot of one link, seen from the edge.
type Stats struct {
	// Tracks is the number of tracks currently relayed over the link.
	Tracks int
	// Packets and Bytes count RTP packets (payload bytes) received.
	Packets, Bytes uint64
	// KeyframeRequests counts PLIs passed up to the origin.
	KeyframeRequests uint64
}

// Stats returns the link's counters.
func (l *Link) Stats() Stats {
	return Stats{Tracks: int(l.tracks.Load()), Packets: l.packets.Load(), Bytes: l.bytes.Load(), KeyframeRequests: l.plis.Load()}
}

// Close closes the link and tells the origin. It is idempotent.
func (l *Link) Close() error {
	select {
	case <-l.done:
		return nil
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	defer cancel()
	_ = send(ctx, l.n.bus, l.origin, message{Type: msgLeave, Link: l.id, From: l.n.id})
	l.closeLocal()
	return nil
}

// closeLocal releases the link's resources without telling the origin.
func (l *Link) closeLocal() {
	l.closeOnce.Do(func() {
		l.n.mu.Lock()
		delete(l.n.edges, l.id)
		l.n.mu.Unlock()
		_ = l.recv.Close()
		_ = l.pub.Close()
		l.local.Leave()
		relayLinks.WithLabelValues(l.label, "edge").Dec()
		linkSet.Delete(l)
		close(l.done)
	})
}
