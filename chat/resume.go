package chat

import (
	"context"
	"encoding/json"
	"errors"

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
	ctx, cancel := context.WithTimeout(ctx, 2*s.cfg.BackendTimeout)
	defer cancel()
	s.registerRoom(k)
	s.watchSchedule(ctx, k.Tenant)
	if perr := s.checkBanned(ctx, k, claims.Subject); perr != nil && !perr.Retryable {
		return nil, perr
	}
	evs, sync, err := s.replay(ctx, k, since)
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
	if sync.From != since {
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
