// Package registrytest is the conformance suite every noderegistry.Registry
// implementation must pass.
package registrytest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/noderegistry"
)

// Factory returns a fresh, empty registry for one subtest. expire makes
// the given node's heartbeat lapse (a fake clock advance for memory, a
// short real TTL wait for Redis); it returns the TTL to heartbeat with.
type Factory func(t *testing.T) (r noderegistry.Registry, shortTTL time.Duration, expire func())

// Run runs the contract against registries made by newRegistry.
func Run(t *testing.T, newRegistry Factory) {
	ctx := context.Background()
	node := func(id, region string) noderegistry.Node {
		return noderegistry.Node{
			ID: id, Region: region,
			Addrs:   noderegistry.Addresses{UDP: "10.0.0.1:7882", TCP: "10.0.0.1:7881", Relay: "10.0.0.1:7890"},
			Load:    noderegistry.Load{Tracks: 3, Subscribers: 40, PacketsPerSec: 1234.5, CPU: 0.25},
			Rooms:   map[string]int{"t1/stage": 41},
			Origins: map[string]int{"t1/stage": 2},
			Relayed: map[string][]string{"t1/hall": {"n9"}},
		}
	}

	t.Run("heartbeat get list roundtrip", func(t *testing.T) {
		r, _, _ := newRegistry(t)
		want := node("n1", "eu")
		require.NoError(t, r.Heartbeat(ctx, want, time.Minute))
		require.NoError(t, r.Heartbeat(ctx, node("n0", "us"), time.Minute))
		got, err := r.Get(ctx, "n1")
		require.NoError(t, err)
		require.False(t, got.Updated.IsZero())
		got.Updated = time.Time{}
		require.Equal(t, want, got)
		all, err := r.List(ctx)
		require.NoError(t, err)
		require.Len(t, all, 2)
		require.Equal(t, "n0", all[0].ID)
		require.Equal(t, "n1", all[1].ID)
	})

	t.Run("heartbeat replaces load and draining", func(t *testing.T) {
		r, _, _ := newRegistry(t)
		n := node("n1", "eu")
		require.NoError(t, r.Heartbeat(ctx, n, time.Minute))
		n.Load.CPU, n.Draining = 0.9, true
		require.NoError(t, r.Heartbeat(ctx, n, time.Minute))
		got, err := r.Get(ctx, "n1")
		require.NoError(t, err)
		require.True(t, got.Draining)
		require.InDelta(t, 0.9, got.Load.CPU, 1e-9)
	})

	t.Run("remove", func(t *testing.T) {
		r, _, _ := newRegistry(t)
		require.NoError(t, r.Heartbeat(ctx, node("n1", "eu"), time.Minute))
		require.NoError(t, r.Remove(ctx, "n1"))
		require.NoError(t, r.Remove(ctx, "unknown"))
		_, err := r.Get(ctx, "n1")
		require.ErrorIs(t, err, noderegistry.ErrNotFound)
		all, err := r.List(ctx)
		require.NoError(t, err)
		require.Empty(t, all)
	})

	t.Run("expiry without heartbeat", func(t *testing.T) {
		r, ttl, expire := newRegistry(t)
		require.NoError(t, r.Heartbeat(ctx, node("dead", "eu"), ttl))
		require.NoError(t, r.Heartbeat(ctx, node("alive", "eu"), time.Minute))
		expire()
		_, err := r.Get(ctx, "dead")
		require.ErrorIs(t, err, noderegistry.ErrNotFound)
		all, err := r.List(ctx)
		require.NoError(t, err)
		require.Len(t, all, 1)
		require.Equal(t, "alive", all[0].ID)
	})

	t.Run("invalid nodes rejected", func(t *testing.T) {
		r, _, _ := newRegistry(t)
		for _, n := range []noderegistry.Node{
			{ID: "", Region: "eu"},
			{ID: "a:b", Region: "eu"},
			{ID: "a*", Region: "eu"},
			{ID: "ok", Region: ""},
		} {
			require.ErrorIs(t, r.Heartbeat(ctx, n, time.Minute), noderegistry.ErrInvalidNode, fmt.Sprintf("%+v", n))
		}
		_, err := r.Get(ctx, "nope")
		require.ErrorIs(t, err, noderegistry.ErrNotFound)
	})

	t.Run("close idempotent", func(t *testing.T) {
		r, _, _ := newRegistry(t)
		c, ok := r.(noderegistry.Closer)
		if !ok {
			t.Skip("registry has no Close")
		}
		require.NoError(t, c.Close())
		require.NoError(t, c.Close())
		require.ErrorIs(t, r.Heartbeat(ctx, node("n1", "eu"), time.Minute), noderegistry.ErrClosed)
		_, err := r.List(ctx)
		require.ErrorIs(t, err, noderegistry.ErrClosed)
	})
}
