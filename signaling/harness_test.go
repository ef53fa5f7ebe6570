package signaling_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client"
	"github.com/plenaryhq/plenary/signaling/signalingtest"
)

// Short names for the shared test harness (signaling/signalingtest).
type (
	env              = signalingtest.Env
	server           = signalingtest.Server
	protocolEnvelope = protocol.Envelope
	clientSession    = client.SessionInfo
)

var (
	tenantA       = signalingtest.TenantA
	tenantB       = signalingtest.TenantB
	newEnv        = signalingtest.NewEnv
	join          = signalingtest.Join
	request       = signalingtest.Request
	requireCode   = signalingtest.RequireCode
	waitEvent     = signalingtest.WaitEvent
	presenceOf    = signalingtest.PresenceOf
	participantIn = signalingtest.ParticipantIn
	eventually    = signalingtest.Eventually
	requireRedis  = signalingtest.RequireRedis
	uniquePrefix  = signalingtest.UniquePrefix
	cleanupRedis  = signalingtest.CleanupRedis
	ctxT          = signalingtest.Ctx
	noMedia       = signalingtest.NoMedia
	withTenant    = signalingtest.WithTenant
	tenantFor     = signalingtest.TenantFor
)

// waitTimeout bounds every wait in these tests.
const waitTimeout = signalingtest.Timeout

// fakeMedia is a media node without WebRTC: offers containing "bad" are
// invalid, every join gets a subscriber offer event. Real media is tested
// in signaling/sfunode.
type fakeMedia struct {
	mu       sync.Mutex
	sessions map[string]*fakeSession
}

func newFakeMedia() *fakeMedia { return &fakeMedia{sessions: map[string]*fakeSession{}} }

func (f *fakeMedia) ID() string { return "fake-1" }

func (f *fakeMedia) Select(context.Context, tenant.ID, string, string) (signaling.MediaNode, error) {
	return f, nil
}

func (f *fakeMedia) Join(_ context.Context, t tenant.ID, room, p string, _ signaling.MediaJoinOptions) (signaling.MediaSession, error) {
	s := &fakeSession{events: make(chan signaling.MediaEvent, 16)}
	s.events <- signaling.MediaEvent{Kind: signaling.MediaSubscriberOffer, SDP: signaling.SessionDescription{Type: "offer", SDP: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}}
	f.mu.Lock()
	f.sessions[fmt.Sprintf("%s/%s/%s", t, room, p)] = s
	f.mu.Unlock()
	return s, nil
}

// session returns the live session of a participant, if any.
func (f *fakeMedia) session(t tenant.ID, room, p string) *fakeSession {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sessions[fmt.Sprintf("%s/%s/%s", t, room, p)]
}

type fakeSession struct {
	events chan signaling.MediaEvent
	once   sync.Once
	mu     sync.Mutex
	left   bool
}

func (s *fakeSession) PublisherOffer(_ context.Context, o signaling.SessionDescription) (signaling.SessionDescription, error) {
	if strings.Contains(o.SDP, "bad") {
		return signaling.SessionDescription{}, signaling.ErrInvalidSDP
	}
	return signaling.SessionDescription{Type: "answer", SDP: "v=0\r\nanswer\r\n"}, nil
}

func (s *fakeSession) SubscriberAnswer(_ context.Context, a signaling.SessionDescription) error {
	if strings.Contains(a.SDP, "bad") {
		return signaling.ErrInvalidSDP
	}
	return nil
}

func (s *fakeSession) AddICECandidate(context.Context, signaling.Target, signaling.ICECandidate) error {
	return nil
}
func (s *fakeSession) Subscribe(string) error   { return signaling.ErrTrackNotFound }
func (s *fakeSession) Unsubscribe(string) error { return signaling.ErrTrackNotFound }
func (s *fakeSession) SetPreference(string, signaling.TrackPreference) error {
	return nil
}
func (s *fakeSession) RestartICE(context.Context) error { return signaling.ErrNotSupported }
func (s *fakeSession) MuteTrack(string, bool) error     { return signaling.ErrTrackNotFound }
func (s *fakeSession) Unpublish(string) error           { return signaling.ErrTrackNotFound }
func (s *fakeSession) Events() <-chan signaling.MediaEvent {
	return s.events
}
func (s *fakeSession) Leave() {
	s.once.Do(func() {
		s.mu.Lock()
		s.left = true
		s.mu.Unlock()
		close(s.events)
	})
}

// hasLeft reports whether Leave was called.
func (s *fakeSession) hasLeft() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.left
}

// startHTTP serves g's routes on a loopback port.
func startHTTP(t *testing.T, g *signaling.Gateway) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	g.RegisterRoutes(mux)
	return httptest.NewServer(mux)
}

// wsURL is the WebSocket endpoint of srv.
func wsURL(srv *httptest.Server) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + signaling.DefaultPath
}
