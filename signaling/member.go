package signaling

import (
	"context"
	"sync"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// member is a session's membership of one room: its presence entry (of
// which this gateway is the only writer), its media session and the frames
// held back until the join reply is queued.
type member struct {
	s         *session
	room      *localRoom
	tokenRole auth.Role

	// Guarded by s.mu.
	ready   bool
	pending []frame
	// replayedTo is the highest sequence number the join's replay carried,
	// until a later live event arrives: live events up to it were sent
	// already (see dropReplayed).
	replayedTo uint64

	// upd serialises presence changes, so the store and the bus see them in
	// the order they were made.
	upd  sync.Mutex
	self Participant
	left bool
	// announced records that presence.join was published for the member
	// (see Config.PresenceQuietAbove); only then is its leave announced.
	announced bool

	// evmu orders what the client hears about media: an event of a media
	// session is relayed while holding it and only if the session is still
	// current, and a session is replaced while holding it, so no event of
	// the old session follows the media.reset or media.moved notice.
	evmu sync.Mutex
	// mmu guards the media session; it is replaced on a media reset.
	mmu       sync.Mutex
	media     MediaSession
	node      MediaNode
	mediaDone bool // closed for good: the member left
	// own maps the IDs of the tracks the participant publishes on its
	// current node to their kind ("audio", "video"), from the node's
	// track events; reset when the session is replaced.
	own map[string]string
	// modMute is what a moderator muted at the node (see moderation.go).
	modMute modMute
	// The client's subscription choices, replayed on a session that
	// replaces another (replay: after a move to another node or a reset),
	// joined without AutoSubscribe: tracks it unsubscribed from and its
	// per-track preferences, at most maxChoices of each.
	unsubs map[string]bool
	prefs  map[string]TrackPreference
	replay MediaSession
}

// tenant is the member's tenant.
func (m *member) tenant() tenant.ID { return m.room.key.t }

// participant returns a copy of the member's presence entry.
func (m *member) participant() Participant {
	m.upd.Lock()
	defer m.upd.Unlock()
	return m.self
}

// role is the member's role in the room.
func (m *member) role() auth.Role { return m.participant().Role }

// record builds the stored presence record; m.upd is held.
func (m *member) recordLocked() Record {
	gw := m.s.gw
	return Record{
		Participant: m.self,
		Gateway:     gw.cfg.GatewayID,
		Expires:     time.Now().Add(3 * gw.cfg.HeartbeatInterval).UnixMilli(),
		TokenRole:   m.tokenRole,
	}
}

// update changes the member's presence entry with fn (which reports whether
// anything changed), stores it and announces it to the room.
func (m *member) update(ctx context.Context, fn func(p *Participant) bool) (Participant, error) {
	m.upd.Lock()
	defer m.upd.Unlock()
	if m.left {
		return m.self, nil
	}
	next := m.self
	if !fn(&next) {
		return m.self, nil
	}
	m.self = next
	gw := m.s.gw
	if err := gw.state.PutParticipant(ctx, m.tenant(), m.room.name, m.recordLocked()); err != nil {
		return m.self, err
	}
	typ := typePresenceUpdate
	if !m.announced {
		// A quiet attendee the room has never heard of is introduced.
		typ = typePresenceJoin
	}
	if err := gw.publishEvent(ctx, m.tenant(), m.room.name, typ, presenceEvent{Participant: m.self}); err != nil {
		return m.self, err
	}
	m.announced = true
	return m.self, nil
}

// refresh renews the member's presence lease.
func (m *member) refresh(ctx context.Context) error {
	m.upd.Lock()
	defer m.upd.Unlock()
	if m.left {
		return nil
	}
	return m.s.gw.state.PutParticipant(ctx, m.tenant(), m.room.name, m.recordLocked())
}

// sendEvent queues an event about the member's room for the member only.
func (m *member) sendEvent(typ string, data any) {
	m.s.deliver(m, &frameData{b: mustJSON(&protocol.Envelope{
		V: protocol.Version, Type: typ, Room: m.room.name, Data: mustJSON(data),
	})})
}

// publishEvent fans an event the gateway built out to a room.
func (g *Gateway) publishEvent(ctx context.Context, t tenant.ID, room, typ string, data any) error {
	return g.hub.PublishRoom(ctx, t, room, &protocol.Envelope{V: protocol.Version, Type: typ, Room: room, Data: mustJSON(data)})
}

// publishPresenceLeave announces that p left room.
func (g *Gateway) publishPresenceLeave(ctx context.Context, t tenant.ID, room string, p Participant, reason string) {
	if err := g.publishEvent(ctx, t, room, typePresenceLeave, presenceLeaveEvent{Participant: p, Reason: reason}); err != nil {
		g.log.Warn("publish presence.leave", "tenant", t, "room", room, "err", err)
	}
}

// leaveRoom ends a membership: the participant leaves the room's media,
// presence and fan-out, observers are told, and the room reference is
// given back. reason is announced in presence.leave. Idempotent.
func (g *Gateway) leaveRoom(m *member, reason string) {
	s := m.s
	s.mu.Lock()
	if s.rooms[m.room.name] != m {
		s.mu.Unlock()
		return
	}
	delete(s.rooms, m.room.name)
	m.pending = nil
	s.mu.Unlock()

	m.room.mu.Lock()
	delete(m.room.members, s.id)
	m.room.mu.Unlock()

	m.upd.Lock()
	m.left = true
	self := m.self
	announced := m.announced
	m.upd.Unlock()

	m.closeMedia()
	ctx, cancel := context.WithTimeout(g.ctx, 5*time.Second)
	defer cancel()
	if err := g.state.RemoveParticipant(ctx, m.tenant(), m.room.name, s.id); err != nil {
		g.log.Warn("remove presence", "room", m.room.name, "participant", s.id, "err", err)
	}
	if announced {
		g.publishPresenceLeave(ctx, m.tenant(), m.room.name, self, reason)
	}
	g.hmu.RLock()
	obs := append([]protocol.RoomObserver(nil), g.observers...)
	g.hmu.RUnlock()
	for _, o := range obs {
		o.OnLeave(ctx, s, m.room.name)
	}
	g.hub.release(m.room)
	metricMembers.Dec()
}
