package bus

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
)

// MemoryConfig configures a MemoryBus. Zero fields mean their defaults.
type MemoryConfig struct {
	// Prefix names the bus in logs, for symmetry with RedisBus; an in-process
	// bus has no shared namespace to isolate. Default DefaultPrefix.
	Prefix string
	// BufferSize is the per-subscription buffer in messages. Default
	// DefaultBufferSize.
	BufferSize int
}

// MemoryBus is the in-process Bus, the embedded default and the test double.
// Publish delivers synchronously into each subscriber's bounded buffer, so
// messages from one publisher arrive in order, and it never blocks on a
// subscriber (see the package docs for the drop-oldest policy).
type MemoryBus struct {
	bufSize int
	log     *slog.Logger
	m       *backendMetrics

	mu     sync.RWMutex
	topics map[Channel][]*subscription // subscribers in subscription order
	closed bool
}

// NewMemoryBus returns an empty, open in-process bus. A nil log discards.
func NewMemoryBus(cfg MemoryConfig, log *slog.Logger) *MemoryBus {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = DefaultBufferSize
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &MemoryBus{
		bufSize: cfg.BufferSize,
		log:     log.With("component", "bus", "backend", backendMemory, "prefix", cfg.Prefix),
		m:       newBackendMetrics(backendMemory),
		topics:  make(map[Channel][]*subscription),
	}
}

// Publish implements Bus. It copies msg once and shares the copy between all
// subscribers.
func (b *MemoryBus) Publish(ctx context.Context, ch Channel, msg []byte) error {
	_, err := b.PublishReach(ctx, ch, msg)
	return err
}

// PublishReach implements Reacher: the count is ch's subscriptions.
func (b *MemoryBus) PublishReach(ctx context.Context, ch Channel, msg []byte) (int, error) {
	if err := b.checkPublish(ctx, ch); err != nil {
		b.m.publishErrors.Inc()
		return 0, err
	}
	cp := make([]byte, len(msg))
	copy(cp, msg)

	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		b.m.publishErrors.Inc()
		return 0, fmt.Errorf("publish %s: %w", ch, ErrClosed)
	}
	for _, s := range b.topics[ch] {
		s.deliver(cp)
	}
	b.m.published.Inc()
	return len(b.topics[ch]), nil
}

// checkPublish validates the arguments common to Publish and Subscribe.
func (b *MemoryBus) checkPublish(ctx context.Context, ch Channel) error {
	if err := ch.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bus: %s: %w", ch, err)
	}
	return nil
}

// Subscribe implements Bus. It never blocks on anything but the bus lock.
func (b *MemoryBus) Subscribe(ctx context.Context, ch Channel) (Subscription, error) {
	if err := b.checkPublish(ctx, ch); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("subscribe %s: %w", ch, ErrClosed)
	}
	s := newSubscription(ch, b.bufSize, b.m, b.detach)
	b.topics[ch] = append(b.topics[ch], s)
	return s, nil
}

// detach removes s from its topic, dropping the topic when it empties.
func (b *MemoryBus) detach(s *subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	subs := b.topics[s.ch]
	if i := slices.Index(subs, s); i >= 0 {
		subs = slices.Delete(subs, i, i+1)
	}
	if len(subs) == 0 {
		delete(b.topics, s.ch)
		return
	}
	b.topics[s.ch] = subs
}

// Ping implements Pinger: an open memory bus is always ready.
func (b *MemoryBus) Ping(context.Context) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	return nil
}

// Close implements Closer: later calls return ErrClosed and every open
// subscription's channel is closed. Idempotent.
func (b *MemoryBus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	topics := b.topics
	b.topics = nil
	b.mu.Unlock()

	for _, subs := range topics {
		for _, s := range subs {
			s.terminate()
		}
	}
	b.log.Debug("bus closed")
	return nil
}
