// Package mediatest is the conformance suite of the signaling media
// interfaces (signaling.MediaNode, signaling.MediaSession): every transport
// — in process (signaling/sfunode) and over the bus (signaling/sfurpc) —
// runs it against a real SFU with real Pion peers on loopback.
package mediatest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client/peer"
)

// Factory returns a fresh node backed by a real SFU for one test; the test
// registers its cleanup.
type Factory func(t *testing.T) signaling.MediaNode

// Run runs every conformance test against nodes from newNode.
func Run(t *testing.T, newNode Factory) {
	t.Run("PublishSubscribe", func(t *testing.T) { testPublishSubscribe(t, newNode(t)) })
	t.Run("Errors", func(t *testing.T) { testErrors(t, newNode(t)) })
	t.Run("LeaveClosesEvents", func(t *testing.T) { testLeave(t, newNode(t)) })
	t.Run("MuteAndUnpublish", func(t *testing.T) { testMuteUnpublish(t, newNode(t)) })
}

const deadline = 30 * time.Second

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	t.Cleanup(cancel)
	return ctx
}

// Peer is one test participant: a media session and its two Pion peer
// connections, the subscriber answering the node's offers.
type Peer struct {
	t   *testing.T
	MS  signaling.MediaSession
	pub *webrtc.PeerConnection
	sub *webrtc.PeerConnection

	mu        sync.Mutex
	published map[string]signaling.TrackInfo
	muted     map[string]bool
	pubICE    *trickle
	subICE    *trickle
	received  atomic.Int64 // RTP packets received on the subscriber side
	offers    atomic.Int64
	done      chan struct{}
}

// Join joins participant to room on node and runs its event loop.
func Join(t *testing.T, node signaling.MediaNode, tn tenant.ID, room, participant string) *Peer {
	t.Helper()
	api, err := peer.NewAPI()
	if err != nil {
		t.Fatal(err)
	}
	ms, err := node.Join(ctxFor(t), tn, room, participant, signaling.MediaJoinOptions{AutoSubscribe: true})
	if err != nil {
		t.Fatalf("join %s: %v", participant, err)
	}
	p := &Peer{t: t, MS: ms, published: map[string]signaling.TrackInfo{}, muted: map[string]bool{}, done: make(chan struct{})}
	if p.pub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	if p.sub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	p.pubICE = newTrickle(ms, signaling.TargetPublisher)
	p.subICE = newTrickle(ms, signaling.TargetSubscriber)
	p.pub.OnICECandidate(p.pubICE.local)
	p.sub.OnICECandidate(p.subICE.local)
	p.sub.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			p.received.Add(1)
		}
	})
	go p.loop()
	t.Cleanup(p.Close)
	return p
}

// Close leaves and closes both connections.
func (p *Peer) Close() {
	p.MS.Leave()
	<-p.done
	_ = p.pub.Close()
	_ = p.sub.Close()
}

func (p *Peer) loop() {
	defer close(p.done)
	for ev := range p.MS.Events() {
		switch ev.Kind {
		case signaling.MediaTrackPublished, signaling.MediaTrackUnpublished:
			p.mu.Lock()
			if ev.Kind == signaling.MediaTrackPublished {
				p.published[ev.Track.ID] = ev.Track
			} else {
				delete(p.published, ev.Track.ID)
			}
			p.mu.Unlock()
		case signaling.MediaTrackMuted:
			p.mu.Lock()
			p.muted[ev.Track.ID] = ev.Track.Muted
			p.mu.Unlock()
		case signaling.MediaSubscriberOffer:
			p.offers.Add(1)
			if err := p.answer(ev.SDP); err != nil {
				p.t.Logf("answer: %v", err)
			}
		case signaling.MediaICECandidate:
			pc, tr := p.sub, p.subICE
			if ev.Target == signaling.TargetPublisher {
				pc, tr = p.pub, p.pubICE
			}
			tr.remote(pc, webrtc.ICECandidateInit{Candidate: ev.Candidate.Candidate, SDPMid: ev.Candidate.SDPMid,
				SDPMLineIndex: ev.Candidate.SDPMLineIndex, UsernameFragment: ev.Candidate.UsernameFragment})
		}
	}
}

func (p *Peer) answer(offer signaling.SessionDescription) error {
	if err := p.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		return err
	}
	ans, err := p.sub.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := p.sub.SetLocalDescription(ans); err != nil {
		return err
	}
	p.subICE.remoteSet(p.sub)
	if err := p.MS.SubscriberAnswer(context.Background(), signaling.SessionDescription{Type: "answer", SDP: ans.SDP}); err != nil {
		return err
	}
	p.subICE.signalled()
	return nil
}

// trickle sends a connection's candidates once its description reached the
// node, and applies the node's candidates once the remote description is
// set (both may arrive early: candidates race the SDP).
type trickle struct {
	ms     signaling.MediaSession
	target signaling.Target

	mu         sync.Mutex
	sent       bool
	outbox     []webrtc.ICECandidateInit
	haveRemote bool
	inbox      []webrtc.ICECandidateInit
}

func newTrickle(ms signaling.MediaSession, target signaling.Target) *trickle {
	return &trickle{ms: ms, target: target}
}

func (tr *trickle) send(c webrtc.ICECandidateInit) {
	_ = tr.ms.AddICECandidate(context.Background(), tr.target, signaling.ICECandidate{Candidate: c.Candidate,
		SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment})
}

func (tr *trickle) local(c *webrtc.ICECandidate) {
	if c == nil {
		return
	}
	tr.mu.Lock()
	if !tr.sent {
		tr.outbox = append(tr.outbox, c.ToJSON())
		tr.mu.Unlock()
		return
	}
	tr.mu.Unlock()
	tr.send(c.ToJSON())
}

// signalled: the node has our description; flush our candidates.
func (tr *trickle) signalled() {
	tr.mu.Lock()
	tr.sent = true
	out := tr.outbox
	tr.outbox = nil
	tr.mu.Unlock()
	for _, c := range out {
		tr.send(c)
	}
}

func (tr *trickle) remote(pc *webrtc.PeerConnection, c webrtc.ICECandidateInit) {
	tr.mu.Lock()
	if !tr.haveRemote {
		tr.inbox = append(tr.inbox, c)
		tr.mu.Unlock()
		return
	}
	tr.mu.Unlock()
	_ = pc.AddICECandidate(c)
}

// remoteSet: pc has the node's description; apply queued candidates.
func (tr *trickle) remoteSet(pc *webrtc.PeerConnection) {
	tr.mu.Lock()
	tr.haveRemote = true
	in := tr.inbox
	tr.inbox = nil
	tr.mu.Unlock()
	for _, c := range in {
		_ = pc.AddICECandidate(c)
	}
}

// PublishVP8 publishes one VP8 track and sends packets until the test ends.
func (p *Peer) PublishVP8(t *testing.T) {
	t.Helper()
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "stream-"+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.pub.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	offer, err := p.pub.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.pub.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	ans, err := p.MS.PublisherOffer(ctxFor(t), signaling.SessionDescription{Type: "offer", SDP: offer.SDP})
	if err != nil {
		t.Fatalf("publisher offer: %v", err)
	}
	p.pubICE.signalled()
	if err := p.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP}); err != nil {
		t.Fatal(err)
	}
	p.pubICE.remoteSet(p.pub)
	stop := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() { close(stop); <-stopped })
	go func() {
		defer close(stopped)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var seq uint16
		for ts := uint32(0); ; ts += 1800 {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			seq++
			// A VP8 keyframe payload descriptor (S=1, PID 0) and a
			// keyframe header (P bit clear), enough for keyframe detection.
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, Marker: true},
				Payload: []byte{0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}}
			_ = track.WriteRTP(pkt)
		}
	}()
}

// Published returns the tracks the peer has been told of.
func (p *Peer) Published() map[string]signaling.TrackInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]signaling.TrackInfo, len(p.published))
	for k, v := range p.published {
		out[k] = v
	}
	return out
}

// Received is the number of RTP packets the subscriber connection got.
func (p *Peer) Received() int64 { return p.received.Load() }

// Eventually polls cond until it holds or the suite's deadline passes.
func Eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testPublishSubscribe(t *testing.T, node signaling.MediaNode) {
	a := Join(t, node, "acme", "room-1", "alice")
	b := Join(t, node, "acme", "room-1", "bob")
	a.PublishVP8(t)
	Eventually(t, "bob told of alice's track", func() bool { return len(b.Published()) == 1 })
	for _, tr := range b.Published() {
		if tr.Participant != "alice" || tr.Kind != "video" || tr.MimeType != webrtc.MimeTypeVP8 {
			t.Fatalf("track info %+v", tr)
		}
	}
	Eventually(t, "bob receives alice's video", func() bool { return b.Received() > 20 })
	// Another tenant's room of the same name sees nothing.
	c := Join(t, node, "other", "room-1", "carol")
	time.Sleep(300 * time.Millisecond)
	if n := len(c.Published()); n != 0 || c.Received() != 0 {
		t.Fatalf("tenant other sees %d tracks, %d packets of tenant acme", n, c.Received())
	}
}

func testErrors(t *testing.T, node signaling.MediaNode) {
	a := Join(t, node, "acme", "room-e", "alice")
	ctx := ctxFor(t)
	if _, err := a.MS.PublisherOffer(ctx, signaling.SessionDescription{Type: "offer", SDP: "v=0 not sdp"}); !errors.Is(err, signaling.ErrInvalidSDP) {
		t.Fatalf("bad offer: %v, want ErrInvalidSDP", err)
	}
	if err := a.MS.Subscribe("no-such-track"); !errors.Is(err, signaling.ErrTrackNotFound) {
		t.Fatalf("subscribe unknown: %v, want ErrTrackNotFound", err)
	}
	if err := a.MS.MuteTrack("no-such-track", true); !errors.Is(err, signaling.ErrTrackNotFound) {
		t.Fatalf("mute unknown: %v, want ErrTrackNotFound", err)
	}
	if err := a.MS.Unpublish("no-such-track"); !errors.Is(err, signaling.ErrTrackNotFound) {
		t.Fatalf("unpublish unknown: %v, want ErrTrackNotFound", err)
	}
	if err := a.MS.SetPreference("no-such-track", signaling.TrackPreference{MaxLayer: "bogus"}); err == nil {
		t.Fatal("bogus preference accepted")
	}
	// Pin has no JSON name (not client protocol): a transport must still
	// carry it, so a bogus pin is refused at the node.
	if err := a.MS.SetPreference("no-such-track", signaling.TrackPreference{Pin: "bogus"}); err == nil {
		t.Fatal("bogus pin accepted (was it carried to the node?)")
	}
	a.MS.Leave()
	if err := a.MS.Subscribe("x"); !errors.Is(err, signaling.ErrMediaClosed) && !errors.Is(err, signaling.ErrTrackNotFound) {
		t.Fatalf("after leave: %v, want ErrMediaClosed", err)
	}
}

func testLeave(t *testing.T, node signaling.MediaNode) {
	a := Join(t, node, "acme", "room-l", "alice")
	b := Join(t, node, "acme", "room-l", "bob")
	a.PublishVP8(t)
	Eventually(t, "bob told of alice's track", func() bool { return len(b.Published()) == 1 })
	a.MS.Leave()
	a.MS.Leave() // idempotent
	select {
	case <-a.done:
	case <-time.After(deadline):
		t.Fatal("events not closed after Leave")
	}
	Eventually(t, "bob told alice's track is gone", func() bool { return len(b.Published()) == 0 })
}

func testMuteUnpublish(t *testing.T, node signaling.MediaNode) {
	a := Join(t, node, "acme", "room-m", "alice")
	b := Join(t, node, "acme", "room-m", "bob")
	a.PublishVP8(t)
	Eventually(t, "bob receives alice's video", func() bool { return b.Received() > 10 })
	var id string
	for k := range b.Published() {
		id = k
	}
	if err := a.MS.MuteTrack(id, true); err != nil {
		t.Fatalf("mute: %v", err)
	}
	Eventually(t, "bob told the track is muted", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.muted[id]
	})
	time.Sleep(200 * time.Millisecond) // packets in flight
	before := b.Received()
	time.Sleep(500 * time.Millisecond)
	if got := b.Received() - before; got > 2 {
		t.Fatalf("%d packets reached bob while muted", got)
	}
	if err := a.MS.MuteTrack(id, false); err != nil {
		t.Fatalf("unmute: %v", err)
	}
	Eventually(t, "video resumes after unmute", func() bool { return b.Received() > before+10 })
	if err := b.MS.Unpublish(id); !errors.Is(err, signaling.ErrTrackNotFound) {
		t.Fatalf("bob unpublishing alice's track: %v, want ErrTrackNotFound", err)
	}
	if err := a.MS.Unpublish(id); err != nil {
		t.Fatalf("unpublish: %v", err)
	}
	Eventually(t, "bob told the track is gone", func() bool { return len(b.Published()) == 0 })
}
