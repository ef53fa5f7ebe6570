package sfurpc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/signaling"
)

// Defaults of Config.
const (
	DefaultKeepAlive   = 250 * time.Millisecond
	DefaultNodeTimeout = 4 * time.Second
	DefaultSessionTTL  = 10 * time.Second
	DefaultTimeout     = 10 * time.Second
)

// Config tunes both ends. Zero values take the defaults above; a node and
// the gateways talking to it should agree on SessionTTL.
type Config struct {
	// KeepAlive is how often a client pings each node it has sessions on.
	KeepAlive time.Duration
	// NodeTimeout is how long a client waits for a silent node before it
	// ends every session there (the gateway then moves the participants:
	// media back within about NodeTimeout + a re-join). A node whose
	// process is gone from the bus (bus.Reacher counts nobody on its
	// channel) is given up sooner: after two pings that reach nobody.
	NodeTimeout time.Duration
	// SessionTTL is how long a node keeps a session nobody pings (a
	// gateway that died).
	SessionTTL time.Duration
	// Timeout bounds a call whose context has no deadline (Subscribe,
	// Unsubscribe, SetPreference, MuteTrack, Unpublish take none).
	Timeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.KeepAlive <= 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	if c.NodeTimeout <= 0 {
		c.NodeTimeout = DefaultNodeTimeout
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Server serves one node's MediaNode on the bus.
type Server struct {
	bus  bus.Bus
	node signaling.MediaNode
	cfg  Config
	log  *slog.Logger
	ch   bus.Channel

	mu       sync.Mutex
	sessions map[string]*serverSession
	handlers sync.WaitGroup // requests in progress
	pumps    sync.WaitGroup // one per session, ends after its Leave
}

// serverSession is one participant's session held for a gateway.
type serverSession struct {
	id       string
	gateway  bus.Channel
	ms       signaling.MediaSession
	lastSeen time.Time // guarded by Server.mu
}

// NewServer serves node (its ID is the bus address) on b.
func NewServer(b bus.Bus, node signaling.MediaNode, cfg Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ch, err := nodeChannel(node.ID())
	if err != nil {
		return nil, fmt.Errorf("sfurpc: node id %q: %w", node.ID(), err)
	}
	return &Server{bus: b, node: node, cfg: cfg.withDefaults(), log: log.With("component", "sfurpc", "node", node.ID()),
		ch: ch, sessions: make(map[string]*serverSession)}, nil
}

// Sessions returns the number of sessions held.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Run serves requests until ctx ends, then leaves every session it holds.
func (s *Server) Run(ctx context.Context) error {
	sub, err := s.bus.Subscribe(ctx, s.ch)
	if err != nil {
		return fmt.Errorf("sfurpc: subscribe %s: %w", s.ch, err)
	}
	defer sub.Close()
	defer s.leaveAll()
	tick := time.NewTicker(s.cfg.SessionTTL / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			s.expire(time.Now())
		case raw, ok := <-sub.C():
			if !ok {
				s.log.Info("sfurpc: bus closed, node stops serving")
				return nil
			}
			var req request
			if err := json.Unmarshal(raw, &req); err != nil || req.From == "" {
				s.log.Warn("sfurpc: malformed request dropped", "err", err)
				continue
			}
			s.handlers.Add(1)
			go func() {
				defer s.handlers.Done()
				s.handle(ctx, req)
			}()
		}
	}
}

// expire leaves sessions whose gateway stopped pinging.
func (s *Server) expire(now time.Time) {
	var dead []*serverSession
	s.mu.Lock()
	for id, ss := range s.sessions {
		if now.Sub(ss.lastSeen) > s.cfg.SessionTTL {
			delete(s.sessions, id)
			dead = append(dead, ss)
		}
	}
	s.mu.Unlock()
	for _, ss := range dead {
		s.log.Info("sfurpc: session expired (gateway silent)", "session", ss.id, "gateway", string(ss.gateway))
		ss.ms.Leave()
	}
}

func (s *Server) leaveAll() {
	s.handlers.Wait()
	s.mu.Lock()
	all := s.sessions
	s.sessions = make(map[string]*serverSession)
	s.mu.Unlock()
	for _, ss := range all {
		ss.ms.Leave()
	}
	s.pumps.Wait()
}

func (s *Server) session(id string) (*serverSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok {
		return nil, fmt.Errorf("%w: unknown session %q", signaling.ErrMediaClosed, id)
	}
	ss.lastSeen = time.Now()
	return ss, nil
}

// handle runs one request and replies.
func (s *Server) handle(ctx context.Context, req request) {
	reply, err := gatewayChannel(req.From)
	if err != nil {
		s.log.Warn("sfurpc: bad reply address", "from", req.From)
		return
	}
	if req.Deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.UnixMilli(req.Deadline))
		defer cancel()
		if ctx.Err() != nil {
			return // the caller has given up already
		}
	}
	out := message{Kind: kindReply, ID: req.ID}
	var started *serverSession
	switch req.Op {
	case opJoin:
		started, err = s.join(ctx, req, reply)
		if started != nil {
			out.Session = started.id
		}
	case opPing:
		out.Unknown = s.ping(req.Sessions)
	default:
		err = s.sessionOp(ctx, req, &out)
	}
	out.Err = encodeErr(err)
	s.send(ctx, reply, &out)
	if started != nil {
		// Events start after the join reply so the client knows the
		// session before its first event arrives.
		s.pumps.Add(1)
		go func() {
			defer s.pumps.Done()
			s.pump(started)
		}()
	}
}

func (s *Server) join(ctx context.Context, req request, reply bus.Channel) (*serverSession, error) {
	var opts signaling.MediaJoinOptions
	if req.Opts != nil {
		opts = *req.Opts
	}
	ms, err := s.node.Join(ctx, tenant.ID(req.Tenant), req.Room, req.Participant, opts)
	if err != nil {
		return nil, err
	}
	ss := &serverSession{id: newSessionID(), gateway: reply, ms: ms, lastSeen: time.Now()}
	s.mu.Lock()
	s.sessions[ss.id] = ss
	s.mu.Unlock()
	return ss, nil
}

// ping refreshes the leases of ids and returns those this node lacks.
func (s *Server) ping(ids []string) []string {
	now := time.Now()
	var unknown []string
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if ss, ok := s.sessions[id]; ok {
			ss.lastSeen = now
		} else {
			unknown = append(unknown, id)
		}
	}
	return unknown
}

func (s *Server) sessionOp(ctx context.Context, req request, out *message) error {
	ss, err := s.session(req.Session)
	if err != nil {
		return err
	}
	ms := ss.ms
	switch req.Op {
	case opOffer:
		if req.SDP == nil {
			return fmt.Errorf("%w: no offer", signaling.ErrInvalidSDP)
		}
		ans, err := ms.PublisherOffer(ctx, *req.SDP)
		if err == nil {
			out.SDP = &ans
		}
		return err
	case opAnswer:
		if req.SDP == nil {
			return fmt.Errorf("%w: no answer", signaling.ErrInvalidSDP)
		}
		return ms.SubscriberAnswer(ctx, *req.SDP)
	case opICE:
		if req.Candidate == nil {
			return fmt.Errorf("%w: no candidate", signaling.ErrInvalidSDP)
		}
		return ms.AddICECandidate(ctx, req.Target, *req.Candidate)
	case opSubscribe:
		return ms.Subscribe(req.Track)
	case opUnsub:
		return ms.Unsubscribe(req.Track)
	case opPref:
		if req.Pref == nil {
			return fmt.Errorf("sfurpc: preference missing")
		}
		pref := *req.Pref
		pref.Pin = req.Pin
		return ms.SetPreference(req.Track, pref)
	case opRestart:
		return ms.RestartICE(ctx)
	case opMute:
		return ms.MuteTrack(req.Track, req.Muted)
	case opUnpublish:
		return ms.Unpublish(req.Track)
	case opLeave:
		s.mu.Lock()
		delete(s.sessions, ss.id)
		s.mu.Unlock()
		ms.Leave()
		return nil
	}
	return fmt.Errorf("%w: unknown operation %q", signaling.ErrNotSupported, req.Op)
}

// pump forwards a session's events to its gateway, numbered, then says gone.
func (s *Server) pump(ss *serverSession) {
	ctx := context.Background()
	var seq uint64
	for ev := range ss.ms.Events() {
		seq++
		s.send(ctx, ss.gateway, &message{Kind: kindEvent, Session: ss.id, Seq: seq, Event: &ev})
	}
	s.mu.Lock()
	delete(s.sessions, ss.id)
	s.mu.Unlock()
	s.send(ctx, ss.gateway, &message{Kind: kindGone, Session: ss.id, Seq: seq + 1})
}

func (s *Server) send(ctx context.Context, ch bus.Channel, m *message) {
	raw, err := json.Marshal(m)
	if err != nil {
		s.log.Error("sfurpc: encode", "err", err)
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
	defer cancel()
	if err := s.bus.Publish(pctx, ch, raw); err != nil && !errors.Is(err, bus.ErrClosed) {
		s.log.Warn("sfurpc: publish to gateway failed", "channel", string(ch), "kind", m.Kind, "err", err)
	}
}

func newSessionID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
