package client

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/plenaryhq/plenary/internal/protocol"
)

// DefaultGapTimeout is how long an out-of-order room event waits for the
// events before it when Options.GapTimeout is zero.
const DefaultGapTimeout = time.Second

// Room events carry a per-room sequence number (chat, Q&A, polls). Two
// gateway processes publish a room's events independently, so a client can
// receive seq 11 before seq 10 (docs/protocol-chat.md, "Ordering"). The
// client therefore delivers a room's sequenced events in sequence order,
// once each:
//
//   - the room's position is learnt from chat.sync (the end of a join's
//     replay); before that, events pass through as received;
//   - an event at the next sequence is delivered at once, with any held
//     events that follow it; an event at or below the position is a
//     duplicate and dropped; an event further ahead is held;
//   - when a hole persists for Options.GapTimeout, the client asks the
//     server for the missing events (chat.replay since its position) and
//     delivers them with the held ones; what the server no longer has
//     (the replay says so) is skipped, so one lost event never stalls a
//     room.
//
// Unsequenced events (seq 0: presence, replies) are never held.

// ordering is the per-room sequencing state of a Client.
type ordering struct {
	// mu is held while events are ordered and handed to the Events channel,
	// so that the reader and a gap replay never interleave deliveries.
	mu    sync.Mutex
	rooms map[string]*roomOrder
}

// roomOrder is one room's position and held events.
type roomOrder struct {
	last      uint64                        // highest sequence delivered
	held      map[uint64]*protocol.Envelope // received ahead of last+1
	timer     *time.Timer                   // gap timer, while held is not empty
	replaying bool                          // a gap replay request is running
}

// gapTimeout is the configured timeout; negative disables ordering.
func (c *Client) gapTimeout() time.Duration {
	if c.opts.GapTimeout == 0 {
		return DefaultGapTimeout
	}
	return c.opts.GapTimeout
}

// deliver hands a server event to Events, ordering sequenced room events.
func (c *Client) deliver(e *protocol.Envelope) {
	if c.gapTimeout() < 0 || e.Room == "" || (e.Seq == 0 && e.Type != "chat.sync") {
		c.events <- e
		return
	}
	o := &c.order
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.rooms == nil {
		o.rooms = make(map[string]*roomOrder)
	}
	r := o.rooms[e.Room]
	if e.Type == "chat.sync" {
		var d struct {
			Head uint64 `json:"head"`
		}
		if json.Unmarshal(e.Data, &d) == nil {
			if r == nil {
				r = &roomOrder{held: make(map[uint64]*protocol.Envelope)}
				o.rooms[e.Room] = r
			}
			// The replay ends at head: that is the position now (a
			// re-join may start from a different one).
			r.last = d.Head
			for s := range r.held {
				if s <= d.Head {
					delete(r.held, s)
				}
			}
		}
		c.events <- e
		if r != nil {
			c.drainLocked(e.Room, r)
		}
		return
	}
	if r == nil { // no chat.sync seen for the room: nothing to order against
		c.events <- e
		return
	}
	switch {
	case e.Seq <= r.last:
		return // a duplicate
	case e.Seq == r.last+1:
		r.last = e.Seq
		c.events <- e
		c.drainLocked(e.Room, r)
	default:
		r.held[e.Seq] = e
		c.armLocked(e.Room, r)
	}
}

// drainLocked delivers the held events that follow the position; o.mu is
// held.
func (c *Client) drainLocked(room string, r *roomOrder) {
	for {
		e, ok := r.held[r.last+1]
		if !ok {
			break
		}
		delete(r.held, r.last+1)
		r.last++
		c.events <- e
	}
	if len(r.held) == 0 && r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
}

// armLocked starts the gap timer of a room with held events; o.mu is held.
func (c *Client) armLocked(room string, r *roomOrder) {
	if r.timer != nil || r.replaying {
		return
	}
	r.timer = time.AfterFunc(c.gapTimeout(), func() { c.fillGap(room, r) })
}

// fillGap asks the server for the events of a hole that persisted, then
// delivers them with the held events in order; a sequence the server no
// longer has is skipped.
func (c *Client) fillGap(room string, r *roomOrder) {
	o := &c.order
	o.mu.Lock()
	r.timer = nil
	if len(r.held) == 0 || r.replaying || o.rooms[room] != r {
		o.mu.Unlock()
		return
	}
	r.replaying = true
	since := r.last
	o.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	reply, err := c.Request(ctx, "chat.replay", room, map[string]uint64{"since": since})
	cancel()
	var ack struct {
		Events []struct {
			Type string          `json:"type"`
			Seq  uint64          `json:"seq"`
			Data json.RawMessage `json:"data"`
		} `json:"events"`
	}
	if err == nil {
		_ = json.Unmarshal(reply.Data, &ack)
	}

	o.mu.Lock()
	defer o.mu.Unlock()
	r.replaying = false
	if o.rooms[room] != r {
		return
	}
	for _, ev := range ack.Events {
		if ev.Seq > r.last {
			r.held[ev.Seq] = &protocol.Envelope{V: protocol.Version, Type: ev.Type, Room: room, Seq: ev.Seq, Data: ev.Data}
		}
	}
	c.drainLocked(room, r)
	if err != nil || len(r.held) == 0 {
		if len(r.held) > 0 {
			c.armLocked(room, r) // the request failed (reconnecting?): try again later
		}
		return
	}
	// The server answered and the hole is still there: those events are
	// gone (deleted from history and archive, or beyond MaxReplay). Skip
	// to the oldest held event rather than stall the room.
	lowest := uint64(0)
	for s := range r.held {
		if lowest == 0 || s < lowest {
			lowest = s
		}
	}
	r.last = lowest - 1
	c.drainLocked(room, r)
	if len(r.held) > 0 {
		c.armLocked(room, r)
	}
}
