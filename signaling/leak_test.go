package signaling_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/signaling"
)

// TestNoGoroutineLeak: after connections come and go (joined, with media,
// dropped mid-session) and the gateway closes, its goroutines are gone.
func TestNoGoroutineLeak(t *testing.T) {
	e := newEnv(t)
	before := runtime.NumGoroutine()
	g, err := signaling.New(signaling.Config{ResumeGrace: 50 * time.Millisecond}, signaling.Deps{Bus: e.Bus, Verifier: e.Verifier, State: e.State, Media: newFakeMedia()})
	require.NoError(t, err)
	func() {
		srv := startHTTP(t, g)
		defer srv.Close()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = g.Run(ctx) }()
		s := &server{G: g, Srv: srv, URL: wsURL(srv)}
		for i := range 10 {
			c := e.Dial(t, s, e.Token(t, tenantA, fmt.Sprintf("u%d", i), auth.RoleSpeaker))
			join(t, c, fmt.Sprintf("r%d", i%3), i%2 == 0)
			if i%3 == 0 {
				c.Drop() // left to the grace period
			} else {
				require.NoError(t, c.Close())
			}
		}
		require.NoError(t, g.Close())
		cancel()
		<-done
	}()
	eventually(t, "goroutines back to the baseline", func() bool {
		return runtime.NumGoroutine() <= before+2 // the test's own clients may still be finishing
	})
}
