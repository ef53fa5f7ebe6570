package noderegistry

import (
	"context"
	"log/slog"
	"time"
)

// Heartbeat keeps one node registered until ctx ends: every interval it
// stores snapshot() with ttl (DefaultTTL when ttl <= 0; interval defaults
// to a third of it), and on exit it removes the node so others see it gone
// at once rather than after the TTL. Failed beats are logged and retried on
// the next tick, so a Redis blip costs at most one TTL of visibility. It
// returns ctx's error.
func Heartbeat(ctx context.Context, r Registry, interval, ttl time.Duration, snapshot func() Node, log *slog.Logger) error {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if interval <= 0 {
		interval = ttl / 3
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	id := ""
	beat := func() {
		n := snapshot()
		id = n.ID
		if err := r.Heartbeat(ctx, n, ttl); err != nil && ctx.Err() == nil {
			log.Warn("noderegistry: heartbeat failed", "node", n.ID, "err", err)
		}
	}
	beat()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if err := r.Remove(rctx, id); err != nil {
				log.Warn("noderegistry: deregister failed", "node", id, "err", err)
			}
			return ctx.Err()
		case <-tick.C:
			beat()
		}
	}
}
