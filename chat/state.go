package chat

import (
	"context"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// Restriction kinds.
const (
	kindSilence = "silence"
	kindBan     = "ban"
)

// roomDoc is a room's chat settings in chat_rooms; one per room that has
// been used, which is also the list convention-wide announcements go to.
type roomDoc struct {
	Room          string `bson:"room"`
	SlowMode      int    `bson:"slow_mode,omitempty"`
	Premoderation bool   `bson:"premoderation,omitempty"`
	QAClosed      bool   `bson:"qa_closed,omitempty"`
	// CurrentSession is the schedule session whose stage the scheduler
	// opened last (schedule.go); a later session's qa_close leaves the
	// room's Q&A alone.
	CurrentSession string `bson:"current_session,omitempty"`
}

// restrictionDoc is a silence or ban in chat_restrictions; Room "" means
// the whole convention (tenant).
type restrictionDoc struct {
	Kind  string `bson:"kind"`
	Room  string `bson:"room"`
	User  string `bson:"user"`
	Until int64  `bson:"until"` // Unix ms; 0 until lifted
	By    string `bson:"by"`
}

// active reports whether the restriction applies at now.
func (r *restrictionDoc) active(now time.Time) bool { return r.Until == 0 || r.Until > ms(now) }

// settingsDoc is a tenant-wide chat setting in chat_settings.
type settingsDoc struct {
	Kind  string   `bson:"kind"`
	Words []string `bson:"words,omitempty"`
}

// settingFilter is the Kind of the word filter document.
const settingFilter = "filter"

// roomState is the cached moderation state of one room.
type roomState struct {
	loaded   time.Time
	settings roomDoc
	restr    []restrictionDoc
}

// tenantState is the cached convention-wide state of one tenant.
type tenantState struct {
	loaded time.Time
	filter *wordFilter
	restr  []restrictionDoc
}

// stateCache caches moderation state per process for Config.StateTTL. A
// change made here invalidates the entry at once; one made on another
// process is seen within the TTL. If the store fails, a stale entry is used
// rather than refusing every message.
//
// Loads are coalesced per key (one in flight; the callers that find the
// entry missing or expired meanwhile wait for it): in a room of 20,000,
// every expiry used to send every join and send in flight to the store at
// once — thousands of queries every StateTTL, exhausting the store's
// connection pool and stalling joins for seconds.
type stateCache struct {
	s       *Service
	mu      sync.Mutex
	rooms   map[RoomKey]*roomState
	tenants map[tenant.ID]*tenantState
	// loads are the loads in flight, by RoomKey or tenant.ID; invalidation
	// forgets a load, whose result is then not cached.
	loads map[any]*stateLoad
}

// stateLoad is one load in flight; its result is set before done closes.
type stateLoad struct {
	done   chan struct{}
	room   *roomState
	tenant *tenantState
	err    error
}

func newStateCache(s *Service) *stateCache {
	return &stateCache{s: s, rooms: make(map[RoomKey]*roomState), tenants: make(map[tenant.ID]*tenantState),
		loads: make(map[any]*stateLoad)}
}

// coalesce runs load for key unless a load of key is in flight, and waits
// for that load's result (bounded by ctx). store caches a result; it runs
// under c.mu, only if the load was not forgotten meanwhile.
func (c *stateCache) coalesce(ctx context.Context, key any, load func(context.Context, *stateLoad), store func(*stateLoad)) (*stateLoad, error) {
	l := c.start(ctx, key, load, store)
	select {
	case <-l.done:
		return l, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// refreshAhead starts a load of key, without waiting, for an entry past
// half its TTL: with steady traffic an entry is replaced before it expires,
// so requests do not wait for the store every StateTTL, yet no entry older
// than StateTTL is ever used.
func (c *stateCache) refreshAhead(age time.Duration, key any, load func(context.Context, *stateLoad), store func(*stateLoad)) {
	if age > c.s.cfg.StateTTL/2 {
		c.start(context.Background(), key, load, store)
	}
}

// start returns the load of key in flight, starting one if there is none.
func (c *stateCache) start(ctx context.Context, key any, load func(context.Context, *stateLoad), store func(*stateLoad)) *stateLoad {
	c.mu.Lock()
	l := c.loads[key]
	if l == nil {
		l = &stateLoad{done: make(chan struct{})}
		c.loads[key] = l
		go func() {
			// Detached from the first caller (the others share the result),
			// with the first caller's deadline if it is longer.
			budget := c.s.cfg.BackendTimeout
			if dl, ok := ctx.Deadline(); ok {
				budget = max(budget, time.Until(dl))
			}
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
			load(lctx, l)
			cancel()
			c.mu.Lock()
			if c.loads[key] == l {
				delete(c.loads, key)
				if l.err == nil {
					store(l)
				}
			}
			c.mu.Unlock()
			close(l.done)
		}()
	}
	c.mu.Unlock()
	return l
}

// room returns k's state, loading it when missing or older than the TTL.
func (c *stateCache) room(ctx context.Context, k RoomKey) (*roomState, error) {
	now := c.s.now()
	c.mu.Lock()
	st := c.rooms[k]
	c.mu.Unlock()
	load := func(ctx context.Context, l *stateLoad) { l.room, l.err = c.loadRoom(ctx, k, c.s.now()) }
	store := func(l *stateLoad) { c.rooms[k] = l.room }
	if st != nil && now.Sub(st.loaded) < c.s.cfg.StateTTL {
		c.refreshAhead(now.Sub(st.loaded), k, load, store)
		return st, nil
	}
	l, err := c.coalesce(ctx, k, load, store)
	if err != nil {
		if st != nil {
			return st, nil
		}
		return nil, err
	}
	return l.room, nil
}

// loadRoom reads a room's settings and restrictions.
func (c *stateCache) loadRoom(ctx context.Context, k RoomKey, now time.Time) (*roomState, error) {
	if err := c.s.idx.ensure(ctx, c.s); err != nil {
		return nil, err
	}
	st := &roomState{loaded: now, settings: roomDoc{Room: k.Room}}
	err := c.s.st.Collection(collRooms).Tenant(k.Tenant).FindOne(ctx, bson.D{{Key: "room", Value: k.Room}}, &st.settings)
	if err != nil && !store.IsNotFound(err) {
		return nil, err
	}
	if err := c.s.st.Collection(collRestrictions).Tenant(k.Tenant).Find(ctx, bson.D{{Key: "room", Value: k.Room}}, &st.restr); err != nil {
		return nil, err
	}
	return st, nil
}

// tenant returns t's state, loading it when missing or older than the TTL.
func (c *stateCache) tenant(ctx context.Context, t tenant.ID) (*tenantState, error) {
	now := c.s.now()
	c.mu.Lock()
	st := c.tenants[t]
	c.mu.Unlock()
	load := func(ctx context.Context, l *stateLoad) { l.tenant, l.err = c.loadTenant(ctx, t, c.s.now()) }
	store := func(l *stateLoad) { c.tenants[t] = l.tenant }
	if st != nil && now.Sub(st.loaded) < c.s.cfg.StateTTL {
		c.refreshAhead(now.Sub(st.loaded), t, load, store)
		return st, nil
	}
	l, err := c.coalesce(ctx, t, load, store)
	if err != nil {
		if st != nil {
			return st, nil
		}
		return nil, err
	}
	return l.tenant, nil
}

// loadTenant reads the word filter and convention-wide restrictions.
func (c *stateCache) loadTenant(ctx context.Context, t tenant.ID, now time.Time) (*tenantState, error) {
	if err := c.s.idx.ensure(ctx, c.s); err != nil {
		return nil, err
	}
	st := &tenantState{loaded: now}
	var f settingsDoc
	err := c.s.st.Collection(collSettings).Tenant(t).FindOne(ctx, bson.D{{Key: "kind", Value: settingFilter}}, &f)
	if err != nil && !store.IsNotFound(err) {
		return nil, err
	}
	st.filter = newWordFilter(f.Words)
	if err := c.s.st.Collection(collRestrictions).Tenant(t).Find(ctx, bson.D{{Key: "room", Value: ""}}, &st.restr); err != nil {
		return nil, err
	}
	return st, nil
}

// invalidateRoom drops k's cached state.
func (c *stateCache) invalidateRoom(k RoomKey) {
	c.mu.Lock()
	delete(c.rooms, k)
	delete(c.loads, k) // a load that started before the change is not cached
	c.mu.Unlock()
}

// invalidateTenant drops t's cached state.
func (c *stateCache) invalidateTenant(t tenant.ID) {
	c.mu.Lock()
	delete(c.tenants, t)
	delete(c.loads, t)
	c.mu.Unlock()
}

// restricted reports whether user is under an active restriction of kind
// in k (room or convention scope).
func (c *stateCache) restricted(ctx context.Context, k RoomKey, user, kind string) (bool, error) {
	now := c.s.now()
	ts, err := c.tenant(ctx, k.Tenant)
	if err != nil {
		return false, err
	}
	lists := [][]restrictionDoc{ts.restr}
	if k.Room != "" {
		rs, err := c.room(ctx, k)
		if err != nil {
			return false, err
		}
		lists = append(lists, rs.restr)
	}
	for _, l := range lists {
		for i := range l {
			if l[i].Kind == kind && l[i].User == user && l[i].active(now) {
				return true, nil
			}
		}
	}
	return false, nil
}

// checkBanned refuses a banned user reading or writing the room's chat.
func (s *Service) checkBanned(ctx context.Context, k RoomKey, user string) *protocol.Error {
	banned, err := s.state.restricted(ctx, k, user, kindBan)
	if err != nil {
		return unavailable("chat moderation state")
	}
	if banned {
		return clientErr(protocol.CodeBanned, "banned from this chat")
	}
	return nil
}

// checkPost refuses a banned or silenced user posting content. Moderators
// are exempt from silences (not from bans).
func (s *Service) checkPost(ctx context.Context, rc *reqCtx) *protocol.Error {
	if err := s.checkBanned(ctx, rc.k, rc.user); err != nil {
		return err
	}
	if rc.moderator() {
		return nil
	}
	silenced, err := s.state.restricted(ctx, rc.k, rc.user, kindSilence)
	if err != nil {
		return unavailable("chat moderation state")
	}
	if silenced {
		return clientErr(protocol.CodeSilenced, "you are silenced in this chat")
	}
	return nil
}

// checkFilter refuses text the tenant's word filter rejects.
func (s *Service) checkFilter(ctx context.Context, t tenant.ID, texts ...string) *protocol.Error {
	ts, err := s.state.tenant(ctx, t)
	if err != nil {
		return unavailable("chat word filter")
	}
	for _, text := range texts {
		if ts.filter.match(text) {
			return clientErr(protocol.CodeFiltered, "the text contains a word this convention does not allow")
		}
	}
	return nil
}

// registerRoom records k in chat_rooms once per process, so that
// convention-wide announcements reach it. On join it runs in the
// background (a store outage must not slow joins down); a failure is
// retried on the next use of the room.
func (s *Service) registerRoom(k RoomKey) {
	s.mu.Lock()
	if _, seen := s.rooms[k]; seen || s.isClosed() {
		s.mu.Unlock()
		return
	}
	s.rooms[k] = false // in flight
	s.bg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.BackendTimeout)
		defer cancel()
		s.storeRoom(ctx, k)
	}()
}

// registerRoomNow is registerRoom done synchronously, for writers: once a
// room has events, announcements must reach it.
func (s *Service) registerRoomNow(ctx context.Context, k RoomKey) {
	s.mu.Lock()
	done := s.rooms[k]
	s.mu.Unlock()
	if !done {
		s.storeRoom(ctx, k)
	}
}

// storeRoom upserts k into chat_rooms and records the outcome.
func (s *Service) storeRoom(ctx context.Context, k RoomKey) {
	err := s.idx.ensure(ctx, s)
	if err == nil {
		_, err = s.st.Collection(collRooms).Tenant(k.Tenant).UpdateOne(ctx, bson.D{{Key: "room", Value: k.Room}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "room", Value: k.Room}}}}, true)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil && !store.IsDuplicate(err) {
		s.log.Debug("register chat room", "tenant", k.Tenant, "room", k.Room, "err", err)
		if !s.rooms[k] {
			delete(s.rooms, k)
		}
		return
	}
	s.rooms[k] = true
}
