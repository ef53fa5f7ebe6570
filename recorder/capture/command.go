package capture

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/plenaryhq/plenary/internal/queue"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/recorder/library"
)

// CommandQueue is the recorder's command queue. The scheduler's timed
// actions (recording.start / recording.stop) and moderators' start/stop
// (Publish) both publish there; docs/recording.md ("Recorder commands")
// is the contract, which the scheduler implements with its own type.
const CommandQueue = "recorder.commands"

// Command kinds (queue.Job.Kind).
const (
	KindStart = "start"
	KindStop  = "stop"
)

// CommandVersion is the payload version this recorder understands.
const CommandVersion = 1

// Command is the payload of a recorder command job. Every field is
// optional but Room at start.
type Command struct {
	// V is the payload version: 1 (0, for senders that omit it, is 1).
	V int `json:"v,omitempty"`
	// Room is the SFU room: the live room ID (for a schedule session, the
	// room_id the scheduler's API shows). Required for start.
	Room string `json:"room,omitempty"`
	// Recording is the recording ID. Default at start: derived from Key
	// ("{session or room}-{12 hex digits of SHA-256(key)}"), or, for a
	// direct Manager.Start without key, the session (or room) and the
	// start time, e.g. "guid-20250301T100000Z".
	Recording string `json:"recording,omitempty"`
	// Session (the schedule session's guid), Convention (its slug), Title,
	// Track and License describe what is recorded.
	Session    string `json:"session,omitempty"`
	Convention string `json:"convention,omitempty"`
	Title      string `json:"title,omitempty"`
	Track      string `json:"track,omitempty"`
	License    string `json:"license,omitempty"`
	// Key makes commands idempotent: a start with a key that already
	// started a recording (running or finished) starts nothing. The
	// scheduler sets its action key. Handle defaults it to the job's ID,
	// which the queue derives from the job's idempotency key when there is
	// one, so a redelivered job is never carried out twice.
	Key string `json:"key,omitempty"`
}

// Publish queues a command for whichever recorder consumes CommandQueue.
// A non-empty c.Key is also the job's idempotency key.
func Publish(ctx context.Context, q queue.Queue, t tenant.ID, kind string, c Command) (string, error) {
	if c.V == 0 {
		c.V = CommandVersion
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("capture: %w", err)
	}
	return q.Publish(ctx, queue.Job{Queue: CommandQueue, Tenant: t, Kind: kind, Payload: b, IdempotencyKey: c.Key})
}

// Handle executes one command job. A start that repeats one already
// carried out and a stop with nothing to stop are acknowledged without
// effect: delivery is at least once, and neither is worth a dead letter.
func (m *Manager) Handle(ctx context.Context, job queue.Job) error {
	var c Command
	if err := json.Unmarshal(job.Payload, &c); err != nil {
		commandsTotal.WithLabelValues(kindLabel(job.Kind), "invalid").Inc()
		return queue.Permanent(fmt.Errorf("capture: command %s: %w", job.ID, err))
	}
	if c.V > CommandVersion {
		commandsTotal.WithLabelValues(kindLabel(job.Kind), "invalid").Inc()
		return queue.Permanent(fmt.Errorf("%w: command %s has version %d, this recorder reads %d", ErrUnsupported, job.ID, c.V, CommandVersion))
	}
	if c.Key == "" {
		c.Key = job.ID
	}
	log := m.log.With("tenant", job.Tenant, "job", job.ID, "key", c.Key)
	switch job.Kind {
	case KindStart:
		_, err := m.Start(ctx, job.Tenant, c)
		if errors.Is(err, ErrDuplicate) {
			log.Info("start command repeated; already recorded", "room", c.Room, "err", err)
			commandsTotal.WithLabelValues(KindStart, "duplicate").Inc()
			return nil
		}
		commandsTotal.WithLabelValues(KindStart, resultLabel(err, "started")).Inc()
		return err
	case KindStop:
		err := m.Stop(ctx, job.Tenant, c)
		if errors.Is(err, library.ErrNotFound) {
			log.Info("stop command: nothing to stop", "room", c.Room, "session", c.Session, "recording", c.Recording)
			commandsTotal.WithLabelValues(KindStop, "nothing").Inc()
			return nil
		}
		commandsTotal.WithLabelValues(KindStop, resultLabel(err, "stopped")).Inc()
		return err
	}
	commandsTotal.WithLabelValues("unknown", "invalid").Inc()
	return queue.Permanent(fmt.Errorf("%w: command kind %q", ErrUnsupported, job.Kind))
}

// RecordingID returns the recording ID a start command c records into:
// c.Recording when set, else "{session or room}-{12 hex digits of
// SHA-256(c.Key)}" (characters a recording ID cannot hold become "-"),
// else the session (or room) and the current time.
func RecordingID(c Command) string {
	if c.Recording != "" {
		return c.Recording
	}
	return defaultRecordingID(c, time.Now())
}

// defaultRecordingID names a recording started without an explicit ID.
func defaultRecordingID(c Command, now time.Time) string {
	base := c.Session
	if base == "" {
		base = c.Room
	}
	base = sanitizeID(base)
	if c.Key == "" {
		return base + "-" + now.UTC().Format("20060102T150405Z")
	}
	sum := sha256.Sum256([]byte(c.Key))
	return base + "-" + hex.EncodeToString(sum[:6])
}

// maxBaseLen bounds the readable part of a derived recording ID.
const maxBaseLen = 80

// sanitizeID keeps what recorder.ValidID accepts: letters, digits and
// "-_.", not starting with "."; "rec" when nothing is left.
func sanitizeID(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < maxBaseLen; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.TrimLeft(b.String(), ".")
	if out == "" {
		return "rec"
	}
	return out
}

// kindLabel bounds the kind label of the commands metric.
func kindLabel(kind string) string {
	if kind == KindStart || kind == KindStop {
		return kind
	}
	return "unknown"
}

// resultLabel is ok for a nil error, "error" otherwise.
func resultLabel(err error, ok string) string {
	if err != nil {
		return "error"
	}
	return ok
}
