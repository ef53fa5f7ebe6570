package sfu

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/pion/webrtc/v4"
)

// This file implements JoinOptions.ClientOffer: a subscriber connection
// negotiated once, from the client's offer, for players that cannot take
// offers from the server (WHEP, draft-ietf-wish-whep). The offer's
// receive-only audio and video sections become slots. A slot carries one
// subscribed track at a time: attaching or swapping a track is
// RTCRtpSender.replaceTrack, which needs no renegotiation, and the slot keeps
// the outgoing SSRC, sequence numbers and timestamps continuous across the
// tracks it carries (a publisher that reconnects over WHIP is a new track,
// but the player sees one stream).

// subscriberSlot is one negotiated send section of a ClientOffer subscriber
// connection.
type subscriberSlot struct {
	kind        webrtc.RTPCodecType
	sender      *webrtc.RTPSender
	placeholder *slotTrack

	// Under the participant's mu.
	dt *DownTrack
	// saved is the munger of the last down-track that left the slot, so
	// the next one continues its sequence numbers and timestamps.
	saved munger
}

// current returns the down-track the slot carries, or nil.
func (s *subscriberSlot) current(p *Participant) *DownTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	return s.dt
}

// slotTrack is what an empty slot sends: nothing. It exists because a
// sender needs a track to be negotiated and started, and replacing it later
// keeps the sender's SSRC and negotiated codecs.
type slotTrack struct {
	id   string
	kind webrtc.RTPCodecType
}

var _ webrtc.TrackLocal = (*slotTrack)(nil)

// Bind implements webrtc.TrackLocal: any negotiated codec will do.
func (s *slotTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codecs := ctx.CodecParameters()
	if len(codecs) == 0 {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	return codecs[0], nil
}

// Unbind implements webrtc.TrackLocal.
func (s *slotTrack) Unbind(webrtc.TrackLocalContext) error { return nil }

// ID implements webrtc.TrackLocal.
func (s *slotTrack) ID() string { return s.id }

// RID implements webrtc.TrackLocal.
func (s *slotTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal: all slots are one media stream, so
// a player shows audio and video together.
func (s *slotTrack) StreamID() string { return "sfu" }

// Kind implements webrtc.TrackLocal.
func (s *slotTrack) Kind() webrtc.RTPCodecType { return s.kind }

// HandleSubscriberOffer applies the offer of a participant that joined with
// JoinOptions.ClientOffer and returns the SFU's answer. Each receive-only
// audio or video section of the offer becomes a slot; with AutoSubscribe the
// slots are filled at once with the room's tracks (in track ID order) and
// refilled whenever a carried track is unpublished. The connection is never
// renegotiated: a second offer fails with ErrInvalidSDP. Non-trickle
// clients then call LocalDescription for the answer with candidates.
func (p *Participant) HandleSubscriberOffer(ctx context.Context, offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	if err := ctx.Err(); err != nil {
		return webrtc.SessionDescription{}, err
	}
	if !p.opts.ClientOffer {
		return webrtc.SessionDescription{}, fmt.Errorf("%w: participant did not join with ClientOffer", ErrInvalidSDP)
	}
	if offer.Type != webrtc.SDPTypeOffer {
		return webrtc.SessionDescription{}, fmt.Errorf("%w: want offer, got %s", ErrInvalidSDP, offer.Type)
	}
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed() {
		return webrtc.SessionDescription{}, ErrClosed
	}
	if p.sub.RemoteDescription() != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("%w: subscriber connection already negotiated", ErrInvalidSDP)
	}
	if err := p.sub.SetRemoteDescription(offer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("%w: %w", ErrInvalidSDP, err)
	}
	slots, err := p.addSlots()
	if err != nil {
		return webrtc.SessionDescription{}, err
	}
	answer, err := p.sub.CreateAnswer(nil)
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("%w: create answer: %w", ErrInvalidSDP, err)
	}
	if err := p.sub.SetLocalDescription(answer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("%w: set answer: %w", ErrInvalidSDP, err)
	}
	p.mu.Lock()
	p.slots = slots
	p.mu.Unlock()
	for _, s := range slots {
		if !p.goSafe(func() { p.slotRTCPLoop(s) }) {
			return webrtc.SessionDescription{}, ErrClosed
		}
	}
	if p.opts.AutoSubscribe {
		p.fillSlots()
	}
	return answer, nil
}

// addSlots puts a placeholder track on every audio and video section the
// remote offer lets the SFU send on.
func (p *Participant) addSlots() ([]*subscriberSlot, error) {
	var slots []*subscriberSlot
	for i, tr := range p.sub.GetTransceivers() {
		kind := tr.Kind()
		if tr.Sender() != nil || (kind != webrtc.RTPCodecTypeAudio && kind != webrtc.RTPCodecTypeVideo) {
			continue
		}
		ph := &slotTrack{id: fmt.Sprintf("slot-%d", i), kind: kind}
		// AddTrack takes the first free section of the track's kind, i.e.
		// this one: the earlier ones already have their placeholder.
		sender, err := p.sub.AddTrack(ph)
		if err != nil {
			return nil, fmt.Errorf("%w: %s section: %w", ErrInvalidSDP, kind, err)
		}
		slots = append(slots, &subscriberSlot{kind: kind, sender: sender, placeholder: ph})
	}
	if len(slots) == 0 {
		return nil, fmt.Errorf("%w: offer has no audio or video section to receive on", ErrInvalidSDP)
	}
	return slots, nil
}

// slotRTCPLoop reads the subscriber's RTCP for one slot and hands it to
// whichever down-track the slot carries. It returns when the sender stops.
func (p *Participant) slotRTCPLoop(s *subscriberSlot) {
	buf := make([]byte, mtu)
	for {
		n, _, err := s.sender.Read(buf)
		if err != nil {
			return
		}
		if dt := s.current(p); dt != nil {
			dt.handleRTCP(buf[:n])
		}
	}
}

// fillSlots subscribes free slots to room tracks the participant does not
// receive yet (AutoSubscribe in ClientOffer mode).
func (p *Participant) fillSlots() {
	tracks := p.room.trackList()
	sort.Slice(tracks, func(i, j int) bool { return tracks[i].info.ID < tracks[j].info.ID })
	for _, t := range tracks {
		if t.pub == p {
			continue
		}
		err := p.subscribeSlot(t)
		if err != nil && !errors.Is(err, ErrAlreadySubscribed) && !errors.Is(err, ErrNoSlot) && !errors.Is(err, ErrClosed) {
			p.log.Debug("fill slot", "track", t.info.ID, "err", err)
		}
	}
}

// subscribeSlot attaches t to a free slot of its kind.
func (p *Participant) subscribeSlot(t *publishedTrack) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if _, ok := p.subs[t.info.ID]; ok {
		p.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrAlreadySubscribed, t.info.ID)
	}
	var slot *subscriberSlot
	for _, s := range p.slots {
		if s.dt == nil && s.kind == t.info.Kind {
			slot = s
			break
		}
	}
	if slot == nil {
		p.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrNoSlot, t.info.ID)
	}
	dt := newDownTrack(t, p)
	dt.sender, dt.slot = slot.sender, slot
	if slot.saved.started && slot.saved.clockRate == dt.munger.clockRate {
		dt.munger = slot.saved
	}
	slot.dt = dt
	p.subs[t.info.ID] = dt
	p.mu.Unlock()
	// Binds dt to the slot's SSRC and negotiated codecs at once; fails if the
	// player did not offer the publisher's codec.
	if err := slot.sender.ReplaceTrack(dt); err != nil {
		p.mu.Lock()
		slot.dt = nil
		delete(p.subs, t.info.ID)
		p.mu.Unlock()
		return fmt.Errorf("sfu: attach %s to slot: %w", t.info.ID, err)
	}
	metricSubscriptions.WithLabelValues(t.info.Kind.String()).Inc()
	if !t.addDownTrack(dt) {
		p.dropDownTrack(dt)
		return fmt.Errorf("%w: %s", ErrTrackNotFound, t.info.ID)
	}
	p.kickAllocator()
	return nil
}

// releaseSlot detaches dt from its slot, keeping its munger for the next
// track, and refills the slot if the participant auto-subscribes.
func (p *Participant) releaseSlot(dt *DownTrack) {
	s := dt.slot
	if err := s.sender.ReplaceTrack(s.placeholder); err != nil {
		p.log.Debug("release slot", "err", err)
	}
	// Unbound now: dt's munger no longer changes.
	dt.mu.Lock()
	m := dt.munger
	dt.mu.Unlock()
	p.mu.Lock()
	if s.dt == dt {
		s.dt = nil
		s.saved = m
	}
	closed := p.closed
	p.mu.Unlock()
	if !closed && p.opts.AutoSubscribe {
		p.fillSlots()
	}
}

// LocalDescription waits until ICE gathering of the target connection is
// complete and returns its local description, candidates included: the
// answer a non-trickle client (WHIP, WHEP) needs. Call it after
// HandlePublisherOffer or HandleSubscriberOffer.
func (p *Participant) LocalDescription(ctx context.Context, target Target) (webrtc.SessionDescription, error) {
	var pc *webrtc.PeerConnection
	switch target {
	case TargetPublisher:
		pc = p.pub
	case TargetSubscriber:
		pc = p.sub
	default:
		return webrtc.SessionDescription{}, fmt.Errorf("%w: %d", ErrInvalidTarget, target)
	}
	if pc.LocalDescription() == nil {
		return webrtc.SessionDescription{}, fmt.Errorf("%w: %s connection has no local description", ErrInvalidSDP, target)
	}
	select {
	case <-webrtc.GatheringCompletePromise(pc):
	case <-ctx.Done():
		return webrtc.SessionDescription{}, ctx.Err()
	case <-p.done:
		return webrtc.SessionDescription{}, ErrClosed
	}
	return *pc.LocalDescription(), nil
}
