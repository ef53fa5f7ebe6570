package relay_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/metrics"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/sfu/relay"
)

// TestRelayOneStreamManySubscribers publishes on node A and subscribes five
// clients on node B: all decode (keyframe seen, RTP flowing), and exactly
// one stream per track crosses A→B.
func TestRelayOneStreamManySubscribers(t *testing.T) {
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
	pub := joinClient(t, sA, room, "speaker", sfu.JoinOptions{})
	sent := pub.publishVideo()

	link, err := nB.Link(ctx, "node-a", testTenant, room)
	require.NoError(t, err)
	t.Cleanup(func() { _ = link.Close() })

	subs := make([]*client, 5)
	for i := range subs {
		subs[i] = joinClient(t, sB, room, sfu.ParticipantID(fmt.Sprintf("viewer-%d", i)), sfu.JoinOptions{AutoSubscribe: true})
	}
	for i, c := range subs {
		waitFor(t, 15*time.Second, fmt.Sprintf("viewer-%d decodes", i), func() bool {
			return c.keyframe.Load() && c.packets.Load() > 60
		})
	}

	require.Equal(t, 1, nA.OriginLinks(), "one link A→B")
	require.Equal(t, 1, nA.OriginTracks(), "one relayed stream for the one track")
	st := link.Stats()
	require.Equal(t, 1, st.Tracks)
	// Node A forwards to one subscriber only (the relay), not five: its
	// forwarded packets cannot exceed what the publisher sent.
	require.LessOrEqual(t, sA.Stats().ForwardedPackets, uint64(sent()))
	require.GreaterOrEqual(t, sB.Stats().ForwardedPackets, 5*uint64(60))
	require.Equal(t, 1.0, gaugeValue(t, "plenary_sfu_relay_tracks", map[string]string{"link": "node-a>node-b"}))
	require.Equal(t, 1.0, gaugeValue(t, "plenary_sfu_relay_links", map[string]string{"link": "node-a>node-b", "side": "origin"}))
	require.Greater(t, gaugeValue(t, "plenary_sfu_relay_packets_total", map[string]string{"link": "node-a>node-b"}), 60.0)
	waitFor(t, 10*time.Second, "RTT measured", func() bool { return link.Quality().RTT > 0 })
	t.Logf("quality %+v layers %v", link.Quality(), nA.OriginLayers())
	if r, ok := sB.LookupRoom(testTenant, room); ok {
		t.Logf("tracks on B: %+v", r.Tracks())
	}

	// Nobody left on B: dynacast pauses the track at the origin and the
	// link goes quiet.
	for _, c := range subs {
		c.close()
	}
	waitFor(t, 10*time.Second, "relay paused", func() bool {
		p1 := link.Stats().Packets
		time.Sleep(300 * time.Millisecond)
		return link.Stats().Packets == p1
	})
	// A new viewer on B resumes the track at the origin.
	late := joinClient(t, sB, room, "viewer-late", sfu.JoinOptions{AutoSubscribe: true})
	waitFor(t, 10*time.Second, "late viewer decodes", func() bool { return late.keyframe.Load() && late.packets.Load() > 30 })
	t.Logf("publisher sent %d, A forwarded %d, link received %d, B forwarded %d, PLIs up %d",
		sent(), sA.Stats().ForwardedPackets, st.Packets, sB.Stats().ForwardedPackets, st.KeyframeRequests)
}

// gaugeValue reads one sample from the process metrics registry.
func gaugeValue(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("metric %s%v not found", name, labels)
	return 0
}
