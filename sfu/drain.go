package sfu

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Graceful shutdown of a media node. The order the owner follows (for
// cmd/plenary: register Drain with httpserver.Server.OnDrain and Close as a
// closer; the OnDrain registration is still to be made, see "Known gaps" in
// docs/operations.md):
//
//  1. SIGTERM cancels the serve context. SFU.Run returns at once and leaves
//     every peer connection up.
//  2. The HTTP server drains (httpserver.Server.OnDrain, bounded by
//     --drain-timeout) and runs SFU.Drain with that deadline: joins fail
//     with ErrDraining, every participant gets EventNodeDraining once, and
//     the signaling layer moves its clients to other nodes; each Leave here
//     brings Drain closer to returning.
//  3. When every participant has left, or at the deadline (then Drain makes
//     the rest leave), Drain returns, and SFU.Close frees the sockets.

// memberCount counts the participants joined on a node, hidden ones
// included, and wakes every waiting Drain whenever one leaves.
type memberCount struct {
	mu   sync.Mutex
	n    int
	left chan struct{} // closed (and replaced) when someone leaves
}

func newMemberCount() *memberCount { return &memberCount{left: make(chan struct{})} }

func (m *memberCount) add(d int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n += d
	if d < 0 {
		close(m.left)
		m.left = make(chan struct{})
	}
}

func (m *memberCount) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

// watch returns the count and a channel closed at the next leave.
func (m *memberCount) watch() (int, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n, m.left
}

// Draining reports whether Drain has been called: the node refuses joins and
// should be given no new rooms (the node registry's placement skips it).
func (s *SFU) Draining() bool { return s.draining.Load() }

// Drain prepares the node for shutdown without cutting media: new joins fail
// with ErrDraining, every participant, hidden ones included, gets
// EventNodeDraining (once, however often Drain is called), and Drain waits
// until every participant has left. If ctx ends first, the participants
// still there are made to leave (their connections close) and Drain returns
// an error wrapping ctx.Err(). Drain does not close the node: call Close
// afterwards. It is safe to call concurrently and more than once.
func (s *SFU) Drain(ctx context.Context) error {
	if !s.draining.Swap(true) {
		metricDraining.Inc()
		s.log.Info("draining", "participants", s.members.count())
	}
	for _, r := range s.roomList() {
		r.notifyDraining()
	}
	for {
		n, left := s.members.watch()
		if n == 0 {
			return nil
		}
		select {
		case <-left:
		case <-ctx.Done():
			left := s.closeMembers()
			s.log.Warn("drain deadline: closed the remaining participants", "participants", left)
			return fmt.Errorf("sfu drain: %d participants still joined: %w", left, ctx.Err())
		}
	}
}

// notifyDraining sends EventNodeDraining to every member that has not had it.
// It holds r.mu so that a concurrent Join is either refused or notified.
func (r *Room) notifyDraining() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.participants {
		if p != nil && !p.drainNotified.Swap(true) {
			p.events.push(Event{Kind: EventNodeDraining})
		}
	}
}

// closeMembers makes every participant of the node leave and returns how
// many there were.
func (s *SFU) closeMembers() int {
	var ps []*Participant
	for _, r := range s.roomList() {
		ps = append(ps, r.members()...)
	}
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Leave()
		}()
	}
	wg.Wait()
	return len(ps)
}

// roomList returns the node's open rooms.
func (s *SFU) roomList() []*Room {
	s.mu.Lock()
	defer s.mu.Unlock()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	return rooms
}

// Load is a snapshot of what a node carries, in the figures the node
// registry publishes with each heartbeat (internal/noderegistry.Load; CPU is
// the registry's own measure).
type Load struct {
	// Participants is the number of participants joined, hidden ones
	// (recorders, relay links) included: each holds two peer connections.
	Participants int
	// Tracks is the number of published tracks the node receives.
	Tracks int
	// Subscribers is the number of participants subscribed to at least one
	// track.
	Subscribers int
	// PacketsPerSec is the rate of RTP packets received from publishers and
	// forwarded (SFU.Stats ForwardedPackets), averaged since the previous
	// Load call, or since New for the first one. Calls less than a second
	// apart return the previous rate, so a second caller cannot shrink the
	// window to noise.
	PacketsPerSec float64
	// Draining is true once Drain was called.
	Draining bool
}

// minLoadWindow is the shortest window PacketsPerSec is averaged over.
const minLoadWindow = time.Second

// Load returns the node's current load.
func (s *SFU) Load() Load {
	var l Load
	for _, r := range s.roomList() {
		r.mu.Lock()
		l.Tracks += len(r.tracks)
		r.mu.Unlock()
		for _, p := range r.members() {
			l.Participants++
			p.mu.Lock()
			if len(p.subs) > 0 {
				l.Subscribers++
			}
			p.mu.Unlock()
		}
	}
	l.Draining = s.Draining()
	now := time.Now()
	packets := s.stats.packets.Load()
	s.loadMu.Lock()
	if dt := now.Sub(s.loadAt); dt >= minLoadWindow {
		s.loadRate = float64(packets-s.loadPackets) / dt.Seconds()
		s.loadAt, s.loadPackets = now, packets
	}
	l.PacketsPerSec = s.loadRate
	s.loadMu.Unlock()
	return l
}
