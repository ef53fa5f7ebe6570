package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// binary builds plenary once per test binary run.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "plenary-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "plenary")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running `plenary serve` child process.
type server struct {
	cmd   *exec.Cmd
	url   string
	lines chan string
	done  chan error
}

func startServe(t *testing.T, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"serve", "--listen", "127.0.0.1:0", "--drain-timeout", "5s",
		"--sfu-udp-port", "0", "--sfu-tcp-port", "0", "--sfu-bind-ip", "127.0.0.1"}, args...)...)
	cmd.Env = append(os.Environ(), "PLENARY_LOG_LEVEL=warn")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	s := &server{cmd: cmd, lines: make(chan string, 64), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	deadline := time.After(60 * time.Second)
	for s.url == "" {
		select {
		case l, ok := <-s.lines:
			require.True(t, ok, "serve exited before it was up")
			if u, found := strings.CutPrefix(l, "Plenary is up: "); found {
				s.url = u
			}
		case <-deadline:
			t.Fatal("serve did not come up within 60s")
		}
	}
	return s
}

// stop sends SIGTERM and returns the exit error (nil for exit 0).
func (s *server) stop(t *testing.T) error {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-s.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit within 30s of SIGTERM")
		return nil
	}
}

func httpGet(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func cli(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(binPath, args...).Output()
	if ee, ok := err.(*exec.ExitError); ok {
		t.Fatalf("plenary %v: %v\n%s", args, err, ee.Stderr)
	}
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

func TestServeDemoHealthMetricsAndDrain(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, "--demo", "--data-dir", dir)

	links := map[string]string{}
	for len(links) < 4 {
		l := <-s.lines
		f := strings.Fields(l)
		if len(f) == 2 && strings.HasSuffix(f[0], ":") && strings.Contains(f[1], "/t/demo/live/") {
			links[strings.TrimSuffix(f[0], ":")] = f[1]
		}
	}
	require.Len(t, links, 4, "one link per role")

	code, _ := httpGet(t, s.url+"/healthz", "")
	require.Equal(t, 200, code)
	code, body := httpGet(t, s.url+"/readyz", "")
	require.Equal(t, 200, code, body)

	code, body = httpGet(t, s.url+"/metrics", "")
	require.Equal(t, 200, code)
	require.Contains(t, body, "plenary_")
	if _, err := exec.LookPath("promtool"); err == nil || os.Getenv("CI") == "true" {
		cmd := exec.Command("promtool", "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "promtool check metrics:\n%s", out)
	}

	for role, link := range links {
		u, err := url.Parse(link)
		require.NoError(t, err)
		tok := u.Query().Get("token")
		code, body := httpGet(t, s.url+"/v1/me", tok)
		require.Equal(t, 200, code, body)
		var me meResponse
		require.NoError(t, json.Unmarshal([]byte(body), &me))
		require.Equal(t, "demo", me.Tenant)
		require.Equal(t, role, me.Role)
	}
	code, _ = httpGet(t, s.url+"/v1/me", "")
	require.Equal(t, 401, code)

	require.NoError(t, s.stop(t), "SIGTERM drains and exits 0")
}

func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, "--data-dir", dir)
	// The CLI reaches the running server's embedded store via DATA_DIR/mongo.uri.
	cli(t, "tenant", "create", "--id", "acme", "--name", "ACME Summit", "--data-dir", dir)
	tok := cli(t, "token", "--tenant", "acme", "--user", "alice", "--role", "moderator", "--room", "main", "--data-dir", dir)
	code, _ := httpGet(t, s.url+"/v1/me", tok)
	require.Equal(t, 200, code)
	require.NoError(t, s.stop(t))
	_, err := os.Stat(filepath.Join(dir, mongoURIFile))
	require.True(t, os.IsNotExist(err), "mongo.uri removed on exit")

	s = startServe(t, "--data-dir", dir)
	code, body := httpGet(t, s.url+"/v1/me", tok)
	require.Equal(t, 200, code, "the tenant's key survived the restart: %s", body)
	require.Contains(t, body, `"rooms":["main"]`)
	require.Contains(t, cli(t, "tenant", "list", "--data-dir", dir), "acme\tACME Summit")
	require.NoError(t, s.stop(t))
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"nonsense"}, 2, "unknown command"},
		{[]string{"serve", "--roles", "bogus"}, 2, `unknown role "bogus"`},
		{[]string{"serve", "--listen", "x"}, 2, "--listen"},
		{[]string{"token", "--tenant", "Bad Tenant", "--user", "u"}, 2, "--tenant"},
		{[]string{"token", "--tenant", "acme", "--user", "u", "--role", "king"}, 2, "--role"},
		{[]string{"tenant"}, 2, "subcommand"},
		{[]string{"recorder", "package", "--in", "x"}, 2, "--in and --out"},
		{[]string{"recorder", "package", "--in", "/nonexistent-recording", "--out", "/tmp/plenary-out-never"}, 1, "nonexistent-recording"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cmd := exec.Command(binPath, tt.args...)
			out, err := cmd.CombinedOutput()
			ee, ok := err.(*exec.ExitError)
			require.True(t, ok, "want a non-zero exit, got %v\n%s", err, out)
			require.Equal(t, tt.code, ee.ExitCode(), "%s", out)
			require.Contains(t, string(out), tt.want)
		})
	}
}

func TestHelpListsEveryFlag(t *testing.T) {
	out, err := exec.Command(binPath, "serve", "--help").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, f := range []string{"-roles", "-listen", "-data-dir", "-demo", "-mongo-uri", "-redis-url", "-amqp-url", "-drain-timeout", "-config", "PLENARY_"} {
		require.Contains(t, string(out), f)
	}
}

// With Redis and RabbitMQ configured, readiness reports both and they answer.
func TestServeWithRedisAndRabbitMQ(t *testing.T) {
	redisURL := envDefault("PLENARY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
	amqpURL := envDefault("PLENARY_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
	s := startServe(t, "--data-dir", t.TempDir(), "--redis-url", redisURL, "--amqp-url", amqpURL,
		"--prefix", "plenarytest-cmd-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	code, body := httpGet(t, s.url+"/readyz", "")
	require.Equal(t, 200, code, body)
	var r struct {
		Checks map[string]string `json:"checks"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &r))
	for _, c := range []string{"store", "bus", "queue"} {
		require.Equal(t, "ok", r.Checks[c], "check %s in %s", c, body)
	}
	require.NoError(t, s.stop(t))
}

func envDefault(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func TestTenantKeyRotation(t *testing.T) {
	dir := t.TempDir()
	cli(t, "tenant", "create", "--id", "acme", "--data-dir", dir)
	old := cli(t, "token", "--tenant", "acme", "--user", "alice", "--data-dir", dir)
	out := cli(t, "tenant", "rotate-key", "--id", "acme", "--data-dir", dir)
	require.Contains(t, out, "signs new tokens with key")
	fresh := cli(t, "token", "--tenant", "acme", "--user", "alice", "--data-dir", dir)
	oldKid, freshKid := tokenKid(t, old), tokenKid(t, fresh)
	require.NotEqual(t, oldKid, freshKid, "new tokens use the new key")
	require.Contains(t, out, freshKid)
	cli(t, "tenant", "retire-key", "--id", "acme", "--kid", oldKid, "--data-dir", dir)

	s := startServe(t, "--data-dir", dir)
	code, _ := httpGet(t, s.url+"/v1/me", fresh)
	require.Equal(t, 200, code)
	code, body := httpGet(t, s.url+"/v1/me", old)
	require.Equal(t, 401, code, "a token of a retired key is refused: %s", body)
	require.NoError(t, s.stop(t))
}

// tokenKid returns the kid header of a JWT.
func tokenKid(t *testing.T, tok string) string {
	t.Helper()
	head, _, ok := strings.Cut(tok, ".")
	require.True(t, ok)
	b, err := base64.RawURLEncoding.DecodeString(head)
	require.NoError(t, err)
	var h struct {
		Kid string `json:"kid"`
	}
	require.NoError(t, json.Unmarshal(b, &h))
	require.NotEmpty(t, h.Kid)
	return h.Kid
}
