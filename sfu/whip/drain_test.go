package whip_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
)

// TestDrainingNodeRefusesSessions: while the SFU drains, a new WHIP session
// gets 503 with Retry-After (a load balancer or OBS retries elsewhere).
func TestDrainingNodeRefusesSessions(t *testing.T) {
	e := newEnv(t)
	speaker := e.token("speaker-1", auth.RoleSpeaker)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, e.sfu.Drain(ctx), "an empty node drains at once")
	require.True(t, e.sfu.Draining())
	status, hdr, body := e.do(http.MethodPost, "/v1/whip/stage", speaker, "application/sdp", "v=0")
	require.Equal(t, http.StatusServiceUnavailable, status, "body: %s", body)
	require.Equal(t, "1", hdr.Get("Retry-After"))
	require.Contains(t, body, "draining")
}
