package chat_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/chat"
)

// testTimeout bounds waits in tests.
const testTimeout = 10 * time.Second

// testRedisURL is the shared Redis; PLENARY_TEST_REDIS_URL overrides it.
func testRedisURL() string {
	if u := os.Getenv("PLENARY_TEST_REDIS_URL"); u != "" {
		return u
	}
	return chat.DefaultRedisURL
}

// missingBackend skips, or fails when CI=true.
func missingBackend(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and backend missing: %s", msg)
	}
	t.Skipf("skipping: %s", msg)
}

// requireRedis returns the shared Redis URL after checking it answers.
func requireRedis(t testing.TB) string {
	t.Helper()
	u := testRedisURL()
	c := rawClient(t, u)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		missingBackend(t, "redis at %s unreachable: %v", u, err)
	}
	return u
}

// uniquePrefix gives one test its own key namespace on a shared Redis.
func uniquePrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "plenarytest-" + hex.EncodeToString(b[:])
}

// rawClient returns a plain client for inspecting and cleaning server state.
func rawClient(t testing.TB, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newRedisHistory opens a RedisHistory with a unique prefix whose keys are
// deleted at cleanup.
func newRedisHistory(t testing.TB, url string, window int) *chat.RedisHistory {
	t.Helper()
	return newRedisHistoryPrefix(t, url, uniquePrefix(), window)
}

// newRedisHistoryPrefix is newRedisHistory with a given prefix, for tests
// that run two "processes" on one Redis.
func newRedisHistoryPrefix(t testing.TB, url, prefix string, window int) *chat.RedisHistory {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	h, err := chat.NewRedisHistory(ctx, chat.RedisHistoryConfig{URL: url, Prefix: prefix, Window: window, Timeout: 500 * time.Millisecond}, nil)
	require.NoError(t, err)
	raw := rawClient(t, url)
	t.Cleanup(func() {
		_ = h.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var cursor uint64
		for {
			keys, next, err := raw.Scan(ctx, cursor, prefix+":*", 500).Result()
			if err != nil {
				return
			}
			if len(keys) > 0 {
				raw.Del(ctx, keys...)
			}
			if cursor = next; cursor == 0 {
				return
			}
		}
	})
	return h
}

// privateRedis is a redis-server owned by one test, so the test can kill and
// restart it without disturbing the shared one.
type privateRedis struct {
	t    testing.TB
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

// startPrivateRedis starts redis-server on a free loopback port without
// persistence (a restart loses every key, the worst case) and stops it at
// cleanup.
func startPrivateRedis(t testing.TB) *privateRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		missingBackend(t, "redis-server binary not found: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	r := &privateRedis{t: t, bin: bin, port: port, dir: t.TempDir()}
	r.start()
	t.Cleanup(r.stop)
	return r
}

// URL is the private server's address.
func (r *privateRedis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// start launches the server and polls until it answers PING.
func (r *privateRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	require.NoError(r.t, r.cmd.Start())
	opts, err := redis.ParseURL(r.URL())
	require.NoError(r.t, err)
	opts.MaxRetries = -1
	c := redis.NewClient(opts)
	defer func() { _ = c.Close() }()
	deadline := time.Now().Add(testTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("private redis-server on port %d not ready: %v", r.port, err)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not synchronisation
	}
}

// stop kills the server (SIGKILL, like a crash) and waits for it to exit.
func (r *privateRedis) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}
