package chat

import "context"

// History is a room's recent, bounded event log and the authority for its
// sequence numbers. MemoryHistory serves one process (the embedded default
// and the test double); RedisHistory serves every process connected to one
// Redis. Both pass the same conformance tests (history_test.go).
type History interface {
	// Append assigns ev the room's next sequence number and stores it,
	// atomically: no two events of a room get the same number and the
	// numbers have no holes. It sets ev.Seq and returns it. When the room's
	// counter does not exist it returns ErrNoSequence and stores nothing;
	// backend failures wrap ErrUnavailable.
	Append(ctx context.Context, k RoomKey, ev *Event) (uint64, error)

	// Seed creates the room's counter at seq if it does not exist (a
	// counter that exists is left alone, as is one below what the log
	// already holds), so the next Append returns at least seq+1.
	Seed(ctx context.Context, k RoomKey, seq uint64) error

	// Read returns up to limit events with Seq > after in ascending order,
	// and head, the last sequence number assigned. Events older than the
	// window are gone: a caller compares the first Seq with after+1 to find
	// a gap. ErrNoSequence when the room's counter does not exist.
	Read(ctx context.Context, k RoomKey, after uint64, limit int) (events []*Event, head uint64, err error)
}

// Closer is implemented by histories holding resources; find it by type
// assertion.
type Closer interface {
	// Close releases the history; idempotent.
	Close() error
}
