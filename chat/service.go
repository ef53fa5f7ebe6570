package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// Collections of the chat service; every one is tenant scoped.
const (
	collEvents       = "chat_events"
	collRooms        = "chat_rooms"
	collSettings     = "chat_settings"
	collRestrictions = "chat_restrictions"
	collReactions    = "chat_reactions"
	collReports      = "chat_reports"
	collQuestions    = "chat_questions"
	collPolls        = "chat_polls"
	collVotes        = "chat_votes"
	collActions      = "chat_actions"
)

// Deps are the collaborators of a Service.
type Deps struct {
	// Store holds the archive and the Q&A, poll and moderation state
	// (required).
	Store *store.Store
	// History is recent history and the sequencer. Nil means a
	// MemoryHistory of DefaultWindow events per room (one process only).
	History History
	// Publisher fans room events out to every connection in the room, on
	// every gateway process (required).
	Publisher protocol.RoomPublisher
	// Bus, when set, carries the scheduler's events: the service then opens
	// and closes rooms' Q&A with the timetable (schedule.go). Nil disables
	// that.
	Bus bus.Bus
	// Log is the service's logger; nil means slog.Default().
	Log *slog.Logger
}

// Service is the chat, Q&A, poll and announcement component. It implements
// protocol.Handler for the types "chat.*", "qa.*", "poll.*" and
// "announce.*", and protocol.RoomObserver for resume on join. Create it
// with New; Close stops it.
type Service struct {
	cfg  Config
	st   *store.Store
	hist History
	pub  protocol.RoomPublisher
	bus  bus.Bus
	log  *slog.Logger
	now  func() time.Time

	arch  *archive
	tails tailReads // coalesced first-join replays (resume.go)
	agg   *coalescer
	rate  *limiter
	slow  *slowMode
	state *stateCache

	idx   indexes
	sched schedules

	mu      sync.Mutex
	lastSeq map[RoomKey]uint64 // highest sequence this process appended, per room
	rooms   map[RoomKey]bool   // rooms registered in chat_rooms by this process (false: in flight)
	bg      sync.WaitGroup     // background registrations

	closeOnce sync.Once
	closed    chan struct{}
}

// Compile-time checks.
var (
	_ protocol.Handler      = (*Service)(nil)
	_ protocol.RoomObserver = (*Service)(nil)
)

// New returns a running service. It starts the archive writer and the
// count coalescer; indexes are created on first use, so New does no I/O and
// a store that is down at start only delays the first requests.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if deps.Store == nil || deps.Publisher == nil {
		return nil, fmt.Errorf("%w: Deps.Store and Deps.Publisher are required", ErrInvalidConfig)
	}
	if deps.History == nil {
		deps.History = NewMemoryHistory(DefaultWindow)
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "chat")
	s := &Service{
		cfg:     cfg,
		st:      deps.Store,
		hist:    deps.History,
		pub:     deps.Publisher,
		bus:     deps.Bus,
		log:     log,
		now:     time.Now,
		rate:    newLimiter(cfg.RatePerSecond, cfg.RateBurst),
		slow:    newSlowMode(),
		lastSeq: make(map[RoomKey]uint64),
		rooms:   make(map[RoomKey]bool),
		closed:  make(chan struct{}),
	}
	s.sched.watches = make(map[tenant.ID]*scheduleWatch)
	s.state = newStateCache(s)
	s.arch = newArchive(deps.Store.Collection(collEvents), cfg, log)
	s.agg = newCoalescer(cfg.AggregateInterval, cfg.BackendTimeout, log)
	return s, nil
}

// Close stops the service: pending count updates are flushed, queued
// archive writes committed. It does not close the History (its owner does).
// Idempotent.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.agg.close() // flushes pending counts through appendEvent
		s.mu.Lock()
		close(s.closed) // under mu: no registration starts after this
		s.mu.Unlock()
		s.bg.Wait()
		s.closeSchedules()
		s.arch.close()
	})
	return nil
}

// isClosed reports whether Close has started.
func (s *Service) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// Emit appends an event of type typ with payload data to the room's
// history, archives it and publishes it: the path every chat event takes,
// offered to other components that want a sequenced, resumable room event
// (a room lock notice, say). typ must be documented in docs/protocol/.
func (s *Service) Emit(ctx context.Context, t tenant.ID, room string, typ string, data any) (uint64, error) {
	k := RoomKey{Tenant: t, Room: room}
	if err := k.Validate(); err != nil {
		return 0, err
	}
	ev, perr := s.appendEvent(ctx, k, typ, data, "")
	if perr != nil {
		if perr.Retryable {
			return 0, fmt.Errorf("%w: %s", ErrUnavailable, perr.Message)
		}
		return 0, perr
	}
	return ev.Seq, nil
}

// appendEvent is the one write path of room events: sequence and store in
// history (seeding the room's counter from the archive when it is missing),
// queue for the archive (written asynchronously, group commit), then
// publish. The event is acknowledged once it is in history and queued for
// the archive (docs/decisions.md, "Chat ack and the archive"); if history
// cannot be reached nothing is stored and the client gets a retryable
// CodeUnavailable.
func (s *Service) appendEvent(ctx context.Context, k RoomKey, typ string, data any, author string) (*Event, *protocol.Error) {
	if s.isClosed() {
		return nil, &protocol.Error{Code: protocol.CodeDraining, Message: "chat is shutting down; reconnect", Retryable: true}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		s.log.Error("encode event", "type", typ, "err", err)
		return nil, internalErr()
	}
	if s.arch.backlogFull() {
		return nil, unavailable("chat archive")
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.BackendTimeout)
	defer cancel()
	s.registerRoomNow(ctx, k)

	ev := &Event{Type: typ, Data: raw}
	_, err = s.hist.Append(ctx, k, ev)
	if errors.Is(err, ErrNoSequence) {
		if err = s.seed(ctx, k); err == nil {
			_, err = s.hist.Append(ctx, k, ev)
		}
	}
	if err != nil {
		s.log.Warn("chat history append failed", "tenant", k.Tenant, "room", k.Room, "type", typ, "err", err)
		return nil, unavailable("chat history")
	}
	s.noteSeq(k, ev.Seq)
	if err := s.arch.enqueue(ctx, k, ev, author); err != nil {
		// In recent history but not archived: still acknowledged, because
		// history is what resume reads first; the error is logged and counted.
		s.log.Error("chat event not archived", "tenant", k.Tenant, "room", k.Room, "seq", ev.Seq, "err", err)
	}
	eventsTotal.WithLabelValues(typ).Inc()
	s.publish(ctx, k, ev)
	return ev, nil
}

// publish fans ev out live. A failure is logged, not returned: the event is
// stored and every member recovers it by sequence on resume.
func (s *Service) publish(ctx context.Context, k RoomKey, ev *Event) {
	ctx, cancel := s.detached(ctx)
	defer cancel()
	if err := s.pub.PublishRoom(ctx, k.Tenant, k.Room, ev.Envelope(k.Room)); err != nil {
		publishErrors.Inc()
		s.log.Warn("chat publish failed; members recover the event on resume",
			"tenant", k.Tenant, "room", k.Room, "seq", ev.Seq, "err", err)
	}
}

// detached returns a context that outlives ctx's cancellation (work that
// must finish once started: publishing a stored event, compensating a
// failed write) but is bounded by Config.BackendTimeout.
func (s *Service) detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.cfg.BackendTimeout)
}

// seed creates the room's counter in history at the highest sequence known:
// the archive's, or one this process appended (which may not be archived
// yet). After Redis lost its data this continues the sequence instead of
// restarting it.
func (s *Service) seed(ctx context.Context, k RoomKey) error {
	if err := s.idx.ensure(ctx, s); err != nil {
		return err
	}
	top, err := s.arch.maxSeq(ctx, k)
	if err != nil {
		return err
	}
	s.mu.Lock()
	top = max(top, s.lastSeq[k])
	s.mu.Unlock()
	if err := s.hist.Seed(ctx, k, top); err != nil {
		return err
	}
	s.log.Debug("chat room sequence seeded", "tenant", k.Tenant, "room", k.Room, "seq", top)
	return nil
}

// noteSeq records the highest sequence this process appended to k.
func (s *Service) noteSeq(k RoomKey, seq uint64) {
	s.mu.Lock()
	if seq > s.lastSeq[k] {
		s.lastSeq[k] = seq
	}
	s.mu.Unlock()
}

// newID returns prefix_ followed by 16 random hex digits: question and poll
// IDs, unique across tenants and processes.
func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + "_" + hex.EncodeToString(b[:])
}

// ms returns t as Unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }
