package signaling

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// session is one participant's identity on the gateway: its participant ID,
// the rooms it joined (with presence and media) and its outbound stream. A
// session outlives its WebSocket for Config.ResumeGrace so that a client
// whose connection dropped can resume it (see outLog). It implements
// protocol.Conn for the handlers of other areas.
type session struct {
	gw     *Gateway
	id     string
	secret string
	claims *auth.Claims
	log    *slog.Logger

	mu    sync.Mutex
	out   *outLog
	conn  *conn // attached connection; nil during the grace period
	rooms map[string]*member
	grace *time.Timer
	// inGrace mirrors metricSessionsInGrace for this session.
	inGrace bool
	ended   bool
	broken  bool // a frame was lost; the session can no longer be resumed
	// watching: the session shares its user's channel subscription
	// (reminders, schedule.go); set on the first join.
	watching bool
}

var _ protocol.Conn = (*session)(nil)

// newSession returns a session for a connection's claims.
func newSession(gw *Gateway, claims *auth.Claims) *session {
	id := "p_" + randomToken(9)
	return &session{
		gw:     gw,
		id:     id,
		secret: randomToken(18),
		claims: claims,
		log:    gw.log.With("tenant", claims.Tenant, "participant", id, "user", claims.Subject),
		out:    newOutLog(gw.cfg.ReplayBuffer),
		rooms:  make(map[string]*member),
	}
}

// randomToken returns n random bytes in unpadded URL-safe base64.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// resumeToken is what the client presents to resume: "<id>.<secret>".
func (s *session) resumeToken() string { return s.id + "." + s.secret }

// splitResumeToken parses a resume token.
func splitResumeToken(tok string) (id, secret string, ok bool) {
	id, secret, ok = strings.Cut(tok, ".")
	return id, secret, ok && id != "" && secret != ""
}

// checkSecret compares a presented secret in constant time.
func (s *session) checkSecret(secret string) bool {
	return subtle.ConstantTimeCompare([]byte(s.secret), []byte(secret)) == 1
}

// ID implements protocol.Conn.
func (s *session) ID() string { return s.id }

// Claims implements protocol.Conn.
func (s *session) Claims() *auth.Claims { return s.claims }

// Tenant implements protocol.Conn.
func (s *session) Tenant() tenant.ID { return s.claims.Tenant }

// Joined implements protocol.Conn.
func (s *session) Joined(room string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.rooms[room]
	return ok
}

// member returns the session's membership of room, or nil.
func (s *session) member(room string) *member {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[room]
}

// Send implements protocol.Conn: it queues e for this session only. An event
// for a room the session has joined respects the join ordering (nothing
// before the join reply).
func (s *session) Send(e *protocol.Envelope) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if e.Room != "" {
		if m := s.member(e.Room); m != nil {
			s.deliver(m, &frameData{b: b})
			return nil
		}
	}
	s.sendFrame(&frameData{b: b})
	return nil
}

// sendEnvelope marshals and queues an envelope the gateway built itself.
func (s *session) sendEnvelope(e *protocol.Envelope) {
	if err := s.Send(e); err != nil {
		s.log.Error("encode envelope", "type", e.Type, "err", err)
	}
}

// sendFrame queues f on the outbound stream.
func (s *session) sendFrame(f frame) {
	s.mu.Lock()
	c := s.appendLocked(f)
	s.mu.Unlock()
	c.wake()
}

// deliver queues a frame concerning room membership m: held back while the
// join reply has not been queued, so that a client never sees a room's event
// before the reply that lists the room's state.
func (s *session) deliver(m *member, frames ...frame) {
	s.mu.Lock()
	if !m.ready {
		if s.rooms[m.room.name] == m {
			m.pending = append(m.pending, frames...)
		}
		s.mu.Unlock()
		return
	}
	var c *conn
	for _, f := range m.dropReplayed(frames) {
		c = s.appendLocked(f)
	}
	s.mu.Unlock()
	c.wake()
}

// appendLocked appends f to the outbound stream and applies the
// slow-consumer rules. It returns the connection to wake (maybe nil).
// s.mu is held.
func (s *session) appendLocked(f frame) *conn {
	if s.ended {
		return nil
	}
	if !s.out.append(f) {
		// The replay buffer is full of frames never sent: the gap cannot be
		// repaired, so the session cannot be resumed.
		s.broken = true
		metricSlowConsumers.Inc()
		if s.conn != nil {
			s.conn.closeAsync(protocol.CodeSlowConsumer, "send queue overflow")
		} else {
			go s.end("replay buffer overflow", "disconnected")
		}
		return nil
	}
	if s.conn != nil && s.out.queued() > s.gw.cfg.SendQueue {
		metricSlowConsumers.Inc()
		s.conn.closeAsync(protocol.CodeSlowConsumer, "send queue full")
		return nil
	}
	return s.conn
}

// take hands the frames queued for c to c's writer; nothing if c is no
// longer the session's connection.
func (s *session) take(c *conn, dst []frame, maxFrames int) []frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != c || s.ended {
		return dst
	}
	return s.out.take(dst, maxFrames)
}

// acked releases frames the client confirmed (ping data.received).
func (s *session) acked(n uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out.trim(n)
}

// attach makes c the session's connection (first connection).
func (s *session) attach(c *conn) {
	s.mu.Lock()
	s.conn = c
	s.mu.Unlock()
}

// detach is called when c closed. Unless the session ended or c was
// replaced, the grace period starts; endNow skips it (the client said bye).
func (s *session) detach(c *conn, endNow bool) {
	s.mu.Lock()
	if s.conn != c || s.ended {
		s.mu.Unlock()
		return
	}
	s.conn = nil
	if endNow || s.broken || s.gw.isDraining() {
		s.mu.Unlock()
		reason := "disconnected"
		if endNow {
			reason = "left"
		}
		s.end("connection closed", reason)
		return
	}
	s.grace = time.AfterFunc(s.gw.cfg.ResumeGrace, s.expire)
	s.inGrace = true
	s.mu.Unlock()
	metricSessionsInGrace.Inc()
	s.log.Debug("session in grace period", "grace", s.gw.cfg.ResumeGrace)
}

// expire ends the session if no connection resumed it in time.
func (s *session) expire() {
	s.mu.Lock()
	idle := s.conn == nil && !s.ended
	if idle {
		s.clearGraceLocked()
	}
	s.mu.Unlock()
	if idle {
		s.end("resume grace period over", "disconnected")
	}
}

// clearGraceLocked stops the grace period, if running. s.mu is held.
func (s *session) clearGraceLocked() {
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	if s.inGrace {
		s.inGrace = false
		metricSessionsInGrace.Dec()
	}
}

// resume attaches c to the session after c's client received n frames.
// It fails (false) when the session ended or lost frames after n.
func (s *session) resume(c *conn, n uint64) (old *conn, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.broken || !s.out.rewind(n) {
		return nil, false
	}
	s.clearGraceLocked()
	old, s.conn = s.conn, c
	return old, true
}

// end leaves every room (announcing leave as the presence.leave reason)
// and forgets the session. Idempotent.
func (s *session) end(reason, leave string) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	s.clearGraceLocked()
	rooms := make([]*member, 0, len(s.rooms))
	for _, m := range s.rooms {
		rooms = append(rooms, m)
	}
	c := s.conn
	s.out = newOutLog(1)
	s.mu.Unlock()

	for _, m := range rooms {
		s.gw.leaveRoom(m, leave)
	}
	s.gw.unwatchUser(s)
	if c != nil {
		c.closeAsync(1000, reason)
	}
	s.gw.forgetSession(s)
	s.log.Debug("session ended", "reason", reason)
}
