package signaling

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/plenaryhq/plenary/internal/bus"
)

// userPattern delivers every tenant's user channels (the scheduler's
// reminders, schedule.go) to this gateway through ONE Redis pattern
// subscription, "{prefix}:t:*:user:*", instead of one bus subscription per
// user with a session here: at 20,000 users per gateway those cost 20,000
// SUBSCRIBE round trips during a join storm (serialised on the bus's
// connection, each one delaying a join) and a 1,024-slot buffer and a
// goroutine each (≈ 25 KB per connection).
//
// The bus has no pattern subscription (docs/decisions.md, "Reminders
// through one pattern subscription"), so this reads the bus's wire format
// directly: it is used only when the bus is a RedisBus and the state a
// RedisState, which cmd/plenary always points at the same Redis with the
// same prefix. With the in-process bus, the per-user feedSet is used.
//
// Delivery semantics are the bus's: best effort, messages published while
// the subscription is down (Redis restarting) are lost; go-redis
// re-subscribes the pattern on reconnect.
type userPattern struct {
	gw     *Gateway
	c      *redis.Client
	prefix string // the bus wire prefix, "{prefix}:"

	mu      sync.Mutex
	ps      *redis.PubSub // nil until started
	closed  bool
	byChan  map[bus.Channel]map[*session]struct{}
	started chan struct{}
}

// newUserPattern returns the pattern feed of gw, or nil when the gateway's
// bus and state are not both on Redis.
func newUserPattern(gw *Gateway) *userPattern {
	st, ok := gw.state.(*RedisState)
	if !ok {
		return nil
	}
	if _, ok := gw.deps.Bus.(*bus.RedisBus); !ok {
		return nil
	}
	return &userPattern{gw: gw, c: st.c, prefix: st.prefix + ":", byChan: make(map[bus.Channel]map[*session]struct{})}
}

// join adds s to the sessions of channel ch, starting the pattern
// subscription (and waiting for Redis to confirm it) on first use, so a
// reminder published after the join returns reaches s.
func (u *userPattern) join(ctx context.Context, ch bus.Channel, s *session) error {
	if err := u.start(ctx); err != nil {
		return err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	set := u.byChan[ch]
	if set == nil {
		set = make(map[*session]struct{}, 1)
		u.byChan[ch] = set
	}
	set[s] = struct{}{}
	return nil
}

// leave removes s from channel ch.
func (u *userPattern) leave(ch bus.Channel, s *session) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if set := u.byChan[ch]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(u.byChan, ch)
		}
	}
}

// start subscribes the pattern once; a failure is returned and the next
// join tries again.
func (u *userPattern) start(ctx context.Context) error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return ErrClosed
	}
	if u.ps != nil {
		u.mu.Unlock()
		return nil
	}
	u.mu.Unlock()
	// PSubscribe waits for Redis's confirmation; concurrent first joins may
	// both subscribe, and the loser closes its own.
	ps := u.c.PSubscribe(ctx, u.prefix+"t:*:user:*")
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return fmt.Errorf("subscribe user channels: %w", err)
	}
	u.mu.Lock()
	if u.ps != nil || u.closed {
		closed := u.closed
		u.mu.Unlock()
		_ = ps.Close()
		if closed {
			return ErrClosed
		}
		return nil
	}
	u.ps = ps
	u.mu.Unlock()
	metricFeeds.WithLabelValues("user").Inc()
	go u.loop(ps)
	return nil
}

// loop hands every message to the sessions of its channel.
func (u *userPattern) loop(ps *redis.PubSub) {
	defer metricFeeds.WithLabelValues("user").Dec()
	for m := range ps.Channel() {
		ch, ok := strings.CutPrefix(m.Channel, u.prefix)
		if !ok {
			continue
		}
		u.mu.Lock()
		set := u.byChan[bus.Channel(ch)]
		sessions := make([]*session, 0, len(set))
		for s := range set {
			sessions = append(sessions, s)
		}
		u.mu.Unlock()
		if len(sessions) > 0 {
			u.gw.deliverUserEvent(bus.Channel(ch), []byte(m.Payload), sessions)
		}
	}
}

// size is the number of user channels with local sessions.
func (u *userPattern) size() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.byChan)
}

// close ends the subscription. Idempotent.
func (u *userPattern) close() {
	u.mu.Lock()
	u.closed = true
	ps := u.ps
	u.mu.Unlock()
	if ps != nil {
		_ = ps.Close()
	}
}
