package signaling_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/metrics"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client"
)

// TestFullSocketFramesIntact: a client that stops reading while the room
// sends more than the sockets hold gets every frame intact and in order
// once it reads again. The gateway's non-blocking inline writes hit the
// full socket part-way through a frame (counted as "partial" writes) and
// a writer goroutine finishes them; a byte lost or repeated there would
// break the client's framing.
func TestFullSocketFramesIntact(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, nil)
	c, err := client.Dial(ctxT(t), s.URL, e.Token(t, tenantA, "ada", auth.RoleAttendee), client.Options{EventBuffer: 1, GapTimeout: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Join(ctxT(t), "main", client.JoinOptions{Media: new(bool)})
	require.NoError(t, err)
	for len(c.Events()) > 0 { // the join's own events
		<-c.Events()
	}

	partialBefore := partialWrites(t)
	const n, size = 300, 24 << 10 // 7 MB: more than the two sockets' buffers
	for i := range n {
		pad := strings.Repeat(string(rune('a'+i%26)), size)
		require.NoError(t, s.G.PublishRoom(ctxT(t), tenantA, "main", &protocol.Envelope{
			Type: "test.big", Data: json.RawMessage(fmt.Sprintf(`{"i":%d,"pad":%q}`, i, pad))}))
	}
	for i := 0; i < n; {
		select {
		case ev := <-c.Events():
			if ev.Type != "test.big" {
				continue
			}
			var d struct {
				I   int
				Pad string
			}
			require.NoError(t, json.Unmarshal(ev.Data, &d))
			require.Equal(t, i, d.I, "order")
			require.Equal(t, strings.Repeat(string(rune('a'+i%26)), size), d.Pad, "payload of frame %d", i)
			i++
		case <-time.After(waitTimeout):
			t.Fatalf("got %d of %d frames", i, n)
		}
	}
	require.Greater(t, partialWrites(t), partialBefore, "the socket never filled: the test did not exercise partial writes")
}

// partialWrites reads plenary_signaling_socket_writes_total{path="partial"}.
func partialWrites(t *testing.T) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "plenary_signaling_socket_writes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "path" && l.GetValue() == "partial" {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
