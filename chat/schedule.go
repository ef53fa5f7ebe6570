package chat

import (
	"context"
	"encoding/json"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// Q&A and the timetable. The scheduler publishes, on the tenant channel
// "scheduler:actions", schedule.stage_open before a session starts and
// schedule.qa_close after it ends (docs/scheduler.md). Chat acts on both for
// the room they name (data.session.room_id):
//
//   - stage_open makes the session the room's current one and opens its
//     Q&A (the previous session's qa_close may have closed it);
//   - qa_close closes the room's Q&A, unless another session has since
//     opened the stage: back-to-back sessions overlap (the next stage opens
//     15 minutes before the previous Q&A closes), and the next session's
//     Q&A must stay open.
//
// A change is announced as a qa.settings room event, like a moderator's.
// Every chat process subscribes the channel of each tenant it has served a
// join for (until Close), so several receive each event: a unique insert of
// the event's id (the scheduler's action key) into chat_actions lets exactly
// one of them act, and drops repeats.
const (
	typeStageOpen   = "schedule.stage_open"
	typeQAClose     = "schedule.qa_close"
	scheduleChannel = "scheduler:actions"
)

// actionDoc records that a scheduler event was acted on (chat_actions,
// unique on id).
type actionDoc struct {
	ID   string `bson:"id"`
	Type string `bson:"type"`
	Room string `bson:"room"`
	At   int64  `bson:"at"`
}

// scheduleWatch is the subscription to one tenant's scheduler channel.
type scheduleWatch struct {
	ready chan struct{}
	err   error
	sub   bus.Subscription
}

// schedules holds the service's scheduler subscriptions by tenant.
type schedules struct {
	mu      sync.Mutex
	watches map[tenant.ID]*scheduleWatch
	closed  bool
	wg      sync.WaitGroup // delivery loops
}

// watchSchedule subscribes t's scheduler channel unless that is done, and
// waits until the subscription is up, so that events published after a
// join completes are seen. Without a bus it does nothing; a failure is
// logged and retried at the next join.
func (s *Service) watchSchedule(ctx context.Context, t tenant.ID) {
	if s.bus == nil {
		return
	}
	sc := &s.sched
	sc.mu.Lock()
	if sc.closed {
		sc.mu.Unlock()
		return
	}
	w := sc.watches[t]
	if w == nil {
		w = &scheduleWatch{ready: make(chan struct{})}
		sc.watches[t] = w
		sc.wg.Add(1)
		go s.runSchedule(t, w)
	}
	sc.mu.Unlock()
	select {
	case <-w.ready:
	case <-ctx.Done():
	}
}

// runSchedule subscribes w and acts on its events until it is closed.
func (s *Service) runSchedule(t tenant.ID, w *scheduleWatch) {
	defer s.sched.wg.Done()
	ch, err := bus.TenantChannel(t, scheduleChannel)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*s.cfg.BackendTimeout)
		w.sub, err = s.bus.Subscribe(ctx, ch)
		cancel()
	}
	if err != nil {
		w.err = err
		close(w.ready)
		s.log.Warn("scheduler events unavailable; Q&A is not opened and closed by the timetable", "tenant", t, "err", err)
		s.sched.mu.Lock()
		if s.sched.watches[t] == w {
			delete(s.sched.watches, t) // the next join tries again
		}
		s.sched.mu.Unlock()
		return
	}
	close(w.ready)
	for msg := range w.sub.C() {
		s.onScheduleEvent(t, msg)
	}
}

// closeSchedules ends every subscription and waits for the loops.
func (s *Service) closeSchedules() {
	sc := &s.sched
	sc.mu.Lock()
	sc.closed = true
	all := make([]*scheduleWatch, 0, len(sc.watches))
	for _, w := range sc.watches {
		all = append(all, w)
	}
	sc.mu.Unlock()
	for _, w := range all {
		<-w.ready
		if w.sub != nil {
			_ = w.sub.Close()
		}
	}
	sc.wg.Wait()
}

// scheduleEvent is the part of a scheduler envelope chat reads.
type scheduleEvent struct {
	V    int    `json:"v"`
	Type string `json:"type"`
	Data struct {
		ID      string `json:"id"`
		Session struct {
			GUID   string `json:"guid"`
			RoomID string `json:"room_id"`
		} `json:"session"`
	} `json:"data"`
}

// onScheduleEvent acts on one message of t's scheduler channel.
func (s *Service) onScheduleEvent(t tenant.ID, msg []byte) {
	var ev scheduleEvent
	if err := json.Unmarshal(msg, &ev); err != nil || ev.V != 1 || (ev.Type != typeStageOpen && ev.Type != typeQAClose) {
		return
	}
	k := RoomKey{Tenant: t, Room: ev.Data.Session.RoomID}
	if k.Validate() != nil || ev.Data.ID == "" || ev.Data.Session.GUID == "" {
		s.log.Debug("scheduler event ignored: no valid room_id, id or session", "tenant", t, "type", ev.Type)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*s.cfg.BackendTimeout)
	defer cancel()
	if err := s.idx.ensure(ctx, s); err != nil {
		s.log.Warn("scheduler event not applied: store unavailable", "tenant", t, "room", k.Room, "type", ev.Type, "err", err)
		return
	}
	err := s.st.Collection(collActions).Tenant(t).InsertOne(ctx,
		actionDoc{ID: ev.Data.ID, Type: ev.Type, Room: k.Room, At: ms(s.now())})
	if store.IsDuplicate(err) {
		scheduleEvents.WithLabelValues(ev.Type, "duplicate").Inc()
		return // another process, or an earlier delivery, acted on it
	}
	if err != nil {
		s.log.Warn("scheduler event not applied: store unavailable", "tenant", t, "room", k.Room, "type", ev.Type, "err", err)
		return
	}
	result := s.applySchedule(ctx, k, ev.Type, ev.Data.Session.GUID)
	if result == "error" {
		// Give the claim back so that a repeat of the event can succeed.
		if _, err := s.st.Collection(collActions).Tenant(t).DeleteOne(ctx, bson.D{{Key: "id", Value: ev.Data.ID}}); err != nil {
			s.log.Warn("scheduler event claim not released", "tenant", t, "id", ev.Data.ID, "err", err)
		}
	}
	scheduleEvents.WithLabelValues(ev.Type, result).Inc()
}

// applySchedule opens or closes the room's Q&A for a scheduler event and
// announces a change; it returns the metric result.
func (s *Service) applySchedule(ctx context.Context, k RoomKey, typ, session string) string {
	cur, err := s.state.loadRoom(ctx, k, s.now())
	if err != nil {
		s.log.Warn("scheduler event not applied: room settings unavailable", "tenant", k.Tenant, "room", k.Room, "type", typ, "err", err)
		return "error"
	}
	var set []bson.E
	closed := cur.settings.QAClosed
	switch typ {
	case typeStageOpen:
		set = append(set, bson.E{Key: "current_session", Value: session}, bson.E{Key: "qa_closed", Value: false})
		closed = false
	case typeQAClose:
		if cur.settings.CurrentSession != "" && cur.settings.CurrentSession != session {
			s.log.Info("Q&A left open: the next session has the stage", "tenant", k.Tenant, "room", k.Room,
				"ended", session, "current", cur.settings.CurrentSession)
			return "superseded"
		}
		set = append(set, bson.E{Key: "qa_closed", Value: true})
		closed = true
	}
	if perr := s.setRoom(ctx, k, set...); perr != nil {
		s.log.Warn("scheduler event not applied", "tenant", k.Tenant, "room", k.Room, "type", typ, "err", perr)
		return "error"
	}
	if closed == cur.settings.QAClosed {
		return "unchanged"
	}
	settings := qaSettings{Premoderation: cur.settings.Premoderation, Open: !closed}
	if _, perr := s.appendEvent(ctx, k, typeQASettings, settings, ""); perr != nil {
		s.log.Warn("Q&A change not announced", "tenant", k.Tenant, "room", k.Room, "err", perr)
	}
	s.log.Info("Q&A changed by the timetable", "tenant", k.Tenant, "room", k.Room, "session", session, "open", !closed)
	return "applied"
}
