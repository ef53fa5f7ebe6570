package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling/client"
)

// scriptServer is a WebSocket peer that sends frames as two gateways'
// interleaved fan-out would, and answers chat.replay from a fixed history.
func scriptServer(t *testing.T, frames []string, history map[uint64]string) string {
	t.Helper()
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = ws.Close() }()
		for _, f := range frames {
			if err := ws.WriteMessage(websocket.TextMessage, []byte(f)); err != nil {
				return
			}
		}
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var e protocol.Envelope
			if json.Unmarshal(data, &e) != nil || e.Type != "chat.replay" {
				continue
			}
			var req struct {
				Since uint64 `json:"since"`
			}
			_ = json.Unmarshal(e.Data, &req)
			var evs []string
			for s := req.Since + 1; ; s++ {
				d, ok := history[s]
				if !ok {
					break
				}
				evs = append(evs, fmt.Sprintf(`{"type":"chat.message","seq":%d,"data":%s}`, s, d))
			}
			ack := fmt.Sprintf(`{"v":1,"re":%q,"type":"ack","room":"hall","data":{"events":[%s],"sync":{"head":20,"from":%d,"complete":true}}}`,
				e.ID, strings.Join(evs, ","), req.Since)
			if err := ws.WriteMessage(websocket.TextMessage, []byte(ack)); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func chatFrame(seq uint64) string {
	return fmt.Sprintf(`{"v":1,"type":"chat.message","room":"hall","seq":%d,"data":{"text":"m%d"}}`, seq, seq)
}

// nextSeqs reads n events and returns their (type, seq) as "type:seq".
func nextSeqs(t *testing.T, c *client.Client, n int) []string {
	t.Helper()
	var out []string
	deadline := time.After(30 * time.Second)
	for len(out) < n {
		select {
		case e := <-c.Events():
			out = append(out, fmt.Sprintf("%s:%d", e.Type, e.Seq))
		case <-deadline:
			t.Fatalf("got %v, want %d events", out, n)
		}
	}
	return out
}

// TestOrderBySeq: events received out of sequence order (two gateways
// publishing a room's events) are delivered in order, duplicates once, and
// a hole that persists is filled with chat.replay.
func TestOrderBySeq(t *testing.T) {
	frames := []string{
		chatFrame(9), // before chat.sync: passed through as received
		`{"v":1,"type":"chat.sync","room":"hall","data":{"head":10,"from":8,"complete":true}}`,
		chatFrame(12), chatFrame(11), chatFrame(11), chatFrame(10), // 11 twice, 10 already replayed
		`{"v":1,"type":"presence.update","room":"hall","data":{}}`, // unsequenced: never held
		chatFrame(14), chatFrame(15), // 13 never arrives live
	}
	url := scriptServer(t, frames, map[uint64]string{13: `{"text":"m13"}`})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, "tok", client.Options{GapTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	got := nextSeqs(t, c, 8)
	require.Equal(t, []string{
		"chat.message:9", "chat.sync:0", "chat.message:11", "chat.message:12",
		"presence.update:0", "chat.message:13", "chat.message:14", "chat.message:15",
	}, got)
}

// TestOrderSkipsLostEvents: a hole the server cannot fill (the replay does
// not have it) is skipped instead of stalling the room.
func TestOrderSkipsLostEvents(t *testing.T) {
	frames := []string{
		`{"v":1,"type":"chat.sync","room":"hall","data":{"head":5,"complete":true}}`,
		chatFrame(7), chatFrame(8),
	}
	url := scriptServer(t, frames, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, "tok", client.Options{GapTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	require.Equal(t, []string{"chat.sync:0", "chat.message:7", "chat.message:8"}, nextSeqs(t, c, 3))
}

// TestOrderDisabled: a negative GapTimeout delivers events as received.
func TestOrderDisabled(t *testing.T) {
	frames := []string{
		`{"v":1,"type":"chat.sync","room":"hall","data":{"head":5,"complete":true}}`,
		chatFrame(7), chatFrame(6),
	}
	url := scriptServer(t, frames, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, "tok", client.Options{GapTimeout: -1})
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	require.Equal(t, []string{"chat.sync:0", "chat.message:7", "chat.message:6"}, nextSeqs(t, c, 3))
}
