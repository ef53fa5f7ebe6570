// Package peer is a WebRTC participant driven through the signaling
// client: the two peer connections of the protocol (publisher: the peer
// offers; subscriber: the server offers), trickle ICE both ways, and a
// synthetic VP8 source. The gateway's media tests use it, and so will the
// load tester's speaker and viewer bots.
package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling/client"
)

// Peer is one participant's media in one room.
type Peer struct {
	c    *client.Client
	room string
	api  *webrtc.API

	mu      sync.Mutex
	pub     *webrtc.PeerConnection
	sub     *webrtc.PeerConnection
	pending map[string][]webrtc.ICECandidateInit // by target, before a remote description
	recv    map[string]*atomic.Int64             // packets per received track (by stream/track id)
	// Local candidates wait until the server has the description they
	// belong to (a candidate before the offer could not be applied).
	outq  map[string][]webrtc.ICECandidateInit
	ready map[string]bool
	stop  chan struct{}
	wg    sync.WaitGroup
}

// NewAPI returns a Pion API for loopback tests: default codecs and
// interceptors, UDP4 on the loopback interface only, no mDNS.
func NewAPI() (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(0)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)), nil
}

// New prepares the peer of c in room (joined with media). Feed it the
// client's events with HandleEvent.
func New(c *client.Client, room string, api *webrtc.API) (*Peer, error) {
	p := &Peer{c: c, room: room, api: api, pending: map[string][]webrtc.ICECandidateInit{},
		recv: map[string]*atomic.Int64{}, stop: make(chan struct{}),
		outq: map[string][]webrtc.ICECandidateInit{}, ready: map[string]bool{}}
	if err := p.newSubscriber(); err != nil {
		return nil, err
	}
	return p, nil
}

// newSubscriber creates the subscriber connection.
func (p *Peer) newSubscriber() error {
	sub, err := p.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return fmt.Errorf("peer: subscriber: %w", err)
	}
	// Count packets per track: enough to tell media flows end to end.
	sub.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		n := &atomic.Int64{}
		p.mu.Lock()
		p.recv[tr.StreamID()+"/"+tr.ID()] = n
		p.mu.Unlock()
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
			n.Add(1)
		}
	})
	p.trickle(sub, "subscriber")
	p.mu.Lock()
	p.sub = sub
	p.mu.Unlock()
	return nil
}

// trickle sends pc's candidates to the server as media.ice.
func (p *Peer) trickle(pc *webrtc.PeerConnection, target string) {
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		p.mu.Lock()
		if !p.ready[target] {
			p.outq[target] = append(p.outq[target], init)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		p.sendCandidate(target, init)
	})
}

// sendCandidate sends one local candidate.
func (p *Peer) sendCandidate(target string, c webrtc.ICECandidateInit) {
	_ = p.c.Send(&protocol.Envelope{Type: "media.ice", Room: p.room,
		Data: mustJSON(map[string]any{"target": target, "candidate": c})})
}

// markReady sends the candidates held for target and lets later ones go
// out at once.
func (p *Peer) markReady(target string) {
	p.mu.Lock()
	q := p.outq[target]
	delete(p.outq, target)
	p.ready[target] = true
	p.mu.Unlock()
	for _, c := range q {
		p.sendCandidate(target, c)
	}
}

// HandleEvent applies a media.* event of the peer's room; it reports
// whether the event was one.
func (p *Peer) HandleEvent(ctx context.Context, e *protocol.Envelope) (bool, error) {
	if e.Room != p.room {
		return false, nil
	}
	switch e.Type {
	case "media.offer":
		var d struct{ SDP string }
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return true, err
		}
		return true, p.answer(ctx, d.SDP)
	case "media.ice":
		var d struct {
			Target    string                  `json:"target"`
			Candidate webrtc.ICECandidateInit `json:"candidate"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return true, err
		}
		return true, p.addCandidate(d.Target, d.Candidate)
	case "media.reset":
		// The server replaced our media session: both connections are
		// stale; a fresh subscriber waits for the new offer.
		p.mu.Lock()
		old := []*webrtc.PeerConnection{p.sub, p.pub}
		p.sub, p.pub = nil, nil
		p.pending = map[string][]webrtc.ICECandidateInit{}
		p.outq = map[string][]webrtc.ICECandidateInit{}
		p.ready = map[string]bool{}
		p.mu.Unlock()
		for _, pc := range old {
			if pc != nil {
				_ = pc.Close()
			}
		}
		return true, p.newSubscriber()
	}
	return false, nil
}

// answer applies a subscriber offer and sends the answer.
func (p *Peer) answer(ctx context.Context, offer string) error {
	p.mu.Lock()
	sub := p.sub
	p.mu.Unlock()
	if err := sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fmt.Errorf("peer: subscriber offer: %w", err)
	}
	ans, err := sub.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := sub.SetLocalDescription(ans); err != nil {
		return err
	}
	p.flush("subscriber", sub)
	if _, err = p.c.Request(ctx, "media.answer", p.room, map[string]string{"type": "answer", "sdp": ans.SDP}); err != nil {
		return err
	}
	p.markReady("subscriber")
	return nil
}

// addCandidate adds a server candidate, or queues it until the
// connection has a remote description.
func (p *Peer) addCandidate(target string, c webrtc.ICECandidateInit) error {
	p.mu.Lock()
	pc := p.sub
	if target == "publisher" {
		pc = p.pub
	}
	if pc == nil || pc.RemoteDescription() == nil {
		p.pending[target] = append(p.pending[target], c)
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	return pc.AddICECandidate(c)
}

// flush adds the candidates queued for target.
func (p *Peer) flush(target string, pc *webrtc.PeerConnection) {
	p.mu.Lock()
	cs := p.pending[target]
	delete(p.pending, target)
	p.mu.Unlock()
	for _, c := range cs {
		_ = pc.AddICECandidate(c)
	}
}

// PublishVideo starts a synthetic VP8 camera at fps frames per second (a
// keyframe every 2 s and on every PLI) on the publisher connection.
func (p *Peer) PublishVideo(ctx context.Context, fps int) error {
	pub, err := p.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return fmt.Errorf("peer: publisher: %w", err)
	}
	p.trickle(pub, "publisher")
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "cam")
	if err != nil {
		return err
	}
	sender, err := pub.AddTrack(track)
	if err != nil {
		return err
	}
	offer, err := pub.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := pub.SetLocalDescription(offer); err != nil {
		return err
	}
	p.mu.Lock()
	p.pub = pub
	p.mu.Unlock()
	r, err := p.c.Request(ctx, "media.offer", p.room, map[string]string{"type": "offer", "sdp": offer.SDP})
	if err != nil {
		return err
	}
	var ans struct{ SDP string }
	if err := json.Unmarshal(r.Data, &ans); err != nil {
		return err
	}
	if err := pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP}); err != nil {
		return err
	}
	p.flush("publisher", pub)
	p.markReady("publisher")
	// A PLI from the SFU (a new subscriber, a layer switch) asks for a
	// keyframe: the source sends one on the next tick.
	var keyWanted atomic.Bool
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, pk := range pkts {
				if _, ok := pk.(*rtcp.PictureLossIndication); ok {
					keyWanted.Store(true)
				}
			}
		}
	}()
	go func() {
		defer p.wg.Done()
		p.sendVP8(track, fps, &keyWanted)
	}()
	return nil
}

// sendVP8 writes fake VP8 frames (payload descriptor S=1, and the P bit of
// the frame header clear on keyframes: RFC 7741 §4.2, RFC 6386 §9.1).
func (p *Peer) sendVP8(track *webrtc.TrackLocalStaticRTP, fps int, keyWanted *atomic.Bool) {
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	seq, ts := uint16(rand.Uint32()), rand.Uint32()
	payload := make([]byte, 400)
	for frame := 0; ; frame++ {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		key := frame%(2*fps) == 0 || keyWanted.Swap(false)
		payload[0] = 0x10
		payload[1] = 0x01
		if key {
			payload[1] = 0x00
		}
		ts += 90000 / uint32(fps)
		err := track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: true}, Payload: payload})
		if err != nil && !errors.Is(err, context.Canceled) {
			continue
		}
		seq++
	}
}

// Received returns the packets received per track ("<stream>/<track>";
// the stream is the publisher's participant ID).
func (p *Peer) Received() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int64, len(p.recv))
	for k, v := range p.recv {
		out[k] = v.Load()
	}
	return out
}

// Close stops the source and closes both connections. Idempotent.
func (p *Peer) Close() {
	p.mu.Lock()
	select {
	case <-p.stop:
		p.mu.Unlock()
		return
	default:
		close(p.stop)
	}
	pcs := []*webrtc.PeerConnection{p.sub, p.pub}
	p.mu.Unlock()
	for _, pc := range pcs {
		if pc != nil {
			_ = pc.Close()
		}
	}
	p.wg.Wait()
}

// mustJSON encodes values built here; they always encode.
func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
