package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/signaling/client"
)

// demoLinks reads the four role links `serve --demo` prints.
func demoLinks(t *testing.T, s *server) map[string]string {
	t.Helper()
	tokens := map[string]string{}
	for len(tokens) < 4 {
		l, ok := <-s.lines
		require.True(t, ok, "serve stopped before printing the demo links")
		f := strings.Fields(l)
		if len(f) == 2 && strings.HasSuffix(f[0], ":") && strings.Contains(f[1], "/t/demo/live/") {
			u, err := url.Parse(f[1])
			require.NoError(t, err)
			tokens[strings.TrimSuffix(f[0], ":")] = u.Query().Get("token")
		}
	}
	return tokens
}

// The wired platform carries chat between two participants of the demo
// stage over the gateway's WebSocket, and serves the history over REST.
func TestServeChatOverGateway(t *testing.T) {
	s := startServe(t, "--demo", "--data-dir", t.TempDir())
	tokens := demoLinks(t, s)
	ws := "ws" + strings.TrimPrefix(s.url, "http") + "/v1/ws"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	noMedia := false

	alice, err := client.Dial(ctx, ws, tokens["attendee"], client.Options{})
	require.NoError(t, err)
	defer alice.Close()
	mod, err := client.Dial(ctx, ws, tokens["moderator"], client.Options{})
	require.NoError(t, err)
	defer mod.Close()
	_, err = alice.Join(ctx, demoStage, client.JoinOptions{Media: &noMedia})
	require.NoError(t, err)
	_, err = mod.Join(ctx, demoStage, client.JoinOptions{Media: &noMedia})
	require.NoError(t, err)

	_, err = alice.Request(ctx, "chat.send", demoStage, map[string]any{"text": "hello <b>stage</b>"})
	require.NoError(t, err)
	for {
		select {
		case e := <-mod.Events():
			if e.Type != "chat.message" {
				continue
			}
			var m struct {
				Text string `json:"text"`
			}
			require.NoError(t, json.Unmarshal(e.Data, &m))
			require.Equal(t, "hello <b>stage</b>", m.Text, "plain text, delivered as sent")
			require.NotZero(t, e.Seq)
			code, body := httpGet(t, s.url+"/v1/rooms/"+demoStage+"/messages?limit=10", tokens["attendee"])
			require.Equal(t, 200, code, body)
			require.Contains(t, body, "hello \\u003cb\\u003estage\\u003c/b\\u003e")
			require.NoError(t, s.stop(t))
			return
		case <-ctx.Done():
			t.Fatal("the moderator never received the attendee's chat message")
		}
	}
}

// The demo convention is imported and published; the schedule CLI imports a
// real file through the running server and exports it again.
func TestServeScheduleDemoAndCLI(t *testing.T) {
	s := startServe(t, "--demo", "--data-dir", t.TempDir())
	tokens := demoLinks(t, s)

	code, body := httpGet(t, s.url+"/v1/conventions/"+demoConvention, tokens["attendee"])
	require.Equal(t, 200, code, body)
	require.Contains(t, body, "Plenary Demo Convention")

	file := "../../../shared/testdata/schedules/fosdem-2026.xml"
	out := cli(t, "schedule", "import", "--url", s.url, "--token", tokens["organizer"], "--convention", "fosdem-2026", file)
	var sum struct{ Days, Rooms, Events, Created, Updated, Unchanged int }
	require.NoError(t, json.Unmarshal([]byte(out), &sum), out)
	require.Equal(t, 2, sum.Days)
	require.Equal(t, 30, sum.Rooms)
	require.Equal(t, 883, sum.Events)
	require.Equal(t, 883, sum.Created)

	ics := cli(t, "schedule", "export", "--url", s.url, "--token", tokens["organizer"], "--convention", "fosdem-2026", "--format", "ics")
	require.Equal(t, 883, strings.Count(ics, "BEGIN:VEVENT"))

	// An attendee may not import.
	cmd := exec.Command(binPath, "schedule", "import", "--url", s.url, "--token", tokens["attendee"], "--convention", "x", file)
	outb, err := cmd.CombinedOutput()
	require.Error(t, err, "%s", outb)
	require.NoError(t, s.stop(t))
}
