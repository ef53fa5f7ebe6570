package whip

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/sfu"
)

// session is one WHIP or WHEP resource: an SFU participant and the
// goroutine that drains its events and ends it when its connection fails.
type session struct {
	h        *Handler
	id       string
	tenant   tenant.ID
	room     sfu.RoomID
	subject  string
	p        *sfu.Participant
	log      *slog.Logger
	target   sfu.Target
	stop     chan struct{} // closed by finish
	done     chan struct{} // closed when run has returned
	stopOnce sync.Once

	mu     sync.Mutex
	reason string // why the session ended (first reason wins)
}

// start joins the participant, applies the offer and registers the
// session; it returns the answer with the SFU's candidates.
func (h *Handler) start(ctx context.Context, c *auth.Claims, room, resource string, offer webrtc.SessionDescription) (*session, webrtc.SessionDescription, error) {
	h.mu.Lock()
	switch {
	case h.closed:
		h.mu.Unlock()
		return nil, webrtc.SessionDescription{}, ErrClosed
	case h.opts.MaxSessions > 0 && len(h.sessions) >= h.opts.MaxSessions:
		h.mu.Unlock()
		return nil, webrtc.SessionDescription{}, ErrTooManySessions
	}
	// Counted now so Close waits for a start in progress.
	h.wg.Add(1)
	h.mu.Unlock()

	pid := h.opts.ParticipantID(c, h.kind, resource)
	opts := sfu.JoinOptions{}
	target := sfu.TargetPublisher
	if h.kind == KindPlayback {
		opts = sfu.JoinOptions{ClientOffer: true, AutoSubscribe: true}
		target = sfu.TargetSubscriber
	}
	p, err := h.sfu.Join(ctx, c.Tenant, sfu.RoomID(room), pid, opts)
	if err != nil {
		h.wg.Done()
		return nil, webrtc.SessionDescription{}, err
	}
	s := &session{
		h: h, id: resource, tenant: c.Tenant, room: sfu.RoomID(room), subject: c.Subject, p: p,
		log:    h.log.With("tenant", string(c.Tenant), "room", room, "participant", string(pid)),
		target: target, stop: make(chan struct{}), done: make(chan struct{}),
	}
	metricSessions.WithLabelValues(h.kind.String()).Inc()
	go s.run()
	answer, err := s.negotiate(ctx, offer)
	if err == nil {
		h.mu.Lock()
		if h.closed {
			err = ErrClosed
		} else {
			h.sessions[resource] = s
		}
		h.mu.Unlock()
	}
	if err != nil {
		s.end("negotiation failed")
		return nil, webrtc.SessionDescription{}, err
	}
	return s, answer, nil
}

// negotiate applies the offer to the right connection and waits for the
// complete answer.
func (s *session) negotiate(ctx context.Context, offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	var err error
	if s.target == sfu.TargetPublisher {
		_, err = s.p.HandlePublisherOffer(ctx, offer)
	} else {
		_, err = s.p.HandleSubscriberOffer(ctx, offer)
	}
	if err != nil {
		return webrtc.SessionDescription{}, err
	}
	return s.p.LocalDescription(ctx, s.target)
}

// run drains the participant's events until the session ends: on DELETE,
// on Close, when the media connection fails or closes, when it does not come
// up within ConnectTimeout, or when the participant is made to leave (room
// closed by a moderator).
func (s *session) run() {
	defer s.h.wg.Done()
	defer close(s.done)
	connect := time.NewTimer(s.h.opts.ConnectTimeout)
	defer connect.Stop()
	events, stop := s.p.Events(), s.stop
	for events != nil {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				break
			}
			if ev.Kind != sfu.EventConnectionState || ev.Target != s.target {
				continue // nothing to relay: WHIP and WHEP have no event channel
			}
			switch ev.State {
			case webrtc.PeerConnectionStateConnected:
				connect.Stop()
			case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
				s.finish("connection " + ev.State.String())
			}
		case <-connect.C:
			s.finish("connect timeout")
		case <-stop:
			stop = nil
			// Leave closes the event stream, which ends the loop.
			s.p.Leave()
		}
	}
	s.h.mu.Lock()
	if s.h.sessions[s.id] == s {
		delete(s.h.sessions, s.id)
	}
	s.h.mu.Unlock()
	metricSessions.WithLabelValues(s.h.kind.String()).Dec()
	s.mu.Lock()
	reason := s.reason
	s.mu.Unlock()
	if reason == "" {
		reason = "participant left"
	}
	s.log.Info("session ended", "reason", reason)
}

// finish asks the session to end, recording the first reason given.
func (s *session) finish(reason string) {
	s.mu.Lock()
	if s.reason == "" {
		s.reason = reason
	}
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stop) })
}

// end stops the session and waits until the participant has left.
func (s *session) end(reason string) {
	s.finish(reason)
	<-s.done
}
