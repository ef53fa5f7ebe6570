package relay_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/sfu/relay"
)

// TestRelayRebuild restarts the origin's relay endpoint: the edge's
// Maintain loop rebuilds the link and the subscriber decodes again.
func TestRelayRebuild(t *testing.T) {
	ctx := context.Background()
	b := bus.NewMemoryBus(bus.MemoryConfig{}, testLogger())
	t.Cleanup(func() { _ = b.Close() })
	sA, sB := newNode(t), newNode(t)
	cfgA := relay.Config{NodeID: "re-a", API: loopbackAPI(t), ConnectTimeout: time.Second}
	nA, err := relay.New(ctx, cfgA, sA, b, testLogger())
	require.NoError(t, err)
	nB, err := relay.New(ctx, relay.Config{NodeID: "re-b", API: loopbackAPI(t), ConnectTimeout: time.Second}, sB, b, testLogger())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nB.Close() })

	const room = sfu.RoomID("rebuild")
	pub := joinClient(t, sA, room, "speaker", sfu.JoinOptions{})
	pub.publishVideo()

	var mu sync.Mutex
	var links []*relay.Link
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- nB.Maintain(mctx, "re-a", testTenant, room, func(l *relay.Link) {
			mu.Lock()
			links = append(links, l)
			mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	sub := joinClient(t, sB, room, "viewer", sfu.JoinOptions{AutoSubscribe: true})
	waitFor(t, 15*time.Second, "viewer decodes", func() bool { return sub.keyframe.Load() && sub.packets.Load() > 60 })

	// Break the link: the origin endpoint goes away, then comes back.
	require.NoError(t, nA.Close())
	mu.Lock()
	first := links[0]
	mu.Unlock()
	waitFor(t, 5*time.Second, "edge notices", func() bool {
		select {
		case <-first.Done():
			return true
		default:
			return false
		}
	})
	nA2, err := relay.New(ctx, cfgA, sA, b, testLogger())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nA2.Close() })

	sub.keyframe.Store(false)
	before := sub.packets.Load()
	waitFor(t, 15*time.Second, "viewer decodes again", func() bool {
		return sub.keyframe.Load() && sub.packets.Load() > before+60
	})
	mu.Lock()
	require.GreaterOrEqual(t, len(links), 2)
	mu.Unlock()
	require.Equal(t, 1, nA2.OriginTracks())
}
