package signaling

import (
	"context"
	"sync"
	"time"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// stateKey names one room of one tenant.
type stateKey struct {
	t    tenant.ID
	room string
}

// memRoom is the state of one room in a MemoryState.
type memRoom struct {
	records map[string]Record
	locked  bool
	bans    map[string]time.Time // user → ban expiry
}

// MemoryState is the in-process State: the embedded default and the test
// double. Gateways in one process may share one MemoryState.
type MemoryState struct {
	now func() time.Time

	mu    sync.Mutex
	rooms map[stateKey]*memRoom
}

// NewMemoryState returns an empty MemoryState.
func NewMemoryState() *MemoryState {
	return &MemoryState{now: time.Now, rooms: make(map[stateKey]*memRoom)}
}

// room returns the room's state, creating it; mu must be held.
func (s *MemoryState) room(t tenant.ID, room string) *memRoom {
	k := stateKey{t, room}
	r := s.rooms[k]
	if r == nil {
		r = &memRoom{records: map[string]Record{}, bans: map[string]time.Time{}}
		s.rooms[k] = r
	}
	return r
}

// gc forgets a room that holds nothing; mu must be held.
func (s *MemoryState) gc(t tenant.ID, room string) {
	k := stateKey{t, room}
	if r := s.rooms[k]; r != nil && len(r.records) == 0 && !r.locked && len(r.bans) == 0 {
		delete(s.rooms, k)
	}
}

// PutParticipant implements State.
func (s *MemoryState) PutParticipant(_ context.Context, t tenant.ID, room string, r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.room(t, room).records[r.Participant.ID] = r
	return nil
}

// PutParticipants stores several records of one room (batchPutter).
func (s *MemoryState) PutParticipants(_ context.Context, t tenant.ID, room string, rs []Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := s.room(t, room).records
	for _, r := range rs {
		recs[r.Participant.ID] = r
	}
	return nil
}

// RemoveParticipant implements State.
func (s *MemoryState) RemoveParticipant(_ context.Context, t tenant.ID, room, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.room(t, room).records, id)
	s.gc(t, room)
	return nil
}

// Participants implements State.
func (s *MemoryState) Participants(_ context.Context, t tenant.ID, room string, now time.Time) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[stateKey{t, room}]
	if r == nil {
		return nil, nil
	}
	out := make([]Record, 0, len(r.records))
	for _, rec := range r.records {
		if rec.Expires >= now.UnixMilli() {
			out = append(out, rec)
		}
	}
	sortRecords(out)
	return out, nil
}

// SweepExpired implements State.
func (s *MemoryState) SweepExpired(_ context.Context, t tenant.ID, room string, now time.Time) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[stateKey{t, room}]
	if r == nil {
		return nil, nil
	}
	var out []Record
	for id, rec := range r.records {
		if rec.Expires < now.UnixMilli() {
			out = append(out, rec)
			delete(r.records, id)
		}
	}
	s.gc(t, room)
	sortRecords(out)
	return out, nil
}

// SetLocked implements State.
func (s *MemoryState) SetLocked(_ context.Context, t tenant.ID, room string, locked bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.room(t, room).locked = locked
	s.gc(t, room)
	return nil
}

// Locked implements State.
func (s *MemoryState) Locked(_ context.Context, t tenant.ID, room string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[stateKey{t, room}]
	return r != nil && r.locked, nil
}

// Ban implements State.
func (s *MemoryState) Ban(_ context.Context, t tenant.ID, room, user string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.room(t, room).bans[user] = s.now().Add(ttl)
	return nil
}

// Banned implements State.
func (s *MemoryState) Banned(_ context.Context, t tenant.ID, room, user string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[stateKey{t, room}]
	if r == nil {
		return false, nil
	}
	until, ok := r.bans[user]
	if ok && !s.now().Before(until) {
		delete(r.bans, user)
		s.gc(t, room)
		return false, nil
	}
	return ok, nil
}
