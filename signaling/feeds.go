package signaling

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/plenaryhq/plenary/internal/bus"
)

// feedSet shares one bus subscription per key among the local members that
// need it: one subscription per user with sessions on this gateway (their
// reminders), one per tenant with rooms on this gateway (its scheduler
// events). The first member subscribes, the last one to leave closes the
// subscription, exactly as rooms do in the hub. Every message is handed to
// handle on the feed's own goroutine.
type feedSet[K comparable] struct {
	gw     *Gateway
	kind   string // metric label: "user" or "tenant"
	handle func(k K, msg []byte)

	mu     sync.Mutex
	feeds  map[K]*feed
	closed bool
}

// feed is one subscription of a feedSet.
type feed struct {
	ch bus.Channel
	// ready is closed once the subscription is up (or failed: err set).
	ready chan struct{}
	err   error
	sub   bus.Subscription
	// members are the sessions or rooms that need the feed; guarded by
	// feedSet.mu. The feed lives while it has members.
	members map[any]struct{}
}

// newFeedSet returns an empty set whose messages go to handle.
func newFeedSet[K comparable](gw *Gateway, kind string, handle func(K, []byte)) *feedSet[K] {
	return &feedSet[K]{gw: gw, kind: kind, handle: handle, feeds: make(map[K]*feed)}
}

// join adds member to the feed of k (on channel ch), subscribing when it is
// the first, and waits until the subscription is up. On error the member is
// not added. Joining twice is harmless.
func (fs *feedSet[K]) join(ctx context.Context, k K, ch bus.Channel, member any) error {
	fs.mu.Lock()
	if fs.closed {
		fs.mu.Unlock()
		return ErrClosed
	}
	f := fs.feeds[k]
	if f == nil {
		f = &feed{ch: ch, ready: make(chan struct{}), members: make(map[any]struct{})}
		fs.feeds[k] = f
		go fs.subscribe(k, f)
	}
	f.members[member] = struct{}{}
	fs.mu.Unlock()
	select {
	case <-f.ready:
	case <-ctx.Done():
		fs.leave(k, member)
		return ctx.Err()
	}
	if f.err != nil {
		fs.leave(k, member)
		return f.err
	}
	return nil
}

// leave removes member from the feed of k; the last member closes the
// subscription. Leaving a feed one is not in is a no-op.
func (fs *feedSet[K]) leave(k K, member any) {
	fs.mu.Lock()
	f := fs.feeds[k]
	if f == nil {
		fs.mu.Unlock()
		return
	}
	if _, ok := f.members[member]; !ok {
		fs.mu.Unlock()
		return
	}
	delete(f.members, member)
	last := len(f.members) == 0
	if last {
		delete(fs.feeds, k)
	}
	fs.mu.Unlock()
	if last {
		go fs.stop(f) // waits for the subscription attempt; never blocks the caller
	}
}

// members returns the current members of the feed of k.
func (fs *feedSet[K]) members(k K) []any {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.feeds[k]
	if f == nil {
		return nil
	}
	out := make([]any, 0, len(f.members))
	for m := range f.members {
		out = append(out, m)
	}
	return out
}

// size is the number of live feeds (tests, metrics).
func (fs *feedSet[K]) size() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.feeds)
}

// subscribe opens f's subscription and delivers its messages until it is
// closed.
func (fs *feedSet[K]) subscribe(k K, f *feed) {
	ctx, cancel := context.WithTimeout(fs.gw.ctx, 10*time.Second)
	sub, err := fs.gw.deps.Bus.Subscribe(ctx, f.ch)
	cancel()
	if err != nil {
		f.err = fmt.Errorf("subscribe %s: %w", f.ch, err)
		close(f.ready)
		return
	}
	f.sub = sub
	close(f.ready)
	metricFeeds.WithLabelValues(fs.kind).Inc()
	defer metricFeeds.WithLabelValues(fs.kind).Dec()
	for msg := range sub.C() {
		fs.handle(k, msg)
	}
}

// stop closes a feed that lost its last member.
func (fs *feedSet[K]) stop(f *feed) {
	<-f.ready
	if f.sub != nil {
		_ = f.sub.Close()
	}
}

// close stops every feed and refuses new ones. Idempotent.
func (fs *feedSet[K]) close() {
	fs.mu.Lock()
	fs.closed = true
	all := make([]*feed, 0, len(fs.feeds))
	for k, f := range fs.feeds {
		all = append(all, f)
		delete(fs.feeds, k)
	}
	fs.mu.Unlock()
	for _, f := range all {
		fs.stop(f)
	}
}
