package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
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

	// decoded caches the decoding of presence records by key and
	// participant: a room of 20,000 is read whole by every join batch and
	// every sweep, and between two lease renewals (HeartbeatInterval) its
	// records' text does not change, so most of them need no JSON decode.
	dmu     sync.Mutex
	decoded map[string]map[string]decodedRecord
}

// decodedRecord is a presence record's decoding and a hash of its stored
// text (the text itself would double the cache's size).
type decodedRecord struct {
	sum uint64
	rec Record
}

// recordSeed seeds the hashes of decodedRecord.
var recordSeed = maphash.MakeSeed()

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
	smallBuffers(opts)
	c := redis.NewClient(opts)
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("%w: ping: %w", ErrStateUnavailable, err)
	}
	return &RedisState{c: c, prefix: cfg.Prefix, roomTTL: cfg.RoomTTL,
		log: log.With("component", "signaling-state", "backend", "redis")}, nil
}

// smallBuffers sizes the client's pool and its per-connection buffers for
// the state's small commands: go-redis defaults to 32 KiB each way per connection (128
// KiB for pipelines), megabytes once a join storm has grown the pool.
// Large replies (a big room's presence hash) still work, in more reads.
func smallBuffers(o *redis.Options) {
	// A join makes several short state calls (ban, lock, presence); in a
	// join storm of thousands the default pool (10 per CPU) had hundreds of
	// joins queueing for a connection while Redis itself was far from busy.
	if o.PoolSize == 0 {
		o.PoolSize = 128
	}
	o.ReadBufferSize, o.WriteBufferSize = 8<<10, 8<<10
	o.PipelineReadBufferSize, o.PipelineWriteBufferSize = 32<<10, 32<<10
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

// PutParticipants stores several records of one room with one HSET and one
// EXPIRE in a single round trip (batchPutter).
func (s *RedisState) PutParticipants(ctx context.Context, t tenant.ID, room string, rs []Record) error {
	if len(rs) == 0 {
		return nil
	}
	fields := make([]any, 0, 2*len(rs))
	for _, r := range rs {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("signaling: encode record: %w", err)
		}
		fields = append(fields, r.Participant.ID, b)
	}
	k := s.key(t, room, "presence")
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, fields...)
		p.Expire(ctx, k, s.roomTTL)
		return nil
	})
	if err != nil {
		return unavailable("put participants", err)
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
	key := s.key(t, room, "presence")
	s.dmu.Lock()
	prev := s.decoded[key]
	s.dmu.Unlock()
	next := make(map[string]decodedRecord, len(raw))
	out := make([]Record, 0, len(raw))
	for id, v := range raw {
		sum := maphash.String(recordSeed, v)
		if d, ok := prev[id]; ok && d.sum == sum {
			next[id] = d
			out = append(out, d.rec)
			continue
		}
		var r Record
		if err := json.Unmarshal([]byte(v), &r); err != nil || r.Participant.ID != id {
			s.log.Warn("dropping unreadable presence record", "tenant", t, "room", room, "participant", id, "err", err)
			_ = s.c.HDel(ctx, key, id).Err()
			continue
		}
		next[id] = decodedRecord{sum: sum, rec: r}
		out = append(out, r)
	}
	// Only rooms big enough for the decoding to matter are cached, and the
	// cache follows the hash (records gone from it are dropped with it).
	s.dmu.Lock()
	if len(next) >= decodeCacheMin {
		if s.decoded == nil {
			s.decoded = make(map[string]map[string]decodedRecord)
		}
		s.decoded[key] = next
	} else {
		delete(s.decoded, key)
	}
	s.dmu.Unlock()
	return out, raw, nil
}

// forgetRoom drops the room's cached decodings (the gateway's last local
// member left it).
func (s *RedisState) forgetRoom(t tenant.ID, room string) {
	s.dmu.Lock()
	delete(s.decoded, s.key(t, room, "presence"))
	s.dmu.Unlock()
}

// decodeCacheMin is the room size from which decoded presence records are
// cached between reads.
const decodeCacheMin = 256

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
