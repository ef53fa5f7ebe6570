package sfu

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

// TestICETCPFallback: clients that can only use TCP (a firewall that blocks
// UDP) connect to the SFU's ICE-TCP port (RFC 6544: the SFU's passive
// candidates, the clients' active ones), publish and receive media.
func TestICETCPFallback(t *testing.T) {
	s := newTestSFU(t, func(c *Config) { c.TCPPort = 0 })
	require.NotNil(t, s.TCPAddr())
	tcpOnly := clientAPIWith(t, func(se *webrtc.SettingEngine) {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
		se.SetIncludeLoopbackCandidate(true)
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	})
	pub := joinClientAPI(t, s, "room", "pub", JoinOptions{}, tcpOnly)
	sub := joinClientAPI(t, s, "room", "sub", JoinOptions{AutoSubscribe: true}, tcpOnly)
	pub.publishVideo([]layerSpec{{"", 2, 800}}, 30)
	pub.publishAudio(40)
	cam, mic := trackID("pub", "cam"), trackID("pub", "mic")
	waitFor(t, 20*time.Second, "subscriber receives audio and video over TCP", func() bool {
		return packetsOf(sub, cam) > 30 && packetsOf(sub, mic) > 30
	})

	// The publisher's and the subscriber's media connections really run
	// over TCP, to the SFU's ICE-TCP port.
	for _, c := range []struct {
		id ParticipantID
		pc *webrtc.PeerConnection
	}{{pub.id, pub.pub}, {sub.id, sub.sub}} {
		pair := selectedPair(c.pc)
		require.NotNil(t, pair, "%s: a selected candidate pair", c.id)
		require.Equal(t, webrtc.ICEProtocolTCP, pair.Local.Protocol, "%s: local candidate %s", c.id, pair.Local)
		require.Equal(t, webrtc.ICEProtocolTCP, pair.Remote.Protocol, "%s: remote candidate %s", c.id, pair.Remote)
		require.Equal(t, s.TCPAddr().String(),
			net.JoinHostPort(pair.Remote.Address, strconv.Itoa(int(pair.Remote.Port))), "%s: the SFU's ICE-TCP port", c.id)
	}
	r := sub.received(cam)
	r.mu.Lock()
	defer r.mu.Unlock()
	require.True(t, r.firstKey)
	require.Zero(t, r.backwards)
}

// selectedPair returns the ICE candidate pair pc's media runs on, or nil.
func selectedPair(pc *webrtc.PeerConnection) *webrtc.ICECandidatePair {
	for _, tr := range pc.GetTransceivers() {
		var dtls *webrtc.DTLSTransport
		if tr.Sender() != nil {
			dtls = tr.Sender().Transport()
		} else if tr.Receiver() != nil {
			dtls = tr.Receiver().Transport()
		}
		if dtls == nil {
			continue
		}
		if pair, err := dtls.ICETransport().GetSelectedCandidatePair(); err == nil && pair != nil {
			return pair
		}
	}
	return nil
}
