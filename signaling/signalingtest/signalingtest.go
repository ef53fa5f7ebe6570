// Package signalingtest runs signaling gateways for tests: tokens of two
// tenants without a store, gateways behind httptest servers on port 0, and
// clients whose every frame is validated against docs/protocol (see
// protocoltest). Used by the tests of signaling, signaling/sfunode and
// web/live.
package signalingtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client"
	"github.com/plenaryhq/plenary/signaling/protocoltest"
)

var (
	TenantA = tenant.MustParse("alpha")
	TenantB = tenant.MustParse("beta")
)

// Timeout bounds every wait in these tests.
const Timeout = 10 * time.Second

// StaticKeys is a KeySource with one fixed key per tenant, so these tests
// need no store.
type StaticKeys map[tenant.ID]auth.Key

func (k StaticKeys) SigningKey(_ context.Context, t tenant.ID) (auth.Key, error) {
	key, ok := k[t]
	if !ok {
		return auth.Key{}, auth.ErrUnknownTenant
	}
	return key, nil
}

func (k StaticKeys) VerificationKey(ctx context.Context, t tenant.ID, kid string) (auth.Key, error) {
	key, err := k.SigningKey(ctx, t)
	if err != nil {
		return key, err
	}
	if key.ID != kid {
		return auth.Key{}, auth.ErrUnknownKey
	}
	return key, nil
}

// Env is what the tests share: keys for tenants alpha and beta, a bus, a
// state and the schema validator.
type Env struct {
	Keys     StaticKeys
	Issuer   *auth.Issuer
	Verifier auth.Verifier
	Bus      bus.Bus
	State    signaling.State
	V        *protocoltest.Validator
}

// NewEnv returns an env with an in-process bus and state.
func NewEnv(t testing.TB) *Env {
	t.Helper()
	keys := StaticKeys{}
	for _, id := range []tenant.ID{TenantA, TenantB} {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		keys[id] = auth.Key{ID: "k1", Secret: secret, Created: time.Now()}
	}
	b := bus.NewMemoryBus(bus.MemoryConfig{}, nil)
	t.Cleanup(func() { _ = b.Close() })
	return &Env{
		Keys: keys, Issuer: auth.NewIssuer(keys, auth.IssuerOptions{}),
		Verifier: auth.NewVerifier(keys, auth.VerifierOptions{}),
		Bus:      b, State: signaling.NewMemoryState(), V: protocoltest.Default(t),
	}
}

// Token mints a token.
func (e *Env) Token(t testing.TB, id tenant.ID, sub string, role auth.Role, rooms ...string) string {
	t.Helper()
	tok, err := e.Issuer.Mint(context.Background(), auth.MintRequest{
		Tenant: id, Subject: sub, Name: strings.ToUpper(sub[:1]) + sub[1:], Role: role, Rooms: rooms,
	})
	require.NoError(t, err)
	return tok
}

// Server is one gateway behind an httptest server.
type Server struct {
	G   *signaling.Gateway
	Srv *httptest.Server
	URL string
}

// Start runs a gateway with cfg and media on the env's bus and state.
func (e *Env) Start(t testing.TB, cfg signaling.Config, media signaling.NodeSelector) *Server {
	t.Helper()
	return e.StartMux(t, cfg, media, nil)
}

// StartMux is Start with more routes on the same server (register adds
// them), e.g. the live page, so that pages and WebSocket share an origin.
func (e *Env) StartMux(t testing.TB, cfg signaling.Config, media signaling.NodeSelector, register func(*http.ServeMux)) *Server {
	t.Helper()
	g, err := signaling.New(cfg, signaling.Deps{Bus: e.Bus, Verifier: e.Verifier, State: e.State, Media: media, Log: Log()})
	require.NoError(t, err)
	mux := http.NewServeMux()
	g.RegisterRoutes(mux)
	if register != nil {
		register(mux)
	}
	srv := httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Run(ctx)
	}()
	t.Cleanup(func() {
		_ = g.Close()
		srv.Close()
		cancel()
		<-done
	})
	return &Server{G: g, Srv: srv, URL: "ws" + strings.TrimPrefix(srv.URL, "http") + signaling.DefaultPath}
}

// Log logs at debug with SIGNALING_TEST_LOG set, else discards.
func Log() *slog.Logger {
	if os.Getenv("SIGNALING_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// Dial connects a validating client; it is closed at cleanup.
func (e *Env) Dial(t testing.TB, s *Server, tok string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	c, err := client.Dial(ctx, s.URL, tok, protocoltest.Options(t, e.V))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Join joins room and fails the test on error.
func Join(t testing.TB, c *client.Client, room string, media bool) *client.Joined {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	j, err := c.Join(ctx, room, client.JoinOptions{Media: &media})
	require.NoError(t, err)
	return j
}

// Request sends a request and returns the reply or error.
func Request(t testing.TB, c *client.Client, typ, room string, data any) (*protocol.Envelope, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	return c.Request(ctx, typ, room, data)
}

// RequireCode asserts err is a protocol error with code.
func RequireCode(t testing.TB, err error, code int) {
	t.Helper()
	require.Error(t, err)
	pe, ok := err.(*protocol.Error)
	require.Truef(t, ok, "want protocol error %d, got %T %v", code, err, err)
	require.Equalf(t, code, pe.Code, "error: %v", pe)
}

// WaitEvent returns the next event of type typ (skipping others) that
// satisfies match (nil matches all).
func WaitEvent(t testing.TB, c *client.Client, typ string, match func(*protocol.Envelope) bool) *protocol.Envelope {
	t.Helper()
	deadline := time.After(Timeout)
	for {
		select {
		case e := <-c.Events():
			if e.Type == typ && (match == nil || match(e)) {
				return e
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s", typ)
			return nil
		}
	}
}

// PresenceOf matches presence events about participant id.
func PresenceOf(id string) func(*protocol.Envelope) bool {
	return func(e *protocol.Envelope) bool {
		var d struct {
			Participant client.Participant `json:"participant"`
		}
		return json.Unmarshal(e.Data, &d) == nil && d.Participant.ID == id
	}
}

// ParticipantIn decodes the participant of a presence event.
func ParticipantIn(t testing.TB, e *protocol.Envelope) client.Participant {
	t.Helper()
	var d struct {
		Participant client.Participant `json:"participant"`
	}
	require.NoError(t, json.Unmarshal(e.Data, &d))
	return d.Participant
}

// Eventually polls cond until it holds or the deadline passes.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// RequireRedis returns the test Redis URL, skipping (failing with CI=true)
// when it is unreachable.
func RequireRedis(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PLENARY_TEST_REDIS_URL")
	if u == "" {
		u = bus.DefaultRedisURL
	}
	opts, err := redis.ParseURL(u)
	require.NoError(t, err)
	c := redis.NewClient(opts)
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and redis at %s unreachable: %v", u, err)
		}
		t.Skipf("skipping: redis at %s unreachable: %v", u, err)
	}
	return u
}

// UniquePrefix gives a test its own Redis namespace.
func UniquePrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "plenarytest-" + hex.EncodeToString(b[:])
}

// CleanupRedis deletes the keys under prefix at the end of the test.
func CleanupRedis(t testing.TB, url, prefix string) {
	t.Cleanup(func() {
		opts, err := redis.ParseURL(url)
		if err != nil {
			return
		}
		c := redis.NewClient(opts)
		defer func() { _ = c.Close() }()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+":*", 100).Iterator()
		for iter.Next(ctx) {
			_ = c.Del(ctx, iter.Val()).Err()
		}
	})
}

// Ctx is a context bounded by Timeout, cancelled at test cleanup.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

// NoMedia is a join without media.
func NoMedia() client.JoinOptions {
	f := false
	return client.JoinOptions{Media: &f}
}

// WithTenant is a join without media naming a tenant.
func WithTenant(id string) client.JoinOptions {
	o := NoMedia()
	o.Tenant = id
	return o
}

// TenantFor parses a tenant literal.
func TenantFor(s string) tenant.ID { return tenant.MustParse(s) }
