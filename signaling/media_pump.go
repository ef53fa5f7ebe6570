package signaling

import (
	"context"
	"fmt"

	"github.com/plenaryhq/plenary/internal/auth"
)

// startMedia places m on a media node and starts relaying its media
// events. It returns the node's ID.
func (g *Gateway) startMedia(ctx context.Context, m *member) (string, error) {
	if g.deps.Media == nil {
		return "", ErrNoMedia
	}
	node, err := g.deps.Media.Select(ctx, m.tenant(), m.room.name, m.s.id)
	if err != nil {
		return "", fmt.Errorf("select node: %w", err)
	}
	ms, err := node.Join(ctx, m.tenant(), m.room.name, m.s.id, MediaJoinOptions{AutoSubscribe: true})
	if err != nil {
		return "", fmt.Errorf("join node %s: %w", node.ID(), err)
	}
	if !m.setMedia(ms, node) {
		ms.Leave()
		return "", ErrMediaClosed
	}
	go g.pumpMedia(m, ms)
	return node.ID(), nil
}

// setMedia installs a media session unless m's media was closed for good
// (the member left meanwhile).
func (m *member) setMedia(ms MediaSession, node MediaNode) bool {
	m.mmu.Lock()
	defer m.mmu.Unlock()
	if m.mediaDone {
		return false
	}
	m.media, m.node = ms, node
	return true
}

// mediaSession returns m's current media session, or nil.
func (m *member) mediaSession() MediaSession {
	m.mmu.Lock()
	defer m.mmu.Unlock()
	return m.media
}

// closeMedia ends m's media session, if any.
func (m *member) closeMedia() {
	m.mmu.Lock()
	ms := m.media
	m.media, m.mediaDone = nil, true
	m.mmu.Unlock()
	if ms != nil {
		ms.Leave()
	}
}

// resetMedia replaces m's media session with a fresh one on the same node:
// the old one's published tracks end (which is how a demotion is enforced,
// whatever the client does). The client is told with media.reset and
// starts new peer connections; the new session's offers follow the reset.
func (g *Gateway) resetMedia(ctx context.Context, m *member, reason string) {
	m.mmu.Lock()
	old, node := m.media, m.node
	m.media = nil
	m.mmu.Unlock()
	if old == nil || node == nil {
		return
	}
	old.Leave()
	m.sendEvent(typeMediaReset, resetEvent{Reason: reason, CanPublish: m.participant().CanPublish()})
	ms, err := node.Join(ctx, m.tenant(), m.room.name, m.s.id, MediaJoinOptions{AutoSubscribe: true})
	if err != nil {
		g.log.Warn("media reset: rejoin failed", "room", m.room.name, "participant", m.s.id, "err", err)
		return
	}
	if !m.setMedia(ms, node) {
		ms.Leave()
		return
	}
	go g.pumpMedia(m, ms)
}

// pumpMedia relays ms's events to the member's client until ms closes.
// Events of a media session that has since been replaced are dropped.
func (g *Gateway) pumpMedia(m *member, ms MediaSession) {
	for ev := range ms.Events() {
		if m.mediaSession() != ms {
			continue
		}
		switch ev.Kind {
		case MediaSubscriberOffer:
			m.sendEvent(typeMediaOffer, sdpMessage{Type: "offer", SDP: ev.SDP.SDP})
		case MediaICECandidate:
			m.sendEvent(typeMediaICE, iceMessage{Target: ev.Target, Candidate: ev.Candidate})
		case MediaTrackPublished:
			m.sendEvent(typeMediaTrack, trackEvent{State: "published", Track: ev.Track})
		case MediaTrackUnpublished:
			m.sendEvent(typeMediaTrack, trackEvent{State: "unpublished", Track: ev.Track})
		case MediaPublisherLayers:
			m.sendEvent(typeMediaLayers, layersEvent{Track: ev.TrackID, MaxLayer: ev.Layer})
		case MediaConnectionState:
			m.sendEvent(typeMediaState, stateEvent{Target: ev.Target, State: ev.State})
		case MediaActiveSpeaker:
			g.activeSpeaker(m.room, ev.Speaker)
		}
	}
}

// activeSpeaker updates the speaking flag of local members when the room's
// active speaker changes. Every local member's media session reports the
// change; only the first report changes anything, and only the gateway
// owning a participant writes its presence.
func (g *Gateway) activeSpeaker(r *localRoom, speaker string) {
	r.mu.Lock()
	prev := r.speaker
	if prev == speaker {
		r.mu.Unlock()
		return
	}
	r.speaker = speaker
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.RequestTimeout)
	defer cancel()
	set := func(id string, speaking bool) {
		if m := r.localMember(id); m != nil {
			if _, err := m.update(ctx, func(p *Participant) bool {
				changed := p.Speaking != speaking
				p.Speaking = speaking
				return changed
			}); err != nil {
				g.log.Debug("speaking update", "err", err)
			}
		}
	}
	set(prev, false)
	set(speaker, true)
}

// canPublish reports whether m may send media now.
func (m *member) canPublish() bool { return m.role().AtLeast(auth.RoleSpeaker) }
