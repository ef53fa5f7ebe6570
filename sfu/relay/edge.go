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
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/sfu"
)

// demandInterval is how often an edge checks which relayed tracks have
// local subscribers.
const demandInterval = 250 * time.Millisecond

// demandRepeat is how often an edge repeats its demand for every track.
const demandRepeat = 5 * time.Second

// Link is the edge side of one relay link: it receives a room's tracks
// from the origin node and republishes them into the local SFU.
type Link struct {
	n      *Node
	id     string
	origin string // the upstream node
	root   string // where the link's tracks entered the cluster
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
// published there by the origin's own clients is republished here. The link
// lives until Close, the origin leaves, or the node closes.
func (n *Node) Link(ctx context.Context, origin string, t tenant.ID, room sfu.RoomID) (*Link, error) {
	return n.LinkVia(ctx, origin, origin, t, room)
}

// LinkVia opens a relay link from node upstream carrying the tracks of room
// (t, room) that entered the cluster at node root: upstream == root for a
// direct link, or a regional hub that itself relays root's tracks (a
// chain origin → hub → edge). A track is never relayed back to a node it
// already passed through.
func (n *Node) LinkVia(ctx context.Context, upstream, root string, t tenant.ID, room sfu.RoomID) (*Link, error) {
	if upstream == "" || upstream == n.id || root == "" || root == n.id {
		return nil, fmt.Errorf("%w: upstream %q and root %q must be other nodes", ErrInvalidConfig, upstream, root)
	}
	if strings.ContainsAny(upstream+root, " >/") {
		return nil, fmt.Errorf("%w: node IDs %q, %q must not contain spaces, '>' or '/'", ErrInvalidConfig, upstream, root)
	}
	origin := upstream
	if err := send(ctx, n.bus, origin, message{Type: msgProbe, Link: "probe", From: n.id}); errors.Is(err, ErrNotOnBus) {
		n.markAbsent(origin)
		return nil, fmt.Errorf("relay: link from %s: %w", origin, err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	l := &Link{n: n, id: linkID(upstream, n.id, hex.EncodeToString(b[:])), origin: upstream, root: root, label: linkLabel(upstream, n.id),
		tenant: t, room: room, done: make(chan struct{})}
	var err error
	if l.recv, err = n.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return nil, fmt.Errorf("relay: link peer connection: %w", err)
	}
	if l.pub, err = n.lo.NewPeerConnection(webrtc.Configuration{}); err != nil {
		_ = l.recv.Close()
		return nil, fmt.Errorf("relay: loopback peer connection: %w", err)
	}
	if l.local, err = n.sfu.Join(ctx, t, room, sfu.ParticipantID(ParticipantPrefix+l.id), sfu.JoinOptions{Hidden: true, Relay: true}); err != nil {
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
			n.log.Info("relay: link connected", "link", l.id, "origin", origin)
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
	n.wg.Add(3)
	go l.localEvents()
	go l.demandLoop()
	go l.warmLoopback()

	if err := send(ctx, n.bus, origin, message{Type: msgJoin, Link: l.id, From: n.id, Tenant: t.String(), Room: string(room), Root: root}); err != nil {
		if errors.Is(err, ErrNotOnBus) {
			n.markAbsent(origin)
		}
		l.closeLocal()
		return nil, fmt.Errorf("relay: send join: %w", err)
	}
	return l, nil
}

// ID returns the link ID.
func (l *Link) ID() string { return l.id }

// Origin returns the node the link relays from (its upstream).
func (l *Link) Origin() string { return l.origin }

// Root returns the node whose clients publish the link's tracks.
func (l *Link) Root() string { return l.root }

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

// demandLoop tells the upstream node, per relayed track, the highest
// layer anyone on this node wants (sfu.Room.TrackMaxLayer: subscribers'
// preference caps); a track nobody wants is paused upstream so nothing
// crosses the link for it, and a track every subscriber here caps at a
// lower layer crosses at that layer at most. The upstream allocator still
// picks the layer under that cap from the link's bandwidth estimate. The
// demand is sent when it changes and repeated every demandRepeat, since
// the bus may lose a message.
func (l *Link) demandLoop() {
	defer l.n.wg.Done()
	prefix := string(l.local.ID()) + "/"
	sent := make(map[sfu.TrackID]sfu.Layer)
	tick := time.NewTicker(demandInterval)
	defer tick.Stop()
	for i := 1; ; i++ {
		select {
		case <-l.done:
			return
		case <-tick.C:
		}
		room, ok := l.n.sfu.LookupRoom(l.tenant, l.room)
		if !ok {
			continue
		}
		repeat := i%int(demandRepeat/demandInterval) == 0
		for _, tr := range room.Tracks() {
			if !strings.HasPrefix(string(tr.ID), prefix) { // the link's tracks (Publisher names their original publisher)
				continue
			}
			want := room.TrackMaxLayer(tr.ID)
			was, seen := sent[tr.ID]
			if !seen {
				was = sfu.LayerHigh // new tracks start unpaused and uncapped upstream
			}
			if want == was && !repeat {
				continue
			}
			sent[tr.ID] = want
			m := message{Type: msgDemand, Link: l.id, From: l.n.id, Track: strings.TrimPrefix(string(tr.ID), prefix),
				Paused: want == sfu.LayerNone, MaxLayer: want}
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
func (l *Link) onTrack(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	l.n.log.Info("relay: track arrived", "link", l.id, "track", remote.ID(), "kind", remote.Kind())
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
	// RFC 6464 audio levels cross the relay so the edge's rooms can tell
	// who speaks; the extension's ID is renumbered from the link's
	// negotiation to the loopback's. Other extensions are hop-by-hop.
	inLevel, outLevel := extensionID(receiver.GetParameters().HeaderExtensions), extensionID(sender.GetParameters().HeaderExtensions)
	exts := make([]rtp.Extension, 0, 1)
	for {
		pkt, _, err := remote.ReadRTP()
		if err != nil {
			return
		}
		var level []byte
		if inLevel != 0 {
			level = pkt.Header.GetExtension(inLevel)
		}
		pkt.Header.Extension = false
		pkt.Header.ExtensionProfile = 0
		pkt.Header.Extensions = exts[:0]
		if level != nil && outLevel != 0 {
			_ = pkt.Header.SetExtension(outLevel, level)
		}
		l.packets.Add(1)
		l.bytes.Add(uint64(len(pkt.Payload)))
		pkts.Inc()
		bytes.Add(float64(len(pkt.Payload)))
		if err := local.WriteRTP(pkt); err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
			l.n.log.Debug("relay: write", "link", l.id, "err", err)
		}
	}
}

// extensionID returns the negotiated ID of the RFC 6464 audio level
// extension among exts, or 0.
func extensionID(exts []webrtc.RTPHeaderExtensionParameter) uint8 {
	for _, e := range exts {
		if e.URI == sdp.AudioLevelURI {
			return uint8(e.ID)
		}
	}
	return 0
}

// warmLoopback connects the loopback publisher before the first relayed
// track arrives: an offer carrying only a data channel makes the local
// SFU's publisher connection run ICE and DTLS now, while the link itself
// is still being set up across the network, so the first track needs only
// a renegotiation. On a failover every viewer waits for that first track,
// so the loopback handshake is off the critical path.
func (l *Link) warmLoopback() {
	defer l.n.wg.Done()
	l.negMu.Lock()
	defer l.negMu.Unlock()
	if l.pub.LocalDescription() != nil {
		return // a track came first and connected it
	}
	err := func() error {
		if _, err := l.pub.CreateDataChannel("relay", nil); err != nil {
			return err
		}
		offer, err := l.pub.CreateOffer(nil)
		if err != nil {
			return err
		}
		if err := l.pub.SetLocalDescription(offer); err != nil {
			return err
		}
		ans, err := l.local.HandlePublisherOffer(l.n.ctx, *l.pub.LocalDescription())
		if err != nil {
			return err
		}
		return l.setRemote(l.pub, &l.pendingPub, ans)
	}()
	if err != nil {
		select {
		case <-l.done: // closed meanwhile
		default:
			l.n.log.Warn("relay: loopback warm-up", "link", l.id, "err", err)
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
				if l.plis.Add(1) <= 3 { // the first few tell when a new link's viewers got their keyframe
					l.n.log.Info("relay: keyframe request passed upstream", "link", l.id, "ssrc", upstreamSSRC)
				}
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
