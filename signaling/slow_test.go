package signaling_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/metrics"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client"
	"github.com/plenaryhq/plenary/signaling/protocoltest"
)

// counterValue reads a counter from the process registry.
func counterValue(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	return 0
}

// TestSlowConsumerIsClosed: a client that stops reading is disconnected
// once its send queue is full, while the room goes on for the others.
func TestSlowConsumerIsClosed(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{SendQueue: 4, ReplayBuffer: 8}, nil)
	before := counterValue(t, "plenary_signaling_slow_consumers_total")

	u, err := url.Parse(s.URL)
	require.NoError(t, err)
	u.RawQuery = "access_token=" + url.QueryEscape(e.Token(t, tenantA, "slow", auth.RoleAttendee))
	ws, _, err := websocket.DefaultDialer.Dial(u.String(), nil)
	require.NoError(t, err)
	defer func() { _ = ws.Close() }()
	joinFrame := []byte(`{"v":1,"id":"j","type":"join","room":"main","data":{"media":false}}`)
	schema := e.V.Stream()
	require.NoError(t, schema.Check(client.Sent, joinFrame))
	require.NoError(t, ws.WriteMessage(websocket.TextMessage, joinFrame))
	_, ack, err := ws.ReadMessage()
	require.NoError(t, err)
	require.NoError(t, schema.Check(client.Received, ack))
	require.Contains(t, string(ack), `"type":"ack"`)

	fast, err := client.Dial(ctxT(t), s.URL, e.Token(t, tenantA, "fast", auth.RoleAttendee), protocoltest.Options(t, e.V, "test."))
	require.NoError(t, err)
	t.Cleanup(func() { _ = fast.Close() })
	join(t, fast, "main", false)

	// The slow client reads nothing from now on.
	pad := strings.Repeat("x", 32<<10)
	for i := 0; i < 400 && counterValue(t, "plenary_signaling_slow_consumers_total") == before; i++ {
		require.NoError(t, s.G.PublishRoom(ctxT(t), tenantA, "main", &protocol.Envelope{
			Type: "test.flood", Data: json.RawMessage(`{"pad":"` + pad + `"}`),
		}))
		time.Sleep(time.Millisecond) // pace the publisher so the bus buffer does not drop
	}
	eventually(t, "slow consumer closed", func() bool {
		return counterValue(t, "plenary_signaling_slow_consumers_total") > before
	})
	// The slow client eventually reads to the end of its stream.
	_ = ws.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			break
		}
	}
	_, err = request(t, fast, "hand.raise", "main", nil)
	require.NoError(t, err, "the room is unaffected")
}
