// Package teststack runs a complete Plenary signaling stack in one process
// for the load tester's tests: the WebSocket gateway, the chat service on
// an embedded store, and (optionally) an SFU node, on loopback ports. The
// tests run it in a child process so that killing the "server" is a real
// kill and the tester's memory is measured without the server's.
package teststack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/plenaryhq/plenary/chat"
	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/sfunode"
)

// Config configures a stack.
type Config struct {
	// Tenant is the one tenant the stack knows; Secret its HS256 key
	// (kid "k1").
	Tenant tenant.ID
	// Secret: see Tenant.
	Secret []byte
	// DataDir holds the embedded store (required; a temporary directory).
	DataDir string
	// Database is the store's database name. Default "loadtest".
	Database string
	// Media adds an SFU node on loopback.
	Media bool
	// Gateway and Chat tune the components (zero values are their defaults).
	Gateway signaling.Config
	// Chat: see Gateway.
	Chat chat.Config
	// Log receives the components' logs. Nil discards.
	Log *slog.Logger
}

// Keys is an auth.KeySource with one key per tenant.
type Keys map[tenant.ID]auth.Key

// SigningKey implements auth.KeySource.
func (k Keys) SigningKey(_ context.Context, t tenant.ID) (auth.Key, error) {
	key, ok := k[t]
	if !ok {
		return auth.Key{}, auth.ErrUnknownTenant
	}
	return key, nil
}

// VerificationKey implements auth.KeySource.
func (k Keys) VerificationKey(ctx context.Context, t tenant.ID, kid string) (auth.Key, error) {
	key, err := k.SigningKey(ctx, t)
	if err == nil && key.ID != kid {
		return auth.Key{}, auth.ErrUnknownKey
	}
	return key, err
}

// Stack is a running stack.
type Stack struct {
	// URL is the gateway's WebSocket endpoint.
	URL string
	// Issuer mints tokens of the stack's tenant.
	Issuer *auth.Issuer

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closers []func() error
	once    sync.Once
}

// Start runs a stack until Close.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Database == "" {
		cfg.Database = "loadtest"
	}
	keys := Keys{cfg.Tenant: {ID: "k1", Secret: cfg.Secret, Created: time.Now()}}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &Stack{Issuer: auth.NewIssuer(keys, auth.IssuerOptions{}), cancel: cancel}
	fail := func(err error) (*Stack, error) {
		_ = s.Close()
		return nil, err
	}

	st, err := store.Open(ctx, store.Config{DataDir: cfg.DataDir, Database: cfg.Database}, log)
	if err != nil {
		return fail(fmt.Errorf("teststack: store: %w", err))
	}
	s.closers = append(s.closers, st.Close)
	b := bus.NewMemoryBus(bus.MemoryConfig{}, log)
	s.closers = append(s.closers, b.Close)

	var media signaling.NodeSelector
	if cfg.Media {
		node, err := sfu.New(sfu.Config{BindIP: "127.0.0.1", IncludeLoopback: true, TCPPort: -1}, log)
		if err != nil {
			return fail(fmt.Errorf("teststack: sfu: %w", err))
		}
		s.closers = append(s.closers, node.Close)
		s.run(func() { _ = node.Run(runCtx) })
		media = signaling.SingleNode{Node: sfunode.New("node-1", node)}
	}

	g, err := signaling.New(cfg.Gateway, signaling.Deps{Bus: b, Verifier: auth.NewVerifier(keys, auth.VerifierOptions{}),
		Media: media, Log: log})
	if err != nil {
		return fail(fmt.Errorf("teststack: gateway: %w", err))
	}
	svc, err := chat.New(cfg.Chat, chat.Deps{Store: st, Publisher: g, Log: log})
	if err != nil {
		return fail(fmt.Errorf("teststack: chat: %w", err))
	}
	s.closers = append(s.closers, svc.Close, g.Close)
	for _, p := range chat.Prefixes() {
		if err := g.Register(p, svc); err != nil {
			return fail(fmt.Errorf("teststack: register %s: %w", p, err))
		}
	}
	g.AddObserver(svc)
	s.run(func() { _ = g.Run(runCtx) })

	mux := http.NewServeMux()
	g.RegisterRoutes(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(fmt.Errorf("teststack: listen: %w", err))
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.run(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("teststack: serve", "err", err)
		}
	})
	s.closers = append(s.closers, srv.Close)
	path := cfg.Gateway.Path
	if path == "" {
		path = signaling.DefaultPath
	}
	s.URL = "ws://" + ln.Addr().String() + "/" + strings.TrimPrefix(path, "/")
	return s, nil
}

// run starts f in a goroutine that Close waits for.
func (s *Stack) run(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// Close stops everything, newest component first. Idempotent.
func (s *Stack) Close() error {
	var errs []error
	s.once.Do(func() {
		for i := len(s.closers) - 1; i >= 0; i-- {
			errs = append(errs, s.closers[i]())
		}
		s.cancel()
		s.wg.Wait()
	})
	return errors.Join(errs...)
}
