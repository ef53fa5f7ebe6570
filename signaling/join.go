package signaling

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
)

// handleJoin serves join: checks (tenant, room grant, ban, lock, limits),
// then the hub subscription, presence, media placement, and finally one
// atomic step that queues the reply, the observers' replay and the room
// events that arrived meanwhile, in that order.
func (g *Gateway) handleJoin(ctx context.Context, c *conn, s *session, e *protocol.Envelope) (any, *protocol.Error) {
	start := time.Now()
	var req joinRequest
	if pe := protocol.DecodeData(e, &req); pe != nil {
		return nil, pe
	}
	// The tenant is never taken from the request: it only has to agree
	// with the token's, and a request naming another gets its own code.
	if pe := checkTenant(s, string(req.Tenant)); pe != nil {
		return nil, pe
	}
	if validRoom(e.Room) != nil {
		return nil, perr(protocol.CodeInvalidPayload, "room must be 1-64 letters, digits, '.', '_' or '-'")
	}
	if g.isDraining() {
		return nil, perr(protocol.CodeDraining, "server draining; reconnect elsewhere")
	}
	// Room grants apply to every role but organizers, who run the tenant.
	cl := s.claims
	if cl.Role != auth.RoleOrganizer && !cl.CanAccessRoom(e.Room) {
		return nil, perr(protocol.CodeForbidden, "the token does not grant this room")
	}
	if m := s.member(e.Room); m != nil {
		return nil, perr(protocol.CodeInvalidPayload, "already joined; leave first")
	}
	s.mu.Lock()
	n := len(s.rooms)
	s.mu.Unlock()
	if n >= g.cfg.MaxRooms {
		return nil, perr(protocol.CodeRateLimited, "too many rooms joined at once")
	}
	// Bans and the lock are shared state: a moderator on another gateway
	// may have set them a moment ago.
	t := s.Tenant()
	banned, err := g.state.Banned(ctx, t, e.Room, cl.Subject)
	if err != nil {
		return nil, stateError(err)
	}
	if banned {
		return nil, perr(protocol.CodeBanned, "banned from this room")
	}
	locked, err := g.state.Locked(ctx, t, e.Room)
	if err != nil {
		return nil, stateError(err)
	}
	if locked && !cl.Role.AtLeast(auth.RoleModerator) {
		return nil, perr(protocol.CodeRoomLocked, "the room is locked")
	}

	// The user's reminders follow the session from its first join on.
	g.watchUser(ctx, s)

	// Subscribe (once per gateway) before registering the member, so no
	// event published after the snapshot below can be missed; events that
	// arrive before the reply is queued are held in m.pending.
	r, err := g.hub.acquire(ctx, t, e.Room)
	if err != nil {
		g.log.Warn("join: room subscription", "tenant", t, "room", e.Room, "err", err)
		return nil, perr(protocol.CodeUnavailable, "room fan-out unavailable")
	}
	m := &member{s: s, room: r, tokenRole: cl.Role, self: Participant{
		ID: s.id, User: cl.Subject, Name: cl.Name, Role: cl.Role, Joined: time.Now().UnixMilli(),
	}}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		g.hub.release(r)
		return nil, perr(protocol.CodeInternal, "session ended")
	}
	s.rooms[e.Room] = m
	s.mu.Unlock()
	r.mu.Lock()
	r.members[s.id] = m
	r.mu.Unlock()
	metricMembers.Inc()

	reply, pe := g.completeJoin(ctx, m, req)
	if pe != nil { // undo: presence, media and the room reference
		g.leaveRoom(m, "left")
		return nil, pe
	}
	g.hmu.RLock()
	obs := append([]protocol.RoomObserver(nil), g.observers...)
	g.hmu.RUnlock()
	var replay []*protocol.Envelope
	for _, o := range obs {
		envs, pe := o.OnJoin(ctx, s, e.Room, req.Since)
		if pe != nil {
			g.leaveRoom(m, "left")
			return nil, pe
		}
		replay = append(replay, envs...)
	}

	// The reply, the replay, then the room's events held back meanwhile.
	frames := make([]frame, 0, 1+len(replay))
	frames = append(frames, &frameData{b: ackFrame(e, reply)})
	for _, env := range replay {
		if env.V == 0 {
			env.V = protocol.Version
		}
		frames = append(frames, &frameData{b: mustJSON(env)})
	}
	s.mu.Lock()
	m.replayedTo = maxSeq(replay)
	for _, f := range append(frames, m.dropReplayed(m.pending)...) {
		s.appendLocked(f)
	}
	m.pending = nil
	m.ready = true
	wake := s.conn
	s.mu.Unlock()
	wake.wake()
	c.settled.Store(true)
	metricJoinSeconds.Observe(time.Since(start).Seconds())
	return replied{}, nil
}

// completeJoin publishes the member's presence, places its media and reads
// the room's state for the reply.
func (g *Gateway) completeJoin(ctx context.Context, m *member, req joinRequest) (*joinReply, *protocol.Error) {
	s, t, room := m.s, m.tenant(), m.room.name
	m.upd.Lock()
	rec := m.recordLocked()
	m.upd.Unlock()
	if err := g.state.PutParticipant(ctx, t, room, rec); err != nil {
		return nil, stateError(err)
	}
	// The snapshot is taken after the member was registered (so every
	// later presence event reaches it) and before the join is announced,
	// which depends on the room's size. One shared read per room at a
	// time: a join storm would otherwise read the whole presence hash once
	// per join (O(n²) on Redis).
	recs, err := m.room.presence.read(ctx)
	if err != nil {
		return nil, stateError(err)
	}
	if g.announces(len(recs), rec.Participant) {
		m.upd.Lock() // orders the join before any presence.update
		err := g.publishEvent(ctx, t, room, typePresenceJoin, presenceEvent{Participant: rec.Participant})
		m.announced = err == nil
		m.upd.Unlock()
		if err != nil {
			return nil, perr(protocol.CodeUnavailable, "room fan-out unavailable")
		}
	}
	reply := &joinReply{
		Room: room, Self: rec.Participant, CanPublish: rec.Participant.CanPublish(),
		Session: sessionInfo{ID: s.id, ResumeToken: s.resumeToken(), GraceMS: g.cfg.ResumeGrace.Milliseconds()},
	}
	// Media is placed before the reply is built, so the reply's node is
	// the one the subscriber offer (held in pending) comes from.
	// A gateway without a media plane (chat-only deployments, tests)
	// joins without media; a configured node that fails fails the join.
	if (req.Media == nil || *req.Media) && g.deps.Media != nil {
		node, err := g.startMedia(ctx, m)
		if err != nil {
			g.log.Warn("join: media", "tenant", t, "room", room, "participant", s.id, "err", err)
			return nil, mediaError(err)
		}
		reply.Media = &mediaInfo{Node: node}
	}
	reply.Participants = selectPresence(recs, s.id, g.cfg.MaxPresenceList, !g.announces(len(recs), Participant{}))
	reply.Count = len(recs)
	if reply.Locked, err = g.state.Locked(ctx, t, room); err != nil {
		return nil, stateError(err)
	}
	return reply, nil
}

// announces reports whether the join of p to a room of n participants is
// published (see Config.PresenceQuietAbove).
func (g *Gateway) announces(n int, p Participant) bool {
	quiet := g.cfg.PresenceQuietAbove
	if quiet < 0 || n < quiet {
		return true
	}
	return p.Role.AtLeast(auth.RoleSpeaker) || p.Hand != 0
}

// handleLeave serves leave.
func (g *Gateway) handleLeave(_ context.Context, m *member, _ *protocol.Envelope) (any, *protocol.Error) {
	g.leaveRoom(m, "left")
	return nil, nil
}

// handlePing serves ping; data.received lets the server release frames
// the client has confirmed.
func (g *Gateway) handlePing(_ context.Context, _ *conn, s *session, e *protocol.Envelope) (any, *protocol.Error) {
	var req pingRequest
	if pe := protocol.DecodeData(e, &req); pe != nil {
		return nil, pe
	}
	if req.Received > 0 {
		s.acked(req.Received)
	}
	return pingReply{Time: time.Now().UnixMilli()}, nil
}

// errResume is the reason a resume failed; the connection is closed with
// CodeResumeExpired and the client starts a fresh session.
var errResume = errors.New("resume refused")

// resume serves resume, which must be a connection's first message. On
// success the connection takes over the session: frames after
// data.received are sent again, then the ack. On failure the connection is
// closed with CodeResumeExpired (a frame would start a new stream the client
// could not tell from the old one).
func (g *Gateway) resume(c *conn, e *protocol.Envelope) {
	var req resumeRequest
	if pe := protocol.DecodeData(e, &req); pe != nil {
		c.closeAsync(protocol.CodeResumeExpired, "invalid resume request")
		metricResumes.WithLabelValues("invalid").Inc()
		return
	}
	s, err := g.findResumable(c, req.Token)
	if err != nil {
		c.closeAsync(protocol.CodeResumeExpired, "session unknown or expired; join again")
		metricResumes.WithLabelValues("expired").Inc()
		return
	}
	old, ok := s.resume(c, req.Received)
	if !ok {
		c.closeAsync(protocol.CodeResumeExpired, "missed frames no longer available; join again")
		metricResumes.WithLabelValues("gap").Inc()
		return
	}
	c.sess.Store(s)
	c.settled.Store(true)
	if old != nil {
		old.closeAsync(protocol.CodeReplaced, "session resumed on another connection")
	}
	s.mu.Lock()
	rooms := make([]string, 0, len(s.rooms))
	for name := range s.rooms {
		rooms = append(rooms, name)
	}
	s.mu.Unlock()
	s.reply(e, resumeReply{
		Session: sessionInfo{ID: s.id, ResumeToken: s.resumeToken(), GraceMS: g.cfg.ResumeGrace.Milliseconds()},
		Rooms:   rooms,
	}, nil)
	c.wake()
	metricResumes.WithLabelValues("ok").Inc()
	s.log.Debug("session resumed", "received", req.Received)
}

// findResumable returns the session a resume token names, if the
// connection's token is of the same tenant and user.
func (g *Gateway) findResumable(c *conn, token string) (*session, error) {
	id, secret, ok := splitResumeToken(token)
	if !ok {
		return nil, errResume
	}
	s := g.lookupSession(id)
	if s == nil || !s.checkSecret(secret) ||
		s.claims.Tenant != c.claims.Tenant || s.claims.Subject != c.claims.Subject {
		return nil, errResume
	}
	return s, nil
}

// selectPresence picks at most n participants for a join reply, in join
// order: the joiner, then speakers and moderators, then raised hands, then
// attendees by join time. Large audiences are summarised by the reply's
// count; their presence events still arrive (batched).
//
// In a quiet room (Config.PresenceQuietAbove) plain attendees are not
// listed at all: their leaves are not announced, so a list of them would
// only go stale, and 200 of them made every join reply of a 20,000-member
// room 24 KB (kept for resume until the client's next ack).
func selectPresence(recs []Record, self string, n int, quiet bool) []Participant {
	if len(recs) <= n && !quiet {
		out := make([]Participant, 0, len(recs))
		for _, r := range recs {
			out = append(out, r.Participant)
		}
		return out
	}
	rank := func(p Participant) int {
		switch {
		case p.ID == self:
			return 0
		case p.Role.AtLeast(auth.RoleSpeaker):
			return 1
		case p.Hand != 0:
			return 2
		}
		return 3
	}
	picked := make([]bool, len(recs))
	out := make([]Participant, 0, min(n, 16))
	levels := 3
	if quiet {
		levels = 2
	}
	for level := 0; level <= levels && len(out) < n; level++ {
		for i, r := range recs {
			if !picked[i] && rank(r.Participant) == level && len(out) < n {
				picked[i] = true
				out = append(out, r.Participant)
			}
		}
	}
	slices.SortFunc(out, func(a, b Participant) int {
		if c := cmp.Compare(a.Joined, b.Joined); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// maxSeq is the highest room sequence number among envs (0 if none).
func maxSeq(envs []*protocol.Envelope) uint64 {
	var n uint64
	for _, e := range envs {
		n = max(n, e.Seq)
	}
	return n
}

// dropReplayed removes from room events about to be queued for m those
// its join's replay already carried (sequence numbers up to replayedTo):
// an event published after the member was registered but before the
// observers read their history is in the replay and also reaches the room
// as a live event (held back while the join runs, or just after it), and a
// client resuming from a sequence number must get each event once. Once a
// later sequenced event passes, nothing is checked any more. s.mu is held.
func (m *member) dropReplayed(frames []frame) []frame {
	upTo := m.replayedTo
	if upTo == 0 {
		return frames
	}
	kept := frames[:0:0]
	for _, f := range frames {
		n := frameSeq(f)
		if n == 0 || n > upTo {
			kept = append(kept, f)
		}
		if n > upTo {
			m.replayedTo = 0
		}
	}
	return kept
}

// frameSeq reads the envelope's top-level "seq" of a frame the gateway
// encoded (v, id, re, type, room and seq come before data), or 0.
func frameSeq(f frame) uint64 {
	b := f.b
	if f.wire != nil {
		b = f.wire[frameHeaderLen(f.wire):]
	}
	if i := bytes.Index(b, []byte(`"data":`)); i >= 0 {
		b = b[:i]
	}
	i := bytes.Index(b, []byte(`"seq":`))
	if i < 0 {
		return 0
	}
	var n uint64
	for _, c := range b[i+len(`"seq":`):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}
