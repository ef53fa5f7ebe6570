// Package testenv gives integration tests the real backends they need: the
// shared local Redis (with a namespace of their own) and private
// redis-server processes a test may crash and restart. A missing backend
// skips a test on a laptop and fails it when CI=true: in CI a missing backend
// is a broken pipeline, never a reason to pass.
package testenv

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
)

// EnvRedisURL overrides the shared Redis the tests use.
const EnvRedisURL = "PLENARY_TEST_REDIS_URL"

// DefaultRedisURL is the shared Redis of the development and CI machines.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// MissingBackend skips t, or fails it when CI=true.
func MissingBackend(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and backend missing: %s", msg)
	}
	t.Skipf("skipping: %s", msg)
}

// RedisURL returns the shared Redis URL after checking that it answers.
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvRedisURL)
	if u == "" {
		u = DefaultRedisURL
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("%s: %v", EnvRedisURL, err)
	}
	c := redis.NewClient(opts)
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		MissingBackend(t, "redis at %s unreachable: %v", u, err)
	}
	return u
}

// UniquePrefix returns a fresh key/channel namespace for one test run.
func UniquePrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "plenarytest-" + hex.EncodeToString(b[:])
}

// PrivateRedis is a redis-server owned by one test, so the test can crash
// and restart it without disturbing the shared one.
type PrivateRedis struct {
	t    testing.TB
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

// StartPrivateRedis starts redis-server on a free loopback port with no
// persistence and kills it at cleanup.
func StartPrivateRedis(t testing.TB) *PrivateRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		MissingBackend(t, "redis-server binary not found: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	r := &PrivateRedis{t: t, bin: bin, port: port, dir: t.TempDir()}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// URL is the private server's address.
func (r *PrivateRedis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// Start launches the server on its port and waits until it answers PING.
func (r *PrivateRedis) Start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin,
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	opts, err := redis.ParseURL(r.URL())
	if err != nil {
		r.t.Fatal(err)
	}
	opts.MaxRetries = -1
	c := redis.NewClient(opts)
	defer func() { _ = c.Close() }()
	deadline := time.Now().Add(30 * time.Second)
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

// Stop kills the server (SIGKILL, like a crash) and waits for it to exit.
// Stopping a stopped server is a no-op.
func (r *PrivateRedis) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Restart crashes the server and starts a fresh, empty one on the same port.
func (r *PrivateRedis) Restart() {
	r.Stop()
	r.Start()
}
