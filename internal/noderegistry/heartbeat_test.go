package noderegistry_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/noderegistry"
)

func TestHeartbeatLoop(t *testing.T) {
	r := noderegistry.NewMemoryRegistry(nil)
	var subs atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- noderegistry.Heartbeat(ctx, r, 10*time.Millisecond, 200*time.Millisecond, func() noderegistry.Node {
			return noderegistry.Node{ID: "n1", Region: "eu", Load: noderegistry.Load{Subscribers: int(subs.Load())}}
		}, nil)
	}()
	require.Eventually(t, func() bool { _, err := r.Get(ctx, "n1"); return err == nil }, 2*time.Second, 5*time.Millisecond)
	subs.Store(7)
	require.Eventually(t, func() bool {
		n, err := r.Get(context.Background(), "n1")
		return err == nil && n.Load.Subscribers == 7
	}, 2*time.Second, 5*time.Millisecond, "load refreshed by later beats")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	_, err := r.Get(context.Background(), "n1")
	require.ErrorIs(t, err, noderegistry.ErrNotFound, "removed on exit")
}
