package bus

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// RedisLogger adapts a slog.Logger to go-redis's process-wide logger, which
// otherwise prints dial failures to stderr. go-redis has one logger per
// process, shared by every package that uses it, so main installs it once:
//
//	redis.SetLogger(bus.NewRedisLogger(log))
type RedisLogger struct{ log *slog.Logger }

// NewRedisLogger returns a go-redis logger writing to log at warn level,
// under component=redis.
func NewRedisLogger(log *slog.Logger) *RedisLogger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RedisLogger{log: log.With("component", "redis")}
}

// Printf implements go-redis's logging interface.
func (l *RedisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))
}
