package noderegistry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	_ Registry = (*RedisRegistry)(nil)
	_ Closer   = (*RedisRegistry)(nil)
)

// DefaultPrefix is the key prefix used when RedisConfig.Prefix is empty.
const DefaultPrefix = "plenary"

// RedisConfig configures a RedisRegistry.
type RedisConfig struct {
	// URL is the Redis URL. Default "redis://127.0.0.1:6379/0".
	URL string
	// Prefix namespaces every key ("<prefix>:sfunode:<id>"). Default
	// DefaultPrefix; tests use a random one.
	Prefix string
}

// RedisRegistry stores each node as a JSON string key with a TTL (the
// heartbeat expiry is Redis's own), plus a set of IDs to list them without
// SCAN; IDs whose key expired are pruned from the set on List.
type RedisRegistry struct {
	c      *redis.Client
	prefix string
	log    *slog.Logger
	closed atomic.Bool
}

// NewRedisRegistry connects to Redis and checks it answers.
func NewRedisRegistry(ctx context.Context, cfg RedisConfig, log *slog.Logger) (*RedisRegistry, error) {
	if cfg.URL == "" {
		cfg.URL = "redis://127.0.0.1:6379/0"
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("noderegistry: redis url: %w", err)
	}
	c := redis.NewClient(opts)
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return &RedisRegistry{c: c, prefix: cfg.Prefix, log: log}, nil
}

// nodeKey is the key holding one node's JSON.
func (r *RedisRegistry) nodeKey(id string) string { return r.prefix + ":sfunode:" + id }

// setKey is the set of registered IDs.
func (r *RedisRegistry) setKey() string { return r.prefix + ":sfunodes" }

// wrap classifies a Redis error.
func (r *RedisRegistry) wrap(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if r.closed.Load() || errors.Is(err, redis.ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// Heartbeat implements Registry.
func (r *RedisRegistry) Heartbeat(ctx context.Context, n Node, ttl time.Duration) error {
	if r.closed.Load() {
		return ErrClosed
	}
	if err := validate(n); err != nil {
		return err
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	n.Updated = time.Now().UTC()
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidNode, err)
	}
	_, err = r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, r.nodeKey(n.ID), b, ttl)
		p.SAdd(ctx, r.setKey(), n.ID)
		return nil
	})
	return r.wrap(err)
}

// Remove implements Registry.
func (r *RedisRegistry) Remove(ctx context.Context, id string) error {
	if r.closed.Load() {
		return ErrClosed
	}
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.nodeKey(id))
		p.SRem(ctx, r.setKey(), id)
		return nil
	})
	return r.wrap(err)
}

// Get implements Registry.
func (r *RedisRegistry) Get(ctx context.Context, id string) (Node, error) {
	if r.closed.Load() {
		return Node{}, ErrClosed
	}
	if validID(id) != nil {
		return Node{}, ErrNotFound
	}
	b, err := r.c.Get(ctx, r.nodeKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Node{}, ErrNotFound
	}
	if err != nil {
		return Node{}, r.wrap(err)
	}
	var n Node
	if err := json.Unmarshal(b, &n); err != nil {
		return Node{}, fmt.Errorf("%w: corrupt entry for %q: %w", ErrUnavailable, id, err)
	}
	return n, nil
}

// List implements Registry.
func (r *RedisRegistry) List(ctx context.Context) ([]Node, error) {
	if r.closed.Load() {
		return nil, ErrClosed
	}
	ids, err := r.c.SMembers(ctx, r.setKey()).Result()
	if err != nil {
		return nil, r.wrap(err)
	}
	if len(ids) == 0 {
		return []Node{}, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = r.nodeKey(id)
	}
	vals, err := r.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, r.wrap(err)
	}
	out := make([]Node, 0, len(ids))
	var gone []any
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			gone = append(gone, ids[i])
			continue
		}
		var n Node
		if err := json.Unmarshal([]byte(s), &n); err != nil {
			r.log.Warn("noderegistry: skipping corrupt node entry", "node", ids[i], "err", err)
			continue
		}
		out = append(out, n)
	}
	if len(gone) > 0 {
		// Expired heartbeats: prune the index. A node that heartbeats
		// again between MGET and SREM re-adds itself on its next beat.
		if err := r.c.SRem(ctx, r.setKey(), gone...).Err(); err != nil {
			r.log.Debug("noderegistry: prune failed", "err", err)
		}
	}
	slices.SortFunc(out, func(a, b Node) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Close implements Closer; it is idempotent.
func (r *RedisRegistry) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	return r.c.Close()
}
