package signaling_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client"
	"github.com/plenaryhq/plenary/signaling/protocoltest"
)

// observer replays two envelopes on join and records leaves.
type observer struct {
	mu     sync.Mutex
	joins  []uint64
	leaves []string
}

func (o *observer) OnJoin(_ context.Context, c protocol.Conn, room string, since uint64) ([]*protocol.Envelope, *protocol.Error) {
	o.mu.Lock()
	o.joins = append(o.joins, since)
	o.mu.Unlock()
	return []*protocol.Envelope{
		{Type: "test.replay", Room: room, Seq: since + 1, Data: json.RawMessage(`{"who":"` + c.ID() + `"}`)},
		{Type: "test.replay", Room: room, Seq: since + 2},
	}, nil
}

func (o *observer) OnLeave(_ context.Context, c protocol.Conn, room string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.leaves = append(o.leaves, c.ID()+"@"+room)
}

func TestRegisterValidation(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, nil)
	h := protocol.HandlerFunc(func(context.Context, protocol.Conn, *protocol.Envelope) (any, *protocol.Error) { return nil, nil })
	require.NoError(t, s.G.Register("chat.", h))
	for _, bad := range []string{"", ".", "chat", "chat.", "media.", "mod.", "hand.", "presence."} {
		require.ErrorIs(t, s.G.Register(bad, h), signaling.ErrInvalidPrefix, bad)
	}
}

func TestRegisteredAreaAndObserver(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, nil)
	obs := &observer{}
	s.G.AddObserver(obs)
	require.NoError(t, s.G.Register("test.", protocol.HandlerFunc(
		func(_ context.Context, c protocol.Conn, env *protocol.Envelope) (any, *protocol.Error) {
			if env.Type == "test.fail" {
				return nil, &protocol.Error{Code: protocol.CodeClosed, Message: "closed"}
			}
			return map[string]any{"echo": env.Data, "tenant": c.Tenant(), "joined": c.Joined(env.Room)}, nil
		})))

	c, err := client.Dial(ctxT(t), s.URL, e.Token(t, tenantA, "ada", auth.RoleAttendee), protocoltest.Options(t, e.V, "test."))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	_, err = request(t, c, "test.echo", "main", map[string]int{"n": 1})
	requireCode(t, err, protocol.CodeNotInRoom)

	// A live event published while the joiner's replay is prepared must
	// come after the replay.
	ctx := ctxT(t)
	j, err := c.Join(ctx, "main", client.JoinOptions{Since: 40, Media: new(bool)})
	require.NoError(t, err)
	require.NoError(t, s.G.PublishRoom(ctx, tenantA, "main", &protocol.Envelope{Type: "test.live", Data: json.RawMessage(`{"n":3}`)}))
	var order []string
	for len(order) < 4 {
		ev := <-c.Events()
		if strings.HasPrefix(ev.Type, "test.") || ev.Type == "presence.join" {
			order = append(order, ev.Type)
		}
	}
	require.Equal(t, []string{"test.replay", "test.replay", "presence.join", "test.live"}, order)
	obs.mu.Lock()
	require.Equal(t, []uint64{40}, obs.joins)
	obs.mu.Unlock()

	r, err := request(t, c, "test.echo", "main", map[string]int{"n": 1})
	require.NoError(t, err)
	require.JSONEq(t, `{"echo":{"n":1},"tenant":"alpha","joined":true}`, string(r.Data))
	_, err = request(t, c, "test.fail", "main", nil)
	requireCode(t, err, protocol.CodeClosed)

	_, err = request(t, c, "leave", "main", nil)
	require.NoError(t, err)
	eventually(t, "OnLeave", func() bool {
		obs.mu.Lock()
		defer obs.mu.Unlock()
		return len(obs.leaves) == 1 && obs.leaves[0] == j.Self.ID+"@main"
	})
}
