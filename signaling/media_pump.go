package signaling

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
)

// startMedia places m on a media node and starts relaying its media
// events. It returns the node's ID.
func (g *Gateway) startMedia(ctx context.Context, m *member) (string, error) {
	ms, node, err := g.joinMedia(ctx, m, true)
	if err != nil {
		return "", err
	}
	if !m.setMedia(ms, node) {
		ms.Leave()
		return "", ErrMediaClosed
	}
	go g.pumpMedia(m, ms)
	return node.ID(), nil
}

// joinMedia selects a node for m, avoiding the nodes named, and joins it;
// auto subscribes it to every track of the room.
func (g *Gateway) joinMedia(ctx context.Context, m *member, auto bool, avoid ...string) (MediaSession, MediaNode, error) {
	if g.deps.Media == nil {
		return nil, nil, ErrNoMedia
	}
	var (
		node MediaNode
		err  error
	)
	if na, ok := g.deps.Media.(NodeAvoider); ok && len(avoid) > 0 {
		node, err = na.SelectAvoiding(ctx, m.tenant(), m.room.name, m.s.id, avoid)
	} else {
		node, err = g.deps.Media.Select(ctx, m.tenant(), m.room.name, m.s.id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("select node: %w", err)
	}
	if slices.Contains(avoid, node.ID()) {
		return nil, nil, fmt.Errorf("select node: %w: only %s, which is being left, was offered", ErrNoMedia, node.ID())
	}
	ms, err := node.Join(ctx, m.tenant(), m.room.name, m.s.id, MediaJoinOptions{AutoSubscribe: auto})
	if err != nil {
		return nil, nil, fmt.Errorf("join node %s: %w", node.ID(), err)
	}
	return ms, node, nil
}

// setMedia installs a media session unless m's media was closed for good
// (the member left meanwhile).
func (m *member) setMedia(ms MediaSession, node MediaNode) bool {
	m.mmu.Lock()
	defer m.mmu.Unlock()
	if m.mediaDone {
		return false
	}
	m.media, m.node, m.own = ms, node, nil
	return true
}

// mediaSession returns m's current media session, or nil.
func (m *member) mediaSession() MediaSession {
	m.mmu.Lock()
	defer m.mmu.Unlock()
	return m.media
}

// detachMedia takes ms away from m if it is still m's session, so that its
// remaining events are dropped (one being relayed is finished first); it
// returns ms's node, or nil if ms was already replaced or closed.
func (m *member) detachMedia(ms MediaSession) MediaNode {
	m.evmu.Lock()
	defer m.evmu.Unlock()
	m.mmu.Lock()
	defer m.mmu.Unlock()
	if m.media != ms || m.mediaDone {
		return nil
	}
	node := m.node
	m.media, m.own = nil, nil
	return node
}

// closeMedia ends m's media session, if any.
func (m *member) closeMedia() {
	m.mmu.Lock()
	ms := m.media
	m.media, m.mediaDone, m.own = nil, true, nil
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
	m.evmu.Lock()
	m.mmu.Lock()
	old, node := m.media, m.node
	m.media, m.own = nil, nil
	m.mmu.Unlock()
	m.evmu.Unlock()
	if old == nil || node == nil {
		return
	}
	old.Leave()
	m.sendEvent(typeMediaReset, resetEvent{Reason: reason, CanPublish: m.participant().CanPublish()})
	// Subscriptions are replayed by the gateway, as after a move.
	ms, err := node.Join(ctx, m.tenant(), m.room.name, m.s.id, MediaJoinOptions{})
	if err != nil {
		g.log.Warn("media reset: rejoin failed", "room", m.room.name, "participant", m.s.id, "err", err)
		return
	}
	if !m.setMedia(ms, node) {
		ms.Leave()
		return
	}
	m.mmu.Lock()
	m.replay = ms
	m.mmu.Unlock()
	go g.pumpMedia(m, ms)
}

// Reasons of media.moved.
const (
	movedDraining = "node_draining"
	movedFailed   = "node_failed"
)

// moveMedia moves m's media from session old, whose node is draining or
// failed, to another node chosen by the NodeSelector (the old node
// avoided). The client is told with media.moved and rebuilds both peer
// connections; the new session's subscriber offer follows. The new session
// is joined without AutoSubscribe: the gateway subscribes it to each track
// the node announces, except those the client unsubscribed from, and
// re-applies the client's preferences (replayChoices). A moderator's mute is
// re-applied as the participant republishes (see ownTrack). Nothing happens
// if old is no longer m's session.
func (g *Gateway) moveMedia(m *member, old MediaSession, reason string) {
	from := m.detachMedia(old)
	if from == nil {
		return
	}
	log := g.log.With("room", m.room.name, "participant", m.s.id, "from", from.ID(), "reason", reason)
	start := time.Now()
	var (
		ms   MediaSession
		node MediaNode
		err  error
	)
	// A failing node may take its registry entry a moment to disappear,
	// and a selector may have nothing to offer for a moment: retry briefly.
	for attempt := 0; attempt < moveAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-g.ctx.Done():
				old.Leave()
				return
			case <-time.After(moveRetryDelay):
			}
		}
		avoid := []string{from.ID()}
		if reason == movedFailed && attempt >= moveAttempts/2 && errors.Is(err, ErrNoMedia) {
			// A session can end on a node that is alive (an event lost
			// on the bus): once there is no other node, the same node
			// may take the participant back (a dead one fails the join
			// or has left the registry by now).
			avoid = nil
		}
		ctx, cancel := context.WithTimeout(g.ctx, g.cfg.RequestTimeout)
		ms, node, err = g.joinMedia(ctx, m, false, avoid...)
		cancel()
		if err == nil {
			break
		}
	}
	old.Leave()
	if err != nil {
		log.Warn("media move failed", "err", err)
		m.sendEvent(typeMediaState, stateEvent{Target: TargetPublisher, State: "failed"})
		m.sendEvent(typeMediaState, stateEvent{Target: TargetSubscriber, State: "failed"})
		return
	}
	if !m.setMedia(ms, node) {
		ms.Leave()
		return
	}
	m.mmu.Lock()
	m.replay = ms
	m.mmu.Unlock()
	// media.moved is queued before the new session's events can be.
	m.sendEvent(typeMediaMoved, movedEvent{Node: node.ID(), Reason: reason, CanPublish: m.participant().CanPublish()})
	go g.pumpMedia(m, ms)
	log.Info("media moved", "to", node.ID(), "took", time.Since(start))
}

// Retries of moveMedia.
const (
	moveAttempts   = 5
	moveRetryDelay = 200 * time.Millisecond
)

// pumpMedia relays ms's events to the member's client until ms closes.
// Events of a media session that has since been replaced are dropped. If
// ms ends while still the member's session (nobody called Leave: the node
// failed or dropped the participant), the member is moved to another node.
func (g *Gateway) pumpMedia(m *member, ms MediaSession) {
	for ev := range ms.Events() {
		if ev.Kind == MediaActiveSpeaker {
			// About the room, not this client, and it writes presence: not
			// under the ordering lock.
			if m.mediaSession() == ms {
				g.activeSpeaker(m.room, ev.Speaker)
			}
			continue
		}
		m.evmu.Lock()
		if m.mediaSession() == ms {
			g.relayMedia(m, ms, ev)
		}
		m.evmu.Unlock()
	}
	if m.mediaSession() == ms {
		g.moveMedia(m, ms, movedFailed)
	}
}

// relayMedia acts on one event of m's current media session ms; m.evmu is
// held.
func (g *Gateway) relayMedia(m *member, ms MediaSession, ev MediaEvent) {
	switch ev.Kind {
	case MediaSubscriberOffer:
		m.sendEvent(typeMediaOffer, sdpMessage{Type: "offer", SDP: ev.SDP.SDP})
	case MediaICECandidate:
		m.sendEvent(typeMediaICE, iceMessage{Target: ev.Target, Candidate: ev.Candidate})
	case MediaTrackPublished:
		g.ownTrack(m, ms, ev.Track, true)
		g.replayChoices(m, ms, ev.Track)
		m.sendEvent(typeMediaTrack, trackEvent{State: "published", Track: ev.Track})
	case MediaTrackUnpublished:
		g.ownTrack(m, ms, ev.Track, false)
		m.sendEvent(typeMediaTrack, trackEvent{State: "unpublished", Track: ev.Track})
	case MediaTrackMuted:
		state := "unmuted"
		if ev.Track.Muted {
			state = "muted"
		}
		m.sendEvent(typeMediaTrack, trackEvent{State: state, Track: ev.Track})
	case MediaPublisherLayers:
		m.sendEvent(typeMediaLayers, layersEvent{Track: ev.TrackID, MaxLayer: ev.Layer})
	case MediaConnectionState:
		m.sendEvent(typeMediaState, stateEvent{Target: ev.Target, State: ev.State})
	case MediaNodeDraining:
		go g.moveMedia(m, ms, movedDraining)
	}
}

// replayChoices subscribes a session created by a move or reset to track, as
// AutoSubscribe would, unless the client unsubscribed from it on its
// previous node, and re-applies the client's preference for it (track IDs
// are the same on every node).
func (g *Gateway) replayChoices(m *member, ms MediaSession, t TrackInfo) {
	if t.Participant == m.s.id {
		return
	}
	m.mmu.Lock()
	if m.replay != ms || m.media != ms || m.unsubs[t.ID] {
		m.mmu.Unlock()
		return
	}
	pref, hasPref := m.prefs[t.ID]
	m.mmu.Unlock()
	if err := ms.Subscribe(t.ID); err != nil {
		// The track may have gone again meanwhile.
		g.log.Debug("subscribe after move", "participant", m.s.id, "track", t.ID, "err", err)
		return
	}
	if hasPref {
		if err := ms.SetPreference(t.ID, pref); err != nil {
			g.log.Debug("preference after move", "participant", m.s.id, "track", t.ID, "err", err)
		}
	}
}

// ownTrack records the participant's own tracks as the node reports them,
// and mutes a newly published one at once if a moderator muted its kind
// (a participant cannot escape a mute by republishing, or by being moved
// to another node).
func (g *Gateway) ownTrack(m *member, ms MediaSession, t TrackInfo, published bool) {
	// A relayed copy of the participant's track (left on a node it moved
	// to) is credited to it but is not its own to mute or unpublish.
	if t.Participant != m.s.id || strings.HasPrefix(t.ID, "relay~") {
		return
	}
	m.mmu.Lock()
	if m.media != ms {
		m.mmu.Unlock()
		return
	}
	if !published {
		delete(m.own, t.ID)
		m.mmu.Unlock()
		return
	}
	if m.own == nil {
		m.own = map[string]string{}
	}
	m.own[t.ID] = t.Kind
	mute := m.modMute.covers(t.Kind) && !t.Muted
	m.mmu.Unlock()
	if mute {
		if err := ms.MuteTrack(t.ID, true); err != nil {
			g.log.Warn("re-apply moderator mute", "room", m.room.name, "participant", m.s.id, "track", t.ID, "err", err)
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
