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
	"strings"
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
	// flows are the packets received per publisher and kind, across
	// subscriber connections (a move to another node rebuilds them).
	flows map[string]*flow
	// published is what Publish last started (nil: nothing), republished
	// after media.moved; pubStop stops its sources.
	published *PublishOptions
	pubStop   chan struct{}
	moves     int
	node      string // from the last media.moved
	stop      chan struct{}
	wg        sync.WaitGroup
}

// flow counts the packets of one publisher's tracks of one kind.
type flow struct {
	packets atomic.Int64
	last    atomic.Int64 // Unix nanoseconds of the last packet
	// mu guards the longest interval between two packets and when it
	// ended (Unix ns).
	mu     sync.Mutex
	maxGap int64
	gapEnd int64
}

// note records a packet received at now (one reader per track calls it).
func (f *flow) note(now int64) {
	f.packets.Add(1)
	if prev := f.last.Swap(now); prev != 0 {
		f.mu.Lock()
		if gap := now - prev; gap > f.maxGap {
			f.maxGap, f.gapEnd = gap, now
		}
		f.mu.Unlock()
	}
}

// PublishOptions say what Publish sends.
type PublishOptions struct {
	// VideoFPS, when positive, publishes a synthetic VP8 camera ("cam") at
	// that frame rate, a keyframe every 2 s and on every PLI.
	VideoFPS int
	// Audio publishes a synthetic Opus microphone ("mic"): 20 ms packets.
	Audio bool
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
		recv: map[string]*atomic.Int64{}, stop: make(chan struct{}), flows: map[string]*flow{},
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
		key := tr.StreamID() + "/" + tr.Kind().String()
		p.mu.Lock()
		p.recv[tr.StreamID()+"/"+tr.ID()] = n
		f := p.flows[key]
		if f == nil {
			f = &flow{}
			p.flows[key] = f
		}
		p.mu.Unlock()
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
			n.Add(1)
			f.note(time.Now().UnixNano())
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
	case "media.reset", "media.moved":
		// The server replaced our media session (media.reset: a demotion;
		// media.moved: on another node): both connections are stale. A
		// fresh subscriber waits for the new offer, and what was published
		// is published again if the role still allows it.
		var d struct {
			CanPublish bool   `json:"can_publish"`
			Node       string `json:"node"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return true, err
		}
		p.mu.Lock()
		old := []*webrtc.PeerConnection{p.sub, p.pub}
		p.sub, p.pub = nil, nil
		p.pending = map[string][]webrtc.ICECandidateInit{}
		p.outq = map[string][]webrtc.ICECandidateInit{}
		p.ready = map[string]bool{}
		again := p.published
		p.published = nil
		if p.pubStop != nil {
			close(p.pubStop)
			p.pubStop = nil
		}
		if e.Type == "media.moved" {
			p.moves++
			p.node = d.Node
		}
		p.mu.Unlock()
		for _, pc := range old {
			if pc != nil {
				_ = pc.Close()
			}
		}
		if err := p.newSubscriber(); err != nil {
			return true, err
		}
		if again != nil && d.CanPublish {
			return true, p.Publish(ctx, *again)
		}
		return true, nil
	}
	return false, nil
}

// RestartICE asks the server for an ICE restart of the subscriber
// connection (media.restart); the restart offer arrives as media.offer and
// HandleEvent answers it like any other.
func (p *Peer) RestartICE(ctx context.Context) error {
	_, err := p.c.Request(ctx, "media.restart", p.room, map[string]string{"target": "subscriber"})
	return err
}

// SubscriberICEUfrag is the ICE username fragment of the subscriber
// connection's remote (server) description, "" before the first offer: it
// changes with every ICE restart (RFC 8839 §5.4).
func (p *Peer) SubscriberICEUfrag() string {
	p.mu.Lock()
	sub := p.sub
	p.mu.Unlock()
	if sub == nil {
		return ""
	}
	rd := sub.RemoteDescription()
	if rd == nil {
		return ""
	}
	for _, line := range strings.Split(rd.SDP, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

// Moves is how many media.moved events the peer followed, and the node
// the last one named.
func (p *Peer) Moves() (int, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.moves, p.node
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
	return p.Publish(ctx, PublishOptions{VideoFPS: fps})
}

// Publish starts the synthetic sources of opts on a new publisher
// connection. After media.moved they are published again on the new node.
func (p *Peer) Publish(ctx context.Context, opts PublishOptions) error {
	if opts.VideoFPS <= 0 && !opts.Audio {
		return errors.New("peer: nothing to publish")
	}
	pub, err := p.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return fmt.Errorf("peer: publisher: %w", err)
	}
	p.trickle(pub, "publisher")
	var (
		video, audio *webrtc.TrackLocalStaticRTP
		sender       *webrtc.RTPSender
	)
	if opts.VideoFPS > 0 {
		if video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "cam"); err != nil {
			return err
		}
		if sender, err = pub.AddTrack(video); err != nil {
			return err
		}
	}
	if opts.Audio {
		if audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "cam"); err != nil {
			return err
		}
		if _, err = pub.AddTrack(audio); err != nil {
			return err
		}
	}
	offer, err := pub.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := pub.SetLocalDescription(offer); err != nil {
		return err
	}
	stop := make(chan struct{})
	p.mu.Lock()
	if p.pub != nil || p.published != nil {
		p.mu.Unlock()
		_ = pub.Close()
		return errors.New("peer: already publishing")
	}
	p.pub = pub
	o := opts
	p.published = &o
	p.pubStop = stop
	p.mu.Unlock()
	fail := func(err error) error {
		p.mu.Lock()
		if p.pub == pub {
			p.pub, p.published, p.pubStop = nil, nil, nil
			close(stop)
		}
		p.mu.Unlock()
		_ = pub.Close()
		return err
	}
	r, err := p.c.Request(ctx, "media.offer", p.room, map[string]string{"type": "offer", "sdp": offer.SDP})
	if err != nil {
		return fail(err)
	}
	var ans struct{ SDP string }
	if err := json.Unmarshal(r.Data, &ans); err != nil {
		return fail(err)
	}
	if err := pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP}); err != nil {
		return fail(err)
	}
	p.flush("publisher", pub)
	p.markReady("publisher")
	if video != nil {
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
			p.sendVP8(video, opts.VideoFPS, &keyWanted, stop)
		}()
	}
	if audio != nil {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.sendOpus(audio, stop)
		}()
	}
	return nil
}

// sendOpus writes 20 ms Opus packets (a few bytes of payload: the SFU
// forwards them without decoding) until stopped.
func (p *Peer) sendOpus(track *webrtc.TrackLocalStaticRTP, stop <-chan struct{}) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	seq, ts := uint16(rand.Uint32()), rand.Uint32()
	payload := []byte{0xfc, 0xff, 0xfe} // TOC: CELT FB 20 ms, one frame
	for {
		select {
		case <-p.stop:
			return
		case <-stop:
			return
		case <-tick.C:
		}
		ts += 960
		_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: false}, Payload: payload})
		seq++
	}
}

// sendVP8 writes fake VP8 frames (payload descriptor S=1, and the P bit of
// the frame header clear on keyframes: RFC 7741 §4.2, RFC 6386 §9.1).
func (p *Peer) sendVP8(track *webrtc.TrackLocalStaticRTP, fps int, keyWanted *atomic.Bool, stop <-chan struct{}) {
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	seq, ts := uint16(rand.Uint32()), rand.Uint32()
	payload := make([]byte, 400)
	for frame := 0; ; frame++ {
		select {
		case <-p.stop:
			return
		case <-stop:
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

// Packets is how many packets of kind ("audio" or "video") the peer
// received from participant from, over all its subscriber connections.
func (p *Peer) Packets(from, kind string) int64 {
	p.mu.Lock()
	f := p.flows[from+"/"+kind]
	p.mu.Unlock()
	if f == nil {
		return 0
	}
	return f.packets.Load()
}

// MaxGap is the longest interval between two packets of kind from
// participant from, over all subscriber connections, and when the packet
// that ended it arrived: after a move to another node, how long that media
// was frozen and when it came back.
func (p *Peer) MaxGap(from, kind string) (time.Duration, time.Time) {
	p.mu.Lock()
	f := p.flows[from+"/"+kind]
	p.mu.Unlock()
	if f == nil {
		return 0, time.Time{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Duration(f.maxGap), time.Unix(0, f.gapEnd)
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
