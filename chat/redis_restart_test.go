package chat_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/chat"
	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
)

// TestRedisRestart is the outage acceptance test, on a private
// redis-server the test kills (SIGKILL, no persistence: the restarted
// server is empty): sends during the outage fail with the retryable
// CodeUnavailable, chat works again once Redis is back without restarting
// the service, and every acknowledged message is still there, once, in
// order.
func TestRedisRestart(t *testing.T) {
	r := startPrivateRedis(t)
	hist := newRedisHistory(t, r.URL(), 100)
	e := newEnv(t, chat.Config{JoinBacklog: 10000, MaxReplay: 10000, BackendTimeout: time.Second}, hist)
	sender := conn(tenantA, "sender", auth.RoleAttendee, "main")
	reader := conn(tenantA, "reader", auth.RoleAttendee, "main")

	var acked []string
	send := func(text string) *protocol.Error {
		_, perr := e.do(sender, "chat.send", "main", map[string]any{"text": text})
		if perr == nil {
			acked = append(acked, text)
		}
		return perr
	}
	for i := range 150 { // more than the window: part of it is archive-only
		require.Nil(t, send(fmt.Sprintf("before %d", i)))
	}

	r.Stop()
	for i := range 5 {
		start := time.Now()
		perr := send(fmt.Sprintf("outage %d", i))
		require.NotNil(t, perr, "a send during the outage must fail, never be dropped silently")
		require.Equal(t, protocol.CodeUnavailable, perr.Code)
		require.True(t, perr.Retryable)
		require.Less(t, time.Since(start), 10*time.Second, "the failure must come quickly")
	}
	// A join during the outage is not refused (media does not depend on
	// chat) but its replay says retry; chat.replay reports the outage.
	evs, sync := e.join(reader, "main", 5)
	require.Empty(t, evs)
	require.Equal(t, true, sync["retry"])
	require.Equal(t, protocol.CodeUnavailable, e.code(reader, "chat.replay", "main", map[string]any{"since": 5}))

	r.Start()
	// The service recovers by itself: retry like a client would.
	deadline := time.Now().Add(testTimeout)
	for send("after 0") != nil {
		require.True(t, time.Now().Before(deadline), "chat did not recover after Redis returned")
		time.Sleep(50 * time.Millisecond) // client retry interval
	}
	for i := 1; i < 20; i++ {
		require.Nil(t, send(fmt.Sprintf("after %d", i)))
	}

	// Everything acknowledged, in order, each once, with consecutive
	// sequence numbers that continue across the restart.
	evs, sync = e.join(reader, "main", 0)
	require.Equal(t, true, sync["complete"])
	require.Len(t, evs, len(acked))
	for i, ev := range evs {
		require.Equal(t, acked[i], text(t, ev))
		require.Equal(t, uint64(i+1), ev.Seq)
	}
	// And a resume from before the outage crosses it without a gap.
	evs, _ = e.join(reader, "main", 140)
	require.Len(t, evs, len(acked)-140)
	require.Equal(t, uint64(141), evs[0].Seq)
	require.Equal(t, acked[len(acked)-1], text(t, evs[len(evs)-1]))
	// chat.replay returns the same on request.
	rep := e.must(reader, "chat.replay", "main", map[string]any{"since": 140})
	require.Len(t, rep["events"], len(acked)-140)
}
