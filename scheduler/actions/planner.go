package actions

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/plenaryhq/plenary/internal/queue"
	"github.com/plenaryhq/plenary/scheduler/catalog"
)

// planner is the leader's loop: it publishes the action jobs of every
// published convention's sessions whose planned instant lies in
// (now-CatchUp, now+Horizon].
type planner struct {
	cfg    Config
	src    Source
	q      queue.Queue
	clock  Clock
	valid  func(term int64) bool
	log    *slog.Logger
	notify <-chan struct{}

	// sent remembers the keys this term already published, with their
	// planned instants, so that a pass publishes only what is new.
	sent map[string]time.Time
}

// run plans until ctx ends (leadership lost or shutdown).
func (p *planner) run(ctx context.Context, term int64) {
	p.sent = map[string]time.Time{}
	ticker := time.NewTicker(p.cfg.PlanInterval)
	defer ticker.Stop()
	for {
		if err := p.pass(ctx, term); err != nil && ctx.Err() == nil {
			p.log.Warn("planning pass", "term", term, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-p.notify:
		}
	}
}

// pass publishes the jobs not yet sent in this term.
func (p *planner) pass(ctx context.Context, term int64) error {
	refs, err := p.src.Published(ctx)
	if err != nil {
		return err
	}
	now := p.clock.Now()
	from, to := now.Add(-p.cfg.CatchUp), now.Add(p.cfg.Horizon)
	for k, at := range p.sent {
		if at.Before(from) {
			delete(p.sent, k)
		}
	}
	var errs []error
	for _, ref := range refs {
		tt, err := p.src.Fresh(ctx, ref.Tenant, ref.Slug)
		if errors.Is(err, catalog.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !tt.Info.Published {
			continue
		}
		if err := p.planConvention(ctx, term, ref, tt, from, to); err != nil {
			if errors.Is(err, ErrNotLeader) {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *planner) planConvention(ctx context.Context, term int64, ref catalog.PublishedRef, tt *catalog.Timetable, from, to time.Time) error {
	sessions := tt.Sessions(catalog.Query{From: from.Add(-p.cfg.Offsets.maxAfterEnd()), To: to.Add(p.cfg.Offsets.maxBeforeStart() + time.Second)})
	for _, s := range sessions {
		for _, pl := range p.cfg.Offsets.Plan(s) {
			if !pl.At.After(from) || pl.At.After(to) {
				continue
			}
			key := Key(ref.Tenant, ref.Slug, s.GUID, pl.Kind, pl.At)
			if _, ok := p.sent[key]; ok {
				continue
			}
			// Fencing: never publish on a lease that may have lapsed.
			if !p.valid(term) {
				return ErrNotLeader
			}
			payload, err := json.Marshal(ActionJob{
				V: 1, Convention: ref.Slug, Session: s.GUID, Action: pl.Kind.String(), At: pl.At, Key: key, Term: term,
			})
			if err != nil {
				return err
			}
			_, err = p.q.Publish(ctx, queue.Job{
				Queue: p.cfg.Queue, Tenant: ref.Tenant, Kind: pl.Kind.String(), Payload: payload,
				IdempotencyKey: key, NotBefore: p.clock.Wall(pl.At),
			})
			if err != nil {
				return err
			}
			plannedTotal.WithLabelValues(pl.Kind.String()).Inc()
			p.sent[key] = pl.At
		}
	}
	return nil
}

// maxBeforeStart is the earliest an action happens before its session's
// start; maxAfterEnd the latest after its end. They widen the session query
// so that every session with an action in the window is found.
func (o Offsets) maxBeforeStart() time.Duration {
	o = o.withDefaults()
	return max(o.Reminder, o.StageOpen, o.RecordingLead, 0)
}

func (o Offsets) maxAfterEnd() time.Duration {
	o = o.withDefaults()
	return max(o.RecordingTail, o.QAClose, 0)
}
