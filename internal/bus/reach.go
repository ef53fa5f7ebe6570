package bus

import "context"

// Reacher is implemented by buses that know how many subscribers a message
// reached. A request-reply protocol over the bus (signaling/sfurpc,
// sfu/relay) uses it to learn at once that the process it addresses has no
// subscription any more — it exited and its connection closed, or it lost
// its connection — where otherwise it would wait out a reply timeout. A
// count of zero says only that nobody received this message: a process
// that is resubscribing after a reconnect is briefly absent too, so a
// caller that acts on absence should see it persist (see sfurpc's
// keep-alive).
type Reacher interface {
	// PublishReach is Publish, and returns how many subscribers received
	// msg: subscribed processes for RedisBus (one subscription connection
	// per process), subscriptions for MemoryBus.
	PublishReach(ctx context.Context, ch Channel, msg []byte) (int, error)
}

var (
	_ Reacher = (*MemoryBus)(nil)
	_ Reacher = (*RedisBus)(nil)
)
