package sfu

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// This file is the in-process test client: a Pion peer that drives a
// Participant the way the signaling layer and a browser together would.

var testTenant = tenant.MustParse("acme")

func testLogger() *slog.Logger {
	if os.Getenv("SFU_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newTestSFU starts an SFU on a random loopback port with fast control loops.
func newTestSFU(t testing.TB, mut func(*Config)) *SFU {
	t.Helper()
	cfg := Config{
		BindIP:             "127.0.0.1",
		IncludeLoopback:    true,
		TCPPort:            -1,
		AllocationInterval: 100 * time.Millisecond,
		UpgradeHold:        300 * time.Millisecond,
		SpeakerInterval:    100 * time.Millisecond,
		InitialBitrate:     5_000_000,
	}
	if mut != nil {
		mut(&cfg)
	}
	s, err := New(cfg, testLogger())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func clientAPI(t testing.TB, nw transport.Net) *webrtc.API {
	t.Helper()
	return clientAPIWith(t, func(se *webrtc.SettingEngine) {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		if nw != nil {
			se.SetNet(nw)
		} else {
			se.SetIncludeLoopbackCandidate(true)
			se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		}
	})
}

// clientAPIWith builds the test client's API with settings from set.
func clientAPIWith(t testing.TB, set func(*webrtc.SettingEngine)) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if os.Getenv("SFU_TEST_NORTX") != "" {
		fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}
		require.NoError(t, me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb}, PayloadType: 96}, webrtc.RTPCodecTypeVideo))
		require.NoError(t, me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}, webrtc.RTPCodecTypeAudio))
	} else {
		require.NoError(t, me.RegisterDefaultCodecs())
	}
	require.NoError(t, me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio))
	reg := &interceptor.Registry{}
	require.NoError(t, webrtc.RegisterDefaultInterceptors(me, reg))
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(0)
	set(&se)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
}

// received is what a client observed on one subscribed track.
type received struct {
	ssrc        uint32
	mu          sync.Mutex
	packets     int
	seqs        map[uint16]struct{}
	lastSeq     int64 // unwrapped
	firstSeq    int64
	backwards   int    // sequence numbers that went back (excluding retransmissions)
	marker      byte   // layer marker of the last packet (payload[2])
	switches    int    // marker changes
	badSwitches int    // marker changes not starting on a keyframe
	firstKey    bool   // the first packet was a keyframe (or audio)
	markers     []byte // marker history (deduplicated)
	lastTS      uint32
	tsBackwards int
	lastAt      time.Time
	afterGap    []bool // for each packet after >300 ms of silence: was it a keyframe
}

func (r *received) add(pkt *rtp.Packet, video bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seqs == nil {
		r.seqs = make(map[uint16]struct{})
	}
	_, dup := r.seqs[pkt.SequenceNumber]
	r.seqs[pkt.SequenceNumber] = struct{}{}
	seq := int64(pkt.SequenceNumber)
	if r.packets == 0 {
		r.firstSeq, r.lastSeq = seq, seq
		r.firstKey = !video || vp8Keyframe(pkt.Payload)
		r.lastTS = pkt.Timestamp
	} else {
		// unwrap relative to lastSeq
		diff := int64(int16(pkt.SequenceNumber - uint16(r.lastSeq)))
		s := r.lastSeq + diff
		if diff > 0 {
			r.lastSeq = s
			if int32(pkt.Timestamp-r.lastTS) < 0 {
				r.tsBackwards++
			}
			r.lastTS = pkt.Timestamp
		} else if !dup && diff < -100 {
			r.backwards++
		}
	}
	now := time.Now()
	if !r.lastAt.IsZero() && now.Sub(r.lastAt) > 300*time.Millisecond {
		r.afterGap = append(r.afterGap, !video || vp8Keyframe(pkt.Payload))
	}
	r.lastAt = now
	r.packets++
	if video && len(pkt.Payload) > 2 {
		m := pkt.Payload[2]
		if r.packets == 1 || m != r.marker {
			if r.packets > 1 {
				r.switches++
				if !vp8Keyframe(pkt.Payload) {
					r.badSwitches++
				}
			}
			r.marker = m
			r.markers = append(r.markers, m)
		}
	}
}

func (r *received) snapshot() (packets int, marker byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.packets, r.marker
}

// client is one test participant with its two Pion peer connections.
type client struct {
	t    testing.TB
	id   ParticipantID
	p    *Participant
	pub  *webrtc.PeerConnection
	sub  *webrtc.PeerConnection
	done chan struct{}

	mu       sync.Mutex
	pending  map[Target][]webrtc.ICECandidateInit
	events   []Event
	recv     map[string]*received
	onLayers func(Event)
}

func joinClient(t testing.TB, s *SFU, room RoomID, id ParticipantID, opts JoinOptions, nw transport.Net) *client {
	t.Helper()
	return joinClientAPI(t, s, room, id, opts, clientAPI(t, nw))
}

// joinClientAPI joins a client whose peer connections come from api.
func joinClientAPI(t testing.TB, s *SFU, room RoomID, id ParticipantID, opts JoinOptions, api *webrtc.API) *client {
	t.Helper()
	p, err := s.Join(context.Background(), testTenant, room, id, opts)
	require.NoError(t, err)
	c := &client{t: t, id: id, p: p, done: make(chan struct{}),
		pending: map[Target][]webrtc.ICECandidateInit{}, recv: map[string]*received{}}
	c.pub, err = api.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	c.sub, err = api.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	c.sub.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		r := &received{ssrc: uint32(remote.SSRC())}
		c.mu.Lock()
		c.recv[remote.ID()] = r
		c.mu.Unlock()
		video := remote.Kind() == webrtc.RTPCodecTypeVideo
		buf := make([]byte, mtu)
		for {
			n, _, err := remote.Read(buf)
			if err != nil {
				return
			}
			var pkt rtp.Packet
			if pkt.Unmarshal(buf[:n]) == nil {
				r.add(&pkt, video)
			}
		}
	})
	go c.loop()
	t.Cleanup(c.close)
	return c
}

func (c *client) loop() {
	defer close(c.done)
	for ev := range c.p.Events() {
		switch ev.Kind {
		case EventSubscriberOffer:
			if err := c.answer(ev.SDP); err != nil {
				c.t.Logf("%s: answer: %v", c.id, err)
			}
		case EventICECandidate:
			c.addCandidate(ev.Target, ev.Candidate)
		default:
			c.mu.Lock()
			c.events = append(c.events, ev)
			cb := c.onLayers
			c.mu.Unlock()
			if cb != nil && ev.Kind == EventPublisherLayers {
				cb(ev)
			}
		}
	}
}

func (c *client) pc(target Target) *webrtc.PeerConnection {
	if target == TargetPublisher {
		return c.pub
	}
	return c.sub
}

func (c *client) addCandidate(target Target, cand webrtc.ICECandidateInit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc := c.pc(target)
	if pc.RemoteDescription() == nil {
		c.pending[target] = append(c.pending[target], cand)
		return
	}
	_ = pc.AddICECandidate(cand)
}

func (c *client) setRemote(target Target, desc webrtc.SessionDescription) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc := c.pc(target)
	if err := pc.SetRemoteDescription(desc); err != nil {
		return err
	}
	for _, cand := range c.pending[target] {
		_ = pc.AddICECandidate(cand)
	}
	c.pending[target] = nil
	return nil
}

func (c *client) answer(offer webrtc.SessionDescription) error {
	if err := c.setRemote(TargetSubscriber, offer); err != nil {
		return err
	}
	ans, err := c.sub.CreateAnswer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(c.sub)
	if err := c.sub.SetLocalDescription(ans); err != nil {
		return err
	}
	<-gathered
	return c.p.HandleSubscriberAnswer(context.Background(), *c.sub.LocalDescription())
}

// negotiatePublisher sends the publisher offer and applies the answer.
func (c *client) negotiatePublisher() {
	c.t.Helper()
	offer, err := c.pub.CreateOffer(nil)
	require.NoError(c.t, err)
	gathered := webrtc.GatheringCompletePromise(c.pub)
	require.NoError(c.t, c.pub.SetLocalDescription(offer))
	<-gathered
	ans, err := c.p.HandlePublisherOffer(context.Background(), *c.pub.LocalDescription())
	require.NoError(c.t, err)
	require.NoError(c.t, c.setRemote(TargetPublisher, ans))
}

func (c *client) eventsOf(kind EventKind) []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Event
	for _, ev := range c.events {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

func (c *client) received(trackID TrackID) *received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recv[string(trackID)]
}

func (c *client) close() {
	_ = c.pub.Close()
	_ = c.sub.Close()
	c.p.Leave()
	<-c.done
}

// layerSpec is one simulcast layer of the fake video publisher.
type layerSpec struct {
	rid     string
	packets int // packets per frame
	size    int // payload bytes per packet
}

// defaultLadder is ~100 kbit/s, ~300 kbit/s and ~1 Mbit/s at 30 fps.
var defaultLadder = []layerSpec{{"q", 1, 400}, {"h", 2, 620}, {"f", 4, 1050}}

// videoPublisher sends fake VP8 (valid payload descriptors, keyframe flags,
// a layer marker in byte 2) on up to three simulcast layers.
type videoPublisher struct {
	c        *client
	sender   *webrtc.RTPSender
	tracks   []*webrtc.TrackLocalStaticRTP
	layers   []layerSpec
	kfWanted []atomic.Bool
	plis     []atomic.Int64
	pliMu    sync.Mutex
	pliTimes []time.Time
	maxLayer atomic.Int32 // dynacast: send only layers <= this (1-based)
	stop     chan struct{}
	wg       sync.WaitGroup
	fps      int
}

func (c *client) publishVideo(layers []layerSpec, fps int) *videoPublisher {
	c.t.Helper()
	vp := &videoPublisher{c: c, layers: layers, kfWanted: make([]atomic.Bool, len(layers)),
		plis: make([]atomic.Int64, len(layers)), stop: make(chan struct{}), fps: fps}
	vp.maxLayer.Store(int32(len(layers)))
	for _, l := range layers {
		var opts []func(*webrtc.TrackLocalStaticRTP)
		if l.rid != "" {
			opts = append(opts, webrtc.WithRTPStreamID(l.rid))
		}
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
			"cam", "stream-"+string(c.id), opts...)
		require.NoError(c.t, err)
		vp.tracks = append(vp.tracks, tr)
	}
	tx, err := c.pub.AddTransceiverFromTrack(vp.tracks[0], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	require.NoError(c.t, err)
	vp.sender = tx.Sender()
	for _, tr := range vp.tracks[1:] {
		require.NoError(c.t, vp.sender.AddEncoding(tr))
	}
	c.mu.Lock()
	c.onLayers = func(ev Event) { vp.maxLayer.Store(int32(ev.MaxLayer)) }
	c.mu.Unlock()
	c.negotiatePublisher()
	var midID, ridID uint8
	for _, e := range vp.sender.GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		}
	}
	mid := tx.Mid()
	for i := range layers {
		vp.wg.Add(2)
		go vp.readRTCP(i)
		go vp.send(i, midID, ridID, mid)
	}
	c.t.Cleanup(vp.close)
	return vp
}

func (vp *videoPublisher) readRTCP(i int) {
	defer vp.wg.Done()
	for {
		var (
			pkts []rtcp.Packet
			err  error
		)
		if rid := vp.layers[i].rid; rid != "" {
			pkts, _, err = vp.sender.ReadSimulcastRTCP(rid)
		} else {
			pkts, _, err = vp.sender.ReadRTCP()
		}
		if err != nil {
			return
		}
		for _, p := range pkts {
			if _, ok := p.(*rtcp.PictureLossIndication); ok {
				vp.plis[i].Add(1)
				vp.pliMu.Lock()
				vp.pliTimes = append(vp.pliTimes, time.Now())
				vp.pliMu.Unlock()
				vp.kfWanted[i].Store(true)
			}
		}
	}
}

func (vp *videoPublisher) send(i int, midID, ridID uint8, mid string) {
	defer vp.wg.Done()
	spec := vp.layers[i]
	tick := time.NewTicker(time.Second / time.Duration(vp.fps))
	defer tick.Stop()
	seq := uint16(rand.Uint32())
	ts := rand.Uint32()
	payload := make([]byte, spec.size)
	for frame := 0; ; frame++ {
		select {
		case <-vp.stop:
			return
		case <-tick.C:
		}
		ts += 90000 / uint32(vp.fps)
		if int32(i+1) > vp.maxLayer.Load() && spec.rid != "" {
			continue // paused by dynacast, as a browser would
		}
		key := frame%(3*vp.fps) == 0 || vp.kfWanted[i].Swap(false)
		for k := 0; k < spec.packets; k++ {
			payload[0] = 0x00
			if k == 0 {
				payload[0] = 0x10 // S=1, PID=0
			}
			payload[1] = 0x01
			if key {
				payload[1] = 0x00
			}
			payload[2] = byte('a' + i)
			h := rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: k == spec.packets-1}
			if midID != 0 {
				_ = h.SetExtension(midID, []byte(mid))
			}
			if ridID != 0 && spec.rid != "" {
				_ = h.SetExtension(ridID, []byte(spec.rid))
			}
			seq++
			if err := vp.tracks[i].WriteRTP(&rtp.Packet{Header: h, Payload: payload}); err != nil {
				return
			}
		}
	}
}

func (vp *videoPublisher) close() {
	select {
	case <-vp.stop:
	default:
		close(vp.stop)
	}
	_ = vp.sender.Stop()
	vp.wg.Wait()
}

// publishAudio sends fake Opus with a constant RFC 6464 level (-dBov).
func (c *client) publishAudio(level byte) (stop func()) {
	c.t.Helper()
	tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
		"mic", "stream-"+string(c.id))
	require.NoError(c.t, err)
	tx, err := c.pub.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	require.NoError(c.t, err)
	c.negotiatePublisher()
	var levelID uint8
	for _, e := range tx.Sender().GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			levelID = uint8(e.ID)
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		seq, ts := uint16(rand.Uint32()), rand.Uint32()
		payload := make([]byte, 60)
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			h := rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}
			if levelID != 0 {
				_ = h.SetExtension(levelID, []byte{0x80 | level})
			}
			seq++
			ts += 960
			if err := tr.WriteRTP(&rtp.Packet{Header: h, Payload: payload}); err != nil {
				return
			}
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { close(done); wg.Wait() }) }
	c.t.Cleanup(stop)
	return stop
}

func trackID(p ParticipantID, clientTrackID string) TrackID {
	return TrackID(fmt.Sprintf("%s/%s", p, clientTrackID))
}
