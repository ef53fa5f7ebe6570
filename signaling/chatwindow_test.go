package signaling_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client"
	"github.com/plenaryhq/plenary/signaling/protocoltest"
)

// TestChatWindowKeepsOrder: in a room big enough to batch chat
// (ChatBatchMin 2 here) with a chat window far longer than the test, chat
// events are held and each non-chat room event flushes what is held first:
// every member receives everything, complete and in publish order.
// (Without the flush the held events would wait for the hour.)
func TestChatWindowKeepsOrder(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{ChatBatchMin: 2, ChatWindow: time.Hour}, nil)
	dial := func(user string) *client.Client {
		// chat.* payloads here are not the chat service's: only test.* and
		// chat.* frames skip the schema check.
		c, err := client.Dial(ctxT(t), s.URL, e.Token(t, tenantA, user, auth.RoleAttendee), protocoltest.Options(t, e.V, "test.", "chat."))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	a, b := dial("ada"), dial("bob")
	join(t, a, "main", false)
	join(t, b, "main", false)

	ctx := ctxT(t)
	publish := func(typ string, n int) {
		require.NoError(t, s.G.PublishRoom(ctx, tenantA, "main", &protocol.Envelope{
			Type: typ, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))}))
	}
	var want []string
	for i := 0; i < 40; i++ {
		typ := "chat.message"
		if i%10 == 9 {
			typ = "test.other" // not batched: flushes the held chat first
		}
		publish(typ, i)
		want = append(want, fmt.Sprintf("%s %d", typ, i))
	}
	for name, c := range map[string]*client.Client{"ada": a, "bob": b} {
		var got []string
		for len(got) < len(want) {
			select {
			case ev := <-c.Events():
				if ev.Type != "chat.message" && ev.Type != "test.other" {
					continue
				}
				var d struct{ N int }
				require.NoError(t, json.Unmarshal(ev.Data, &d))
				got = append(got, fmt.Sprintf("%s %d", ev.Type, d.N))
			case <-time.After(waitTimeout):
				t.Fatalf("%s: got %d of %d events: %v", name, len(got), len(want), got)
			}
		}
		require.Equal(t, want, got, name)
	}
}
