package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/chat"
	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/store/storetest"
	"github.com/plenaryhq/plenary/internal/tenant"
)

var (
	tenantA = tenant.MustParse("alpha")
	tenantB = tenant.MustParse("beta")
	// quietLog keeps expected warnings (backend outages) out of test output.
	quietLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
)

// fakePub is the RoomPublisher test double: it records what was published
// per tenant and room, in publish order.
type fakePub struct {
	t      testing.TB
	mu     sync.Mutex
	events map[string][]*protocol.Envelope
}

func newFakePub(t testing.TB) *fakePub {
	return &fakePub{t: t, events: make(map[string][]*protocol.Envelope)}
}

// PublishRoom implements protocol.RoomPublisher; in tests (not
// benchmarks, where it would dominate) every event must match its schema.
func (p *fakePub) PublishRoom(_ context.Context, t tenant.ID, room string, e *protocol.Envelope) error {
	if _, bench := p.t.(*testing.B); !bench {
		validateEvent(p.t, e)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	k := string(t) + "/" + room
	p.events[k] = append(p.events[k], e)
	return nil
}

// room returns a copy of what was published to t/room.
func (p *fakePub) room(t tenant.ID, room string) []*protocol.Envelope {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*protocol.Envelope(nil), p.events[string(t)+"/"+room]...)
}

// waitFor polls the published events of t/room until one of type typ
// satisfies ok, failing after testTimeout.
func (p *fakePub) waitFor(t *testing.T, tn tenant.ID, room, typ string, ok func(data map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		for _, e := range p.room(tn, room) {
			if e.Type != typ {
				continue
			}
			var d map[string]any
			require.NoError(t, json.Unmarshal(e.Data, &d))
			if ok(d) {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event in %s/%s matched within %s", typ, tn, room, testTimeout)
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
}

// fakeConn is the protocol.Conn test double.
type fakeConn struct {
	id     string
	claims *auth.Claims
	joined map[string]bool
}

// Compile-time check.
var _ protocol.Conn = (*fakeConn)(nil)

func (c *fakeConn) ID() string                    { return c.id }
func (c *fakeConn) Claims() *auth.Claims          { return c.claims }
func (c *fakeConn) Tenant() tenant.ID             { return c.claims.Tenant }
func (c *fakeConn) Joined(room string) bool       { return c.joined[room] }
func (c *fakeConn) Send(*protocol.Envelope) error { return nil }

// conn returns a connection of subject sub with role in t that joined rooms.
func conn(t tenant.ID, sub string, role auth.Role, rooms ...string) *fakeConn {
	c := &fakeConn{id: "conn-" + sub, claims: &auth.Claims{Tenant: t, Subject: sub, Name: "Name " + sub, Role: role}, joined: map[string]bool{}}
	for _, r := range rooms {
		c.joined[r] = true
	}
	return c
}

// env is a chat service on a fresh embedded store.
type env struct {
	t    testing.TB
	st   *store.Store
	hist chat.History
	pub  *fakePub
	svc  *chat.Service
}

// newEnv starts a service with cfg over hist (nil: a memory history).
func newEnv(t testing.TB, cfg chat.Config, hist chat.History) *env {
	t.Helper()
	if cfg.AggregateInterval == 0 {
		cfg.AggregateInterval = 20 * time.Millisecond
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = 1e6 // tests send fast; TestRateLimit sets its own
		cfg.RateBurst = 1e6
	}
	e := &env{t: t, st: storetest.Open(t), hist: hist, pub: newFakePub(t)}
	if e.hist == nil {
		e.hist = chat.NewMemoryHistory(0)
	}
	svc, err := chat.New(cfg, chat.Deps{Store: e.st, History: e.hist, Publisher: e.pub, Log: quietLog})
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Close() })
	e.svc = svc
	return e
}

// do sends one request and returns the ack payload re-decoded as a map.
func (e *env) do(c protocol.Conn, typ, room string, data any) (map[string]any, *protocol.Error) {
	e.t.Helper()
	raw, err := json.Marshal(data)
	require.NoError(e.t, err)
	req := &protocol.Envelope{V: 1, ID: "r1", Type: typ, Room: room, Data: raw}
	reply, perr := e.svc.Handle(context.Background(), c, req)
	validateExchange(e.t, req, reply, perr)
	if perr != nil {
		return nil, perr
	}
	var m map[string]any
	b, err := json.Marshal(reply)
	require.NoError(e.t, err)
	require.NoError(e.t, json.Unmarshal(b, &m))
	return m, nil
}

// must is do that fails the test on an error.
func (e *env) must(c protocol.Conn, typ, room string, data any) map[string]any {
	e.t.Helper()
	m, perr := e.do(c, typ, room, data)
	require.Nil(e.t, perr, "%s: %v", typ, perr)
	return m
}

// code is do that expects an error and returns its code.
func (e *env) code(c protocol.Conn, typ, room string, data any) int {
	e.t.Helper()
	_, perr := e.do(c, typ, room, data)
	require.NotNil(e.t, perr, "%s: expected an error", typ)
	return perr.Code
}

// send posts text and returns its sequence.
func (e *env) send(c protocol.Conn, room, text string) uint64 {
	e.t.Helper()
	m := e.must(c, "chat.send", room, map[string]any{"text": text})
	return uint64(m["seq"].(float64))
}

// join calls OnJoin and splits the replay into events and the closing
// chat.sync payload.
func (e *env) join(c protocol.Conn, room string, since uint64) ([]*protocol.Envelope, map[string]any) {
	e.t.Helper()
	envs, perr := e.svc.OnJoin(context.Background(), c, room, since)
	require.Nil(e.t, perr, "OnJoin: %v", perr)
	require.NotEmpty(e.t, envs)
	for _, ev := range envs {
		validateEvent(e.t, ev)
	}
	last := envs[len(envs)-1]
	require.Equal(e.t, "chat.sync", last.Type)
	var sync map[string]any
	require.NoError(e.t, json.Unmarshal(last.Data, &sync))
	return envs[:len(envs)-1], sync
}

// text returns a chat.message envelope's text.
func text(t *testing.T, e *protocol.Envelope) string {
	t.Helper()
	var m struct {
		Text string `json:"text"`
	}
	require.NoError(t, json.Unmarshal(e.Data, &m))
	return m.Text
}

// requireMessages checks that envs are exactly the chat messages
// "<prefix> i" for i in [from, to], with consecutive sequence numbers.
func requireMessages(t *testing.T, envs []*protocol.Envelope, prefix string, from, to int) {
	t.Helper()
	require.Len(t, envs, to-from+1)
	for i, e := range envs {
		require.Equal(t, "chat.message", e.Type)
		require.Equal(t, fmt.Sprintf("%s %d", prefix, from+i), text(t, e), "event %d", i)
		if i > 0 {
			require.Equal(t, envs[i-1].Seq+1, e.Seq, "sequence gap or duplicate at %d", i)
		}
	}
}
