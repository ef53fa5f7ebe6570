package store

import (
	"context"
	"log/slog"
)

// levelFilter drops records below min; used to keep embedded FerretDB's
// per-connection info logs out of Plenary's output.
type levelFilter struct {
	h   slog.Handler
	min slog.Level
}

func (f *levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.h.Enabled(ctx, l)
}

func (f *levelFilter) Handle(ctx context.Context, r slog.Record) error { return f.h.Handle(ctx, r) }

func (f *levelFilter) WithAttrs(as []slog.Attr) slog.Handler {
	return &levelFilter{h: f.h.WithAttrs(as), min: f.min}
}

func (f *levelFilter) WithGroup(name string) slog.Handler {
	return &levelFilter{h: f.h.WithGroup(name), min: f.min}
}
