// Package httpserver is the HTTP front of every Plenary role: one listener
// for the API, WebSocket upgrades, the web app, /healthz, /readyz and
// /metrics, with request metrics, structured access logs and a graceful
// drain that also covers hijacked connections (WebSockets), which
// http.Server.Shutdown does not touch.
package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plenaryhq/plenary/internal/metrics"
)

// Check is a readiness probe of one dependency (store, bus, queue, …).
type Check func(ctx context.Context) error

// Drainer is told to finish when the server drains: stop accepting new work,
// close hijacked connections with a proper close frame, and return when done
// or when ctx (the drain deadline) ends.
type Drainer func(ctx context.Context) error

// Server is an HTTP server with health, readiness, metrics and drain.
type Server struct {
	log   *slog.Logger
	mux   *http.ServeMux
	srv   *http.Server
	ln    net.Listener
	ready chan struct{}

	draining atomic.Bool
	mu       sync.Mutex
	checks   map[string]Check
	drainers []Drainer
}

// New returns a server whose handlers are added with Handle before Serve.
func New(log *slog.Logger) *Server {
	s := &Server{
		log:    log.With("component", "http"),
		mux:    http.NewServeMux(),
		ready:  make(chan struct{}),
		checks: map[string]Check{},
	}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", metrics.Handler())
	s.srv = &http.Server{
		Handler:           s.instrument(s.mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s
}

// Handle registers a handler on the server's mux (Go 1.22 patterns,
// e.g. "GET /v1/me").
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// AddCheck adds a named readiness check; /readyz answers 503 while any fails.
func (s *Server) AddCheck(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = c
}

// OnDrain registers a Drainer run when the server drains.
func (s *Server) OnDrain(d Drainer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drainers = append(s.drainers, d)
}

// Listen binds addr. Readiness of the listener (not of the platform) is
// signalled by Listen returning.
func (s *Server) Listen(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	s.ln = ln
	return ln.Addr(), nil
}

// Draining reports whether the server is draining; components consult it to
// refuse new joins.
func (s *Server) Draining() bool { return s.draining.Load() }

// Serve serves on the bound listener until ctx ends, then drains: /readyz
// turns 503, drainers run and in-flight requests finish, all within
// drainTimeout. It returns nil on a clean drain.
func (s *Server) Serve(ctx context.Context, drainTimeout time.Duration) error {
	if s.ln == nil {
		return errors.New("httpserver: Serve before Listen")
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	close(s.ready)
	select {
	case err := <-errc:
		return fmt.Errorf("http serve: %w", err)
	case <-ctx.Done():
	}
	return s.drain(drainTimeout)
}

func (s *Server) drain(timeout time.Duration) error {
	s.draining.Store(true)
	start := time.Now()
	s.log.Info("draining", "timeout", timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	s.mu.Lock()
	drainers := append([]Drainer(nil), s.drainers...)
	s.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(drainers))
	for i, d := range drainers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d(ctx)
		}()
	}
	wg.Wait()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		// Deadline hit: cut what is left rather than hang.
		_ = s.srv.Close()
	}
	s.log.Info("drained", "took", time.Since(start).Round(time.Millisecond), "err", err)
	return errors.Join(append(errs, err)...)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz runs every check with a short deadline and reports each result.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	s.mu.Lock()
	names := make([]string, 0, len(s.checks))
	for n := range s.checks {
		names = append(names, n)
	}
	checks := make(map[string]Check, len(s.checks))
	for n, c := range s.checks {
		checks[n] = c
	}
	s.mu.Unlock()
	sort.Strings(names)

	status := http.StatusOK
	result := map[string]string{}
	if s.draining.Load() {
		status = http.StatusServiceUnavailable
		result["server"] = "draining"
	}
	for _, n := range names {
		if err := checks[n](ctx); err != nil {
			status = http.StatusServiceUnavailable
			result[n] = err.Error()
		} else {
			result[n] = "ok"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"ready": status == http.StatusOK, "checks": result})
}

// Mux is the server's mux, for components that register their own routes.
func (s *Server) Mux() *http.ServeMux { return s.mux }
