package main

import (
	"context"
	"encoding/json"
	"github.com/plenaryhq/plenary/internal/httpserver"
	"net"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/config"
	"github.com/plenaryhq/plenary/internal/queue"
	"github.com/plenaryhq/plenary/recorder/library"
	"github.com/plenaryhq/plenary/scheduler"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/sfu/whip"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/web"
)

// backbone holds the shared services every role is built on.
type backbone struct {
	bus      bus.Bus
	queue    queue.Queue
	tenants  *auth.Tenants
	issuer   *auth.Issuer
	verifier auth.Verifier
	authMW   func(http.Handler) http.Handler
	sfu      *sfu.SFU
	media    signaling.NodeSelector // built once by mediaSelector
	// announceDraining writes this SFU node's registry entry as draining
	// at once (set by wireRelay when the node registers).
	announceDraining func(ctx context.Context)
	library          *library.Library
	scheduler        *scheduler.Service
}

// worker is a long-running part of a role; it returns when ctx ends.
type worker func(ctx context.Context) error

// wire opens the bus, queue and auth and composes the roles.
func (p *platform) wire(ctx context.Context) error {
	if addr := p.cfg.DebugListen; addr != "" {
		p.workers = append(p.workers, func(ctx context.Context) error { return httpserver.ServeDebug(ctx, addr, p.log) })
	}
	cfg := p.cfg
	if cfg.RedisURL != "" {
		redis.SetLogger(bus.NewRedisLogger(p.log))
		rb, err := bus.NewRedisBus(ctx, bus.RedisConfig{URL: cfg.RedisURL, Prefix: cfg.Prefix}, p.log)
		if err != nil {
			return err
		}
		p.bus = rb
	} else {
		p.bus = bus.NewMemoryBus(bus.MemoryConfig{Prefix: cfg.Prefix}, p.log)
	}
	p.addService("bus", p.bus)

	if cfg.AMQPURL != "" {
		rq, err := queue.NewRabbitQueue(ctx, queue.RabbitConfig{URL: cfg.AMQPURL, Prefix: cfg.Prefix, QueueType: cfg.AMQPQueueType}, p.log)
		if err != nil {
			return err
		}
		p.queue = rq
	} else {
		mq, err := queue.NewMemoryQueue(ctx, p.store, queue.MemoryConfig{}, p.log)
		if err != nil {
			return err
		}
		p.queue = mq
	}
	p.addService("queue", p.queue)

	p.tenants = auth.NewTenants(p.store, auth.WithLogger(p.log))
	p.issuer = auth.NewIssuer(p.tenants, auth.IssuerOptions{})
	p.verifier = auth.NewVerifier(p.tenants, auth.VerifierOptions{})
	p.authMW = auth.Middleware(p.verifier, auth.MiddlewareOptions{Log: p.log})

	p.http.Handle("GET /v1/me", p.authMW(http.HandlerFunc(handleMe)))
	p.http.Handle(auth.TokenRoute, p.authMW(auth.TokenEndpoint(p.issuer)))

	if cfg.HasRole(config.RoleSFU) {
		bind := net.ParseIP(cfg.SFUBindIP)
		node, err := sfu.New(sfu.Config{
			UDPPort: cfg.SFUUDPPort, TCPPort: cfg.SFUTCPPort, BindIP: cfg.SFUBindIP,
			NAT1To1IPs: cfg.SFUNATIPs, IncludeLoopback: bind != nil && bind.IsLoopback(),
		}, p.log)
		if err != nil {
			return err
		}
		p.sfu = node
		p.closers = append(p.closers, node.Close)
		p.workers = append(p.workers, node.Run)
		// SIGTERM: refuse joins, tell every participant's gateway to move
		// it to another node, and wait (up to --drain-timeout) until they
		// have left before the node closes.
		p.http.OnDrain(func(ctx context.Context) error {
			// The registry learns first (placement and relay hubs skip
			// the node), then the gateways are told to move participants.
			if p.announceDraining != nil {
				p.announceDraining(ctx)
			}
			return node.Drain(ctx)
		})
		p.log.Info("sfu listening", "udp", node.UDPAddr(), "tcp", node.TCPAddr())

		// WHIP ingest (OBS → stage) and WHEP playback, the standard HTTP
		// entry points for broadcasters (RFC 9725).
		ingest := whip.NewIngest(node, whip.Options{Verifier: p.verifier, Log: p.log})
		ingest.Register(p.http.Mux(), "/v1/whip")
		playback := whip.NewPlayback(node, whip.Options{Verifier: p.verifier, Log: p.log})
		playback.Register(p.http.Mux(), "/v1/whep")
		p.closers = append(p.closers, ingest.Close, playback.Close)

		if cfg.RedisURL != "" {
			// Other processes reach this node through the registry
			// (wireRelay heartbeats it) and the bus RPC.
			if err := p.serveSFURPC(); err != nil {
				return err
			}
			if err := p.wireRelay(ctx); err != nil {
				return err
			}
		}
	}
	if err := p.wireSignaling(ctx); err != nil {
		return err
	}
	if err := p.wireScheduler(ctx); err != nil {
		return err
	}
	if cfg.HasRole(config.RoleWeb) {
		// The app answers every path no API claims ("/", not "GET /",
		// which would conflict with "/media/"); /t/{tenant}/live/{room}
		// links open its stage page.
		p.http.Handle("/", web.Handler())
		if err := web.RegisterAPI(p.http, web.APIDeps{Authn: p.authMW, Minter: p.issuer,
			Queue: p.queue, BaseURL: cfg.BaseURL(), Log: p.log}); err != nil {
			return err
		}
	}
	return p.wireRecorder(ctx)
}

// addService registers a backbone service's optional readiness check and
// close, found by type assertion (STYLE.md §2).
func (p *platform) addService(name string, svc any) {
	if pg, ok := svc.(interface{ Ping(context.Context) error }); ok {
		p.http.AddCheck(name, pg.Ping)
	}
	if c, ok := svc.(interface{ Close() error }); ok {
		p.closers = append(p.closers, c.Close)
	}
}

// meResponse is the body of GET /v1/me.
type meResponse struct {
	Tenant    string   `json:"tenant"`
	Subject   string   `json:"subject"`
	Name      string   `json:"name,omitempty"`
	Role      string   `json:"role"`
	Rooms     []string `json:"rooms"`
	ExpiresAt string   `json:"expires_at"`
}

// handleMe answers who the bearer of the token is.
func handleMe(w http.ResponseWriter, r *http.Request) {
	c, ok := auth.ClaimsFrom(r.Context())
	if !ok {
		auth.WriteError(w, auth.ErrMissingToken)
		return
	}
	rooms := c.Rooms
	if rooms == nil {
		rooms = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(meResponse{
		Tenant: c.Tenant.String(), Subject: c.Subject, Name: c.Name, Role: c.Role.String(),
		Rooms: rooms, ExpiresAt: c.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"),
	})
}
