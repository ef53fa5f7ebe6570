// Package bus is Plenary's pub/sub fan-out: signaling, chat and presence
// messages published on a channel reach every current subscriber of that
// channel, in this process (MemoryBus, the embedded default) or in every
// process connected to the same Redis (RedisBus, production).
//
// Delivery is at-most-once and best-effort, like Redis pub/sub itself: a
// subscriber receives the messages published after its Subscribe returned,
// in publish order per publisher, until it closes. Messages published while a
// Redis connection is down are lost; layers that need gap-free delivery (chat)
// carry their own sequence numbers and fill gaps from history.
//
// # Slow subscribers
//
// Every subscription has a bounded buffer (BufferSize messages, default
// DefaultBufferSize). Publishers never wait for subscribers: when a buffer is
// full, the OLDEST buffered message is dropped to make room for the new one,
// and plenary_bus_dropped_total is incremented. A slow subscriber therefore
// sees a gap but always the freshest messages (the latest presence, the latest
// active speaker), and one stalled consumer can never stall a room. Consumers
// that cannot tolerate a gap detect it by sequence number and resynchronise.
//
// # Channels and tenants
//
// Every Channel carries a tenant or the explicit system scope (see
// TenantChannel and SystemChannel), and each backend prefixes it with a
// configurable key prefix so test runs and deployments sharing one Redis stay
// apart.
package bus

import "context"

// DefaultPrefix is the wire prefix used when a config leaves Prefix empty.
const DefaultPrefix = "plenary"

// DefaultBufferSize is the per-subscription buffer used when a config leaves
// BufferSize zero.
const DefaultBufferSize = 1024

// Bus publishes messages to channels and subscribes to them.
type Bus interface {
	// Publish sends msg to every current subscriber of ch. It returns once
	// the message has been handed to the backend; it never waits for
	// subscribers. msg may be reused by the caller after Publish returns.
	// Errors: ErrInvalidChannel, ErrClosed, ErrUnavailable (wrapped with the
	// cause), or the context's error.
	Publish(ctx context.Context, ch Channel, msg []byte) error

	// Subscribe starts receiving messages published on ch. When it returns
	// without error, every message published afterwards is delivered (subject
	// to the slow-subscriber policy). ctx bounds only the Subscribe call itself;
	// the subscription lives until its Close or the bus's Close.
	Subscribe(ctx context.Context, ch Channel) (Subscription, error)
}

// Subscription is one subscriber's view of one channel.
type Subscription interface {
	// C returns the channel messages arrive on, in publish order per
	// publisher. It is closed after Close, or when the bus is closed. A
	// delivered slice is shared with other subscribers in this process and
	// must be treated as read-only.
	C() <-chan []byte

	// Close stops delivery and closes C. It is idempotent and always returns
	// nil today; the error is there for backends that may report one.
	Close() error
}

// Closer is implemented by buses that hold resources (connections,
// goroutines). Find it by type assertion at shutdown.
type Closer interface {
	// Close releases the bus; later Publish and Subscribe calls return
	// ErrClosed and every open subscription's channel is closed. Idempotent.
	Close() error
}

// Pinger is implemented by buses whose backend can be unreachable. Readiness
// probes find it by type assertion.
type Pinger interface {
	// Ping returns nil when the bus can publish and receive right now, and an
	// error wrapping ErrUnavailable (or ErrClosed) when it cannot.
	Ping(ctx context.Context) error
}

// Compile-time checks that both implementations satisfy the interfaces.
var (
	_ Bus    = (*MemoryBus)(nil)
	_ Bus    = (*RedisBus)(nil)
	_ Closer = (*MemoryBus)(nil)
	_ Closer = (*RedisBus)(nil)
	_ Pinger = (*MemoryBus)(nil)
	_ Pinger = (*RedisBus)(nil)
)
