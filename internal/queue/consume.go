package queue

import (
	"context"
	"errors"
	"sync"
)

// consumerGate is the part of a queue that admits Consume calls: both
// backends refuse them after Close, count them so that Close can wait for
// them, and end their context when the queue stops.
type consumerGate struct {
	mu        *sync.Mutex     // guards closed
	closed    *bool           // set by Close
	consumers *sync.WaitGroup // one per running Consume
	stop      <-chan struct{} // closed by Close
}

// begin checks a Consume call's arguments and admits it. On success it
// returns a context that ends with ctx or when the queue stops, opts with
// their defaults, and done, which the caller must call (deferred) when the
// consumer has finished.
func (g consumerGate) begin(ctx context.Context, queue string, h Handler, opts ConsumeOptions) (context.Context, ConsumeOptions, func(), error) {
	if h == nil {
		return nil, opts, nil, errors.New("queue: nil handler")
	}
	if err := ValidQueueName(queue); err != nil {
		return nil, opts, nil, err
	}
	g.mu.Lock()
	if *g.closed {
		g.mu.Unlock()
		return nil, opts, nil, ErrClosed
	}
	g.consumers.Add(1)
	g.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-g.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	done := func() {
		cancel()
		g.consumers.Done()
	}
	return ctx, opts.withDefaults(), done, nil
}

// gate admits the MemoryQueue's consumers.
func (q *MemoryQueue) gate() consumerGate {
	return consumerGate{mu: &q.mu, closed: &q.closed, consumers: &q.consumers, stop: q.stop}
}

// gate admits the RabbitQueue's consumers.
func (q *RabbitQueue) gate() consumerGate {
	return consumerGate{mu: &q.mu, closed: &q.closed, consumers: &q.consumers, stop: q.stop}
}
