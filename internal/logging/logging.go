// Package logging builds the process's slog logger (chosen once, in main) and
// adapts Pion's logging interface onto it.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// New returns a logger writing to w in format "text" or "json" at level
// "debug", "info", "warn" or "error". Unknown values fall back to text/info;
// config.Validate rejects them before this is called.
func New(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Discard is a logger that drops everything, for tests and quiet CLIs.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Err is the attribute under which errors are logged (STYLE.md §5).
func Err(err error) slog.Attr { return slog.Any("err", err) }

// sprintf is used by the Pion adapter for its printf-style methods.
func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
