package chat_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/chat"
	"github.com/plenaryhq/plenary/internal/testenv"
)

// testTimeout bounds waits in tests.
const testTimeout = 10 * time.Second

// missingBackend skips, or fails when CI=true.
func missingBackend(t testing.TB, format string, args ...any) {
	t.Helper()
	testenv.MissingBackend(t, format, args...)
}

// requireRedis returns the shared Redis URL after checking it answers.
func requireRedis(t testing.TB) string {
	t.Helper()
	return testenv.RedisURL(t)
}

// startPrivateRedis starts a redis-server the test may crash and restart.
func startPrivateRedis(t testing.TB) *testenv.PrivateRedis {
	t.Helper()
	return testenv.StartPrivateRedis(t)
}

// uniquePrefix gives one test its own key namespace on a shared Redis.
func uniquePrefix() string { return testenv.UniquePrefix() }

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
