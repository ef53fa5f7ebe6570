package live_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client"
	"github.com/plenaryhq/plenary/signaling/protocoltest"
	"github.com/plenaryhq/plenary/signaling/sfunode"
	st "github.com/plenaryhq/plenary/signaling/signalingtest"
	"github.com/plenaryhq/plenary/web/live"
)

// chromiumPath finds the browser; without it the test is skipped, or fails
// when CI=true.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("PLENARY_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true and chromium not found")
	}
	t.Skip("skipping: chromium not found (set PLENARY_CHROMIUM)")
	return ""
}

// startStack runs an SFU, a gateway and the live page on one origin.
func startStack(t *testing.T) (*st.Env, *st.Server) {
	t.Helper()
	s, err := sfu.New(sfu.Config{BindIP: "127.0.0.1", IncludeLoopback: true, TCPPort: -1}, st.Log())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	e := st.NewEnv(t)
	srv := e.StartMux(t, signaling.Config{}, signaling.SingleNode{Node: sfunode.New("local", s)},
		func(m *http.ServeMux) { live.Register(m, live.Options{}) })
	return e, srv
}

// browser starts headless Chromium with fake camera and microphone.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	// The first Run starts the browser; it must not carry a timeout.
	_, err := chromedp.Run(bctx, chromedp.Evaluate[int]("1"))
	require.NoError(t, err)
	t.Cleanup(func() {
		cancelB()
		cancelA()
	})
	return bctx
}

// tab opens the live page of room with tok in a new tab. Every WebSocket
// frame the page sends or receives is validated against docs/protocol
// (read from the DevTools network events).
func tab(t *testing.T, bctx context.Context, srv *st.Server, tenant, room, tok string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(bctx)
	t.Cleanup(cancel)
	_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	stream := protocoltest.Default(t).Stream()
	frames := make(chan frame, 4096)
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		// Runs on the tab's reader: hand the frame over, validate elsewhere.
		switch ev := ev.(type) {
		case *network.EventWebSocketFrameSent:
			frames <- frame{client.Sent, ev.Response}
		case *network.EventWebSocketFrameReceived:
			frames <- frame{client.Received, ev.Response}
		}
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case f := <-frames:
				if f.data.Opcode != 1 {
					continue
				}
				if err := stream.Check(f.dir, f.data.PayloadData); err != nil {
					t.Errorf("browser frame violates the protocol schema: %v\n%s", err, f.data.PayloadData)
				}
				validated.Add(1)
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	u := fmt.Sprintf("%s/t/%s/live/%s?token=%s", srv.Srv.URL, tenant, room, url.QueryEscape(tok))
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(u)))
	return ctx
}

// frame is one WebSocket message seen by DevTools.
type frame struct {
	dir  client.Direction
	data *network.WebSocketFrame
}

// validated counts the browser frames checked against the schemas.
var validated atomic.Int64

// eval evaluates expr in a tab with a bounded wait.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr))
	require.NoError(t, err, expr)
	return v
}

// selfID is the participant ID of a tab once joined.
func selfID(t *testing.T, ctx context.Context) string {
	t.Helper()
	var id string
	st.Eventually(t, "tab joined", func() bool {
		id = eval[string](t, ctx, `(window.plenary && window.plenary.state.self && window.plenary.state.self.id) || ""`)
		return id != ""
	})
	return id
}

// videoStat is what the page reports per <video>.
type videoStat struct {
	Participant string `json:"participant"`
	Local       bool   `json:"local"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Frames      int    `json:"frames"`
}

// plays reports whether the tab plays participant's video: frames decoded
// and a non-zero size.
func plays(t *testing.T, ctx context.Context, participant string) bool {
	for _, v := range eval[[]videoStat](t, ctx, `window.plenary.videoStats()`) {
		if v.Participant == participant && !v.Local && v.Frames > 0 && v.Width > 0 && v.Height > 0 {
			return true
		}
	}
	return false
}

// requirePlays waits until ctx plays participant's video.
func requirePlays(t *testing.T, ctx context.Context, who, participant string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !plays(t, ctx, participant) {
		if time.Now().After(deadline) {
			t.Fatalf("%s does not play %s's video: %+v; errors: %v", who, participant,
				eval[[]videoStat](t, ctx, `window.plenary.videoStats()`), eval[[]string](t, ctx, `window.plenary.state.errors`))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestLivePageInChromium is the acceptance scenario: two speakers see each
// other; an attendee sees both and publishes nothing until a moderator
// promotes it, then publishes without a reload.
func TestLivePageInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping browser test in -short mode")
	}
	e, srv := startStack(t)
	bctx := browser(t)
	tok := func(sub string, role auth.Role) string { return e.Token(t, st.TenantA, sub, role) }

	s1 := tab(t, bctx, srv, "alpha", "stage", tok("speaker-1", auth.RoleSpeaker))
	s2 := tab(t, bctx, srv, "alpha", "stage", tok("speaker-2", auth.RoleSpeaker))
	att := tab(t, bctx, srv, "alpha", "stage", tok("attendee", auth.RoleAttendee))
	id1, id2, idA := selfID(t, s1), selfID(t, s2), selfID(t, att)

	requirePlays(t, s1, "speaker 1", id2)
	requirePlays(t, s2, "speaker 2", id1)
	requirePlays(t, att, "attendee", id1)
	requirePlays(t, att, "attendee", id2)
	require.False(t, eval[bool](t, att, `window.plenary.state.publishing`), "the attendee publishes nothing")
	require.False(t, plays(t, s1, idA))

	mod := e.Dial(t, srv, tok("moderator", auth.RoleModerator))
	st.Join(t, mod, "stage", false)
	_, err := st.Request(t, mod, "mod.promote", "stage", map[string]string{"participant": idA})
	require.NoError(t, err)

	requirePlays(t, s1, "speaker 1", idA)
	requirePlays(t, s2, "speaker 2", idA)
	require.True(t, eval[bool](t, att, `window.plenary.state.publishing`))
	require.Equal(t, "speaker", eval[string](t, att, `window.plenary.state.role`))
	require.Greater(t, validated.Load(), int64(30), "the browsers' frames were validated")
}

func TestPageHandler(t *testing.T) {
	mux := http.NewServeMux()
	live.Register(mux, live.Options{WSPath: "/custom/ws"})
	srv := httpServer(t, mux)
	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/t/alpha/live/stage?token=x", http.StatusOK, `content="/custom/ws"`},
		{"/t/alpha/live/bad%20room", http.StatusNotFound, ""},
		{"/live/assets/live.js", http.StatusOK, "window.plenary"},
		{"/live/assets/live.css", http.StatusOK, "figure"},
		{"/live/assets/missing.js", http.StatusNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(st.Ctx(t), http.MethodGet, srv+tc.path, nil)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer func() { _ = resp.Body.Close() }()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tc.status, resp.StatusCode)
			require.True(t, strings.Contains(string(body), tc.want))
			if strings.HasPrefix(tc.path, "/t/") && tc.status == http.StatusOK {
				require.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
				require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			}
		})
	}
}
