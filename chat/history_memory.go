package chat

import (
	"context"
	"fmt"
	"sync"
)

// DefaultWindow is the number of recent events a history keeps per room
// when its config leaves Window zero.
const DefaultWindow = 1000

// MemoryHistory is the in-process History: per room a counter and a ring of
// the last Window events. It is the embedded default (one process) and the
// tests' double; it forgets everything on restart, after which the service
// re-seeds counters from the archive.
type MemoryHistory struct {
	window int

	mu     sync.Mutex
	rooms  map[RoomKey]*memRoom
	closed bool
}

// memRoom is one room's counter and ring buffer.
type memRoom struct {
	head uint64   // last sequence assigned
	ring []*Event // ring[seq % len(ring)] holds event seq
	n    int      // events held, ≤ len(ring)
}

// NewMemoryHistory returns an empty history keeping window events per room
// (DefaultWindow when window ≤ 0).
func NewMemoryHistory(window int) *MemoryHistory {
	if window <= 0 {
		window = DefaultWindow
	}
	return &MemoryHistory{window: window, rooms: make(map[RoomKey]*memRoom)}
}

// Append implements History.
func (h *MemoryHistory) Append(_ context.Context, k RoomKey, ev *Event) (uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, ErrClosed
	}
	r := h.rooms[k]
	if r == nil {
		return 0, fmt.Errorf("room %s: %w", k, ErrNoSequence)
	}
	r.head++
	cp := *ev
	cp.Seq = r.head
	r.ring[r.head%uint64(len(r.ring))] = &cp
	if r.n < len(r.ring) {
		r.n++
	}
	ev.Seq = r.head
	return r.head, nil
}

// Seed implements History.
func (h *MemoryHistory) Seed(_ context.Context, k RoomKey, seq uint64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	if h.rooms[k] == nil {
		h.rooms[k] = &memRoom{head: seq, ring: make([]*Event, h.window)}
	}
	return nil
}

// Read implements History. The returned events are shared and must be
// treated as read-only.
func (h *MemoryHistory) Read(_ context.Context, k RoomKey, after uint64, limit int) ([]*Event, uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, 0, ErrClosed
	}
	r := h.rooms[k]
	if r == nil {
		return nil, 0, fmt.Errorf("room %s: %w", k, ErrNoSequence)
	}
	if limit <= 0 || after >= r.head {
		return nil, r.head, nil
	}
	oldest := r.head - uint64(r.n) + 1 // first seq still held
	from := max(after+1, oldest)
	if r.n == 0 {
		return nil, r.head, nil
	}
	cnt := min(r.head-from+1, uint64(limit))
	out := make([]*Event, 0, cnt)
	for s := from; s < from+cnt; s++ {
		out = append(out, r.ring[s%uint64(len(r.ring))])
	}
	return out, r.head, nil
}

// Close implements Closer.
func (h *MemoryHistory) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	h.rooms = nil
	return nil
}

// Compile-time checks.
var (
	_ History = (*MemoryHistory)(nil)
	_ Closer  = (*MemoryHistory)(nil)
)
