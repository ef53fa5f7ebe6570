package relay_test

import (
	"context"
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
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/sfu"
)

var testTenant = tenant.MustParse("acme")

// testLogger logs to stderr when RELAY_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("RELAY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newNode starts an SFU bound to loopback.
func newNode(t *testing.T) *sfu.SFU {
	t.Helper()
	s, err := sfu.New(sfu.Config{BindIP: "127.0.0.1", IncludeLoopback: true, TCPPort: -1,
		AllocationInterval: 100 * time.Millisecond, InitialBitrate: 5_000_000}, testLogger())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// loopbackAPI is a Pion API restricted to UDP on loopback.
func loopbackAPI(t *testing.T) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	require.NoError(t, me.RegisterDefaultCodecs())
	reg := &interceptor.Registry{}
	require.NoError(t, webrtc.RegisterDefaultInterceptors(me, reg))
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(0)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
}

// levelAPI is loopbackAPI that also negotiates the RFC 6464 audio level
// extension, as browsers do.
func levelAPI(t *testing.T) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	require.NoError(t, me.RegisterDefaultCodecs())
	require.NoError(t, me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio))
	reg := &interceptor.Registry{}
	require.NoError(t, webrtc.RegisterDefaultInterceptors(me, reg))
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(0)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
}

// client is a browser stand-in: a publisher and a subscriber connection.
type client struct {
	t   *testing.T
	p   *sfu.Participant
	pub *webrtc.PeerConnection
	sub *webrtc.PeerConnection

	mu      sync.Mutex
	pending map[sfu.Target][]webrtc.ICECandidateInit

	packets  atomic.Int64
	keyframe atomic.Bool
	seqMu    sync.Mutex
	seqs     map[uint16]struct{}
	first    int64 // unwrapped sequence number of the first packet, -1 before
	highest  int64 // highest unwrapped sequence number seen
	done     chan struct{}

	evMu   sync.Mutex
	events []sfu.Event // events other than signaling
	// levels is the RFC 6464 extension of the last packet of each received
	// track (by track ID), read under the subscriber's negotiated ID.
	levels map[string][]byte
}

// joinClient joins s's room as id with a loopback client.
func joinClient(t *testing.T, s *sfu.SFU, room sfu.RoomID, id sfu.ParticipantID, opts sfu.JoinOptions) *client {
	t.Helper()
	return joinClientAPI(t, s, room, id, opts, loopbackAPI(t))
}

// joinClientAPI is joinClient with the client's peer connections built by api.
func joinClientAPI(t *testing.T, s *sfu.SFU, room sfu.RoomID, id sfu.ParticipantID, opts sfu.JoinOptions, api *webrtc.API) *client {
	t.Helper()
	p, err := s.Join(context.Background(), testTenant, room, id, opts)
	require.NoError(t, err)
	c := &client{t: t, p: p, pending: map[sfu.Target][]webrtc.ICECandidateInit{}, done: make(chan struct{}),
		seqs: map[uint16]struct{}{}, first: -1}
	c.pub, err = api.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	c.sub, err = api.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	c.levels = map[string][]byte{}
	c.sub.OnTrack(func(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		var levelID uint8
		for _, e := range recv.GetParameters().HeaderExtensions {
			if e.URI == sdp.AudioLevelURI {
				levelID = uint8(e.ID)
			}
		}
		for {
			pkt, _, err := remote.ReadRTP()
			if err != nil {
				return
			}
			if levelID != 0 {
				c.evMu.Lock()
				c.levels[remote.ID()] = append([]byte(nil), pkt.GetExtension(levelID)...)
				c.evMu.Unlock()
			}
			c.packets.Add(1)
			c.recordSeq(pkt.SequenceNumber)
			if isVP8Keyframe(pkt.Payload) {
				c.keyframe.Store(true)
			}
		}
	})
	go c.loop()
	t.Cleanup(c.close)
	return c
}

// isVP8Keyframe reports the first packet of a VP8 keyframe (no X bit).
func isVP8Keyframe(p []byte) bool {
	return len(p) >= 2 && p[0]&0x10 != 0 && p[0]&0x80 == 0 && p[1]&0x01 == 0
}

func (c *client) loop() {
	defer close(c.done)
	for ev := range c.p.Events() {
		switch ev.Kind {
		case sfu.EventSubscriberOffer:
			if err := c.answer(ev.SDP); err != nil {
				c.t.Logf("answer: %v", err)
			}
		case sfu.EventICECandidate:
			c.addCandidate(ev.Target, ev.Candidate)
		default:
			c.evMu.Lock()
			c.events = append(c.events, ev)
			c.evMu.Unlock()
		}
	}
}

// eventsOf returns the events of kind c received so far.
func (c *client) eventsOf(kind sfu.EventKind) []sfu.Event {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	var out []sfu.Event
	for _, ev := range c.events {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// level returns the audio level extension last received on track id.
func (c *client) level(id sfu.TrackID) []byte {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	return c.levels[string(id)]
}

func (c *client) pc(target sfu.Target) *webrtc.PeerConnection {
	if target == sfu.TargetPublisher {
		return c.pub
	}
	return c.sub
}

func (c *client) addCandidate(target sfu.Target, cand webrtc.ICECandidateInit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc := c.pc(target)
	if pc.RemoteDescription() == nil {
		c.pending[target] = append(c.pending[target], cand)
		return
	}
	_ = pc.AddICECandidate(cand)
}

func (c *client) setRemote(target sfu.Target, desc webrtc.SessionDescription) error {
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
	if err := c.setRemote(sfu.TargetSubscriber, offer); err != nil {
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

func (c *client) close() {
	c.p.Leave()
	_ = c.pub.Close()
	_ = c.sub.Close()
	<-c.done
}

// publishVideo sends fake VP8 at 30 fps (a keyframe every second and on
// PLI) until the test ends; it returns the number of packets sent so far.
func (c *client) publishVideo() (sent func() int64) {
	c.t.Helper()
	tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "stream")
	require.NoError(c.t, err)
	tx, err := c.pub.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	require.NoError(c.t, err)
	offer, err := c.pub.CreateOffer(nil)
	require.NoError(c.t, err)
	gathered := webrtc.GatheringCompletePromise(c.pub)
	require.NoError(c.t, c.pub.SetLocalDescription(offer))
	<-gathered
	ans, err := c.p.HandlePublisherOffer(context.Background(), *c.pub.LocalDescription())
	require.NoError(c.t, err)
	require.NoError(c.t, c.setRemote(sfu.TargetPublisher, ans))

	var kfWanted atomic.Bool
	var count atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			pkts, _, err := tx.Sender().ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if _, ok := p.(*rtcp.PictureLossIndication); ok {
					kfWanted.Store(true)
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		seq, ts := uint16(rand.Uint32()), rand.Uint32()
		payload := make([]byte, 900)
		for frame := 0; ; frame++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			ts += 3000
			key := frame%30 == 0 || kfWanted.Swap(false)
			for k := 0; k < 3; k++ {
				payload[0] = 0x00
				if k == 0 {
					payload[0] = 0x10
				}
				payload[1] = 0x01
				if key {
					payload[1] = 0x00
				}
				h := rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: k == 2}
				seq++
				if err := tr.WriteRTP(&rtp.Packet{Header: h, Payload: payload}); err != nil {
					return
				}
				count.Add(1)
			}
		}
	}()
	c.t.Cleanup(func() {
		close(stop)
		_ = tx.Sender().Stop()
		wg.Wait()
	})
	return count.Load
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// recordSeq tracks which sequence numbers arrived (one video track).
func (c *client) recordSeq(seq uint16) {
	c.seqMu.Lock()
	defer c.seqMu.Unlock()
	c.seqs[seq] = struct{}{}
	if c.first < 0 {
		c.first, c.highest = int64(seq), int64(seq)
		return
	}
	// Unwrap against the highest seen.
	d := int64(int16(seq - uint16(c.highest)))
	if c.highest+d > c.highest {
		c.highest += d
	}
}

// residualLoss is the fraction of sequence numbers between the first and
// highest seen, minus the last skip (still in repair), that never arrived.
func (c *client) residualLoss(skip int64) (lost, total int64) {
	c.seqMu.Lock()
	defer c.seqMu.Unlock()
	for s := c.first; s <= c.highest-skip; s++ {
		total++
		if _, ok := c.seqs[uint16(s)]; !ok {
			lost++
		}
	}
	return lost, total
}
