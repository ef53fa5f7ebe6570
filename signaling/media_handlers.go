package signaling

import (
	"context"
	"strings"

	"github.com/plenaryhq/plenary/internal/protocol"
)

// maxSDP bounds an SDP body; real ones are a few KiB, and the frame limit
// bounds them anyway.
const maxSDP = 48 << 10

// media returns m's media session or the error a client sees without one.
func (m *member) mediaOrError() (MediaSession, *protocol.Error) {
	ms := m.mediaSession()
	if ms == nil {
		return nil, perr(protocol.CodeMediaFailed, "no media session; join with media")
	}
	return ms, nil
}

// checkSDP validates the shape of an SDP message before it reaches the
// media node: the expected type and something that starts like SDP
// (RFC 8866 §5: the first line is "v=0").
func checkSDP(msg sdpMessage, want string) *protocol.Error {
	if msg.Type != want {
		return perr(protocol.CodeInvalidSDP, "expected an SDP "+want)
	}
	if len(msg.SDP) > maxSDP || !strings.HasPrefix(msg.SDP, "v=0") {
		return perr(protocol.CodeInvalidSDP, "not a session description")
	}
	return nil
}

// handleMediaOffer serves media.offer: the client's offer for its
// publisher connection (initial, renegotiation or ICE restart). Only
// participants whose role in the room allows publishing may send one.
func (g *Gateway) handleMediaOffer(ctx context.Context, m *member, e *protocol.Envelope) (any, *protocol.Error) {
	var req sdpMessage
	if pe := protocol.DecodeData(e, &req); pe != nil {
		return nil, pe
	}
	if !m.canPublish() {
		return nil, perr(protocol.CodeForbidden, "your role in this room does not allow publishing")
	}
	if pe := checkSDP(req, "offer"); pe != nil {
		return nil, pe
	}
	ms, pe := m.mediaOrError()
	if pe != nil {
		return nil, pe
	}
	answer, err := ms.PublisherOffer(ctx, SessionDescription{Type: "offer", SDP: req.SDP})
	if err != nil {
		m.s.log.Debug("publisher offer", "err", err)
		return nil, mediaError(err)
	}
	return sdpMessage{Type: "answer", SDP: answer.SDP}, nil
}

// handleMediaAnswer serves media.answer: the client's answer to the last
// subscriber offer.
func (g *Gateway) handleMediaAnswer(ctx context.Context, m *member, e *protocol.Envelope) (any, *protocol.Error) {
	var req sdpMessage
	if pe := protocol.DecodeData(e, &req); pe != nil {
		return nil, pe
	}
	if pe := checkSDP(req, "answer"); pe != nil {
		return nil, pe
	}
	ms, pe := m.mediaOrError()
	if pe != nil {
		return nil, pe
	}
	if err := ms.SubscriberAnswer(ctx, SessionDescription{Type: "answer", SDP: req.SDP}); err != nil {
		m.s.log.Debug("subscriber answer", "err", err)
		return nil, mediaError(err)
	}
	return nil, nil
}

// handleMediaICE serves media.ice: a trickled client candidate.
func (g *Gateway) handleMediaICE(ctx context.Context, m *member, e *protocol.Envelope) (any, *protocol.Error) {
	var req iceMessage
	if pe := protocol.DecodeData(e, &req); pe != nil {
		return nil, pe
	}
	if !req.Target.Valid() {
		return nil, perr(protocol.CodeInvalidPayload, "target must be publisher or subscriber")
	}
	if req.Target == TargetPublisher && !m.canPublish() {
		return nil, perr(protocol.CodeForbidden, "your role in this room does not allow publishing")
	}
	ms, pe := m.mediaOrError()
	if pe != nil {
		return nil, pe
	}
	if err := ms.AddICECandidate(ctx, req.Target, req.Candidate); err != nil {
		m.s.log.Debug("ice candidate", "err", err)
		return nil, perr(protocol.CodeInvalidPayload, "the ICE candidate could not be applied")
	}
	return nil, nil
}

// handleMediaSubscribe serves media.subscribe.
func (g *Gateway) handleMediaSubscribe(_ context.Context, m *member, e *protocol.Envelope) (any, *protocol.Error) {
	return g.trackOp(m, e, func(ms MediaSession, track string) error {
		err := ms.Subscribe(track)
		if err == nil {
			m.mmu.Lock()
			delete(m.unsubs, track)
			m.mmu.Unlock()
		}
		return err
	})
}

// handleMediaUnsubscribe serves media.unsubscribe.
func (g *Gateway) handleMediaUnsubscribe(_ context.Context, m *member, e *protocol.Envelope) (any, *protocol.Error) {
	return g.trackOp(m, e, func(ms MediaSession, track string) error {
		err := ms.Unsubscribe(track)
		if err == nil {
			m.mmu.Lock()
			if m.unsubs == nil {
				m.unsubs = map[string]bool{}
			}
			if len(m.unsubs) < maxChoices {
				m.unsubs[track] = true
			}
			m.mmu.Unlock()
		}
		return err
	})
}

// maxChoices bounds the subscription choices a member keeps for replay
// after a move (see member.unsubs).
const maxChoices = 256

// trackOp runs a per-track media operation.
func (g *Gateway) trackOp(m *member, e *protocol.Envelope, op func(MediaSession, string) error) (any, *protocol.Error) {
	var req trackRequest
	if pe := protocol.DecodeData(e, &req); pe != nil {
		return nil, pe
	}
	if req.Track == "" {
		return nil, perr(protocol.CodeInvalidPayload, "track is required")
	}
	ms, pe := m.mediaOrError()
	if pe != nil {
		return nil, pe
	}
	if err := op(ms, req.Track); err != nil {
		return nil, mediaError(err)
	}
	return nil, nil
}

// handleMediaPrefs serves media.prefs.
func (g *Gateway) handleMediaPrefs(_ context.Context, m *member, e *protocol.Envelope) (any, *protocol.Error) {
	var req prefsRequest
	if pe := protocol.DecodeData(e, &req); pe != nil {
		return nil, pe
	}
	switch req.MaxLayer {
	case "", "low", "medium", "high":
	default:
		return nil, perr(protocol.CodeInvalidPayload, "max_layer must be low, medium or high")
	}
	if req.Track == "" || req.Width < 0 || req.Height < 0 {
		return nil, perr(protocol.CodeInvalidPayload, "track is required; sizes must not be negative")
	}
	ms, pe := m.mediaOrError()
	if pe != nil {
		return nil, pe
	}
	if err := ms.SetPreference(req.Track, req.TrackPreference); err != nil {
		return nil, mediaError(err)
	}
	m.mmu.Lock()
	if m.prefs == nil {
		m.prefs = map[string]TrackPreference{}
	}
	if _, ok := m.prefs[req.Track]; ok || len(m.prefs) < maxChoices {
		m.prefs[req.Track] = req.TrackPreference
	}
	m.mmu.Unlock()
	return nil, nil
}

// handleMediaRestart serves media.restart: an ICE restart of the subscriber
// connection (the node sends a new offer). The publisher connection is
// restarted by the client itself with an ICE-restart media.offer.
func (g *Gateway) handleMediaRestart(ctx context.Context, m *member, e *protocol.Envelope) (any, *protocol.Error) {
	var req restartRequest
	if pe := protocol.DecodeData(e, &req); pe != nil {
		return nil, pe
	}
	if req.Target != TargetSubscriber {
		return nil, perr(protocol.CodeInvalidPayload, "only the subscriber connection is restarted by the server; restart the publisher with media.offer")
	}
	ms, pe := m.mediaOrError()
	if pe != nil {
		return nil, pe
	}
	if err := ms.RestartICE(ctx); err != nil {
		return nil, mediaError(err)
	}
	return nil, nil
}

// handleMediaMute serves media.mute: the client reports its own microphone
// (kind "audio", the default, shown in presence) or camera ("video")
// state. Unmuting lifts a moderator's mute of that kind at the node, unless
// the moderator made it hard (see moderation.go).
func (g *Gateway) handleMediaMute(ctx context.Context, m *member, e *protocol.Envelope) (any, *protocol.Error) {
	var req muteRequest
	if pe := protocol.DecodeData(e, &req); pe != nil {
		return nil, pe
	}
	if req.Kind == "" {
		req.Kind = "audio"
	}
	if req.Kind != "audio" && req.Kind != "video" {
		return nil, perr(protocol.CodeInvalidPayload, "kind must be audio or video")
	}
	if !req.Muted {
		m.mmu.Lock()
		mm := m.modMute
		if mm.covers(req.Kind) && !mm.hard {
			if req.Kind == "audio" {
				m.modMute.audio = false
			} else {
				m.modMute.video = false
			}
		}
		m.mmu.Unlock()
		if mm.covers(req.Kind) {
			if mm.hard {
				return nil, perr(protocol.CodeForbidden, "a moderator muted you; you may unmute after mod.unmuted")
			}
			if err := g.muteOwn(m, func(k string) bool { return k == req.Kind }, false); err != nil {
				return nil, mediaError(err)
			}
		}
	}
	if req.Kind == "video" {
		return presenceEvent{Participant: m.participant()}, nil
	}
	p, err := m.update(ctx, func(p *Participant) bool {
		changed := p.Muted != req.Muted
		p.Muted = req.Muted
		return changed
	})
	if err != nil {
		return nil, stateError(err)
	}
	return presenceEvent{Participant: p}, nil
}
