package chat

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/plenaryhq/plenary/internal/protocol"
)

// OnJoin implements protocol.RoomObserver: it returns the room events the
// client missed since its last sequence, oldest first, followed by a
// chat.sync envelope saying where the replay ends. since 0 (a first join)
// replays the last Config.JoinBacklog events.
//
// The events come from recent history; the part of the gap older than its
// window is filled from the archive, so a replay has no hole and no
// duplicate. At most Config.MaxReplay events are replayed: with a longer
// gap the newest are sent and chat.sync says complete=false.
//
// A user banned from the room's chat gets CodeBanned, which makes the
// gateway refuse the join. A chat backend outage does not fail the join
// (media and presence do not depend on chat): the replay is then empty and
// chat.sync says retry=true, and the client asks again with chat.replay.
func (s *Service) OnJoin(ctx context.Context, c protocol.Conn, room string, since uint64) ([]*protocol.Envelope, *protocol.Error) {
	claims := c.Claims()
	if claims == nil {
		return nil, clientErr(protocol.CodeUnauthorized, "connection is not authenticated")
	}
	k := RoomKey{Tenant: c.Tenant(), Room: room}
	if k.Validate() != nil {
		return nil, clientErr(protocol.CodeInvalidPayload, "a valid room is required")
	}
	// A replay that needs the archive first waits for the archive writer
	// (asynchronous, service.go), which a burst of sends can keep busy for
	// a few seconds: the budget is four backend timeouts, inside the
	// gateway's request timeout.
	ctx, cancel := context.WithTimeout(ctx, replayBudget*s.cfg.BackendTimeout)
	defer cancel()
	s.registerRoom(k)
	s.watchSchedule(ctx, k.Tenant)
	if perr := s.checkBanned(ctx, k, claims.Subject); perr != nil && !perr.Retryable {
		return nil, perr
	}
	var (
		evs  []*Event
		sync syncData
		err  error
	)
	if since == 0 {
		evs, sync, err = s.tails.read(ctx, s, k)
	} else {
		evs, sync, err = s.replay(ctx, k, since)
	}
	if err != nil {
		s.log.Warn("chat replay failed; client told to retry", "tenant", k.Tenant, "room", k.Room, "since", since, "err", err)
		evs, sync = nil, syncData{From: since, Retry: true}
	}
	replayedEvents.Observe(float64(len(evs)))
	out := make([]*protocol.Envelope, 0, len(evs)+1)
	for _, e := range evs {
		out = append(out, e.Envelope(room))
	}
	raw, _ := json.Marshal(sync)
	out = append(out, &protocol.Envelope{V: protocol.Version, Type: typeSync, Room: room, Data: raw})
	return out, nil
}

// tailReads coalesces the replays of first joins (since 0: the room's last
// JoinBacklog events), which a join storm asks for thousands of times a
// second with the same answer. As the gateway's presence reads do
// (signaling/presence_read.go), callers that arrive while a read of the
// room is running share the NEXT read, which starts when the running one
// ends: at most one tail read per room is in flight, and every caller gets
// a head read after it asked. That matters: the gateway registers the
// member for live events before asking, so every event after the head the
// caller receives reaches it live — no gap.
type tailReads struct {
	mu    sync.Mutex
	rooms map[RoomKey]*tailRoom
}

// tailRoom is the coalescing state of one room; it exists while reads of
// the room are running or waiting.
type tailRoom struct {
	next *tailRead // the read the next callers share; not started yet
}

// tailRead is one shared read and its result, read-only for its callers.
type tailRead struct {
	done chan struct{}
	evs  []*Event
	sync syncData
	err  error
}

// read returns the replay of a first join to k. ctx bounds only the wait;
// an abandoned read still completes for the others.
func (t *tailReads) read(ctx context.Context, s *Service, k RoomKey) ([]*Event, syncData, error) {
	t.mu.Lock()
	if t.rooms == nil {
		t.rooms = make(map[RoomKey]*tailRoom)
	}
	tr := t.rooms[k]
	start := tr == nil
	if start {
		tr = &tailRoom{}
		t.rooms[k] = tr
	}
	if tr.next == nil {
		tr.next = &tailRead{done: make(chan struct{})}
	}
	rd := tr.next
	t.mu.Unlock()
	if start {
		go t.loop(s, k, tr)
	}
	select {
	case <-rd.done:
		return rd.evs, rd.sync, rd.err
	case <-ctx.Done():
		return nil, syncData{}, ctx.Err()
	}
}

// loop runs the room's pending reads one after the other until none is
// waiting, then forgets the room.
func (t *tailReads) loop(s *Service, k RoomKey, tr *tailRoom) {
	for {
		t.mu.Lock()
		rd := tr.next
		tr.next = nil
		if rd == nil {
			delete(t.rooms, k)
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 2*s.cfg.BackendTimeout)
		rd.evs, rd.sync, rd.err = s.replay(ctx, k, 0)
		cancel()
		close(rd.done)
	}
}

// replayBudget bounds a join's replay, in backend timeouts.
const replayBudget = 4

// replayAck is the reply of chat.replay.
type replayAck struct {
	Events []*pageRow `json:"events"`
	Sync   syncData   `json:"sync"`
}

// chatReplay serves chat.replay: the replay of OnJoin on request, for a
// client that saw a gap in the live sequence (events from several gateway
// processes can arrive out of order, or a slow connection lost some) or
// whose join-time replay said retry.
func (s *Service) chatReplay(ctx context.Context, rc *reqCtx, p *replayReq) (any, *protocol.Error) {
	if perr := s.checkBanned(ctx, rc.k, rc.user); perr != nil {
		return nil, perr
	}
	evs, sync, err := s.replay(ctx, rc.k, p.Since)
	if err != nil {
		return nil, unavailable("chat history")
	}
	out := replayAck{Events: make([]*pageRow, len(evs)), Sync: sync}
	for i, e := range evs {
		out.Events[i] = &pageRow{Type: e.Type, Seq: e.Seq, Data: e.Data}
	}
	return out, nil
}

// OnLeave implements protocol.RoomObserver. Chat keeps no per-connection
// state (limits are per user), so there is nothing to release.
func (s *Service) OnLeave(context.Context, protocol.Conn, string) {}

// replay computes the events of k after since (see OnJoin). The common
// case, a short gap inside recent history, takes one history round trip.
func (s *Service) replay(ctx context.Context, k RoomKey, since uint64) ([]*Event, syncData, error) {
	limit := s.cfg.MaxReplay
	if since == 0 {
		limit = 0 // only the head: the backlog is read below
	}
	evs, head, err := s.read(ctx, k, since, limit)
	if err != nil {
		return nil, syncData{}, err
	}
	sync := syncData{Head: head, From: since, Complete: true}
	switch {
	case since >= head:
		// Up to date — or ahead of the room (history was reset without an
		// archive copy); the client learns the head from chat.sync.
		sync.From = head
		return nil, sync, nil
	case since == 0:
		sync.From = head - min(head, uint64(s.cfg.JoinBacklog))
		sync.Complete = sync.From == 0
	case head-since > uint64(s.cfg.MaxReplay):
		sync.From = head - uint64(s.cfg.MaxReplay)
		sync.Complete = false
	}
	want := int(head - sync.From)
	if want == 0 {
		return nil, sync, nil
	}
	// A first join read only the head above (limit 0), so it reads the
	// backlog now even when that starts at since (a room with fewer than
	// JoinBacklog events): skipping it sent every first join of a young
	// room to the archive.
	if sync.From != since || limit == 0 {
		if evs, _, err = s.read(ctx, k, sync.From, want); err != nil {
			return nil, sync, err
		}
	}
	if len(evs) > want {
		evs = evs[:want] // appended after head was read
	}
	// Fill whatever recent history no longer holds from the archive.
	if len(evs) == 0 || evs[0].Seq > sync.From+1 {
		before := head + 1
		if len(evs) > 0 {
			before = evs[0].Seq
		}
		// Events still queued for the archive (written asynchronously) are
		// committed first, so a history that lost them (Redis restarted)
		// is filled without a hole.
		if err := s.arch.sync(ctx); err != nil {
			return nil, sync, err
		}
		older, err := s.arch.rangeAsc(ctx, k, sync.From, before, want)
		if err != nil {
			return nil, sync, err
		}
		archiveFills.Inc()
		evs = append(older, evs...)
	}
	for i, e := range evs {
		if e.Seq != sync.From+1+uint64(i) {
			// Only possible when an event was neither archived nor kept in
			// history (see archive.go); say so rather than hide it.
			s.log.Error("chat replay has a hole", "tenant", k.Tenant, "room", k.Room,
				"want", sync.From+1+uint64(i), "got", e.Seq)
			break
		}
	}
	return redactDeleted(evs), sync, nil
}

// read is History.Read, seeding the room's counter from the archive first
// when it is missing.
func (s *Service) read(ctx context.Context, k RoomKey, after uint64, limit int) ([]*Event, uint64, error) {
	evs, head, err := s.hist.Read(ctx, k, after, limit)
	if errors.Is(err, ErrNoSequence) {
		if err = s.seed(ctx, k); err == nil {
			evs, head, err = s.hist.Read(ctx, k, after, limit)
		}
	}
	return evs, head, err
}

// redactDeleted blanks chat messages that a later event in the same replay
// deleted, so a replay never shows deleted text even when it comes from
// recent history (which keeps events as they were sent). The slice is
// copied where it changes; history's events are shared.
func redactDeleted(evs []*Event) []*Event {
	var deleted map[uint64]bool
	for _, e := range evs {
		if e.Type == typeDeleted {
			var d chatDeleted
			if json.Unmarshal(e.Data, &d) == nil {
				if deleted == nil {
					deleted = make(map[uint64]bool)
				}
				deleted[d.Message] = true
			}
		}
	}
	if deleted == nil {
		return evs
	}
	for i, e := range evs {
		if e.Type != typeMessage || !deleted[e.Seq] {
			continue
		}
		var m chatMessage
		if json.Unmarshal(e.Data, &m) != nil {
			continue
		}
		m.Text, m.Deleted, m.Edited, m.ReplyTo = "", true, false, 0
		raw, err := json.Marshal(m)
		if err != nil {
			continue
		}
		evs[i] = &Event{Seq: e.Seq, Type: e.Type, Data: raw}
	}
	return evs
}
