package protocol

import (
	"context"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// Conn is what a message handler sees of one client connection on the
// gateway. Implemented by the signaling gateway.
type Conn interface {
	// ID is the connection's participant ID, unique within the tenant for
	// the lifetime of the session (kept across resume).
	ID() string
	// Claims are the verified token of the connection.
	Claims() *auth.Claims
	// Tenant is Claims().Tenant.
	Tenant() tenant.ID
	// Joined reports whether the connection has joined room.
	Joined(room string) bool
	// Send queues an envelope for this connection only. It never blocks: a
	// connection whose bounded queue is full is closed with CodeSlowConsumer.
	Send(e *Envelope) error
}

// Handler serves the message types of one area ("chat.", "qa.", "poll.", …).
// It returns the reply payload for an "ack" (nil for an empty ack) or a
// protocol Error.
type Handler interface {
	Handle(ctx context.Context, c Conn, e *Envelope) (reply any, err *Error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, c Conn, e *Envelope) (any, *Error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, c Conn, e *Envelope) (any, *Error) {
	return f(ctx, c, e)
}

// RoomPublisher fans an event out to every connection that joined a room, on
// every gateway process (through the bus). Implemented by the gateway's hub;
// chat, Q&A, polls and presence publish through it.
type RoomPublisher interface {
	PublishRoom(ctx context.Context, t tenant.ID, room string, e *Envelope) error
}

// RoomObserver is told when connections join and leave rooms, so that a
// component can resume a client (replay what it missed) on join.
type RoomObserver interface {
	// OnJoin is called after c joined room; since is the last sequence the
	// client saw (0 for none). Returned envelopes are sent to c in order
	// before any live event of the room.
	OnJoin(ctx context.Context, c Conn, room string, since uint64) ([]*Envelope, *Error)
	// OnLeave is called after c left room or disconnected for good.
	OnLeave(ctx context.Context, c Conn, room string)
}
