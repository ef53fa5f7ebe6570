package signaling

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
)

// Control operations (see control).
const (
	opPromote   = "promote"
	opDemote    = "demote"
	opMute      = "mute"
	opUnmute    = "unmute"
	opRemove    = "remove"
	opBan       = "ban"
	opLowerHand = "lower_hand"
)

// requireModerator checks that m may moderate its room: moderators and
// organizers (by token or promotion) may.
func requireModerator(m *member) *protocol.Error {
	if !m.role().AtLeast(auth.RoleModerator) {
		return perr(protocol.CodeForbidden, "moderator role required")
	}
	return nil
}

// findTarget reads the target's presence record from the shared state.
func (g *Gateway) findTarget(ctx context.Context, m *member, id string) (Record, *protocol.Error) {
	if id == "" {
		return Record{}, perr(protocol.CodeInvalidPayload, "participant is required")
	}
	recs, err := g.state.Participants(ctx, m.tenant(), m.room.name, time.Now())
	if err != nil {
		return Record{}, stateError(err)
	}
	for _, r := range recs {
		if r.Participant.ID == id {
			return r, nil
		}
	}
	return Record{}, perr(protocol.CodeNoParticipant, "no such participant in the room")
}

// mayActOn reports whether actor may moderate target: organizers may act
// on anyone in their tenant; others only on participants whose token role
// is below their own role in the room.
func mayActOn(actor Participant, target Record) bool {
	return actor.Role == auth.RoleOrganizer || target.TokenRole < actor.Role
}

// handleModTarget serves mod.promote, mod.demote, mod.mute, mod.unmute,
// mod.remove and mod.ban. The action itself is carried out by the gateway owning the
// target's session, reached through the room's bus channel; the ack means
// the action was accepted, its effect arrives as presence.update or
// presence.leave.
func (g *Gateway) handleModTarget(op string) roomHandler {
	return func(ctx context.Context, m *member, e *protocol.Envelope) (any, *protocol.Error) {
		var req targetRequest
		if pe := protocol.DecodeData(e, &req); pe != nil {
			return nil, pe
		}
		if pe := checkTenant(m.s, string(req.Tenant)); pe != nil {
			return nil, pe
		}
		if pe := requireModerator(m); pe != nil {
			return nil, pe
		}
		target, pe := g.findTarget(ctx, m, req.Participant)
		if pe != nil {
			return nil, pe
		}
		// The target's token role, not its role in the room, is compared:
		// promoting someone never shields them from the moderator who did.
		actor := m.participant()
		if !mayActOn(actor, target) {
			return nil, perr(protocol.CodeForbidden, "cannot moderate a participant of equal or higher role")
		}
		if (op == opRemove || op == opBan) && target.Participant.ID == actor.ID {
			return nil, perr(protocol.CodeInvalidPayload, "cannot remove yourself; send leave")
		}
		if op != opMute && (req.Video || req.Hard) {
			return nil, perr(protocol.CodeInvalidPayload, "video and hard apply to mod.mute only")
		}
		// The ban is stored before the removal is sent, so the removed
		// participant cannot slip back in through another gateway.
		c := control{Op: op, Target: target.Participant.ID, By: actor.ID, Video: req.Video, Hard: req.Hard}
		if op == opBan {
			if err := g.state.Ban(ctx, m.tenant(), m.room.name, target.Participant.User, DefaultBanTTL); err != nil {
				return nil, stateError(err)
			}
			c.User = target.Participant.User
		}
		if err := g.hub.publishControl(ctx, m.tenant(), m.room.name, c); err != nil {
			return nil, perr(protocol.CodeUnavailable, "room fan-out unavailable")
		}
		g.log.Info("moderation", "op", op, "tenant", m.tenant(), "room", m.room.name, "by", actor.ID, "target", c.Target)
		return map[string]string{"participant": target.Participant.ID}, nil
	}
}

// handleModLock serves mod.lock.
func (g *Gateway) handleModLock(ctx context.Context, m *member, e *protocol.Envelope) (any, *protocol.Error) {
	var req lockRequest
	if pe := protocol.DecodeData(e, &req); pe != nil {
		return nil, pe
	}
	if pe := checkTenant(m.s, string(req.Tenant)); pe != nil {
		return nil, pe
	}
	if pe := requireModerator(m); pe != nil {
		return nil, pe
	}
	if err := g.state.SetLocked(ctx, m.tenant(), m.room.name, req.Locked); err != nil {
		return nil, stateError(err)
	}
	if err := g.publishEvent(ctx, m.tenant(), m.room.name, typeRoomState, roomStateEvent{Locked: req.Locked, By: m.s.id}); err != nil {
		return nil, perr(protocol.CodeUnavailable, "room fan-out unavailable")
	}
	return roomStateEvent{Locked: req.Locked, By: m.s.id}, nil
}

// handleHandRaise serves hand.raise: any participant raises its own hand;
// the queue is the participants ordered by the time they raised it.
func (g *Gateway) handleHandRaise(ctx context.Context, m *member, e *protocol.Envelope) (any, *protocol.Error) {
	var req tenantRequest
	if pe := protocol.DecodeData(e, &req); pe != nil {
		return nil, pe
	}
	if pe := checkTenant(m.s, string(req.Tenant)); pe != nil {
		return nil, pe
	}
	p, err := m.update(ctx, func(p *Participant) bool {
		if p.Hand != 0 {
			return false
		}
		p.Hand = time.Now().UnixMilli()
		return true
	})
	if err != nil {
		return nil, stateError(err)
	}
	return presenceEvent{Participant: p}, nil
}

// handleHandLower serves hand.lower: a participant lowers its own hand, a
// moderator anyone's.
func (g *Gateway) handleHandLower(ctx context.Context, m *member, e *protocol.Envelope) (any, *protocol.Error) {
	var req targetRequest
	if pe := protocol.DecodeData(e, &req); pe != nil {
		return nil, pe
	}
	if pe := checkTenant(m.s, string(req.Tenant)); pe != nil {
		return nil, pe
	}
	if req.Participant == "" || req.Participant == m.s.id {
		p, err := m.update(ctx, func(p *Participant) bool {
			changed := p.Hand != 0
			p.Hand = 0
			return changed
		})
		if err != nil {
			return nil, stateError(err)
		}
		return presenceEvent{Participant: p}, nil
	}
	if pe := requireModerator(m); pe != nil {
		return nil, pe
	}
	target, pe := g.findTarget(ctx, m, req.Participant)
	if pe != nil {
		return nil, pe
	}
	c := control{Op: opLowerHand, Target: target.Participant.ID, By: m.s.id}
	if err := g.hub.publishControl(ctx, m.tenant(), m.room.name, c); err != nil {
		return nil, perr(protocol.CodeUnavailable, "room fan-out unavailable")
	}
	return map[string]string{"participant": target.Participant.ID}, nil
}

// applyControl carries out a control message on this gateway's members.
// It runs on the room's control worker, one message at a time.
func (g *Gateway) applyControl(r *localRoom, c control) {
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.RequestTimeout)
	defer cancel()
	var targets []*member
	if c.User != "" {
		targets = r.membersOf(c.User)
	} else if m := r.localMember(c.Target); m != nil {
		targets = []*member{m}
	}
	for _, m := range targets {
		if err := g.applyTo(ctx, m, c); err != nil {
			g.log.Warn("moderation failed", "op", c.Op, "room", r.name, "participant", m.s.id, "err", err)
		}
	}
}

// applyTo carries out one control operation on member m.
func (g *Gateway) applyTo(ctx context.Context, m *member, c control) error {
	switch c.Op {
	case opPromote:
		var changed bool
		p, err := m.update(ctx, func(p *Participant) bool {
			if p.Role.AtLeast(auth.RoleSpeaker) {
				return false
			}
			p.Role, changed = auth.RoleSpeaker, true
			return true
		})
		if changed {
			yes := true
			m.sendEvent(typeModPromoted, modEvent{By: c.By, Role: p.Role.String(), CanPublish: &yes})
		}
		return err
	case opDemote:
		var changed bool
		p, err := m.update(ctx, func(p *Participant) bool {
			if !p.Role.AtLeast(auth.RoleSpeaker) {
				return false
			}
			p.Role, p.Hand, changed = auth.RoleAttendee, 0, true
			return true
		})
		if changed {
			no := false
			m.sendEvent(typeModDemoted, modEvent{By: c.By, Role: p.Role.String(), CanPublish: &no})
			// Enforce it: the participant's published tracks end with its
			// media session; the client reconnects media as a viewer.
			g.resetMedia(ctx, m, "demoted")
		}
		return err
	case opMute:
		return g.modMuteMember(ctx, m, c)
	case opUnmute:
		m.mmu.Lock()
		wasHard := m.modMute.hard
		m.modMute.hard = false
		m.mmu.Unlock()
		if wasHard {
			m.sendEvent(typeModUnmuted, modEvent{By: c.By})
		}
		return nil
	case opLowerHand:
		_, err := m.update(ctx, func(p *Participant) bool {
			changed := p.Hand != 0
			p.Hand = 0
			return changed
		})
		return err
	case opRemove, opBan:
		// The notice is queued before the membership ends, so the removed
		// client learns why its room went away.
		banned := c.Op == opBan
		m.sendEvent(typeModRemoved, modEvent{By: c.By, Banned: banned})
		reason := "removed"
		if banned {
			reason = "banned"
		}
		g.leaveRoom(m, reason)
		return nil
	}
	g.log.Warn("unknown control op", "op", c.Op)
	return nil
}

// Moderator mute.
//
// mod.mute is enforced at the media node: the gateway owning the target
// mutes the target's published audio tracks (and video tracks with
// "video":true) with MediaSession.MuteTrack, so nobody receives them
// whatever the target's client does; tracks published later (a new
// microphone, a move to another node) are muted as they appear. As on the
// big meeting platforms, nobody can turn someone else's microphone on:
//
//   - a plain mute is lifted by the participant itself, with media.mute
//     {"muted":false} (the server unmutes its tracks at the node);
//   - a hard mute ("hard":true) refuses that with 4103 until a moderator
//     sends mod.unmute, which only allows the participant to unmute again
//     (mod.unmuted tells it so); its tracks stay muted until it does.

// modMute is what a moderator muted at the node; guarded by member.mmu.
type modMute struct {
	audio, video, hard bool
}

// covers reports whether tracks of kind are muted by the moderator.
func (mm modMute) covers(kind string) bool {
	return (kind == "audio" && mm.audio) || (kind == "video" && mm.video)
}

// modMuteMember carries out a mod.mute on member m.
func (g *Gateway) modMuteMember(ctx context.Context, m *member, c control) error {
	m.mmu.Lock()
	m.modMute.audio = true
	m.modMute.video = m.modMute.video || c.Video
	m.modMute.hard = m.modMute.hard || c.Hard
	mm := m.modMute
	m.mmu.Unlock()
	m.sendEvent(typeModMuted, modEvent{By: c.By, Video: c.Video, Hard: c.Hard})
	err := g.muteOwn(m, mm.covers, true)
	if _, perr := m.update(ctx, func(p *Participant) bool {
		changed := !p.Muted
		p.Muted = true
		return changed
	}); perr != nil && err == nil {
		err = perr
	}
	return err
}

// muteOwn mutes (or unmutes) at the node the member's own tracks whose kind
// matches.
func (g *Gateway) muteOwn(m *member, match func(kind string) bool, muted bool) error {
	m.mmu.Lock()
	ms := m.media
	var ids []string
	for id, kind := range m.own {
		if match(kind) {
			ids = append(ids, id)
		}
	}
	m.mmu.Unlock()
	if ms == nil {
		return nil
	}
	var first error
	for _, id := range ids {
		// A track that ended meanwhile is not an error.
		if err := ms.MuteTrack(id, muted); err != nil && !errors.Is(err, ErrTrackNotFound) && first == nil {
			first = fmt.Errorf("mute %s: %w", id, err)
		}
	}
	return first
}
