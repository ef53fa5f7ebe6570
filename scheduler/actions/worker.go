package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/queue"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// effectTimeout bounds an action's effect and its done marker once the
// action is claimed: they complete even when the consumer is shutting down,
// so a graceful stop never leaves a claim without its effect.
const effectTimeout = 30 * time.Second

// worker fires the action jobs it is handed.
type worker struct {
	cfg   Config
	src   Source
	q     queue.Queue
	bus   bus.Bus
	fired *firedStore
	clock Clock
	owner string
	log   *slog.Logger
}

// handle is the queue.Handler of ActionsQueue.
func (w *worker) handle(ctx context.Context, job queue.Job) error {
	var p ActionJob
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return queue.Permanent(fmt.Errorf("decode action job %s: %w", job.ID, err))
	}
	kind, err := ParseKind(p.Action)
	if err != nil || p.V != 1 || p.Key == "" {
		return queue.Permanent(fmt.Errorf("action job %s: bad payload (v=%d action=%q)", job.ID, p.V, p.Action))
	}
	result, err := w.fire(ctx, job.Tenant, kind, p)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		result = "error"
	}
	handledTotal.WithLabelValues(kind.String(), result).Inc()
	return err
}

// fire runs the checks and the effect; result is the metric label.
func (w *worker) fire(ctx context.Context, t tenant.ID, kind Kind, p ActionJob) (string, error) {
	tt, err := w.src.Fresh(ctx, t, p.Convention)
	if errors.Is(err, catalog.ErrNotFound) {
		return "stale", nil
	}
	if err != nil {
		return "", err
	}
	s, ok := tt.Session(p.Session)
	// The version check: a job whose session moved, was cancelled or
	// opted out of recording no longer matches the plan.
	if !tt.Info.Published || !ok || !w.cfg.Offsets.Has(s, kind, p.At) {
		return "stale", nil
	}
	rec := firedDoc{
		Key: p.Key, Convention: p.Convention, Session: p.Session, Action: kind.String(),
		Planned: p.At, Term: p.Term, Owner: w.owner,
	}
	outcome, rec, err := w.fired.claim(ctx, t, rec)
	switch {
	case err != nil:
		return "", err
	case outcome == claimDone:
		return "duplicate", nil
	case outcome == claimBusy:
		return "", fmt.Errorf("%w: %s", ErrInFlight, p.Key)
	case outcome == claimTakeover:
		w.log.Warn("took over the claim of a worker that died mid-action", "tenant", t, "key", p.Key, "gen", rec.Gen)
	}
	// Claimed: finish even if ctx ends now.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), effectTimeout)
	defer cancel()
	if err := w.effect(actx, t, tt, s, kind, p); err != nil {
		if rerr := w.fired.release(actx, t, rec); rerr != nil {
			w.log.Warn("release claim after failed effect", "key", p.Key, "err", rerr)
		}
		return "", err
	}
	if err := w.fired.done(actx, t, rec); err != nil {
		// The effect happened; a retry would find the claim fresh (busy),
		// then stale after ClaimTTL and repeat the effect with the same id.
		return "", err
	}
	lagSeconds.WithLabelValues(kind.String()).Observe(max(0, w.clock.Now().Sub(p.At).Seconds()))
	return "fired", nil
}

// effect performs the action.
func (w *worker) effect(ctx context.Context, t tenant.ID, tt *catalog.Timetable, s *schedule.Session, kind Kind, p ActionJob) error {
	room, _ := tt.Room(s.Room)
	roomID, _ := tt.RoomID(s.Room)
	ref := sessionRef(p.Convention, s, room, roomID)
	switch kind {
	case KindReminder:
		return w.remind(ctx, t, ref, p)
	case KindStageOpen:
		return w.publishEvent(ctx, t, ActionsChannel, EventStageOpen, StageEvent{ID: p.Key, Session: ref})
	case KindQAClose:
		return w.publishEvent(ctx, t, ActionsChannel, EventQAClose, StageEvent{ID: p.Key, Session: ref})
	case KindRecordingStart, KindRecordingStop:
		jobKind := RecorderStart
		if kind == KindRecordingStop {
			jobKind = RecorderStop
		}
		payload, err := json.Marshal(RecorderJob{
			V: 1, Room: roomID, Session: s.GUID, Convention: p.Convention, Title: s.Title, Track: s.Track,
			License: s.RecordingLicense, Key: p.Key,
		})
		if err != nil {
			return err
		}
		_, err = w.q.Publish(ctx, queue.Job{
			Queue: w.cfg.RecorderQueue, Tenant: t, Kind: jobKind, Payload: payload, IdempotencyKey: p.Key,
		})
		return err
	default:
		return queue.Permanent(fmt.Errorf("no effect for action %s", kind))
	}
}

// remind publishes the reminder on the channel of every attendee who
// starred the session.
func (w *worker) remind(ctx context.Context, t tenant.ID, ref SessionRef, p ActionJob) error {
	users, err := w.src.Starred(ctx, t, p.Convention, p.Session)
	if err != nil {
		return err
	}
	ev := ReminderEvent{ID: p.Key, Session: ref, StartsIn: int64(ref.Start.Sub(w.clock.Now()).Seconds())}
	msg, err := envelope(EventReminder, ev)
	if err != nil {
		return err
	}
	var errs []error
	for _, u := range users {
		ch, err := UserChannel(t, u)
		if err == nil {
			err = w.bus.Publish(ctx, ch, msg)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("remind %q: %w", u, err))
		}
	}
	return errors.Join(errs...)
}

func (w *worker) publishEvent(ctx context.Context, t tenant.ID, channel, typ string, data any) error {
	ch, err := bus.TenantChannel(t, channel)
	if err != nil {
		return err
	}
	msg, err := envelope(typ, data)
	if err != nil {
		return err
	}
	return w.bus.Publish(ctx, ch, msg)
}

// envelope wraps data in the WebSocket protocol envelope, so the gateway can
// forward bus messages to clients as they are.
func envelope(typ string, data any) ([]byte, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	return json.Marshal(protocol.Envelope{V: protocol.Version, Type: typ, Data: b})
}
