package relay_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/noderegistry"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/sfu/relay"
)

// autoNode is one SFU node with its relay endpoint heartbeating its
// presence into reg and running Auto.
func autoNode(t *testing.T, b bus.Bus, reg noderegistry.Registry, id, region string) (*sfu.SFU, *relay.Node) {
	t.Helper()
	s := newNode(t)
	n, err := relay.New(context.Background(), relay.Config{NodeID: id, Region: region, API: loopbackAPI(t)}, s, b, testLogger())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		_ = noderegistry.Heartbeat(ctx, reg, 100*time.Millisecond, time.Second, func() noderegistry.Node {
			rooms, origins, relayed := n.Presence()
			return noderegistry.Node{ID: id, Region: region, Rooms: rooms, Origins: origins, Relayed: relayed}
		}, testLogger())
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		_ = n.Auto(ctx, reg, relay.AutoOptions{Interval: 100 * time.Millisecond, Linger: 300 * time.Millisecond})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		_ = n.Close()
	})
	return s, n
}

// TestAutoOnDemandAndChain runs three nodes: "a1" in region a with the
// publisher, "b1" and "b2" in region b with one viewer each. Nobody calls
// Link: b1 (the hub of region b, lowest ID) links to a1 on demand, b2
// chains through b1, so exactly one stream crosses from region a to region
// b; both viewers decode. When the viewers leave, the links close.
func TestAutoOnDemandAndChain(t *testing.T) {
	b := bus.NewMemoryBus(bus.MemoryConfig{}, testLogger())
	t.Cleanup(func() { _ = b.Close() })
	reg := noderegistry.NewMemoryRegistry(nil)
	t.Cleanup(func() { _ = reg.Close() })
	sA, nA := autoNode(t, b, reg, "a1", "a")
	sB1, nB1 := autoNode(t, b, reg, "b1", "b")
	sB2, nB2 := autoNode(t, b, reg, "b2", "b")

	const room = sfu.RoomID("stage")
	pub := joinClient(t, sA, room, "speaker", sfu.JoinOptions{})
	pub.publishVideo()
	// No link while nobody in region b watches.
	time.Sleep(500 * time.Millisecond)
	require.Zero(t, nA.OriginLinks(), "no demand, no link")

	v2 := joinClient(t, sB2, room, "viewer-2", sfu.JoinOptions{AutoSubscribe: true})
	v1 := joinClient(t, sB1, room, "viewer-1", sfu.JoinOptions{AutoSubscribe: true})
	for _, c := range []*client{v1, v2} {
		waitFor(t, 20*time.Second, "viewer decodes", func() bool { return c.keyframe.Load() && c.packets.Load() > 60 })
	}
	require.Equal(t, 1, nA.OriginLinks(), "one link leaves region a")
	require.Equal(t, 1, nA.OriginTracks(), "one stream per track leaves region a")
	require.Equal(t, 1, nB1.OriginTracks(), "the hub relays the track on to b2")
	links := nB2.AutoLinks()
	require.Len(t, links, 1)
	require.Equal(t, "b1", links[0].Origin(), "b2 chains through its regional hub")
	require.Equal(t, "a1", links[0].Root())
	require.Len(t, nB1.AutoLinks(), 1)
	require.Equal(t, "a1", nB1.AutoLinks()[0].Origin())

	// The hub never sends a track back where it came from, and b2's copy
	// of a1's track is not offered upstream again: a1 opened no link.
	require.Empty(t, nA.AutoLinks())

	v1.close()
	v2.close()
	waitFor(t, 15*time.Second, "links closed once nobody watches", func() bool {
		return nA.OriginLinks() == 0 && nB1.OriginLinks() == 0 && len(nB2.AutoLinks()) == 0
	})
}

// TestAutoSkipsHubGoneFromBus: region b's hub by ID, "b1", is listed with
// a fresh heartbeat but has no relay endpoint on the bus (a node killed a
// moment ago: its registry entry outlives it by seconds). b2's join to it
// reaches nobody, so b2 stops electing it and links to the origin a1
// directly: its viewer decodes while b1 still looks alive in the registry
// (before the bus told absence apart, b2 chained through b1 until its
// entry went stale).
func TestAutoSkipsHubGoneFromBus(t *testing.T) {
	b := bus.NewMemoryBus(bus.MemoryConfig{}, testLogger())
	t.Cleanup(func() { _ = b.Close() })
	reg := noderegistry.NewMemoryRegistry(nil)
	t.Cleanup(func() { _ = reg.Close() })
	sA, _ := autoNode(t, b, reg, "a1", "a")
	ctx, cancel := context.WithCancel(context.Background())
	ghost := make(chan struct{})
	go func() {
		defer close(ghost)
		_ = noderegistry.Heartbeat(ctx, reg, 100*time.Millisecond, time.Second, func() noderegistry.Node {
			return noderegistry.Node{ID: "b1", Region: "b"}
		}, testLogger())
	}()
	t.Cleanup(func() { cancel(); <-ghost })
	sB2, nB2 := autoNode(t, b, reg, "b2", "b")

	const room = sfu.RoomID("stage")
	pub := joinClient(t, sA, room, "speaker", sfu.JoinOptions{})
	pub.publishVideo()
	v := joinClient(t, sB2, room, "viewer", sfu.JoinOptions{AutoSubscribe: true})
	waitFor(t, 20*time.Second, "the viewer on b2 decodes", func() bool { return v.keyframe.Load() && v.packets.Load() > 60 })
	links := nB2.AutoLinks()
	require.Len(t, links, 1)
	require.Equal(t, "a1", links[0].Origin(), "b2 links to the origin, not through the absent hub")
}
