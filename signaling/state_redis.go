package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// RedisStateConfig configures a RedisState. Zero fields mean their defaults.
type RedisStateConfig struct {
	// URL locates Redis (redis://host:port/db). Default bus.DefaultRedisURL.
	URL string
	// Prefix namespaces the keys, like the bus prefix, so deployments and
	// test runs sharing one Redis stay apart. Default bus.DefaultPrefix.
	Prefix string
	// RoomTTL is how long an idle room's keys live after their last write.
	// Default 6h.
	RoomTTL time.Duration
}

// RedisState is the State shared by gateway processes through Redis. Per
// room it keeps three keys, all tenant-scoped:
//
//	{prefix}:t:{tenant}:room:{room}:presence  hash participant ID → Record JSON
//	{prefix}:t:{tenant}:room:{room}:meta      hash ("locked" → "1")
//	{prefix}:t:{tenant}:room:{room}:bans      hash user → ban expiry (Unix ms)
//
// Every write refreshes the key's TTL, so an abandoned room's keys expire.
type RedisState struct {
	c       *redis.Client
	prefix  string
	roomTTL time.Duration
	log     *slog.Logger
	once    sync.Once
}

// sweepScript deletes a presence field only if it still holds the value the
// sweeper read, so a record refreshed in between is never deleted.
var sweepScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0`)

// NewRedisState connects to Redis and checks it answers PING (failing with
// ErrStateUnavailable if not). Close releases the connection pool.
func NewRedisState(ctx context.Context, cfg RedisStateConfig, log *slog.Logger) (*RedisState, error) {
	if cfg.URL == "" {
		cfg.URL = bus.DefaultRedisURL
	}
	if cfg.Prefix == "" {
		cfg.Prefix = bus.DefaultPrefix
	}
	if cfg.RoomTTL <= 0 {
		cfg.RoomTTL = 6 * time.Hour
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: redis url: %w", ErrInvalidConfig, err)
	}
	c := redis.NewClient(opts)
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("%w: ping: %w", ErrStateUnavailable, err)
	}
	return &RedisState{c: c, prefix: cfg.Prefix, roomTTL: cfg.RoomTTL,
		log: log.With("component", "signaling-state", "backend", "redis")}, nil
}

// Close releases the Redis connections. Idempotent.
func (s *RedisState) Close() error {
	var err error
	s.once.Do(func() { err = s.c.Close() })
	return err
}

// Ping reports whether Redis answers, for readiness checks.
func (s *RedisState) Ping(ctx context.Context) error {
	if err := s.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrStateUnavailable, err)
	}
	return nil
}

// key returns the Redis key of one of a room's structures.
func (s *RedisState) key(t tenant.ID, room, kind string) string {
	return s.prefix + ":t:" + string(t) + ":room:" + room + ":" + kind
}

// unavailable wraps a Redis error.
func unavailable(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrStateUnavailable, op, err)
}

// PutParticipant implements State.
func (s *RedisState) PutParticipant(ctx context.Context, t tenant.ID, room string, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("signaling: encode record: %w", err)
	}
	k := s.key(t, room, "presence")
	_, err = s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, r.Participant.ID, b)
		p.Expire(ctx, k, s.roomTTL)
		return nil
	})
	if err != nil {
		return unavailable("put participant", err)
	}
	return nil
}

// RemoveParticipant implements State.
func (s *RedisState) RemoveParticipant(ctx context.Context, t tenant.ID, room, id string) error {
	if err := s.c.HDel(ctx, s.key(t, room, "presence"), id).Err(); err != nil {
		return unavailable("remove participant", err)
	}
	return nil
}

// records reads and decodes the presence hash; raw maps IDs to the stored
// text for compare-and-delete.
func (s *RedisState) records(ctx context.Context, t tenant.ID, room string) ([]Record, map[string]string, error) {
	raw, err := s.c.HGetAll(ctx, s.key(t, room, "presence")).Result()
	if err != nil {
		return nil, nil, unavailable("read presence", err)
	}
	out := make([]Record, 0, len(raw))
	for id, v := range raw {
		var r Record
		if err := json.Unmarshal([]byte(v), &r); err != nil || r.Participant.ID != id {
			s.log.Warn("dropping unreadable presence record", "tenant", t, "room", room, "participant", id, "err", err)
			_ = s.c.HDel(ctx, s.key(t, room, "presence"), id).Err()
			continue
		}
		out = append(out, r)
	}
	return out, raw, nil
}

// Participants implements State.
func (s *RedisState) Participants(ctx context.Context, t tenant.ID, room string, now time.Time) ([]Record, error) {
	all, _, err := s.records(ctx, t, room)
	if err != nil {
		return nil, err
	}
	live := all[:0]
	for _, r := range all {
		if r.Expires >= now.UnixMilli() {
			live = append(live, r)
		}
	}
	sortRecords(live)
	return live, nil
}

// SweepExpired implements State with a compare-and-delete per expired
// record, so concurrent sweepers and a refreshing owner never conflict.
func (s *RedisState) SweepExpired(ctx context.Context, t tenant.ID, room string, now time.Time) ([]Record, error) {
	all, raw, err := s.records(ctx, t, room)
	if err != nil {
		return nil, err
	}
	k := s.key(t, room, "presence")
	var out []Record
	for _, r := range all {
		if r.Expires >= now.UnixMilli() {
			continue
		}
		n, err := sweepScript.Run(ctx, s.c, []string{k}, r.Participant.ID, raw[r.Participant.ID]).Int()
		if err != nil {
			return out, unavailable("sweep presence", err)
		}
		if n == 1 {
			out = append(out, r)
		}
	}
	sortRecords(out)
	return out, nil
}

// SetLocked implements State.
func (s *RedisState) SetLocked(ctx context.Context, t tenant.ID, room string, locked bool) error {
	k := s.key(t, room, "meta")
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if locked {
			p.HSet(ctx, k, "locked", "1")
			p.Expire(ctx, k, s.roomTTL)
		} else {
			p.HDel(ctx, k, "locked")
		}
		return nil
	})
	if err != nil {
		return unavailable("set locked", err)
	}
	return nil
}

// Locked implements State.
func (s *RedisState) Locked(ctx context.Context, t tenant.ID, room string) (bool, error) {
	v, err := s.c.HGet(ctx, s.key(t, room, "meta"), "locked").Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, unavailable("read locked", err)
	}
	return v == "1", nil
}

// Ban implements State.
func (s *RedisState) Ban(ctx context.Context, t tenant.ID, room, user string, ttl time.Duration) error {
	k := s.key(t, room, "bans")
	until := time.Now().Add(ttl).UnixMilli()
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, user, until)
		p.Expire(ctx, k, max(ttl, s.roomTTL))
		return nil
	})
	if err != nil {
		return unavailable("ban", err)
	}
	return nil
}

// Banned implements State.
func (s *RedisState) Banned(ctx context.Context, t tenant.ID, room, user string) (bool, error) {
	until, err := s.c.HGet(ctx, s.key(t, room, "bans"), user).Int64()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, unavailable("read ban", err)
	}
	return time.Now().UnixMilli() < until, nil
}
