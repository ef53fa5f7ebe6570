package web_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/web"
)

// The browser tests run against a real `plenary serve --demo` binary built
// from this tree. When that binary does not serve the app yet (the web
// role not wired into cmd/plenary), a reverse proxy in the test puts
// web.Handler() and web.RegisterAPI in front of it, so the app, its API
// calls and its WebSocket still share one origin and reach the real
// services.

// demoTenant and demoConvention are what `serve --demo` creates.
const (
	demoTenant     = "demo"
	demoConvention = "demo-con"
	demoStage      = "main-stage"
)

// stack is a running Plenary.
type stack struct {
	// base is the origin the browser opens; direct the binary's own.
	base, direct string
	// proxied says the app is served by the test's proxy.
	proxied bool
	dataDir string
	// tokens are the demo links' tokens by role.
	tokens map[string]string
	issuer *auth.Issuer
	st     *store.Store
	cmd    *exec.Cmd
	logs   *syncBuffer
	proxy  *httptest.Server
}

var (
	stackOnce sync.Once
	theStack  *stack
	stackErr  error
	buildDir  string
)

// TestMain stops the shared stack after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if theStack != nil {
		theStack.stop()
	}
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// need skips (or, with CI=true, fails) when a prerequisite is missing.
func need(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s", what)
	}
	t.Skipf("skipping: %s", what)
}

// requireStack returns the shared stack, starting it on first use.
func requireStack(t *testing.T) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping browser test in -short mode")
	}
	need(t, web.Built(), "the web app is not built (run: npm ci --prefix web/app && npm run build --prefix web/app)")
	stackOnce.Do(func() { theStack, stackErr = startStack() })
	if stackErr != nil {
		t.Fatalf("start plenary: %v", stackErr)
	}
	return theStack
}

// moduleRoot is the repository root (the parent of web/).
func moduleRoot() string {
	wd, _ := os.Getwd()
	return filepath.Dir(wd)
}

var (
	upRE    = regexp.MustCompile(`Plenary is up: (\S+)`)
	mongoRE = regexp.MustCompile(`--mongo-uri (\S+)`)
	linkRE  = regexp.MustCompile(`^\s+(attendee|speaker|moderator|organizer):\s+(\S+)`)
)

func startStack() (*stack, error) {
	var err error
	buildDir, err = os.MkdirTemp("", "plenary-web-e2e-")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(buildDir, "plenary")
	build := exec.Command("go", "build", "-o", bin, "./cmd/plenary")
	build.Dir = moduleRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/plenary: %w\n%s", err, out)
	}
	s := &stack{dataDir: filepath.Join(buildDir, "data"), tokens: map[string]string{}, logs: &syncBuffer{}}
	s.cmd = exec.Command(bin, "serve", "--demo", "--listen", "127.0.0.1:0",
		"--sfu-udp-port", "0", "--sfu-tcp-port", "0", "--sfu-bind-ip", "127.0.0.1",
		"--data-dir", s.dataDir, "--log-level", "warn")
	s.cmd.Stderr = s.logs
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	var mongoURI string
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(120 * time.Second)
	for len(s.tokens) < 4 {
		select {
		case line, ok := <-lines:
			if !ok {
				s.stop()
				return nil, fmt.Errorf("plenary exited before printing the demo links:\n%s", s.logs.String())
			}
			if m := upRE.FindStringSubmatch(line); m != nil {
				s.direct = m[1]
			}
			if m := mongoRE.FindStringSubmatch(line); m != nil {
				mongoURI = m[1]
			}
			if m := linkRE.FindStringSubmatch(line); m != nil {
				u, err := url.Parse(m[2])
				if err == nil {
					s.tokens[m[1]] = u.Query().Get("token")
				}
			}
		case <-deadline:
			s.stop()
			return nil, fmt.Errorf("no demo links within 2 minutes:\n%s", s.logs.String())
		}
	}
	go func() {
		for range lines { // keep draining stdout
		}
	}()
	if s.direct == "" || mongoURI == "" {
		s.stop()
		return nil, fmt.Errorf("did not find the URL (%q) or the store address (%q) in the output", s.direct, mongoURI)
	}
	// The test mints more tokens (a second attendee) with the server's own
	// tenant keys, through its embedded store, as `plenary token` does.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.st, err = store.Open(ctx, store.Config{URI: mongoURI}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("open the server's store: %w", err)
	}
	s.issuer = auth.NewIssuer(auth.NewTenants(s.st), auth.IssuerOptions{})
	s.base = s.direct
	if !servesApp(s.direct) {
		s.proxied = true
		s.proxy = httptest.NewServer(s.appProxy())
		s.base = s.proxy.URL
	}
	return s, nil
}

// servesApp reports whether base answers app routes with the built app.
func servesApp(base string) bool {
	res, err := http.Get(base + "/t/" + demoTenant + "/library")
	if err != nil {
		return false
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode == 200 && bytes.Contains(b, []byte(`name="application-name" content="Plenary"`))
}

// appProxy serves the app and its endpoints and forwards the rest
// (REST, WebSocket, media) to the binary, keeping the Host header so that
// the gateway's same-origin check sees the browser's origin.
func (s *stack) appProxy() http.Handler {
	target, _ := url.Parse(s.direct)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
	}}
	verifier := auth.NewVerifier(auth.NewTenants(s.st), auth.VerifierOptions{})
	mux := http.NewServeMux()
	_ = web.RegisterAPI(mux, web.APIDeps{
		Authn:  auth.Middleware(verifier, auth.MiddlewareOptions{}),
		Minter: s.issuer,
	})
	app := web.Handler()
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if r.Method == http.MethodGet && (p == "/" || strings.HasPrefix(p, "/t/") || strings.HasPrefix(p, "/assets/")) {
			app.ServeHTTP(w, r)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	return mux
}

// token mints a token of the demo tenant.
func (s *stack) token(t *testing.T, sub, name string, role auth.Role) string {
	t.Helper()
	tok, err := s.issuer.Mint(context.Background(), auth.MintRequest{
		Tenant: tenant.MustParse(demoTenant), Subject: sub, Name: name, Role: role, TTL: time.Hour,
	})
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return tok
}

// wsURL is the gateway endpoint for Go clients.
func (s *stack) wsURL() string {
	return "ws" + strings.TrimPrefix(s.direct, "http") + "/v1/ws"
}

// stop ends the binary (SIGTERM, then SIGKILL after 20 s).
func (s *stack) stop() {
	if s.proxy != nil {
		s.proxy.Close()
	}
	if s.st != nil {
		_ = s.st.Close()
	}
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// syncBuffer collects the server's log for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 1<<20 {
		b.b.Reset()
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
