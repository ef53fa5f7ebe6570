package live_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/sfunode"
	st "github.com/plenaryhq/plenary/signaling/signalingtest"
	"github.com/plenaryhq/plenary/web/live"
)

// ordered is a NodeSelector over several nodes: the first one not avoided.
type ordered []*sfunode.Node

func (o ordered) Select(ctx context.Context, t tenant.ID, room, participant string) (signaling.MediaNode, error) {
	return o.SelectAvoiding(ctx, t, room, participant, nil)
}

func (o ordered) SelectAvoiding(_ context.Context, _ tenant.ID, _, _ string, avoid []string) (signaling.MediaNode, error) {
	for _, n := range o {
		if !slices.Contains(avoid, n.ID()) {
			return n, nil
		}
	}
	return nil, signaling.ErrNoMedia
}

// TestLivePageFollowsNodeDrain: two speakers in Chromium on node-1; node-1
// drains; the gateway moves both to node-2 (media.moved), the pages
// rebuild their peer connections, publish again and play each other's
// video again.
func TestLivePageFollowsNodeDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping browser test in -short mode")
	}
	newSFU := func() *sfu.SFU {
		s, err := sfu.New(sfu.Config{BindIP: "127.0.0.1", IncludeLoopback: true, TCPPort: -1}, st.Log())
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	s1, s2 := newSFU(), newSFU()
	e := st.NewEnv(t)
	srv := e.StartMux(t, signaling.Config{}, ordered{sfunode.New("node-1", s1), sfunode.New("node-2", s2)},
		func(m *http.ServeMux) { live.Register(m, live.Options{}) })
	bctx := browser(t)
	tok := func(sub string) string { return e.Token(t, st.TenantA, sub, auth.RoleSpeaker) }
	a := tab(t, bctx, srv, "alpha", "stage", tok("speaker-1"))
	b := tab(t, bctx, srv, "alpha", "stage", tok("speaker-2"))
	idA, idB := selfID(t, a), selfID(t, b)
	requirePlays(t, a, "speaker 1", idB)
	requirePlays(t, b, "speaker 2", idA)
	require.Equal(t, 2, s1.Load().Participants)

	ctx, cancel := context.WithTimeout(context.Background(), st.Timeout)
	defer cancel()
	start := time.Now()
	require.NoError(t, s1.Drain(ctx), "both participants left the draining node")
	for _, tb := range []context.Context{a, b} {
		st.Eventually(t, "the page followed media.moved", func() bool {
			return eval[int](t, tb, `window.plenary.state.moves`) == 1
		})
		require.Equal(t, "node-2", eval[string](t, tb, `window.plenary.state.node`))
	}
	t.Logf("both pages told of the move %v after the drain began", time.Since(start).Round(time.Millisecond))
	requirePlays(t, a, "speaker 1", idB)
	requirePlays(t, b, "speaker 2", idA)
	t.Logf("both pages play each other's video again %v after the drain began", time.Since(start).Round(time.Millisecond))
	require.Equal(t, 2, s2.Load().Participants)
}
