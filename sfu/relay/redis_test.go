package relay_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/sfu/relay"
)

// redisBus connects one node's bus to the shared test Redis under prefix,
// skipping (failing under CI=true) when Redis is unreachable.
func redisBus(t *testing.T, prefix string) *bus.RedisBus {
	t.Helper()
	u := os.Getenv("PLENARY_TEST_REDIS_URL")
	if u == "" {
		u = bus.DefaultRedisURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, err := bus.NewRedisBus(ctx, bus.RedisConfig{URL: u, Prefix: prefix}, testLogger())
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and redis missing: %v", err)
		}
		t.Skipf("skipping: redis unreachable: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// TestRelayOverRedisBus signals the link through Redis pub/sub, each node
// with its own connection, as separate processes would.
func TestRelayOverRedisBus(t *testing.T) {
	var rb [6]byte
	_, _ = rand.Read(rb[:])
	prefix := "plenarytest-relay-" + hex.EncodeToString(rb[:])
	ctx := context.Background()
	sA, sB := newNode(t), newNode(t)
	nA, err := relay.New(ctx, relay.Config{NodeID: "redis-a", API: loopbackAPI(t)}, sA, redisBus(t, prefix), testLogger())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nA.Close() })
	nB, err := relay.New(ctx, relay.Config{NodeID: "redis-b", API: loopbackAPI(t)}, sB, redisBus(t, prefix), testLogger())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nB.Close() })

	const room = sfu.RoomID("redis-room")
	pub := joinClient(t, sA, room, "speaker", sfu.JoinOptions{})
	pub.publishVideo()
	link, err := nB.Link(ctx, "redis-a", testTenant, room)
	require.NoError(t, err)
	t.Cleanup(func() { _ = link.Close() })
	for i := range 2 {
		c := joinClient(t, sB, room, sfu.ParticipantID(fmt.Sprintf("viewer-%d", i)), sfu.JoinOptions{AutoSubscribe: true})
		waitFor(t, 15*time.Second, "viewer decodes", func() bool { return c.keyframe.Load() && c.packets.Load() > 60 })
	}
	require.Equal(t, 1, nA.OriginTracks())
}
