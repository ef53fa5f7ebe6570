package httpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/logging"
)

func start(t *testing.T, s *Server) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	addr, err := s.Listen("127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, 5*time.Second) }()
	<-s.ready
	return "http://" + addr.String(), cancel, done
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestHealthReadyMetrics(t *testing.T) {
	s := New(logging.Discard())
	fail := errors.New("redis down")
	var failing bool
	s.AddCheck("store", func(context.Context) error { return nil })
	s.AddCheck("bus", func(context.Context) error {
		if failing {
			return fail
		}
		return nil
	})
	base, cancel, done := start(t, s)

	code, body := get(t, base+"/healthz")
	require.Equal(t, 200, code)
	require.Equal(t, "ok\n", body)

	code, body = get(t, base+"/readyz")
	require.Equal(t, 200, code, body)
	failing = true
	code, body = get(t, base+"/readyz")
	require.Equal(t, 503, code)
	var r struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &r))
	require.False(t, r.Ready)
	require.Equal(t, "redis down", r.Checks["bus"])
	require.Equal(t, "ok", r.Checks["store"])

	code, body = get(t, base+"/metrics")
	require.Equal(t, 200, code)
	require.Contains(t, body, `plenary_http_requests_total{code="503",method="GET",route="GET /readyz"}`)

	cancel()
	require.NoError(t, <-done)
}

func TestPanicBecomes500(t *testing.T) {
	s := New(logging.Discard())
	s.Handle("GET /boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("bad") }))
	base, cancel, done := start(t, s)
	code, _ := get(t, base+"/boom")
	require.Equal(t, 500, code)
	code, _ = get(t, base+"/healthz")
	require.Equal(t, 200, code, "server survives a handler panic")
	cancel()
	require.NoError(t, <-done)
}

// A hijacked connection (as a WebSocket is) is closed by its drainer, and
// readiness turns off as soon as the drain starts.
func TestDrainClosesHijacked(t *testing.T) {
	s := New(logging.Discard())
	conns := make(chan net.Conn, 1)
	s.Handle("GET /hijack", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_, _ = c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n"))
		conns <- c
	}))
	drained := make(chan struct{})
	s.OnDrain(func(ctx context.Context) error {
		code, _ := get(t, "http://"+s.ln.Addr().String()+"/readyz")
		require.Equal(t, 503, code, "not ready while draining")
		(<-conns).Close()
		close(drained)
		return nil
	})
	base, cancel, done := start(t, s)

	c, err := net.Dial("tcp", base[len("http://"):])
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n"))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	require.Equal(t, 101, resp.StatusCode)

	cancel()
	require.NoError(t, <-done)
	<-drained
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF, "the drainer closed the hijacked connection")
}
