package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/signaling/client"
	"github.com/plenaryhq/plenary/signaling/client/peer"
)

// mongoURI reads the embedded store's URI that serve prints for other
// local processes.
func mongoURI(t *testing.T, s *server) string {
	t.Helper()
	for l := range s.lines {
		if u, ok := strings.CutPrefix(l, "Embedded store for other local processes: --mongo-uri "); ok {
			return u
		}
	}
	t.Fatal("serve never printed its embedded store URI")
	return ""
}

// mediaMember is a participant joined with media through one gateway.
type mediaMember struct {
	c      *client.Client
	joined *client.Joined
	peer   *peer.Peer
}

func joinWithMedia(t *testing.T, ctx context.Context, gateway, token string) *mediaMember {
	t.Helper()
	ws := "ws" + strings.TrimPrefix(gateway, "http") + "/v1/ws"
	c, err := client.Dial(ctx, ws, token, client.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	joined, err := c.Join(ctx, demoStage, client.JoinOptions{})
	require.NoError(t, err)
	api, err := peer.NewAPI()
	require.NoError(t, err)
	p, err := peer.New(c, demoStage, api)
	require.NoError(t, err)
	loopCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-loopCtx.Done():
				return
			case ev, ok := <-c.Events():
				if !ok {
					return
				}
				_, _ = p.HandleEvent(loopCtx, ev)
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done; p.Close() })
	return &mediaMember{c: c, joined: joined, peer: p}
}

// The production shape on one machine: an SFU node process and two gateway
// processes without SFUs, on one Redis. A speaker on gateway 1 and a viewer
// on gateway 2 are placed on the SFU node through the registry and driven
// over the bus RPC; the viewer receives the speaker's video.
func TestServeGatewaysDriveRemoteSFU(t *testing.T) {
	redisURL := envDefault("PLENARY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
	prefix := "plenarytest-split-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	shared := []string{"--redis-url", redisURL, "--prefix", prefix}
	node := startServe(t, append([]string{"--roles", "sfu,scheduler", "--demo", "--node-id", "sfu-1",
		"--data-dir", t.TempDir()}, shared...)...)
	uri := mongoURI(t, node)
	tokens := demoLinks(t, node)
	gw1 := startServe(t, append([]string{"--roles", "signaling,chat", "--mongo-uri", uri, "--data-dir", t.TempDir()}, shared...)...)
	gw2 := startServe(t, append([]string{"--roles", "signaling,chat", "--mongo-uri", uri, "--data-dir", t.TempDir()}, shared...)...)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	speaker := joinWithMedia(t, ctx, gw1.url, tokens["speaker"])
	viewer := joinWithMedia(t, ctx, gw2.url, tokens["attendee"])
	for _, m := range []*mediaMember{speaker, viewer} {
		require.NotNil(t, m.joined.Media, "joined with media")
		require.Equal(t, "sfu-1", m.joined.Media.Node, "placed on the SFU node of the registry")
	}
	seen := false
	for _, p := range viewer.joined.Participants {
		seen = seen || p.ID == speaker.joined.Self.ID
	}
	require.True(t, seen, "the viewer on gateway 2 sees the speaker on gateway 1 in presence: %+v", viewer.joined.Participants)
	require.NoError(t, speaker.peer.PublishVideo(ctx, 30))
	received := func() (n int64) {
		for _, c := range viewer.peer.Received() {
			n += c
		}
		return n
	}
	for received() < 60 {
		select {
		case <-ctx.Done():
			t.Fatalf("the viewer on gateway 2 received %v of the speaker on gateway 1", viewer.peer.Received())
		case <-time.After(50 * time.Millisecond):
		}
	}
	code, body := httpGet(t, node.url+"/metrics", "")
	require.Equal(t, 200, code)
	require.Contains(t, body, "plenary_sfu_", "the SFU node exports its metrics")
	for _, s := range []*server{gw1, gw2, node} {
		require.NoError(t, s.stop(t))
	}
}
