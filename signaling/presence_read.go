package signaling

import (
	"context"
	"sync"
	"time"
)

// presenceReadTimeout bounds one shared read of a room's presence records.
const presenceReadTimeout = 10 * time.Second

// presenceReadSpacing is the least time between the starts of two reads of
// one room while joins keep arriving. Without it a join storm in a big room
// reads back to back: each read of 20,000 records takes tens of
// milliseconds of Redis and gateway CPU, and the next one starts at once.
// Joins wait at most this much longer; the work per second is bounded.
// Each record of the previous read adds presenceReadPerRecord, so the
// reads of a 20,000-member room (3 MB from Redis, 20,000 map entries)
// happen about twice a second, not twenty times.
const (
	presenceReadSpacing   = 50 * time.Millisecond
	presenceReadPerRecord = 20 * time.Microsecond
)

// presenceReader coalesces the presence reads of a room's joins. Reading the
// whole presence hash costs O(members) on the state backend and in the
// decoder, so a join storm in which every join read it on its own did
// O(members²) work and stalled the shared Redis (and with it the bus). Here,
// callers that arrive while a read is running all share the NEXT read, which
// starts when the running one ends: at most one read per room is in flight,
// and every caller still gets a snapshot taken after it asked, so a member
// registered before calling sees every participant whose presence.join it
// did not receive as an event.
type presenceReader struct {
	// fetch performs one read.
	fetch func(ctx context.Context) ([]Record, error)

	mu      sync.Mutex
	running bool          // a read loop goroutine is active
	next    *presenceRead // the read the next callers wait for; not started yet
}

// presenceRead is one shared read and its result. recs is shared by every
// caller and must be treated as read-only.
type presenceRead struct {
	done chan struct{}
	recs []Record
	err  error
	// waiters counts the callers sharing the read; guarded by
	// presenceReader.mu until the read starts.
	waiters int
}

// read returns a snapshot of the room's records taken after the call began.
// ctx bounds only the wait; an abandoned read still completes for others.
func (p *presenceReader) read(ctx context.Context) ([]Record, error) {
	p.mu.Lock()
	if p.next == nil {
		p.next = &presenceRead{done: make(chan struct{})}
	}
	rd := p.next
	rd.waiters++
	if !p.running {
		p.running = true
		go p.loop()
	}
	p.mu.Unlock()
	select {
	case <-rd.done:
		return rd.recs, rd.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// loop runs the pending reads one after the other until none is waiting,
// starting them at least presenceReadSpacing apart.
func (p *presenceReader) loop() {
	var (
		last    time.Time
		spacing time.Duration
	)
	for {
		if wait := spacing - time.Since(last); !last.IsZero() && wait > 0 {
			time.Sleep(wait) // pacing, not synchronisation: callers wait on done
		}
		p.mu.Lock()
		rd := p.next
		p.next = nil
		if rd == nil {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		last = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), presenceReadTimeout)
		rd.recs, rd.err = p.fetch(ctx)
		cancel()
		spacing = presenceReadSpacing + time.Duration(len(rd.recs))*presenceReadPerRecord
		close(rd.done)
	}
}
