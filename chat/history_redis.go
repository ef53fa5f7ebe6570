package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisURL is the Redis used when RedisHistoryConfig.URL is empty.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// DefaultRedisTTL is how long an idle room's history keys live in Redis.
const DefaultRedisTTL = 48 * time.Hour

// RedisHistoryConfig configures a RedisHistory. Zero fields mean defaults.
type RedisHistoryConfig struct {
	// URL locates Redis, redis://[user:password@]host:port/db. Default
	// DefaultRedisURL.
	URL string
	// Prefix starts every key, so deployments and test runs sharing one
	// Redis stay apart. Default "plenary".
	Prefix string
	// Window is the stream length kept per room (XADD MAXLEN ~, so Redis may
	// keep slightly more). Default DefaultWindow.
	Window int
	// TTL expires an idle room's counter and stream; the counter is
	// re-seeded from the archive when the room is used again. Default
	// DefaultRedisTTL.
	TTL time.Duration
	// Timeout bounds dialling and each command, so an outage turns into a
	// retryable error within about this long. Default 1s.
	Timeout time.Duration
}

// RedisHistory is the History on Redis: per tenant and room a counter
// ("{prefix}:chat:{tenant/room}:seq") and a stream ("…:log") whose entry IDs
// are "<seq>-0". A Lua script increments the counter and appends to the
// stream in one atomic step, so every process sharing the Redis sees one
// order. The braces are a Redis Cluster hash tag keeping both keys of a room
// in one slot.
//
// Commands are never retried by the client library: an append whose reply
// was lost might have happened, and retrying would duplicate it. go-redis
// redials on the next command, so the history recovers by itself when Redis
// returns.
type RedisHistory struct {
	c      *redis.Client
	prefix string
	window int
	ttlMS  int64
	log    *slog.Logger

	closeOnce sync.Once
	closeErr  error
}

// appendScript: KEYS counter, stream; ARGV window, body, ttl ms. Returns the
// new sequence, or an error starting with NOSEQ when the counter is missing.
// A failed XADD gives the number back, so the counter never runs ahead of
// the log.
var appendScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('NOSEQ room sequence not initialised')
end
local seq = redis.call('INCR', KEYS[1])
local r = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], seq .. '-0', 'e', ARGV[2])
if type(r) == 'table' and r.err then
  redis.call('DECR', KEYS[1])
  return r
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return seq
`)

// seedScript: KEYS counter, stream; ARGV seq, ttl ms. Creates the counter
// at max(seq, last ID in the stream) unless it exists.
var seedScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local seq = ARGV[1]
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #last > 0 then
  local s = string.match(last[1][1], '^(%d+)')
  if tonumber(s) > tonumber(seq) then seq = s end
end
redis.call('SET', KEYS[1], seq, 'PX', ARGV[2])
return 1
`)

// NewRedisHistory connects to Redis and checks it answers PING, failing
// with ErrUnavailable if not (a misconfigured process stops at start). A nil
// log discards. Close releases the connections.
func NewRedisHistory(ctx context.Context, cfg RedisHistoryConfig, log *slog.Logger) (*RedisHistory, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultRedisURL
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "plenary"
	}
	if strings.ContainsAny(cfg.Prefix, "{} \t\r\n") {
		return nil, fmt.Errorf("%w: redis prefix %q must not contain braces or spaces", ErrInvalidConfig, cfg.Prefix)
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultRedisTTL
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: redis url: %w", ErrInvalidConfig, err)
	}
	opts.MaxRetries = -1 // see the type comment
	opts.DialTimeout = cfg.Timeout
	opts.ReadTimeout = cfg.Timeout
	opts.WriteTimeout = cfg.Timeout
	opts.PoolTimeout = cfg.Timeout
	opts.ContextTimeoutEnabled = true
	// Small per-connection buffers: the default 32 KiB each way (128 KiB
	// for pipelines) per pooled connection adds up to megabytes once a join
	// storm has grown the pool; replays of 50 events fit in far less.
	opts.ReadBufferSize, opts.WriteBufferSize = 16<<10, 8<<10
	opts.PipelineReadBufferSize, opts.PipelineWriteBufferSize = 32<<10, 16<<10
	if opts.ClientName == "" {
		opts.ClientName = cfg.Prefix + "-chat"
	}
	h := &RedisHistory{
		c:      redis.NewClient(opts),
		prefix: cfg.Prefix,
		window: cfg.Window,
		ttlMS:  cfg.TTL.Milliseconds(),
		log:    log.With("component", "chat-history", "backend", "redis", "addr", opts.Addr),
	}
	if err := h.c.Ping(ctx).Err(); err != nil {
		_ = h.c.Close()
		return nil, fmt.Errorf("connect %s: %w: %w", opts.Addr, ErrUnavailable, err)
	}
	return h, nil
}

// keys returns the counter and stream keys of k.
func (h *RedisHistory) keys(k RoomKey) []string {
	base := h.prefix + ":chat:{" + string(k.Tenant) + "/" + k.Room + "}:"
	return []string{base + "seq", base + "log"}
}

// Append implements History.
func (h *RedisHistory) Append(ctx context.Context, k RoomKey, ev *Event) (uint64, error) {
	body, err := json.Marshal(storedEvent{Type: ev.Type, Data: ev.Data})
	if err != nil {
		return 0, fmt.Errorf("encode event: %w", err)
	}
	seq, err := appendScript.Run(ctx, h.c, h.keys(k), h.window, body, h.ttlMS).Uint64()
	if err != nil {
		return 0, h.wrap("append", k, err)
	}
	ev.Seq = seq
	return seq, nil
}

// Seed implements History.
func (h *RedisHistory) Seed(ctx context.Context, k RoomKey, seq uint64) error {
	if err := seedScript.Run(ctx, h.c, h.keys(k), strconv.FormatUint(seq, 10), h.ttlMS).Err(); err != nil {
		return h.wrap("seed", k, err)
	}
	return nil
}

// Read implements History: GET of the counter and XRANGE of the stream in
// one round trip.
func (h *RedisHistory) Read(ctx context.Context, k RoomKey, after uint64, limit int) ([]*Event, uint64, error) {
	keys := h.keys(k)
	pipe := h.c.Pipeline()
	headCmd := pipe.Get(ctx, keys[0])
	var rangeCmd *redis.XMessageSliceCmd
	if limit > 0 && after < math.MaxUint64 {
		rangeCmd = pipe.XRangeN(ctx, keys[1], strconv.FormatUint(after+1, 10)+"-0", "+", int64(limit))
	}
	_, err := pipe.Exec(ctx)
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, h.wrap("read", k, err)
	}
	head, err := headCmd.Uint64()
	if errors.Is(err, redis.Nil) {
		return nil, 0, fmt.Errorf("room %s: %w", k, ErrNoSequence)
	}
	if err != nil {
		return nil, 0, h.wrap("read", k, err)
	}
	if rangeCmd == nil {
		return nil, head, nil
	}
	msgs := rangeCmd.Val()
	out := make([]*Event, 0, len(msgs))
	for _, m := range msgs {
		ev, err := decodeEntry(m)
		if err != nil {
			// A corrupt entry is skipped, not fatal: the archive still holds
			// the event, and the caller detects the hole by sequence.
			h.log.Error("corrupt chat history entry", "room", k.String(), "id", m.ID, "err", err)
			continue
		}
		out = append(out, ev)
	}
	return out, head, nil
}

// decodeEntry turns a stream entry back into an event.
func decodeEntry(m redis.XMessage) (*Event, error) {
	id, _, _ := strings.Cut(m.ID, "-")
	seq, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("entry id %q: %w", m.ID, err)
	}
	raw, ok := m.Values["e"].(string)
	if !ok {
		return nil, fmt.Errorf("entry %q has no event field", m.ID)
	}
	var se storedEvent
	if err := json.Unmarshal([]byte(raw), &se); err != nil {
		return nil, fmt.Errorf("entry %q: %w", m.ID, err)
	}
	return &Event{Seq: seq, Type: se.Type, Data: se.Data}, nil
}

// wrap classifies a Redis error: a missing counter is ErrNoSequence,
// everything else (dial failures, timeouts, LOADING after a restart) is
// ErrUnavailable, which clients may retry.
func (h *RedisHistory) wrap(op string, k RoomKey, err error) error {
	if strings.HasPrefix(err.Error(), "NOSEQ") {
		return fmt.Errorf("%s room %s: %w", op, k, ErrNoSequence)
	}
	if errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("%s room %s: %w", op, k, ErrClosed)
	}
	return fmt.Errorf("%s room %s: %w: %w", op, k, ErrUnavailable, err)
}

// Ping reports whether Redis answers, for readiness probes.
func (h *RedisHistory) Ping(ctx context.Context) error {
	if err := h.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("chat history ping: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// Close implements Closer.
func (h *RedisHistory) Close() error {
	h.closeOnce.Do(func() { h.closeErr = h.c.Close() })
	return h.closeErr
}

// Compile-time checks.
var (
	_ History = (*RedisHistory)(nil)
	_ Closer  = (*RedisHistory)(nil)
)
