// Package sfunode adapts an in-process *sfu.SFU to the signaling gateway's
// media interfaces (signaling.MediaNode, signaling.MediaSession): the
// "signaling and the SFU share a process" transport of ARCHITECTURE.md. A
// bus RPC transport for remote nodes implements the same interfaces.
package sfunode

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/signaling"
)

// Node is a local SFU seen as a signaling.MediaNode.
type Node struct {
	id  string
	sfu *sfu.SFU
}

var (
	_ signaling.MediaNode    = (*Node)(nil)
	_ signaling.MediaSession = (*session)(nil)
)

// New wraps s; id names the node (e.g. the host name or "local").
func New(id string, s *sfu.SFU) *Node { return &Node{id: id, sfu: s} }

// ID implements signaling.MediaNode.
func (n *Node) ID() string { return n.id }

// Join implements signaling.MediaNode.
func (n *Node) Join(ctx context.Context, t tenant.ID, room, participant string, opts signaling.MediaJoinOptions) (signaling.MediaSession, error) {
	p, err := n.sfu.Join(ctx, t, sfu.RoomID(room), sfu.ParticipantID(participant), sfu.JoinOptions{AutoSubscribe: opts.AutoSubscribe, Hidden: opts.Hidden})
	if err != nil {
		return nil, mapErr(err)
	}
	s := &session{p: p, events: make(chan signaling.MediaEvent, 64)}
	go s.pump()
	return s, nil
}

// session is one participant on the local SFU.
type session struct {
	p      *sfu.Participant
	events chan signaling.MediaEvent
	once   sync.Once
}

// pump converts the SFU's events until the participant leaves.
func (s *session) pump() {
	defer close(s.events)
	for ev := range s.p.Events() {
		if me, ok := convert(ev); ok {
			s.events <- me
		}
	}
}

// convert maps an SFU event to a signaling media event.
func convert(ev sfu.Event) (signaling.MediaEvent, bool) {
	switch ev.Kind {
	case sfu.EventTrackPublished, sfu.EventTrackUnpublished, sfu.EventTrackMuted:
		kind := signaling.MediaTrackPublished
		switch ev.Kind {
		case sfu.EventTrackUnpublished:
			kind = signaling.MediaTrackUnpublished
		case sfu.EventTrackMuted:
			kind = signaling.MediaTrackMuted
		}
		return signaling.MediaEvent{Kind: kind, Track: signaling.TrackInfo{
			ID: string(ev.Track.ID), Participant: string(ev.Track.Publisher), Kind: ev.Track.Kind.String(),
			MimeType: ev.Track.MimeType, StreamID: ev.Track.StreamID, Simulcast: ev.Track.Simulcast,
			Muted: ev.Track.Muted,
		}}, true
	case sfu.EventSubscriberOffer:
		return signaling.MediaEvent{Kind: signaling.MediaSubscriberOffer,
			SDP: signaling.SessionDescription{Type: ev.SDP.Type.String(), SDP: ev.SDP.SDP}}, true
	case sfu.EventICECandidate:
		return signaling.MediaEvent{Kind: signaling.MediaICECandidate, Target: target(ev.Target),
			Candidate: signaling.ICECandidate{Candidate: ev.Candidate.Candidate, SDPMid: ev.Candidate.SDPMid,
				SDPMLineIndex: ev.Candidate.SDPMLineIndex, UsernameFragment: ev.Candidate.UsernameFragment}}, true
	case sfu.EventActiveSpeaker:
		return signaling.MediaEvent{Kind: signaling.MediaActiveSpeaker, Speaker: string(ev.Speaker)}, true
	case sfu.EventPublisherLayers:
		return signaling.MediaEvent{Kind: signaling.MediaPublisherLayers, TrackID: string(ev.TrackID), Layer: ev.MaxLayer.String()}, true
	case sfu.EventNodeDraining:
		return signaling.MediaEvent{Kind: signaling.MediaNodeDraining}, true
	case sfu.EventConnectionState:
		st := ev.State.String()
		if ev.State == webrtc.PeerConnectionStateUnknown {
			return signaling.MediaEvent{}, false
		}
		return signaling.MediaEvent{Kind: signaling.MediaConnectionState, Target: target(ev.Target), State: st}, true
	}
	return signaling.MediaEvent{}, false // layer changes are not relayed yet
}

// target maps an SFU target.
func target(t sfu.Target) signaling.Target {
	if t == sfu.TargetPublisher {
		return signaling.TargetPublisher
	}
	return signaling.TargetSubscriber
}

// sfuTarget maps a signaling target.
func sfuTarget(t signaling.Target) sfu.Target {
	switch t {
	case signaling.TargetPublisher:
		return sfu.TargetPublisher
	case signaling.TargetSubscriber:
		return sfu.TargetSubscriber
	}
	return sfu.TargetUnknown
}

// mapErr wraps SFU errors with the signaling sentinels the gateway maps to
// protocol codes.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sfu.ErrInvalidSDP), errors.Is(err, sfu.ErrNoOffer):
		return fmt.Errorf("%w: %w", signaling.ErrInvalidSDP, err)
	case errors.Is(err, sfu.ErrTrackNotFound), errors.Is(err, sfu.ErrNotSubscribed), errors.Is(err, sfu.ErrOwnTrack):
		return fmt.Errorf("%w: %w", signaling.ErrTrackNotFound, err)
	case errors.Is(err, sfu.ErrNotSupported):
		return fmt.Errorf("%w: %w", signaling.ErrNotSupported, err)
	case errors.Is(err, sfu.ErrDraining):
		return fmt.Errorf("%w: %w", signaling.ErrNoMedia, err)
	case errors.Is(err, sfu.ErrClosed):
		return fmt.Errorf("%w: %w", signaling.ErrMediaClosed, err)
	}
	return err
}

// PublisherOffer implements signaling.MediaSession.
func (s *session) PublisherOffer(ctx context.Context, offer signaling.SessionDescription) (signaling.SessionDescription, error) {
	ans, err := s.p.HandlePublisherOffer(ctx, webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP})
	if err != nil {
		return signaling.SessionDescription{}, mapErr(err)
	}
	return signaling.SessionDescription{Type: "answer", SDP: ans.SDP}, nil
}

// SubscriberAnswer implements signaling.MediaSession.
func (s *session) SubscriberAnswer(ctx context.Context, answer signaling.SessionDescription) error {
	return mapErr(s.p.HandleSubscriberAnswer(ctx, webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP}))
}

// AddICECandidate implements signaling.MediaSession.
func (s *session) AddICECandidate(ctx context.Context, t signaling.Target, c signaling.ICECandidate) error {
	return mapErr(s.p.AddICECandidate(ctx, sfuTarget(t), webrtc.ICECandidateInit{
		Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment,
	}))
}

// Subscribe implements signaling.MediaSession.
func (s *session) Subscribe(track string) error { return mapErr(s.p.Subscribe(sfu.TrackID(track))) }

// Unsubscribe implements signaling.MediaSession.
func (s *session) Unsubscribe(track string) error { return mapErr(s.p.Unsubscribe(sfu.TrackID(track))) }

// SetPreference implements signaling.MediaSession.
func (s *session) SetPreference(track string, p signaling.TrackPreference) error {
	pref := sfu.TrackPreference{Width: p.Width, Height: p.Height, Paused: p.Paused}
	if p.MaxLayer != "" {
		l, err := sfu.ParseLayer(p.MaxLayer)
		if err != nil {
			return err
		}
		pref.MaxLayer = l
	}
	if p.Pin != "" {
		l, err := sfu.ParseLayer(p.Pin)
		if err != nil {
			return err
		}
		pref.Pin = l
	}
	return mapErr(s.p.SetTrackPreference(sfu.TrackID(track), pref))
}

// RestartICE implements signaling.MediaSession: the SFU sends a subscriber
// offer with new ICE credentials.
func (s *session) RestartICE(ctx context.Context) error { return mapErr(s.p.RestartICE(ctx)) }

// MuteTrack implements signaling.MediaSession.
func (s *session) MuteTrack(track string, muted bool) error {
	return mapErr(s.p.MuteTrack(sfu.TrackID(track), muted))
}

// Unpublish implements signaling.MediaSession.
func (s *session) Unpublish(track string) error { return mapErr(s.p.Unpublish(sfu.TrackID(track))) }

// Events implements signaling.MediaSession.
func (s *session) Events() <-chan signaling.MediaEvent { return s.events }

// Leave implements signaling.MediaSession.
func (s *session) Leave() { s.once.Do(s.p.Leave) }
