package relay_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/sfu/relay"
)

// simulcastAPI is loopbackAPI with the mid and rid header extensions a
// simulcast publisher needs (RFC 8852, RFC 8843).
func simulcastAPI(t *testing.T) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	require.NoError(t, me.RegisterDefaultCodecs())
	for _, uri := range []string{sdp.SDESMidURI, sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI} {
		require.NoError(t, me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo))
	}
	reg := &interceptor.Registry{}
	require.NoError(t, webrtc.RegisterDefaultInterceptors(me, reg))
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(0)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
}

// publishSimulcast sends fake VP8 on layers q, h and f (1, 2 and 4 packets
// a frame at 30 fps, a keyframe every second and on PLI) until the test ends.
func (c *client) publishSimulcast() {
	c.t.Helper()
	rids := []string{"q", "h", "f"}
	var tracks []*webrtc.TrackLocalStaticRTP
	for _, rid := range rids {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
			"cam", "stream", webrtc.WithRTPStreamID(rid))
		require.NoError(c.t, err)
		tracks = append(tracks, tr)
	}
	tx, err := c.pub.AddTransceiverFromTrack(tracks[0], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	require.NoError(c.t, err)
	for _, tr := range tracks[1:] {
		require.NoError(c.t, tx.Sender().AddEncoding(tr))
	}
	offer, err := c.pub.CreateOffer(nil)
	require.NoError(c.t, err)
	gathered := webrtc.GatheringCompletePromise(c.pub)
	require.NoError(c.t, c.pub.SetLocalDescription(offer))
	<-gathered
	ans, err := c.p.HandlePublisherOffer(context.Background(), *c.pub.LocalDescription())
	require.NoError(c.t, err)
	require.NoError(c.t, c.setRemote(sfu.TargetPublisher, ans))
	var midID, ridID uint8
	for _, e := range tx.Sender().GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		}
	}
	mid := tx.Mid()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, rid := range rids {
		var kf sync.Mutex
		keyWanted := false
		wg.Add(2)
		go func() {
			defer wg.Done()
			for {
				pkts, _, err := tx.Sender().ReadSimulcastRTCP(rid)
				if err != nil {
					return
				}
				for _, p := range pkts {
					if _, ok := p.(*rtcp.PictureLossIndication); ok {
						kf.Lock()
						keyWanted = true
						kf.Unlock()
					}
				}
			}
		}()
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Second / 30)
			defer tick.Stop()
			seq, ts := uint16(rand.Uint32()), rand.Uint32()
			payload := make([]byte, 1000)
			for frame := 0; ; frame++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				ts += 3000
				kf.Lock()
				key := frame%30 == 0 || keyWanted
				keyWanted = false
				kf.Unlock()
				n := 1 << i
				for k := 0; k < n; k++ {
					payload[0] = 0x00
					if k == 0 {
						payload[0] = 0x10
					}
					payload[1] = 0x01
					if key {
						payload[1] = 0x00
					}
					h := rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: k == n-1}
					_ = h.SetExtension(midID, []byte(mid))
					_ = h.SetExtension(ridID, []byte(rid))
					seq++
					if err := tracks[i].WriteRTP(&rtp.Packet{Header: h, Payload: payload}); err != nil {
						return
					}
				}
			}
		}()
	}
	c.t.Cleanup(func() {
		close(stop)
		_ = tx.Sender().Stop()
		wg.Wait()
	})
}

// TestRelayCarriesLayerWantedDownstream publishes simulcast on node A and
// watches on node B: the link carries the top layer while B's viewer wants
// it, drops to the low layer when the viewer renders a 180p tile (B asks A
// for no more than the highest layer its subscribers want), and goes back up.
func TestRelayCarriesLayerWantedDownstream(t *testing.T) {
	ctx := context.Background()
	b := bus.NewMemoryBus(bus.MemoryConfig{}, testLogger())
	t.Cleanup(func() { _ = b.Close() })
	sA, sB := newNode(t), newNode(t)
	nA, err := relay.New(ctx, relay.Config{NodeID: "node-a", API: loopbackAPI(t)}, sA, b, testLogger())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nA.Close() })
	nB, err := relay.New(ctx, relay.Config{NodeID: "node-b", API: loopbackAPI(t)}, sB, b, testLogger())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nB.Close() })

	const room = sfu.RoomID("stage")
	pub := joinClientAPI(t, sA, room, "speaker", sfu.JoinOptions{}, simulcastAPI(t))
	pub.publishSimulcast()
	link, err := nB.Link(ctx, "node-a", testTenant, room)
	require.NoError(t, err)
	t.Cleanup(func() { _ = link.Close() })
	viewer := joinClient(t, sB, room, "viewer", sfu.JoinOptions{AutoSubscribe: true})
	waitFor(t, 20*time.Second, "viewer decodes", func() bool { return viewer.keyframe.Load() && viewer.packets.Load() > 60 })

	const origTrack = sfu.TrackID("speaker/cam")
	layerAtA := func() sfu.Layer { return nA.OriginLayers()["node-b"][origTrack] }
	// Generous: a loaded machine's send-side estimate may take a while.
	waitFor(t, 30*time.Second, "top layer crosses while wanted", func() bool { return layerAtA() == sfu.LayerHigh })

	var relayed sfu.TrackID
	r, ok := sB.LookupRoom(testTenant, room)
	require.True(t, ok)
	for _, tr := range r.Tracks() {
		if strings.HasSuffix(string(tr.ID), "/"+string(origTrack)) {
			relayed = tr.ID
		}
	}
	require.NotEmpty(t, relayed)
	require.NoError(t, viewer.p.SetTrackPreference(relayed, sfu.TrackPreference{Height: 180}))
	waitFor(t, 15*time.Second, "only the low layer crosses for a 180p tile", func() bool { return layerAtA() == sfu.LayerLow })
	require.NoError(t, viewer.p.SetTrackPreference(relayed, sfu.TrackPreference{}))
	waitFor(t, 30*time.Second, "top layer again", func() bool { return layerAtA() == sfu.LayerHigh })
}
