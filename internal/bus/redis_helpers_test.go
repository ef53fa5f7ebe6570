package bus_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/bus/bustest"
	"github.com/plenaryhq/plenary/internal/testenv"
)

// missingBackend skips the test, or fails it when CI=true.
func missingBackend(t testing.TB, format string, args ...any) {
	t.Helper()
	testenv.MissingBackend(t, format, args...)
}

// requireRedis returns the shared Redis URL after checking it answers.
func requireRedis(t testing.TB) string {
	t.Helper()
	return testenv.RedisURL(t)
}

// uniquePrefix gives one test its own wire namespace on a shared Redis.
// Pub/sub leaves no keys behind, so nothing else needs cleaning.
func uniquePrefix(testing.TB) string { return testenv.UniquePrefix() }

// startPrivateRedis starts a redis-server the test may crash and restart.
func startPrivateRedis(t testing.TB) *testenv.PrivateRedis {
	t.Helper()
	return testenv.StartPrivateRedis(t)
}

// newRedisBus opens a RedisBus closed at cleanup.
func newRedisBus(t testing.TB, url, prefix string, o bustest.Options) *bus.RedisBus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bustest.Timeout)
	defer cancel()
	b, err := bus.NewRedisBus(ctx, bus.RedisConfig{URL: url, Prefix: prefix, BufferSize: o.BufferSize}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// rawClient returns a plain go-redis client for inspecting server state.
func rawClient(t testing.TB, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}
