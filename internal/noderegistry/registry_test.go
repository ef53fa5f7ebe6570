package noderegistry_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/noderegistry"
	"github.com/plenaryhq/plenary/internal/noderegistry/registrytest"
)

// fakeClock is a manually advanced clock for the memory registry.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestMemoryRegistry(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) (noderegistry.Registry, time.Duration, func()) {
		clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
		r := noderegistry.NewMemoryRegistry(clk.now)
		t.Cleanup(func() { _ = r.Close() })
		return r, time.Second, func() { clk.add(1500 * time.Millisecond) }
	})
}

// redisURL is the shared test Redis; PLENARY_TEST_REDIS_URL overrides it.
func redisURL() string {
	if u := os.Getenv("PLENARY_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

func TestRedisRegistry(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) (noderegistry.Registry, time.Duration, func()) {
		var b [6]byte
		_, _ = rand.Read(b[:])
		prefix := "plenarytest-nodereg-" + hex.EncodeToString(b[:])
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		r, err := noderegistry.NewRedisRegistry(ctx, noderegistry.RedisConfig{URL: redisURL(), Prefix: prefix}, nil)
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI=true and redis missing: %v", err)
			}
			t.Skipf("skipping: redis unreachable: %v", err)
		}
		t.Cleanup(func() {
			_ = r.Close()
			opts, _ := redis.ParseURL(redisURL())
			c := redis.NewClient(opts)
			defer func() { _ = c.Close() }()
			ctx := context.Background()
			keys, _ := c.Keys(ctx, prefix+":*").Result()
			if len(keys) > 0 {
				_ = c.Del(ctx, keys...).Err()
			}
		})
		ttl := 150 * time.Millisecond
		return r, ttl, func() {
			// Poll against a deadline: Redis expires the key, we wait for it.
			require.Eventually(t, func() bool {
				_, err := r.Get(context.Background(), "dead")
				return err != nil
			}, 3*time.Second, 20*time.Millisecond)
		}
	})
}
