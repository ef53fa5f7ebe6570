package signaling

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// Scheduler events the gateway delivers (docs/scheduler.md, "Timed
// actions"; docs/protocol.md, "Schedule events"). The scheduler publishes
// them on the bus as protocol envelopes; the gateway subscribes:
//
//   - the user channel of every user with a session here (with Redis, all
//     of them through one pattern subscription, userfeed.go), and forwards
//     schedule.reminder to each of that user's sessions;
//   - the tenant channel "scheduler:actions" of every tenant with a room
//     here, and delivers schedule.stage_open to the local members of the
//     room it names (data.session.room_id) as a room event.
//
// Other types on those channels (schedule.qa_close, which chat acts on)
// are not forwarded: a bus channel is never a way to put arbitrary frames
// on a client's socket.
const (
	typeScheduleReminder  = "schedule.reminder"
	typeScheduleStageOpen = "schedule.stage_open"
	// scheduleChannel is the tenant channel of the scheduler's room events.
	scheduleChannel = "scheduler:actions"
)

// userKey names one user of a tenant.
type userKey struct {
	t   tenant.ID
	sub string
}

// userChannel is the tenant channel that reaches one user's sessions:
// "user:" + the token subject when it is made of channel-safe characters
// (letters, digits, "-_.:/@+=~", not starting with "~") and short enough,
// else "user:~" + the first 32 hex digits of the subject's SHA-256. The
// scheduler publishes reminders with the same rule (its UserChannel);
// both sides test the vectors docs/scheduler.md lists.
func userChannel(t tenant.ID, subject string) (bus.Channel, error) {
	name := "user:" + subject
	if !userChannelSafe(subject) || len(name) > bus.MaxNameLen {
		sum := sha256.Sum256([]byte(subject))
		name = "user:~" + hex.EncodeToString(sum[:16])
	}
	return bus.TenantChannel(t, name)
}

// userChannelSafe reports whether a subject goes into its channel name as
// it is.
func userChannelSafe(s string) bool {
	if s == "" || s[0] == '~' { // "~" starts the hashed form
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '@' || c == '+' || c == '=' || c == '~':
		default:
			return false
		}
	}
	return true
}

// watchUser makes s receive its user's channel, once per session (on its
// first join), until the session ends (sessions in their resume grace
// period keep it: reminders wait in their replay buffer). With Redis, all
// user channels reach the gateway through one pattern subscription
// (userfeed.go); with the in-process bus, one subscription per user with
// sessions here is shared by the user's sessions. A failure is logged:
// reminders are best effort, the join goes on.
func (g *Gateway) watchUser(ctx context.Context, s *session) {
	s.mu.Lock()
	if s.watching || s.ended {
		s.mu.Unlock()
		return
	}
	s.watching = true
	s.mu.Unlock()
	k := userKey{s.Tenant(), s.claims.Subject}
	ch, err := userChannel(k.t, k.sub)
	if err == nil {
		if g.userPat != nil {
			err = g.userPat.join(ctx, ch, s)
		} else {
			err = g.users.join(ctx, k, ch, s)
		}
	}
	s.mu.Lock()
	ended := s.ended
	if err != nil {
		s.watching = false // the next join tries again
	}
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("reminders unavailable: user channel subscription failed", "err", err)
		return
	}
	if ended { // the session ended while subscribing: end's unwatch ran first
		g.unwatchUser(s)
	}
}

// unwatchUser gives back s's share of its user's channel.
func (g *Gateway) unwatchUser(s *session) {
	k := userKey{s.Tenant(), s.claims.Subject}
	if g.userPat != nil {
		if ch, err := userChannel(k.t, k.sub); err == nil {
			g.userPat.leave(ch, s)
		}
		return
	}
	g.users.leave(k, s)
}

// onUserEvent forwards a message of a user channel (per-user feed) to the
// user's sessions.
func (g *Gateway) onUserEvent(k userKey, msg []byte) {
	members := g.users.members(k)
	sessions := make([]*session, 0, len(members))
	for _, m := range members {
		if s, ok := m.(*session); ok {
			sessions = append(sessions, s)
		}
	}
	ch, _ := userChannel(k.t, k.sub)
	g.deliverUserEvent(ch, msg, sessions)
}

// deliverUserEvent forwards a reminder received on user channel ch to
// sessions; anything else on a user channel is dropped.
func (g *Gateway) deliverUserEvent(ch bus.Channel, msg []byte, sessions []*session) {
	typ, data, ok := decodeScheduleEvent(msg)
	if !ok || typ != typeScheduleReminder {
		t, _ := ch.Tenant()
		g.log.Debug("user channel: message dropped", "tenant", t, "type", typ)
		return
	}
	b := mustJSON(&protocol.Envelope{V: protocol.Version, Type: typ, Data: data})
	f := &frameData{wire: wireFrame(b)}
	for _, s := range sessions {
		s.sendFrame(f)
	}
	metricScheduleEvents.WithLabelValues(typ).Add(float64(len(sessions)))
}

// watchTenant subscribes the scheduler channel of r's tenant for as long as
// the tenant has rooms here. A failure is logged; the room works without
// scheduler events.
func (g *Gateway) watchTenant(ctx context.Context, r *localRoom) {
	ch, err := bus.TenantChannel(r.key.t, scheduleChannel)
	if err == nil {
		err = g.tenants.join(ctx, r.key.t, ch, r)
	}
	if err != nil {
		g.log.Warn("scheduler events unavailable: tenant channel subscription failed", "tenant", r.key.t, "err", err)
	}
}

// onTenantEvent delivers schedule.stage_open to the local members of the
// room it names, as a room event (one shared frame).
func (g *Gateway) onTenantEvent(t tenant.ID, msg []byte) {
	typ, data, ok := decodeScheduleEvent(msg)
	if !ok || typ != typeScheduleStageOpen {
		return // schedule.qa_close is chat's; anything else is not for clients
	}
	var d struct {
		Session struct {
			RoomID string `json:"room_id"`
		} `json:"session"`
	}
	if json.Unmarshal(data, &d) != nil || validRoom(d.Session.RoomID) != nil {
		g.log.Debug("scheduler event without a valid room_id", "tenant", t, "type", typ)
		return
	}
	r := g.hub.lookup(t, d.Session.RoomID)
	if r == nil {
		return // nobody in that room on this gateway
	}
	r.fanout(mustJSON(&protocol.Envelope{V: protocol.Version, Type: typ, Room: d.Session.RoomID, Data: data}))
	metricScheduleEvents.WithLabelValues(typ).Add(float64(len(r.snapshotMembers())))
}

// decodeScheduleEvent reads the type and data of a scheduler envelope; ok
// is false for anything but a version-1 envelope with an object as data.
func decodeScheduleEvent(msg []byte) (typ string, data json.RawMessage, ok bool) {
	var e struct {
		V    int             `json:"v"`
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(msg, &e) != nil || e.V != protocol.Version {
		return e.Type, nil, false
	}
	if d := bytes.TrimSpace(e.Data); len(d) == 0 || d[0] != '{' {
		return e.Type, nil, false
	}
	return e.Type, e.Data, true
}

// ScheduleFeeds returns how many scheduler feeds the gateway holds: user
// channels (one per user with sessions here; with Redis they share one
// pattern subscription) and tenant channels (one per tenant with rooms
// here). For diagnostics and tests.
func (g *Gateway) ScheduleFeeds() (users, tenants int) {
	if g.userPat != nil {
		return g.userPat.size(), g.tenants.size()
	}
	return g.users.size(), g.tenants.size()
}
