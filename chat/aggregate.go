package chat

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// coalescer runs a flush function for a key at most once per interval,
// however often the key is scheduled: 20,000 votes in a second become a
// couple of result events, not 20,000. The flush runs interval after the
// first schedule of a burst, so it sees every vote made until then.
type coalescer struct {
	interval time.Duration
	timeout  time.Duration
	log      *slog.Logger

	mu      sync.Mutex
	pending map[string]*pendingFlush
	closed  bool
	running sync.WaitGroup
}

// pendingFlush is one scheduled key.
type pendingFlush struct {
	timer *time.Timer
	fn    func(ctx context.Context)
}

func newCoalescer(interval, timeout time.Duration, log *slog.Logger) *coalescer {
	return &coalescer{interval: interval, timeout: timeout, log: log, pending: make(map[string]*pendingFlush)}
}

// schedule arranges for fn to run within interval unless key is already
// scheduled (then the earlier fn runs and this one is dropped: every fn of a
// key recomputes the same state from the store).
func (c *coalescer) schedule(key string, fn func(ctx context.Context)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if _, ok := c.pending[key]; ok {
		return
	}
	p := &pendingFlush{fn: fn}
	c.running.Add(1)
	p.timer = time.AfterFunc(c.interval, func() { c.fire(key, p) })
	c.pending[key] = p
}

// fire runs a due flush. (close only takes over flushes whose timer it
// stopped, so the check is defensive.)
func (c *coalescer) fire(key string, p *pendingFlush) {
	c.mu.Lock()
	if c.pending[key] != p {
		c.mu.Unlock()
		return
	}
	delete(c.pending, key)
	c.mu.Unlock()
	c.run(p)
}

// run calls a flush with a bounded context.
func (c *coalescer) run(p *pendingFlush) {
	defer c.running.Done()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	p.fn(ctx)
}

// close runs every pending flush now and waits for running ones; later
// schedules are ignored.
func (c *coalescer) close() {
	c.mu.Lock()
	c.closed = true
	var due []*pendingFlush
	for k, p := range c.pending {
		// A timer that already fired is left to fire, which runs it.
		if p.timer.Stop() {
			due = append(due, p)
			delete(c.pending, k)
		}
	}
	c.mu.Unlock()
	for _, p := range due {
		c.run(p)
	}
	c.running.Wait()
}
