package bus_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/bus/bustest"
	"github.com/plenaryhq/plenary/internal/tenant"
)

var acme = tenant.MustParse("acme")

func TestRedisBusConformance(t *testing.T) {
	url := requireRedis(t)
	bustest.Run(t, func(t *testing.T, o bustest.Options) bus.Bus {
		return newRedisBus(t, url, uniquePrefix(t), o)
	})
}

// tctx is a context bounded by the suite timeout.
func tctx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bustest.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// mustChannel builds a tenant channel or fails the test.
func mustChannel(t *testing.T, name string) bus.Channel {
	t.Helper()
	ch, err := bus.TenantChannel(acme, name)
	require.NoError(t, err)
	return ch
}

// TestRedisBusTwoProcesses: two RedisBus instances (two processes, as far as
// Redis can tell) on one Redis and one prefix see each other's messages.
func TestRedisBusTwoProcesses(t *testing.T) {
	url := requireRedis(t)
	prefix := uniquePrefix(t)
	b1 := newRedisBus(t, url, prefix, bustest.Options{})
	b2 := newRedisBus(t, url, prefix, bustest.Options{})
	ch := mustChannel(t, "room:1:presence")

	s1, err := b1.Subscribe(tctx(t), ch)
	require.NoError(t, err)
	s2, err := b2.Subscribe(tctx(t), ch)
	require.NoError(t, err)

	require.NoError(t, b1.Publish(tctx(t), ch, []byte("from-1")))
	require.NoError(t, b2.Publish(tctx(t), ch, []byte("from-2")))
	for _, s := range []bus.Subscription{s1, s2} {
		require.Equal(t, "from-1", string(bustest.Recv(t, s)))
		require.Equal(t, "from-2", string(bustest.Recv(t, s)))
	}
}

// TestRedisBusPrefixIsolation: buses with different prefixes on the same
// Redis never see each other's messages, even on the same Channel.
func TestRedisBusPrefixIsolation(t *testing.T) {
	url := requireRedis(t)
	b1 := newRedisBus(t, url, uniquePrefix(t), bustest.Options{})
	b2 := newRedisBus(t, url, uniquePrefix(t), bustest.Options{})
	ch := mustChannel(t, "lobby")
	s2, err := b2.Subscribe(tctx(t), ch)
	require.NoError(t, err)

	// b1's publish is processed by Redis before b2's (sequential calls), so
	// a leak would reach s2 ahead of the marker.
	require.NoError(t, b1.Publish(tctx(t), ch, []byte("other-run")))
	require.NoError(t, b2.Publish(tctx(t), ch, []byte("marker")))
	require.Equal(t, "marker", string(bustest.Recv(t, s2)))
}

// TestRedisBusSharesOneConnection checks the multiplexing: many channels and
// many subscribers use one Redis pub/sub connection, channels are
// ref-counted, and the last Close unsubscribes.
func TestRedisBusSharesOneConnection(t *testing.T) {
	url := requireRedis(t)
	prefix := uniquePrefix(t)
	b := newRedisBus(t, url, prefix, bustest.Options{})
	raw := rawClient(t, url)

	const channels = 5
	subs := make([][]bus.Subscription, channels)
	wires := make([]string, channels)
	for i := range channels {
		ch := mustChannel(t, fmt.Sprintf("room:%d", i))
		wires[i] = prefix + ":" + string(ch)
		for range 2 {
			s, err := b.Subscribe(tctx(t), ch)
			require.NoError(t, err)
			subs[i] = append(subs[i], s)
		}
	}

	list, err := raw.Do(tctx(t), "CLIENT", "LIST", "TYPE", "pubsub").Text()
	require.NoError(t, err)
	var ours []string
	for line := range strings.Lines(list) {
		if strings.Contains(line, "name="+prefix+"-bus ") {
			ours = append(ours, line)
		}
	}
	require.Len(t, ours, 1, "expected one pub/sub connection, got:\n%s", strings.Join(ours, ""))
	require.Contains(t, ours[0], fmt.Sprintf(" sub=%d ", channels))

	numsub := func(wire string) int64 {
		n, err := raw.PubSubNumSub(tctx(t), wire).Result()
		require.NoError(t, err)
		return n[wire]
	}
	for _, w := range wires {
		require.Equal(t, int64(1), numsub(w), "one Redis subscription per channel, however many local subscribers")
	}

	// Closing one of two local subscribers keeps the Redis subscription;
	// closing the second drops it.
	require.NoError(t, subs[0][0].Close())
	require.Equal(t, int64(1), numsub(wires[0]))
	require.NoError(t, subs[0][1].Close())
	deadline := time.Now().Add(bustest.Timeout)
	for numsub(wires[0]) != 0 {
		require.True(t, time.Now().Before(deadline), "channel still subscribed after its last Close")
		time.Sleep(10 * time.Millisecond) // poll interval
	}
	require.Equal(t, int64(1), numsub(wires[1]))
}

// TestRedisBusSurvivesRestart crashes a private Redis and starts a new one
// on the same port: existing subscriptions must receive messages published
// after the restart, without the caller doing anything.
func TestRedisBusSurvivesRestart(t *testing.T) {
	srv := startPrivateRedis(t)
	b := newRedisBus(t, srv.URL(), uniquePrefix(t), bustest.Options{})
	ch1, ch2 := mustChannel(t, "stage:1"), mustChannel(t, "stage:2")
	s1, err := b.Subscribe(tctx(t), ch1)
	require.NoError(t, err)
	s2, err := b.Subscribe(tctx(t), ch2)
	require.NoError(t, err)

	require.NoError(t, b.Publish(tctx(t), ch1, []byte("before")))
	require.Equal(t, "before", string(bustest.Recv(t, s1)))

	srv.Restart()

	// Messages published before the re-subscription lands are lost (Redis
	// pub/sub is at-most-once), so keep publishing until one arrives.
	for _, c := range []struct {
		ch bus.Channel
		s  bus.Subscription
	}{{ch1, s1}, {ch2, s2}} {
		requireEventuallyDelivered(t, b, c.ch, c.s)
	}

	// New subscriptions work on the new connection too.
	s3, err := b.Subscribe(tctx(t), mustChannel(t, "stage:3"))
	require.NoError(t, err)
	require.NoError(t, b.Publish(tctx(t), mustChannel(t, "stage:3"), []byte("fresh")))
	require.Equal(t, "fresh", string(bustest.Recv(t, s3)))
	require.NoError(t, b.Ping(tctx(t)))
}

// requireEventuallyDelivered publishes "after-N" on ch every 50 ms until s
// receives one of them, failing after the suite timeout.
func requireEventuallyDelivered(t *testing.T, b bus.Bus, ch bus.Channel, s bus.Subscription) {
	t.Helper()
	deadline := time.Now().Add(2 * bustest.Timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		require.True(t, time.Now().Before(deadline), "subscription to %s received nothing after the restart", ch)
		_ = b.Publish(tctx(t), ch, fmt.Appendf(nil, "after-%d", n)) // fails until the pool reconnects
		select {
		case m, ok := <-s.C():
			require.True(t, ok, "subscription closed by the restart")
			require.True(t, strings.HasPrefix(string(m), "after-"), "unexpected %q", m)
			return
		case <-tick.C:
		}
	}
}

// TestRedisBusErrorsWhenDown: with Redis gone, Publish, Subscribe and Ping
// fail loudly with ErrUnavailable; once it is back, publishing works again.
func TestRedisBusErrorsWhenDown(t *testing.T) {
	srv := startPrivateRedis(t)
	b := newRedisBus(t, srv.URL(), uniquePrefix(t), bustest.Options{})
	ch := mustChannel(t, "chat")
	s, err := b.Subscribe(tctx(t), ch)
	require.NoError(t, err)

	srv.Stop()
	errs0 := metricValue(t, "plenary_bus_publish_errors_total", "redis")
	err = b.Publish(tctx(t), ch, []byte("lost"))
	require.ErrorIs(t, err, bus.ErrUnavailable)
	require.Greater(t, metricValue(t, "plenary_bus_publish_errors_total", "redis"), errs0)
	require.ErrorIs(t, b.Ping(tctx(t)), bus.ErrUnavailable)
	_, err = b.Subscribe(tctx(t), mustChannel(t, "other"))
	require.ErrorIs(t, err, bus.ErrUnavailable)

	srv.Start()
	requireEventuallyDelivered(t, b, ch, s)
	s2, err := b.Subscribe(tctx(t), mustChannel(t, "other"))
	require.NoError(t, err, "a failed Subscribe leaves nothing behind that blocks a retry")
	require.NoError(t, b.Publish(tctx(t), mustChannel(t, "other"), []byte("ok")))
	require.Equal(t, "ok", string(bustest.Recv(t, s2)))
}

func TestNewRedisBusUnreachable(t *testing.T) {
	srv := startPrivateRedis(t)
	srv.Stop() // a port where nothing listens
	ctx, cancel := context.WithTimeout(context.Background(), bustest.Timeout)
	defer cancel()
	_, err := bus.NewRedisBus(ctx, bus.RedisConfig{URL: srv.URL()}, nil)
	require.ErrorIs(t, err, bus.ErrUnavailable)
}

func TestNewRedisBusInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  bus.RedisConfig
	}{
		{"bad scheme", bus.RedisConfig{URL: "http://127.0.0.1:6379"}},
		{"bad db", bus.RedisConfig{URL: "redis://127.0.0.1:6379/notanumber"}},
		{"space in prefix", bus.RedisConfig{Prefix: "my run"}},
		{"glob in prefix", bus.RedisConfig{Prefix: "run*"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bus.NewRedisBus(context.Background(), tc.cfg, nil)
			require.ErrorIs(t, err, bus.ErrInvalidConfig)
		})
	}
}

// TestRedisBusCloseReleasesGoroutines: Close stops the reader, the go-redis
// health check and the pools; nothing is left running.
func TestRedisBusCloseReleasesGoroutines(t *testing.T) {
	url := requireRedis(t)
	before := runtime.NumGoroutine()
	b, err := bus.NewRedisBus(tctx(t), bus.RedisConfig{URL: url, Prefix: uniquePrefix(t)}, nil)
	require.NoError(t, err)
	s, err := b.Subscribe(tctx(t), mustChannel(t, "leak"))
	require.NoError(t, err)
	require.NoError(t, b.Publish(tctx(t), mustChannel(t, "leak"), []byte("x")))
	require.Equal(t, "x", string(bustest.Recv(t, s)))
	require.NoError(t, b.Close())
	bustest.RequireClosed(t, s)

	deadline := time.Now().Add(bustest.Timeout)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}
