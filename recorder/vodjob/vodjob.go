// Package vodjob runs packaging as durable jobs on the queue: the recorder
// (or an organizer) publishes a job naming a tenant's recording; a Worker
// packages it with the packager, uploads the VOD to media storage under a
// prefix of its own and marks the recording ready in the library.
//
// A failed packaging is retried with the queue's backoff; after the last
// attempt the job is dead-lettered with ffmpeg's error (the *FFmpegError
// message carries its stderr tail) and the recording is marked failed with
// the same text. A recording that can never package (no manifest, no media)
// is dead-lettered at once.
package vodjob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/plenaryhq/plenary/internal/queue"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/recorder"
	"github.com/plenaryhq/plenary/recorder/library"
	"github.com/plenaryhq/plenary/recorder/packager"
	"github.com/plenaryhq/plenary/recorder/storage"
)

// Queue is the queue packaging jobs go to.
const Queue = "recorder.packaging"

// Kind is the job kind of a packaging job.
const Kind = "package"

// Payload is a packaging job's payload (JSON).
type Payload struct {
	// Recording is the recording ID; its directory is
	// RecordingsDir/{tenant}/{recording}.
	Recording string `json:"recording"`
}

// Catalog is what the worker tells about a recording's packaging;
// *library.Library implements it.
type Catalog interface {
	SetStatus(ctx context.Context, t tenant.ID, id string, st library.Status, msg string) error
	Packaged(ctx context.Context, t tenant.ID, id string, vod library.VOD, duration float64) error
}

var _ Catalog = (*library.Library)(nil)

// Config tunes a Worker. Zero fields take the defaults given on each.
type Config struct {
	// RecordingsDir holds recordings as {tenant}/{recording}/; required.
	RecordingsDir string
	// WorkDir is where VODs are built before upload. Default os.TempDir().
	WorkDir string
	// Packager options (ladder, segment length, preset...).
	Packager packager.Options
	// Policy is the retry policy; Policy.MaxAttempts also decides when the
	// recording is marked failed. Default queue defaults (5 attempts).
	Policy queue.Policy
	// Concurrency is how many recordings package at once. Default 1:
	// ffmpeg uses every core by itself.
	Concurrency int
}

// Worker consumes packaging jobs.
type Worker struct {
	q   queue.Queue
	st  storage.Storage
	cat Catalog
	cfg Config
	log *slog.Logger
}

// New returns a worker; call Run to consume.
func New(q queue.Queue, st storage.Storage, cat Catalog, cfg Config, log *slog.Logger) (*Worker, error) {
	if cfg.RecordingsDir == "" {
		return nil, errors.New("vodjob: RecordingsDir is required")
	}
	if cfg.WorkDir == "" {
		cfg.WorkDir = os.TempDir()
	}
	if cfg.Policy.MaxAttempts <= 0 {
		cfg.Policy.MaxAttempts = queue.DefaultMaxAttempts
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if log == nil {
		log = slog.Default()
	}
	cfg.Packager.Log = log
	return &Worker{q: q, st: st, cat: cat, cfg: cfg, log: log.With("component", "vodjob")}, nil
}

// Enqueue publishes a packaging job for a recording. key, when not empty,
// makes repeated publishes of the same key one job (e.g. the recording ID
// plus its stop time, so that a stop command delivered twice packages once).
func Enqueue(ctx context.Context, q queue.Queue, t tenant.ID, recording, key string) (string, error) {
	if err := recorder.ValidID(recording); err != nil {
		return "", err
	}
	b, err := json.Marshal(Payload{Recording: recording})
	if err != nil {
		return "", fmt.Errorf("vodjob: %w", err)
	}
	return q.Publish(ctx, queue.Job{Queue: Queue, Tenant: t, Kind: Kind, Payload: b, IdempotencyKey: key})
}

// Run consumes packaging jobs until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	return w.q.Consume(ctx, Queue, w.Handle, queue.ConsumeOptions{Concurrency: w.cfg.Concurrency, Policy: w.cfg.Policy})
}

// Handle packages one job's recording. It is the queue.Handler.
func (w *Worker) Handle(ctx context.Context, job queue.Job) error {
	var p Payload
	if err := json.Unmarshal(job.Payload, &p); err != nil || job.Kind != Kind {
		return queue.Permanent(fmt.Errorf("vodjob: bad job %s (kind %q): %v", job.ID, job.Kind, err))
	}
	if err := recorder.ValidID(p.Recording); err != nil || !job.Tenant.Valid() {
		return queue.Permanent(fmt.Errorf("vodjob: bad job %s: recording %q tenant %q", job.ID, p.Recording, job.Tenant))
	}
	log := w.log.With("tenant", job.Tenant, "recording", p.Recording, "job", job.ID, "attempt", job.Attempt)
	if err := w.cat.SetStatus(ctx, job.Tenant, p.Recording, library.StatusPackaging, ""); err != nil && !errors.Is(err, library.ErrNotFound) {
		return err
	}
	err := w.build(ctx, job.Tenant, p.Recording, log)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err() // shutting down: released, not counted
	case errors.Is(err, packager.ErrNoMedia), errors.Is(err, recorder.ErrInvalidManifest):
		w.failed(job.Tenant, p.Recording, err, log)
		return queue.Permanent(err)
	case job.Attempt >= w.cfg.Policy.MaxAttempts:
		w.failed(job.Tenant, p.Recording, err, log)
		return err
	}
	log.Warn("packaging failed, will retry", "err", err)
	return err
}

// failed marks the recording failed with the error text the job is
// dead-lettered with.
func (w *Worker) failed(t tenant.ID, rec string, err error, log *slog.Logger) {
	log.Error("packaging failed for good", "err", err)
	msg := err.Error()
	if len(msg) > 4000 {
		msg = msg[:4000]
	}
	// A fresh context: the job's may be ending, the status must land.
	if serr := w.cat.SetStatus(context.WithoutCancel(context.Background()), t, rec, library.StatusFailed, msg); serr != nil &&
		!errors.Is(serr, library.ErrNotFound) {
		log.Error("recording status not saved", "err", serr)
	}
}

// build packages into a work directory, uploads, and records the VOD.
func (w *Worker) build(ctx context.Context, t tenant.ID, rec string, log *slog.Logger) error {
	in := filepath.Join(w.cfg.RecordingsDir, string(t), rec)
	work, err := os.MkdirTemp(w.cfg.WorkDir, "vod-"+rec+"-")
	if err != nil {
		return fmt.Errorf("vodjob: %w", err)
	}
	defer func() { _ = os.RemoveAll(work) }()
	out := filepath.Join(work, "vod")
	last := -1
	res, err := packager.Package(ctx, in, out, w.cfg.Packager, func(p packager.Progress) {
		if pct := int(p.Fraction() * 10); pct != last {
			last = pct
			log.Info("packaging", "step", p.Step, "done", fmt.Sprintf("%.0f%%", p.Fraction()*100), "speed", p.Speed)
		}
	})
	if err != nil {
		return err
	}
	// Every run gets a prefix of its own, so that segment URLs never change
	// content and can be cached as immutable.
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "vod/" + rec + "/" + hex.EncodeToString(b[:]) + "/"
	if err := storage.PutDir(ctx, w.st, storage.Key(t, prefix), out); err != nil {
		return fmt.Errorf("vodjob: upload: %w", err)
	}
	vod := library.VOD{Prefix: prefix, Master: res.Master, Poster: res.Poster, Width: res.Width, Height: res.Height,
		Renditions: len(res.Renditions)}
	if err := w.cat.Packaged(ctx, t, rec, vod, res.Duration); err != nil && !errors.Is(err, library.ErrNotFound) {
		return err
	}
	log.Info("packaged", "prefix", prefix, "duration", res.Duration, "speed", fmt.Sprintf("%.2fx", res.Speed),
		"renditions", strings.Join(renditionNames(res), ","))
	return nil
}

func renditionNames(r packager.Result) []string {
	out := make([]string, len(r.Renditions))
	for i, rd := range r.Renditions {
		out[i] = rd.Name
	}
	return out
}
