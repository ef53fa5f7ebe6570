package signaling_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client"
	"github.com/plenaryhq/plenary/signaling/protocoltest"
)

// liveDuringReplay publishes a sequenced room event while the join's
// replay is being read, as a chat message sent at that moment would be, and
// then replays it: the event is both in the replay and held back as live.
type liveDuringReplay struct{ g *signaling.Gateway }

func (o liveDuringReplay) OnJoin(ctx context.Context, c protocol.Conn, room string, since uint64) ([]*protocol.Envelope, *protocol.Error) {
	live := &protocol.Envelope{Type: "test.event", Seq: since + 2, Data: json.RawMessage(`{"via":"live"}`)}
	if err := o.g.PublishRoom(ctx, c.Tenant(), room, live); err != nil {
		return nil, &protocol.Error{Code: protocol.CodeUnavailable, Message: err.Error()}
	}
	time.Sleep(200 * time.Millisecond) // the in-process bus hands it to the room's fan-out meanwhile
	return []*protocol.Envelope{
		{Type: "test.event", Room: room, Seq: since + 1, Data: json.RawMessage(`{"via":"replay"}`)},
		{Type: "test.event", Room: room, Seq: since + 2, Data: json.RawMessage(`{"via":"replay"}`)},
	}, nil
}

func (liveDuringReplay) OnLeave(context.Context, protocol.Conn, string) {}

// TestJoinReplayHasNoDuplicates: a client joining with since gets every
// later event once — the one published while the replay was read comes
// in the replay only, and later live events still arrive.
func TestJoinReplayHasNoDuplicates(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, nil)
	s.G.AddObserver(liveDuringReplay{g: s.G})
	c, err := client.Dial(ctxT(t), s.URL, e.Token(t, tenantA, "ada", auth.RoleAttendee),
		client.Options{GapTimeout: -1, OnFrame: protocoltest.Options(t, e.V, "test.").OnFrame})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Join(ctxT(t), "main", client.JoinOptions{Since: 10, Media: new(bool)})
	require.NoError(t, err)
	require.NoError(t, s.G.PublishRoom(ctxT(t), tenantA, "main", &protocol.Envelope{
		Type: "test.event", Seq: 13, Data: json.RawMessage(`{"via":"live"}`)}))
	var got []string
	for len(got) < 3 {
		select {
		case ev := <-c.Events():
			if ev.Type == "test.event" {
				got = append(got, string(ev.Data)+"@"+jsonSeq(ev.Seq))
			}
		case <-time.After(waitTimeout):
			t.Fatalf("got %v", got)
		}
	}
	require.Equal(t, []string{`{"via":"replay"}@11`, `{"via":"replay"}@12`, `{"via":"live"}@13`}, got)
}

func jsonSeq(n uint64) string { b, _ := json.Marshal(n); return string(b) }
