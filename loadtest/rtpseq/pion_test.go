package rtpseq

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

// loopbackAPI is a Pion API that gathers loopback UDP candidates only.
func loopbackAPI(t *testing.T) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	require.NoError(t, me.RegisterDefaultCodecs())
	reg := &interceptor.Registry{}
	require.NoError(t, webrtc.RegisterDefaultInterceptors(me, reg))
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(0)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
}

// TestPionLoopbackEveryOtherPacket sends a VP8 stream between two Pion peer
// connections on loopback, dropping every other packet at the sender (the
// sequence numbers still advance, as when a network drops them): the
// receiving tracker must report about 50% loss. NACKs cannot recover
// packets that were never sent, so the loss stays.
func TestPionLoopbackEveryOtherPacket(t *testing.T) {
	api := loopbackAPI(t)
	send, err := api.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	defer func() { _ = send.Close() }()
	recv, err := api.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	defer func() { _ = recv.Close() }()

	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "v", "s")
	require.NoError(t, err)
	sender, err := send.AddTrack(track)
	require.NoError(t, err)
	go func() { // drain RTCP so interceptors run
		for {
			if _, _, err := sender.ReadRTCP(); err != nil {
				return
			}
		}
	}()

	tr := New(90000, 200*time.Millisecond)
	got := make(chan struct{})
	recv.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		defer close(got)
		for {
			p, _, err := remote.ReadRTP()
			if err != nil {
				return
			}
			sent := time.Unix(0, int64(binary.BigEndian.Uint64(p.Payload[4:12])))
			tr.Push(p.SequenceNumber, p.Timestamp, time.Now(), sent)
			if p.Marker { // the last packet
				return
			}
		}
	})

	connected := make(chan struct{})
	send.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			close(connected)
		}
	})
	require.NoError(t, signal(send, recv))
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("peer connections did not connect")
	}

	const n = 1001
	payload := make([]byte, 200)
	payload[0] = 0x10 // VP8 descriptor: S=1, PID=0
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < n; i++ {
		<-tick.C
		if i%2 == 1 {
			continue // dropped "on the network"
		}
		binary.BigEndian.PutUint64(payload[4:12], uint64(time.Now().UnixNano()))
		h := rtp.Header{Version: 2, SequenceNumber: uint16(60000 + i), Timestamp: uint32(i) * 180, Marker: i == n-1}
		require.NoError(t, track.WriteRTP(&rtp.Packet{Header: h, Payload: payload}))
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the last packet did not arrive")
	}
	s := tr.Stats()
	t.Logf("stats: %+v loss %.1f%%", s, s.LossPct())
	require.Greater(t, s.Expected, uint64(n/2), "most of the stream was tracked (wrap-around at 65536 included)")
	require.InDelta(t, 50, s.LossPct(), 5, "a subscriber receiving half its packets shows ~50%% loss")
	require.Equal(t, s.Expected, s.OnTime+s.Late+s.Lost)
}

// signal runs offer/answer between a and b with complete ICE gathering.
func signal(a, b *webrtc.PeerConnection) error {
	offer, err := a.CreateOffer(nil)
	if err != nil {
		return err
	}
	done := webrtc.GatheringCompletePromise(a)
	if err := a.SetLocalDescription(offer); err != nil {
		return err
	}
	<-done
	if err := b.SetRemoteDescription(*a.LocalDescription()); err != nil {
		return err
	}
	answer, err := b.CreateAnswer(nil)
	if err != nil {
		return err
	}
	done = webrtc.GatheringCompletePromise(b)
	if err := b.SetLocalDescription(answer); err != nil {
		return err
	}
	<-done
	return a.SetRemoteDescription(*b.LocalDescription())
}
