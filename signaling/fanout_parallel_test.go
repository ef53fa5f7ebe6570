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

// TestParallelFanoutKeepsOrder: with the fan-out split over several
// goroutines (a chunk of one member here, as a room of thousands would
// be), every member still gets every event once, in publish order.
func TestParallelFanoutKeepsOrder(t *testing.T) {
	defer signaling.SetFanoutChunk(1)()
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, nil)
	var clients []*client.Client
	for i := range 6 {
		c, err := client.Dial(ctxT(t), s.URL, e.Token(t, tenantA, fmt.Sprintf("u%d", i), auth.RoleAttendee),
			protocoltest.Options(t, e.V, "test."))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		join(t, c, "main", false)
		clients = append(clients, c)
	}
	const n = 60
	for i := range n {
		require.NoError(t, s.G.PublishRoom(ctxT(t), tenantA, "main", &protocol.Envelope{
			Type: "test.event", Data: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}))
	}
	for k, c := range clients {
		for i := 0; i < n; {
			select {
			case ev := <-c.Events():
				if ev.Type != "test.event" {
					continue
				}
				var d struct{ I int }
				require.NoError(t, json.Unmarshal(ev.Data, &d))
				require.Equal(t, i, d.I, "client %d", k)
				i++
			case <-time.After(waitTimeout):
				t.Fatalf("client %d: %d of %d events", k, i, n)
			}
		}
	}
}
