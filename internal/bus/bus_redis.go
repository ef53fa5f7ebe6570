package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisURL is the Redis used when RedisConfig.URL is empty.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// DefaultSubscribeTimeout bounds how long Subscribe waits for Redis to
// confirm a new channel when the caller's context has no deadline.
const DefaultSubscribeTimeout = 5 * time.Second

// readAhead is the go-redis buffer between the socket and the reader
// goroutine. The reader never blocks (delivery is non-blocking), so this only
// absorbs scheduling jitter.
const readAhead = 1024

// RedisConfig configures a RedisBus. Zero fields mean their defaults.
type RedisConfig struct {
	// URL locates Redis, as redis://[user:password@]host:port/db (rediss://
	// for TLS); query options such as dial_timeout are honoured. Default
	// DefaultRedisURL.
	URL string
	// Prefix is prepended (with a colon) to every channel on the wire, so
	// deployments and test runs sharing one Redis never see each other's
	// messages. Default DefaultPrefix.
	Prefix string
	// BufferSize is the per-subscription buffer in messages. Default
	// DefaultBufferSize.
	BufferSize int
	// SubscribeTimeout bounds Subscribe's wait for Redis's confirmation when
	// the caller's context has no deadline. Default DefaultSubscribeTimeout.
	SubscribeTimeout time.Duration
}

// RedisBus is the Bus backed by Redis pub/sub, for deployments with more than
// one process. Every process that publishes on a channel reaches the
// subscribers of every process connected to the same Redis with the same
// Prefix.
//
// One RedisBus holds exactly one pub/sub connection, shared by all its
// subscriptions: a channel is SUBSCRIBEd when its first local subscriber
// arrives and UNSUBSCRIBEd when its last one leaves (reference counting).
// When the connection breaks, go-redis redials (every ~100 ms while Redis is
// down) and re-subscribes every channel still in use, so subscriptions
// survive a Redis restart; messages published while it was down are lost.
// Publishes use a separate connection pool and report failures as
// ErrUnavailable.
type RedisBus struct {
	prefix     string
	bufSize    int
	subTimeout time.Duration
	log        *slog.Logger
	m          *backendMetrics

	pub *redis.Client // PUBLISH, PING
	sub *redis.Client // owns the one pub/sub connection
	ps  *redis.PubSub

	// epoch counts pub/sub connections made; the reader resets its
	// bookkeeping of in-flight UNSUBSCRIBEs when it changes, because replies
	// on a dead connection are never coming.
	epoch  atomic.Uint64
	done   chan struct{} // closed when the reader goroutine exits
	closed chan struct{} // closed by Close, wakes waiting Subscribes

	// cmdMu orders SUBSCRIBE/UNSUBSCRIBE commands with the creation and
	// deletion of topics, so the two can never be reordered for one channel.
	// Taken before mu.
	cmdMu sync.Mutex
	// mu guards the fields below; the reader takes it for each message.
	mu       sync.RWMutex
	topics   map[string]*redisTopic // by wire name
	unsubs   map[string]int         // UNSUBSCRIBEs sent and not yet confirmed, by wire name
	isClosed bool
}

// redisTopic is one channel with at least one local subscriber.
type redisTopic struct {
	subs  []*subscription // in subscription order
	ready chan struct{}   // closed once Redis confirmed the SUBSCRIBE
	// confirmed records that ready is closed.
	confirmed bool
}

// NewRedisBus connects to Redis, checks it answers PING (failing with
// ErrUnavailable if not, so a misconfigured process stops at startup) and
// starts the one reader goroutine. A nil log discards. Close releases it.
func NewRedisBus(ctx context.Context, cfg RedisConfig, log *slog.Logger) (*RedisBus, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultRedisURL
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if err := validatePrefix(cfg.Prefix); err != nil {
		return nil, err
	}
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = DefaultBufferSize
	}
	if cfg.SubscribeTimeout <= 0 {
		cfg.SubscribeTimeout = DefaultSubscribeTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pubOpts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: redis url: %w", ErrInvalidConfig, err)
	}
	subOpts, _ := redis.ParseURL(cfg.URL) // same string, cannot fail now
	if pubOpts.ClientName == "" {
		// Shows up in CLIENT LIST, which is how operators (and the tests)
		// see that one process holds one pub/sub connection.
		pubOpts.ClientName = cfg.Prefix + "-bus"
		subOpts.ClientName = cfg.Prefix + "-bus"
	}

	b := &RedisBus{
		prefix:     cfg.Prefix,
		bufSize:    cfg.BufferSize,
		subTimeout: cfg.SubscribeTimeout,
		log:        log.With("component", "bus", "backend", backendRedis, "prefix", cfg.Prefix, "addr", pubOpts.Addr),
		m:          newBackendMetrics(backendRedis),
		done:       make(chan struct{}),
		closed:     make(chan struct{}),
		topics:     make(map[string]*redisTopic),
		unsubs:     make(map[string]int),
	}
	subOpts.OnConnect = func(context.Context, *redis.Conn) error {
		// Runs under go-redis's PubSub lock: touch nothing but atomics
		// and the logger here.
		if n := b.epoch.Add(1); n > 1 {
			b.log.Info("redis pub/sub connection re-established; re-subscribing", "connection", n)
		}
		return nil
	}

	b.pub = redis.NewClient(pubOpts)
	if err := b.pub.Ping(ctx).Err(); err != nil {
		_ = b.pub.Close()
		return nil, fmt.Errorf("connect %s: %w: %w", pubOpts.Addr, ErrUnavailable, err)
	}
	b.sub = redis.NewClient(subOpts)
	b.ps = b.sub.Subscribe(ctx) // no channels yet: connects lazily
	go b.read(b.ps.ChannelWithSubscriptions(redis.WithChannelSize(readAhead)))
	b.log.Debug("bus connected")
	return b, nil
}

// Publish implements Bus. An error from Redis is returned wrapped in
// ErrUnavailable; the message may or may not have been delivered.
func (b *RedisBus) Publish(ctx context.Context, ch Channel, msg []byte) error {
	_, err := b.PublishReach(ctx, ch, msg)
	return err
}

// PublishReach implements Reacher: the count is Redis's answer to PUBLISH,
// the connections subscribed to ch (one per process, see Subscribe).
func (b *RedisBus) PublishReach(ctx context.Context, ch Channel, msg []byte) (int, error) {
	if err := ch.Validate(); err != nil {
		b.m.publishErrors.Inc()
		return 0, err
	}
	if b.closedNow() {
		b.m.publishErrors.Inc()
		return 0, fmt.Errorf("publish %s: %w", ch, ErrClosed)
	}
	n, err := b.pub.Publish(ctx, wireName(b.prefix, ch), msg).Result()
	if err != nil {
		b.m.publishErrors.Inc()
		if b.closedNow() {
			return 0, fmt.Errorf("publish %s: %w", ch, ErrClosed)
		}
		return 0, fmt.Errorf("publish %s: %w: %w", ch, ErrUnavailable, err)
	}
	b.m.published.Inc()
	return int(n), nil
}

// Subscribe implements Bus. The first local subscriber of a channel sends
// SUBSCRIBE on the shared connection and waits (bounded by ctx, or
// SubscribeTimeout when ctx has no deadline) until Redis confirms it, so a
// message published after Subscribe returns is never missed; later
// subscribers of the same channel wait for the same confirmation.
func (b *RedisBus) Subscribe(ctx context.Context, ch Channel) (Subscription, error) {
	if err := ch.Validate(); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.subTimeout)
		defer cancel()
	}
	wire := wireName(b.prefix, ch)

	b.cmdMu.Lock()
	b.mu.Lock()
	if b.isClosed {
		b.mu.Unlock()
		b.cmdMu.Unlock()
		return nil, fmt.Errorf("subscribe %s: %w", ch, ErrClosed)
	}
	t := b.topics[wire]
	created := t == nil
	if created {
		t = &redisTopic{ready: make(chan struct{})}
		b.topics[wire] = t
	}
	s := newSubscription(ch, b.bufSize, b.m, b.detach)
	t.subs = append(t.subs, s)
	b.mu.Unlock()

	if created {
		if err := b.ps.Subscribe(ctx, wire); err != nil {
			// Roll back, including go-redis's own record of the channel,
			// which it would otherwise re-subscribe on reconnect.
			b.mu.Lock()
			if b.topics[wire] == t {
				delete(b.topics, wire)
			}
			b.mu.Unlock()
			b.unsubscribeLocked(wire, false)
			b.cmdMu.Unlock()
			s.terminate()
			if b.closedNow() {
				return nil, fmt.Errorf("subscribe %s: %w", ch, ErrClosed)
			}
			return nil, fmt.Errorf("subscribe %s: %w: %w", ch, ErrUnavailable, err)
		}
	}
	b.cmdMu.Unlock()

	select {
	case <-t.ready: // already confirmed: skip the race with a done ctx below
		return s, nil
	default:
	}
	select {
	case <-t.ready:
		return s, nil
	case <-ctx.Done():
		_ = s.Close()
		return nil, fmt.Errorf("subscribe %s: waiting for redis to confirm: %w: %w", ch, ErrUnavailable, ctx.Err())
	case <-b.closed:
		_ = s.Close()
		return nil, fmt.Errorf("subscribe %s: %w", ch, ErrClosed)
	}
}

// detach removes s from its topic and unsubscribes the channel from Redis
// when s was its last local subscriber.
func (b *RedisBus) detach(s *subscription) {
	wire := wireName(b.prefix, s.ch)
	b.cmdMu.Lock()
	defer b.cmdMu.Unlock()
	b.mu.Lock()
	t := b.topics[wire]
	if b.isClosed || t == nil {
		b.mu.Unlock()
		return
	}
	if i := slices.Index(t.subs, s); i >= 0 {
		t.subs = slices.Delete(t.subs, i, i+1)
	}
	last := len(t.subs) == 0
	if last {
		delete(b.topics, wire)
	}
	b.mu.Unlock()
	if last {
		b.unsubscribeLocked(wire, true)
	}
}

// unsubscribeLocked sends UNSUBSCRIBE for wire; cmdMu must be held. When
// track is set, the command is counted as in flight until Redis confirms it
// (see confirm). A failure is only logged: go-redis has already forgotten
// the channel, so it is not re-subscribed when the connection comes back.
func (b *RedisBus) unsubscribeLocked(wire string, track bool) {
	if track {
		b.mu.Lock()
		b.unsubs[wire]++
		b.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.subTimeout)
	defer cancel()
	if err := b.ps.Unsubscribe(ctx, wire); err != nil {
		if track {
			b.mu.Lock()
			b.unconfirm(wire)
			b.mu.Unlock()
		}
		if !b.closedNow() && track {
			b.log.Warn("redis unsubscribe failed; dropped locally", "channel", wire, "err", err)
		}
	}
}

// unconfirm forgets one in-flight UNSUBSCRIBE of wire; mu must be held.
func (b *RedisBus) unconfirm(wire string) {
	if n := b.unsubs[wire]; n > 1 {
		b.unsubs[wire] = n - 1
	} else {
		delete(b.unsubs, wire)
	}
}

// read is the one goroutine that drains the pub/sub connection: it fans
// messages out to local subscriptions (never blocking, see deliver) and
// tracks subscription confirmations. It exits when the PubSub is closed.
func (b *RedisBus) read(msgs <-chan any) {
	defer close(b.done)
	var epoch uint64
	for m := range msgs {
		switch m := m.(type) {
		case *redis.Message:
			b.dispatch(m.Channel, m.Payload)
		case *redis.Subscription:
			if e := b.epoch.Load(); e != epoch {
				epoch = e
				b.mu.Lock()
				clear(b.unsubs) // their replies died with the old connection
				b.mu.Unlock()
			}
			b.confirm(m)
		}
	}
}

// dispatch delivers one payload to every local subscriber of wire. The byte
// slice is shared between them.
//
// A topic whose SUBSCRIBE is not yet confirmed gets nothing: such a message
// was sent by Redis ahead of the confirmation, for an earlier incarnation of
// the channel whose UNSUBSCRIBE was still in flight, i.e. it was published
// before any current subscriber's Subscribe returned.
func (b *RedisBus) dispatch(wire, payload string) {
	msg := []byte(payload)
	b.mu.RLock()
	defer b.mu.RUnlock()
	if t := b.topics[wire]; t != nil && t.confirmed {
		for _, s := range t.subs {
			s.deliver(msg)
		}
	}
}

// confirm handles a subscribe/unsubscribe reply. A "subscribe" reply marks
// the topic ready only when no UNSUBSCRIBE of the same channel is still in
// flight: replies arrive in command order on the one connection, so until
// then the reply may belong to an earlier incarnation of the channel.
func (b *RedisBus) confirm(m *redis.Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch m.Kind {
	case "unsubscribe":
		b.unconfirm(m.Channel)
	case "subscribe":
		if b.unsubs[m.Channel] > 0 {
			return
		}
		if t := b.topics[m.Channel]; t != nil && !t.confirmed {
			t.confirmed = true
			close(t.ready)
		}
	}
}

// Ping implements Pinger: both the publish pool and the shared pub/sub
// connection must answer.
func (b *RedisBus) Ping(ctx context.Context) error {
	if b.closedNow() {
		return ErrClosed
	}
	if err := b.pub.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping: %w: %w", ErrUnavailable, err)
	}
	if err := b.ps.Ping(ctx); err != nil {
		return fmt.Errorf("ping pub/sub connection: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// Close implements Closer: it closes every subscription, the pub/sub
// connection and the publish pool, and waits for the reader to exit.
// Idempotent.
func (b *RedisBus) Close() error {
	b.cmdMu.Lock()
	b.mu.Lock()
	if b.isClosed {
		b.mu.Unlock()
		b.cmdMu.Unlock()
		return nil
	}
	b.isClosed = true
	topics := b.topics
	b.topics = nil
	b.mu.Unlock()
	close(b.closed)
	b.cmdMu.Unlock()

	errPS := b.ps.Close()
	<-b.done
	for _, t := range topics {
		for _, s := range t.subs {
			s.terminate()
		}
	}
	err := errors.Join(errPS, b.sub.Close(), b.pub.Close())
	b.log.Debug("bus closed")
	return err
}

// closedNow reports whether Close has started.
func (b *RedisBus) closedNow() bool {
	select {
	case <-b.closed:
		return true
	default:
		return false
	}
}
