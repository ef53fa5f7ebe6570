package scheduler_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/queue"
	"github.com/plenaryhq/plenary/internal/store/storetest"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler"
	"github.com/plenaryhq/plenary/scheduler/internal/testfiles"
)

var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// TestServiceAndCLI wires the service as cmd/plenary does, runs it, and
// drives it with the CLI client over HTTP.
func TestServiceAndCLI(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	ts := auth.NewTenants(st, auth.WithLogger(quiet))
	alpha := tenant.MustParse("alpha")
	_, err := ts.CreateTenant(ctx, alpha, "Alpha")
	require.NoError(t, err)
	issuer := auth.NewIssuer(ts, auth.IssuerOptions{})
	mw := auth.Middleware(auth.NewVerifier(ts, auth.VerifierOptions{}), auth.MiddlewareOptions{Log: quiet})
	q, err := queue.NewMemoryQueue(ctx, st, queue.MemoryConfig{PollInterval: 100 * time.Millisecond}, quiet)
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	b := bus.NewMemoryBus(bus.MemoryConfig{}, quiet)
	t.Cleanup(func() { _ = b.Close() })

	svc, err := scheduler.New(ctx, scheduler.Config{}, scheduler.Deps{Store: st, Queue: q, Bus: b, Auth: mw, Log: quiet})
	require.NoError(t, err)
	mux := http.NewServeMux()
	svc.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()

	org, err := issuer.Mint(ctx, auth.MintRequest{Tenant: alpha, Subject: "org", Role: auth.RoleOrganizer})
	require.NoError(t, err)
	att, err := issuer.Mint(ctx, auth.MintRequest{Tenant: alpha, Subject: "ada", Role: auth.RoleAttendee})
	require.NoError(t, err)

	data := testfiles.Read(t, "fosdem-2026.xml")
	sum, err := scheduler.ImportCLI(ctx, srv.URL, org, "fosdem", bytes.NewReader(data), "")
	require.NoError(t, err)
	require.Equal(t, [4]int{2, 30, 883, 883}, [4]int{sum.Days, sum.Rooms, sum.Events, sum.Created})
	sum, err = scheduler.ImportCLI(ctx, srv.URL+"/", org, "fosdem", bytes.NewReader(data), "frab-xml")
	require.NoError(t, err)
	require.Equal(t, 883, sum.Unchanged)

	var ics bytes.Buffer
	require.NoError(t, scheduler.ExportCLI(ctx, srv.URL, org, "fosdem", "ics", &ics))
	require.Equal(t, 883, strings.Count(ics.String(), "BEGIN:VEVENT"))

	var apiErr *scheduler.APIError
	_, err = scheduler.ImportCLI(ctx, srv.URL, att, "fosdem", bytes.NewReader(data), "")
	require.True(t, errors.As(err, &apiErr))
	require.Equal(t, http.StatusForbidden, apiErr.Status)
	err = scheduler.ExportCLI(ctx, srv.URL, "bad", "fosdem", "xml", &bytes.Buffer{})
	require.True(t, errors.As(err, &apiErr))
	require.Equal(t, http.StatusUnauthorized, apiErr.Status)
	err = scheduler.ExportCLI(ctx, srv.URL, org, "nope", "json", &bytes.Buffer{})
	require.True(t, errors.As(err, &apiErr))
	require.Equal(t, http.StatusNotFound, apiErr.Status)
	require.Error(t, scheduler.ExportCLI(ctx, srv.URL, org, "fosdem", "pdf", &bytes.Buffer{}))
	_, err = scheduler.ImportCLI(ctx, "not a url", org, "fosdem", bytes.NewReader(data), "")
	require.ErrorIs(t, err, scheduler.ErrInvalidConfig)

	stop()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
