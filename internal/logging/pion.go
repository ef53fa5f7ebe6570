package logging

import (
	"context"
	"log/slog"

	"github.com/pion/logging"
)

// PionFactory routes Pion's loggers into slog. Pion is chatty at debug and
// info, so by default only its warnings and errors pass (STYLE.md §5).
type PionFactory struct {
	Log *slog.Logger
	// Min is the lowest level passed through. Default slog.LevelWarn.
	Min slog.Level
}

var _ logging.LoggerFactory = (*PionFactory)(nil)

// NewLogger returns the logger for one Pion scope ("ice", "dtls", …).
func (f *PionFactory) NewLogger(scope string) logging.LeveledLogger {
	min := f.Min
	if min == 0 {
		min = slog.LevelWarn
	}
	return &pionLogger{log: f.Log.With("pion", scope), min: min}
}

type pionLogger struct {
	log *slog.Logger
	min slog.Level
}

func (l *pionLogger) emit(lv slog.Level, msg string) {
	if lv < l.min {
		return
	}
	l.log.Log(context.Background(), lv, msg)
}

// emitf formats only when the level passes, so Pion's debug chatter costs
// nothing when it is filtered out.
func (l *pionLogger) emitf(lv slog.Level, format string, a []any) {
	if lv < l.min {
		return
	}
	l.log.Log(context.Background(), lv, sprintf(format, a...))
}

func (l *pionLogger) Trace(msg string) { l.emit(slog.LevelDebug-4, msg) }
func (l *pionLogger) Tracef(format string, a ...any) {
	l.emitf(slog.LevelDebug-4, format, a)
}
func (l *pionLogger) Debug(msg string)               { l.emit(slog.LevelDebug, msg) }
func (l *pionLogger) Debugf(format string, a ...any) { l.emitf(slog.LevelDebug, format, a) }
func (l *pionLogger) Info(msg string)                { l.emit(slog.LevelInfo, msg) }
func (l *pionLogger) Infof(format string, a ...any)  { l.emitf(slog.LevelInfo, format, a) }
func (l *pionLogger) Warn(msg string)                { l.emit(slog.LevelWarn, msg) }
func (l *pionLogger) Warnf(format string, a ...any)  { l.emitf(slog.LevelWarn, format, a) }
func (l *pionLogger) Error(msg string)               { l.emit(slog.LevelError, msg) }
func (l *pionLogger) Errorf(format string, a ...any) { l.emitf(slog.LevelError, format, a) }
