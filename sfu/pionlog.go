package sfu

import (
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// slogFactory routes Pion's internal logging into slog. Pion is chatty at
// debug and info, so only warnings and errors pass.
type slogFactory struct{ log *slog.Logger }

var _ logging.LoggerFactory = slogFactory{}

// NewLogger implements logging.LoggerFactory.
func (f slogFactory) NewLogger(scope string) logging.LeveledLogger {
	return slogLogger{log: f.log.With("pion", scope)}
}

type slogLogger struct{ log *slog.Logger }

func (slogLogger) Trace(string)          {}
func (slogLogger) Tracef(string, ...any) {}
func (slogLogger) Debug(string)          {}
func (slogLogger) Debugf(string, ...any) {}
func (slogLogger) Info(string)           {}
func (slogLogger) Infof(string, ...any)  {}
func (l slogLogger) Warn(msg string)     { l.log.Warn(msg) }
func (l slogLogger) Warnf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...))
}
func (l slogLogger) Error(msg string) { l.log.Error(msg) }
func (l slogLogger) Errorf(format string, args ...any) {
	l.log.Error(fmt.Sprintf(format, args...))
}
