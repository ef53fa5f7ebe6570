package signaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// Gateway is the WebSocket signaling gateway: it authenticates clients,
// keeps their sessions, routes their messages (built-in signaling and
// moderation, plus the areas other components Register), fans room events
// out through the bus and drives the media plane through a NodeSelector.
type Gateway struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	state    State
	ownState bool
	hub      *hub
	// users and tenants are the scheduler feeds (schedule.go): one bus
	// subscription per user with sessions here, one per tenant with rooms
	// here.
	users    *feedSet[userKey]
	userPat  *userPattern // all user channels in one subscription (Redis only); nil: users
	tenants  *feedSet[tenant.ID]
	upgrader websocket.Upgrader
	authMW   func(http.Handler) http.Handler

	// ctx is the parent of every request context; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	sessionRoutes map[string]sessionHandler
	roomRoutes    map[string]roomHandler

	hmu       sync.RWMutex
	handlers  map[string]protocol.Handler // by prefix, e.g. "chat."
	observers []protocol.RoomObserver

	mu       sync.Mutex
	conns    map[*conn]struct{}
	sessions map[string]*session
	closed   bool
	draining atomic.Bool
	// connsDone is signalled when the last connection is removed while
	// draining.
	connsDone chan struct{}
	closeOnce sync.Once
}

// builtinPrefixes are the message areas the gateway serves itself.
var builtinPrefixes = []string{"media.", "mod.", "hand.", "presence.", "room.", "session."}

// New validates cfg and returns a gateway. deps.Bus and deps.Verifier are
// required. Call Register for other areas before serving.
func New(cfg Config, deps Deps) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Bus == nil || deps.Verifier == nil {
		return nil, fmt.Errorf("%w: Deps.Bus and Deps.Verifier are required", ErrInvalidConfig)
	}
	cfg = cfg.withDefaults()
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "signaling", "gateway", cfg.GatewayID)
	g := &Gateway{
		cfg:       cfg,
		deps:      deps,
		log:       log,
		state:     deps.State,
		handlers:  make(map[string]protocol.Handler),
		conns:     make(map[*conn]struct{}),
		sessions:  make(map[string]*session),
		connsDone: make(chan struct{}, 1),
	}
	if g.state == nil {
		g.state = NewMemoryState()
		g.ownState = true
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	g.hub = newHub(g)
	g.users = newFeedSet(g, "user", g.onUserEvent)
	g.userPat = newUserPattern(g)
	g.tenants = newFeedSet(g, "tenant", g.onTenantEvent)
	g.sessionRoutes = g.sessionHandlers()
	g.roomRoutes = g.roomHandlers()
	g.upgrader = websocket.Upgrader{
		HandshakeTimeout: cfg.HandshakeTimeout,
		ReadBufferSize:   1024,
		WriteBufferSize:  4096,
		WriteBufferPool:  &sync.Pool{},
		CheckOrigin:      g.checkOrigin,
	}
	g.authMW = auth.Middleware(deps.Verifier, auth.MiddlewareOptions{Log: log})
	return g, nil
}

// Register routes the message types starting with prefix (which must end
// in ".", e.g. "chat.") to h. Built-in areas (media., mod., hand., …) and
// the built-in types cannot be taken. Register before serving.
func (g *Gateway) Register(prefix string, h protocol.Handler) error {
	if h == nil || !strings.HasSuffix(prefix, ".") || len(prefix) < 2 || slices.Contains(builtinPrefixes, prefix) {
		return fmt.Errorf("%w: %q", ErrInvalidPrefix, prefix)
	}
	g.hmu.Lock()
	defer g.hmu.Unlock()
	if _, dup := g.handlers[prefix]; dup {
		return fmt.Errorf("%w: %q registered twice", ErrInvalidPrefix, prefix)
	}
	g.handlers[prefix] = h
	return nil
}

// AddObserver adds a RoomObserver told about every join and leave (chat
// uses it to replay history to a joining client).
func (g *Gateway) AddObserver(o protocol.RoomObserver) {
	g.hmu.Lock()
	defer g.hmu.Unlock()
	g.observers = append(g.observers, o)
}

// PublishRoom implements protocol.RoomPublisher: components that fan events
// out to rooms (chat, Q&A, polls) are given the Gateway as their publisher.
// The event reaches every connection that joined the room, on every gateway
// sharing the bus.
func (g *Gateway) PublishRoom(ctx context.Context, t tenant.ID, room string, e *protocol.Envelope) error {
	return g.hub.PublishRoom(ctx, t, room, e)
}

var _ protocol.RoomPublisher = (*Gateway)(nil)

// Mux is what RegisterRoutes needs of a router; *http.ServeMux and
// *httpserver.Server both have it.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// RegisterRoutes adds "GET {Path}" (the WebSocket endpoint) to m.
func (g *Gateway) RegisterRoutes(m Mux) {
	m.Handle("GET "+g.cfg.Path, g.Handler())
}

// Handler is the WebSocket endpoint: authentication (HTTP 401 before the
// upgrade for a missing or bad token), then the upgrade.
func (g *Gateway) Handler() http.Handler {
	return g.authMW(http.HandlerFunc(g.serveWS))
}

// serveWS upgrades an authenticated request.
func (g *Gateway) serveWS(w http.ResponseWriter, r *http.Request) {
	claims, ok := auth.ClaimsFrom(r.Context())
	if !ok {
		auth.WriteError(w, auth.ErrMissingToken)
		return
	}
	if g.isDraining() {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "draining", http.StatusServiceUnavailable)
		return
	}
	ws, err := g.upgrader.Upgrade(w, r, nil)
	if err != nil {
		g.log.Debug("upgrade failed", "remote", r.RemoteAddr, "err", err)
		return // the upgrader answered the request
	}
	c := newConn(g, ws, claims)
	if !g.addConn(c) {
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(protocol.CodeDraining, "server draining"), time.Now().Add(closeTimeout))
		_ = ws.Close()
		return
	}
	// The connection gets fresh goroutines and the handler returns, so
	// net/http releases the request, its headers and buffers: an idle
	// connection then costs two small stacks and the gateway's own state.
	go c.serve()
}

// checkOrigin allows requests without Origin (non-browser clients), the
// server's own origin and the configured AllowedOrigins.
func (g *Gateway) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range g.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	g.log.Debug("origin refused", "origin", origin)
	return false
}

// isDraining reports whether new joins are refused.
func (g *Gateway) isDraining() bool {
	return g.draining.Load() || (g.deps.Draining != nil && g.deps.Draining())
}

// addConn registers c; false when the gateway is closed or draining.
func (g *Gateway) addConn(c *conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.draining.Load() {
		return false
	}
	g.conns[c] = struct{}{}
	metricConnections.Inc()
	return true
}

// removeConn forgets c.
func (g *Gateway) removeConn(c *conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.conns[c]; !ok {
		return
	}
	delete(g.conns, c)
	metricConnections.Dec()
	if len(g.conns) == 0 && g.draining.Load() {
		select {
		case g.connsDone <- struct{}{}:
		default:
		}
	}
}

// addSession registers a new session.
func (g *Gateway) addSession(s *session) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sessions[s.id] = s
	metricSessions.Inc()
}

// forgetSession removes an ended session.
func (g *Gateway) forgetSession(s *session) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.sessions[s.id] == s {
		delete(g.sessions, s.id)
		metricSessions.Dec()
	}
}

// lookupSession finds a session by participant ID.
func (g *Gateway) lookupSession(id string) *session {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sessions[id]
}

// Run refreshes presence leases and sweeps those of crashed gateways until
// ctx ends. It returns nil.
func (g *Gateway) Run(ctx context.Context) error {
	t := time.NewTicker(g.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			g.hub.heartbeat(ctx)
		}
	}
}

// Drain refuses new connections and joins, sends every connection a close
// frame with CodeDraining (clients reconnect elsewhere), ends the sessions
// (their participants leave rooms and media) and waits until the sockets
// are closed or ctx ends. Register it with httpserver.Server.OnDrain.
func (g *Gateway) Drain(ctx context.Context) error {
	g.draining.Store(true)
	g.mu.Lock()
	conns := make([]*conn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	sessions := make([]*session, 0, len(g.sessions))
	for _, s := range g.sessions {
		sessions = append(sessions, s)
	}
	g.mu.Unlock()
	g.log.Info("draining", "connections", len(conns), "sessions", len(sessions))
	for _, c := range conns {
		c.closeAsync(protocol.CodeDraining, "server draining; reconnect")
	}
	for _, s := range sessions {
		s.end("server draining", "disconnected")
	}
	for {
		g.mu.Lock()
		n := len(g.conns)
		g.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("signaling drain: %d connections still open: %w", n, ctx.Err())
		case <-g.connsDone:
		}
	}
}

// Close drains with a short deadline if that has not happened, then stops
// the gateway: request contexts are cancelled and an owned state released.
// Idempotent.
func (g *Gateway) Close() error {
	var err error
	g.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = g.Drain(ctx)
		g.mu.Lock()
		g.closed = true
		g.mu.Unlock()
		g.cancel()
		g.hub.close()
		g.users.close()
		if g.userPat != nil {
			g.userPat.close()
		}
		g.tenants.close()
		if errors.Is(err, context.DeadlineExceeded) {
			g.log.Warn("closed with connections still open", "err", err)
		}
	})
	return err
}
