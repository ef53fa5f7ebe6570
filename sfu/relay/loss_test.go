package relay_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/sfu/relay"
)

// lossyNet drops a fraction of the SRTP/SRTCP datagrams its UDP sockets
// receive (first byte 128..191, RFC 7983); ICE and DTLS pass untouched.
type lossyNet struct {
	*stdnet.Net
	loss float64
}

// ListenUDP wraps the socket in a lossy reader.
func (n *lossyNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return &lossyConn{UDPConn: c, loss: n.loss}, nil
}

// lossyConn drops received media datagrams with probability loss.
type lossyConn struct {
	transport.UDPConn
	loss float64
}

func (c *lossyConn) drop(b []byte, n int) bool {
	return n > 0 && b[0] >= 128 && b[0] <= 191 && rand.Float64() < c.loss
}

// ReadFrom implements net.PacketConn.
func (c *lossyConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.UDPConn.ReadFrom(b)
		if err != nil || !c.drop(b, n) {
			return n, a, err
		}
	}
}

// ReadFromUDP implements transport.UDPConn.
func (c *lossyConn) ReadFromUDP(b []byte) (int, *net.UDPAddr, error) {
	for {
		n, a, err := c.UDPConn.ReadFromUDP(b)
		if err != nil || !c.drop(b, n) {
			return n, a, err
		}
	}
}

// lossyAPI is loopbackAPI over a lossy network.
func lossyAPI(t *testing.T, loss float64) *webrtc.API {
	t.Helper()
	std, err := stdnet.NewNet()
	require.NoError(t, err)
	me := &webrtc.MediaEngine{}
	require.NoError(t, me.RegisterDefaultCodecs())
	reg := &interceptor.Registry{}
	require.NoError(t, webrtc.RegisterDefaultInterceptors(me, reg))
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(0)
	se.SetNet(&lossyNet{Net: std, loss: loss})
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
}

// TestRelayLossRepairedByNACK drops 3% of the media arriving on the relay
// link; NACKs to the origin repair it so subscribers on the edge see less
// than 0.5% residual loss.
func TestRelayLossRepairedByNACK(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 12 s of media")
	}
	ctx := context.Background()
	b := bus.NewMemoryBus(bus.MemoryConfig{}, testLogger())
	t.Cleanup(func() { _ = b.Close() })
	sA, sB := newNode(t), newNode(t)
	nA, err := relay.New(ctx, relay.Config{NodeID: "loss-a", API: loopbackAPI(t)}, sA, b, testLogger())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nA.Close() })
	nB, err := relay.New(ctx, relay.Config{NodeID: "loss-b", API: lossyAPI(t, 0.03), LoopbackAPI: loopbackAPI(t)}, sB, b, testLogger())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nB.Close() })

	const room = sfu.RoomID("lossy")
	pub := joinClient(t, sA, room, "speaker", sfu.JoinOptions{})
	pub.publishVideo()
	link, err := nB.Link(ctx, "loss-a", testTenant, room)
	require.NoError(t, err)
	t.Cleanup(func() { _ = link.Close() })
	sub := joinClient(t, sB, room, "viewer", sfu.JoinOptions{AutoSubscribe: true})
	waitFor(t, 15*time.Second, "viewer decodes", func() bool { return sub.keyframe.Load() && sub.packets.Load() > 60 })

	// 30 fps × 3 packets: ~1,080 packets in 12 s, ~32 dropped on the
	// link. Long enough that a couple of late repairs on a loaded machine
	// do not decide the ratio (test/cascade measures 13,000+ packets).
	deadline := time.Now().Add(12 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	lost, total := sub.residualLoss(30)
	q := link.Quality()
	t.Logf("link: %+v; subscriber residual %d/%d", q, lost, total)
	require.Greater(t, q.PacketsLost, int64(0), "the link saw loss")
	require.Greater(t, total, int64(600))
	require.Less(t, float64(lost)/float64(total), 0.005, fmt.Sprintf("residual loss %d/%d", lost, total))
}
