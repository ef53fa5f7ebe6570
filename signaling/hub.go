package signaling

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// Bus message kinds: the first byte of every message on a room channel.
const (
	kindEvent   = 'E' // the rest is a client frame, fanned out as is
	kindStamped = 'S' // 8 bytes of server timestamp (Unix ns, big endian), then a client frame
	kindControl = 'C' // the rest is a control message between gateways
)

// controlQueue bounds the control messages waiting for a room's worker.
const controlQueue = 256

// roomKey names a room of a tenant.
type roomKey struct {
	t    tenant.ID
	room string
}

// hub is the gateway's RoomPublisher and the registry of rooms that have
// local members. Each such room has exactly one bus subscription in this
// process, on the tenant channel "room:{room}", and one goroutine that fans
// every event out to the room's local members as one PreparedMessage: the
// frame is encoded once per event, never once per client.
type hub struct {
	gw *Gateway

	mu    sync.Mutex
	rooms map[roomKey]*localRoom
}

// localRoom is a room with members on this gateway.
type localRoom struct {
	h    *hub
	key  roomKey
	name string
	ch   bus.Channel
	// ready is closed once the subscription is up (or failed: err set).
	ready chan struct{}
	err   error
	sub   bus.Subscription
	refs  int // guarded by hub.mu: members plus joins in progress
	ctl   chan control
	done  chan struct{}

	mu      sync.RWMutex
	members map[string]*member // by participant ID
	speaker string             // the active speaker last announced by this gateway

	// presence coalesces the joins' reads of the room's presence records.
	presence presenceReader

	// fanoutBuf is fanout's reusable member list, guarded by fanoutMu
	// (the room's fanoutLoop and scheduler events both fan out).
	fanoutMu  sync.Mutex
	fanoutBuf []*member
}

// control is a message between gateways about one room: a moderation
// action that the gateway owning the target session carries out.
type control struct {
	// Op is promote, demote, mute, remove, ban or lower_hand.
	Op string `json:"op"`
	// Target is the participant acted on (for ban: any session of User).
	Target string `json:"target,omitempty"`
	// User, for ban, removes every session of this user from the room.
	User string `json:"user,omitempty"`
	// By is the acting participant.
	By string `json:"by"`
	// Video and Hard qualify a mute (see targetRequest).
	Video bool `json:"video,omitempty"`
	Hard  bool `json:"hard,omitempty"`
}

// newHub returns an empty hub.
func newHub(gw *Gateway) *hub {
	return &hub{gw: gw, rooms: make(map[roomKey]*localRoom)}
}

// roomChannel is the bus channel of a room.
func roomChannel(t tenant.ID, room string) (bus.Channel, error) {
	return bus.TenantChannel(t, "room:"+room)
}

// acquire returns the room (t, room) with its subscription up, taking a
// reference the caller gives back with release.
func (h *hub) acquire(ctx context.Context, t tenant.ID, room string) (*localRoom, error) {
	k := roomKey{t, room}
	h.mu.Lock()
	r := h.rooms[k]
	if r == nil {
		ch, err := roomChannel(t, room)
		if err != nil {
			h.mu.Unlock()
			return nil, err
		}
		r = &localRoom{h: h, key: k, name: room, ch: ch, ready: make(chan struct{}),
			ctl: make(chan control, controlQueue), done: make(chan struct{}), members: make(map[string]*member)}
		r.presence.fetch = func(ctx context.Context) ([]Record, error) {
			return h.gw.state.Participants(ctx, t, room, time.Now())
		}
		h.rooms[k] = r
		go r.subscribe()
	}
	r.refs++
	h.mu.Unlock()
	// Other joins of the room wait for the one subscription, not for the
	// hub lock: Subscribe may take a Redis round trip.
	select {
	case <-r.ready:
	case <-ctx.Done():
		h.release(r)
		return nil, ctx.Err()
	}
	if r.err != nil {
		h.release(r)
		return nil, r.err
	}
	return r, nil
}

// release gives back a reference; the last one unsubscribes the room.
func (h *hub) release(r *localRoom) {
	h.mu.Lock()
	r.refs--
	last := r.refs == 0
	if last && h.rooms[r.key] == r {
		delete(h.rooms, r.key)
	}
	h.mu.Unlock()
	if last {
		<-r.ready
		if r.sub != nil {
			_ = r.sub.Close() // ends the fan-out loop, which stops the worker
		}
		h.gw.tenants.leave(r.key.t, r)
		if st, ok := h.gw.state.(*RedisState); ok {
			st.forgetRoom(r.key.t, r.name)
		}
	}
}

// lookup returns the room (t, room) when it has local members and its
// subscription is up, else nil.
func (h *hub) lookup(t tenant.ID, room string) *localRoom {
	h.mu.Lock()
	r := h.rooms[roomKey{t, room}]
	h.mu.Unlock()
	if r == nil {
		return nil
	}
	select {
	case <-r.ready:
	default:
		return nil
	}
	if r.err != nil {
		return nil
	}
	return r
}

// subscribe opens the room's bus subscription and starts its goroutines.
func (r *localRoom) subscribe() {
	ctx, cancel := context.WithTimeout(r.h.gw.ctx, 10*time.Second)
	defer cancel()
	sub, err := r.h.gw.deps.Bus.Subscribe(ctx, r.ch)
	if err != nil {
		r.err = fmt.Errorf("subscribe room %s: %w", r.name, err)
		close(r.ready)
		return
	}
	r.sub = sub
	metricRooms.Inc()
	// The tenant's scheduler events (stage_open) are subscribed before the
	// first join completes, like the room itself.
	r.h.gw.watchTenant(ctx, r)
	go r.controlLoop()
	go r.fanoutLoop()
	close(r.ready)
}

// Presence batching limits.
const (
	// maxBatchEvents bounds the events of one presence.batch frame.
	maxBatchEvents = 256
	// maxBatchBytes bounds its size, well under what clients accept.
	maxBatchBytes = 48 << 10
)

// presencePrefix starts every presence event the gateways publish (the
// envelope is encoded by PublishRoom with v first and no id).
var presencePrefix = []byte(`{"v":1,"type":"presence.`)

// batchItem is one event waiting in a room's batch.
type batchItem struct {
	payload  []byte
	stamp    int64 // chat events: server timestamp (delivery.go)
	presence bool
}

// fanoutLoop delivers the room's bus messages until the subscription
// closes. In a room with many local members, presence events arriving
// within PresenceWindow (PresenceBatchMin members or more) and chat events
// within ChatWindow (ChatBatchMin or more) are collected and go together:
// consecutive presence events as one presence.batch frame, chat events as
// their own frames, all handed to each connection at once. Any other event first flushes the batch, so the
// order of events is kept.
func (r *localRoom) fanoutLoop() {
	cfg := r.h.gw.cfg
	var (
		batch    []batchItem
		size     int
		deadline time.Time
		timer    *time.Timer
		timerC   <-chan time.Time
	)
	flush := func() {
		if len(batch) > 0 {
			r.fanoutFrames(batchFrames(r.name, batch))
		}
		clear(batch)
		batch, size = batch[:0], 0
		if timer != nil {
			timer.Stop()
			timer, timerC = nil, nil
		}
	}
	add := func(it batchItem, window time.Duration) {
		batch = append(batch, it)
		size += len(it.payload) + 1
		if len(batch) >= maxBatchEvents || size >= maxBatchBytes {
			flush()
			return
		}
		if d := time.Now().Add(window); timer == nil || d.Before(deadline) {
			if timer != nil {
				timer.Stop()
			}
			deadline = d
			timer = time.NewTimer(window)
			timerC = timer.C
		}
	}
	defer func() {
		flush()
		close(r.done)
		metricRooms.Dec()
	}()
	for {
		select {
		case <-timerC:
			timer, timerC = nil, nil
			flush()
		case msg, ok := <-r.sub.C():
			if !ok {
				return
			}
			if len(msg) < 2 {
				continue
			}
			switch msg[0] {
			case kindStamped:
				if len(msg) < 10 {
					continue
				}
				it := batchItem{payload: msg[9:], stamp: int64(binary.BigEndian.Uint64(msg[1:9]))}
				if cfg.ChatWindow > 0 && r.localMembers() >= cfg.ChatBatchMin {
					add(it, cfg.ChatWindow)
					continue
				}
				flush()
				r.fanoutFrames([]frame{{wire: wireFrame(it.payload), stamp: it.stamp}})
			case kindEvent:
				payload := msg[1:]
				if bytes.HasPrefix(payload, presencePrefix) && r.batching() {
					add(batchItem{payload: payload, presence: true}, cfg.PresenceWindow)
					continue
				}
				flush()
				r.fanout(payload)
			case kindControl:
				r.control(msg[1:])
			}
		}
	}
}

// batchFrames turns a room's collected events into frames, in order:
// each run of presence events becomes one frame (a presence.batch when
// there are several), each chat event its own.
func batchFrames(room string, items []batchItem) []frame {
	frames := make([]frame, 0, len(items))
	for i := 0; i < len(items); {
		it := items[i]
		if !it.presence {
			frames = append(frames, &frameData{wire: wireFrame(it.payload), stamp: it.stamp})
			i++
			continue
		}
		j, size := i, 0
		for j < len(items) && items[j].presence {
			size += len(items[j].payload) + 1
			j++
		}
		if j-i == 1 {
			frames = append(frames, &frameData{wire: wireFrame(it.payload)})
		} else {
			frames = append(frames, &frameData{wire: wireFrame(encodeBatch(room, items[i:j], size))})
		}
		i = j
	}
	return frames
}

// batching reports whether presence events of the room are coalesced.
func (r *localRoom) batching() bool {
	least := r.h.gw.cfg.PresenceBatchMin
	return least >= 0 && r.localMembers() >= least
}

// localMembers is the number of the room's members on this gateway.
func (r *localRoom) localMembers() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.members)
}

// encodeBatch wraps presence events (complete envelopes, already encoded)
// in one presence.batch envelope without decoding them again.
func encodeBatch(room string, events []batchItem, size int) []byte {
	b := make([]byte, 0, size+len(room)+64)
	b = append(b, `{"v":1,"type":"presence.batch","room":"`...)
	b = append(b, room...) // room names need no JSON escaping (validRoom)
	b = append(b, `","data":{"events":[`...)
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.payload...)
	}
	return append(b, "]}}"...)
}

// control queues a control message for the room's worker if a local
// member is concerned.
func (r *localRoom) control(body []byte) {
	var c control
	if err := json.Unmarshal(body, &c); err != nil {
		r.h.gw.log.Warn("bad control message", "room", r.name, "err", err)
		return
	}
	if r.localMember(c.Target) == nil && (c.User == "" || !r.hasUser(c.User)) {
		return // another gateway owns the target
	}
	select {
	case r.ctl <- c:
	default:
		r.h.gw.log.Warn("control queue full; dropping", "room", r.name, "op", c.Op)
	}
}

// fanout sends one event frame to every local member, framed once and
// shared by all their connections.
func (r *localRoom) fanout(payload []byte) {
	r.fanoutFrames([]frame{{wire: wireFrame(payload)}})
}

// fanoutFrames queues frames, in order, on every local member's session,
// with one lock and one wake per member.
func (r *localRoom) fanoutFrames(frames []frame) {
	r.fanoutMu.Lock() // fanoutLoop and scheduler events (schedule.go) both fan out
	defer r.fanoutMu.Unlock()
	// The member list is copied under the read lock and the frames
	// delivered after it is released: delivering to 10,000 members takes
	// tens of milliseconds, and holding the lock that long made every join
	// (which takes the write lock to register its member) wait for a
	// fan-out — a join storm during chat then admitted about one join per
	// event.
	r.mu.RLock()
	members := r.fanoutBuf[:0]
	for _, m := range r.members {
		members = append(members, m)
	}
	r.mu.RUnlock()
	deliverParallel(members, frames)
	metricFanout.Add(float64(len(members) * len(frames)))
	clear(members) // no member kept alive by the buffer
	r.fanoutBuf = members[:0]
}

// fanoutChunk is the least number of members a fan-out hands to each of
// several goroutines: deliveries write to the sockets inline (one writev
// each, inline_write.go), so a fan-out to 10,000 members is about 100 ms of
// CPU that one goroutine would serialise on one core.
var fanoutChunk atomic.Int64

func init() { fanoutChunk.Store(2048) }

// deliverParallel queues frames on every member's session, spread over up
// to GOMAXPROCS goroutines for large rooms. Each member is in one part, so
// its frames stay in order; the caller's fanoutMu orders fan-outs.
func deliverParallel(members []*member, frames []frame) {
	deliver := func(part []*member) {
		for _, m := range part {
			m.s.deliver(m, frames...)
		}
	}
	n := len(members)
	parts := min(runtime.GOMAXPROCS(0), n/int(fanoutChunk.Load()))
	if parts < 2 {
		deliver(members)
		return
	}
	size := (n + parts - 1) / parts
	var wg sync.WaitGroup
	for i := size; i < n; i += size {
		part := members[i:min(i+size, n)]
		wg.Go(func() { deliver(part) })
	}
	deliver(members[:size])
	wg.Wait()
}

// controlLoop carries out control messages one at a time, in order.
func (r *localRoom) controlLoop() {
	for {
		select {
		case <-r.done:
			return
		case c := <-r.ctl:
			r.h.gw.applyControl(r, c)
		}
	}
}

// localMember returns the local member with participant ID id, or nil.
func (r *localRoom) localMember(id string) *member {
	if id == "" {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.members[id]
}

// hasUser reports whether a local member belongs to user.
func (r *localRoom) hasUser(user string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, m := range r.members {
		if m.s.claims.Subject == user {
			return true
		}
	}
	return false
}

// membersOf returns the local members of user.
func (r *localRoom) membersOf(user string) []*member {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []*member
	for _, m := range r.members {
		if m.s.claims.Subject == user {
			out = append(out, m)
		}
	}
	return out
}

// snapshotMembers returns the local members.
func (r *localRoom) snapshotMembers() []*member {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*member, 0, len(r.members))
	for _, m := range r.members {
		out = append(out, m)
	}
	return out
}

// PublishRoom implements protocol.RoomPublisher: e is encoded once and
// published on the room's bus channel; every gateway with members in the
// room fans it out.
func (h *hub) PublishRoom(ctx context.Context, t tenant.ID, room string, e *protocol.Envelope) error {
	if err := validRoom(room); err != nil {
		return err
	}
	if e.V == 0 {
		e.V = protocol.Version
	}
	if e.Room == "" {
		e.Room = room
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("signaling: encode %s: %w", e.Type, err)
	}
	if strings.HasPrefix(e.Type, "chat.") {
		// Chat events carry their server timestamp to every gateway, for
		// the delivery latency histogram (delivery.go).
		var stamp [8]byte
		binary.BigEndian.PutUint64(stamp[:], uint64(time.Now().UnixNano()))
		return h.publish(ctx, t, room, kindStamped, append(stamp[:], b...))
	}
	return h.publish(ctx, t, room, kindEvent, b)
}

// publishControl sends a control message to the gateways of a room.
func (h *hub) publishControl(ctx context.Context, t tenant.ID, room string, c control) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("signaling: encode control: %w", err)
	}
	return h.publish(ctx, t, room, kindControl, b)
}

// publish prefixes body with its kind and publishes it.
func (h *hub) publish(ctx context.Context, t tenant.ID, room string, kind byte, body []byte) error {
	ch, err := roomChannel(t, room)
	if err != nil {
		return err
	}
	msg := make([]byte, 0, len(body)+1)
	msg = append(msg, kind)
	msg = append(msg, body...)
	if err := h.gw.deps.Bus.Publish(ctx, ch, msg); err != nil {
		return fmt.Errorf("signaling: publish to room %s: %w", room, err)
	}
	return nil
}

// snapshotRooms returns the rooms with local members.
func (h *hub) snapshotRooms() []*localRoom {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*localRoom, 0, len(h.rooms))
	for _, r := range h.rooms {
		out = append(out, r)
	}
	return out
}

// heartbeat refreshes the presence leases of local members and sweeps the
// expired records of each local room, announcing those leaves.
func (h *hub) heartbeat(ctx context.Context) {
	for _, r := range h.snapshotRooms() {
		select {
		case <-r.ready:
		default:
			continue
		}
		if r.err != nil {
			continue
		}
		h.refreshRoom(ctx, r)
		gone, err := h.gw.state.SweepExpired(ctx, r.key.t, r.name, time.Now())
		if err != nil {
			h.gw.log.Warn("presence sweep failed", "room", r.name, "err", err)
			continue
		}
		for _, rec := range gone {
			h.gw.log.Info("presence lease expired", "tenant", r.key.t, "room", r.name,
				"participant", rec.Participant.ID, "gateway", rec.Gateway)
			h.gw.publishPresenceLeave(ctx, r.key.t, r.name, rec.Participant, "timeout")
		}
	}
}

// refreshBatch bounds the presence leases renewed in one state round trip.
const refreshBatch = 256

// refreshRoom renews the presence leases of r's local members: with a
// state that writes many records at once (RedisState: one pipeline), one
// round trip per refreshBatch members instead of one per member.
func (h *hub) refreshRoom(ctx context.Context, r *localRoom) {
	members := r.snapshotMembers()
	bp, ok := h.gw.state.(batchPutter)
	if !ok {
		for _, m := range members {
			if err := m.refresh(ctx); err != nil {
				h.gw.log.Warn("presence refresh failed", "room", r.name, "participant", m.s.id, "err", err)
			}
		}
		return
	}
	recs := make([]Record, 0, min(len(members), refreshBatch))
	locked := make([]*member, 0, cap(recs))
	for len(members) > 0 {
		n := min(len(members), refreshBatch)
		// Each member's update lock is held until its record is written,
		// as refresh does, so a leave cannot be overwritten by a stale
		// lease (nothing takes two members' locks, so this cannot deadlock).
		for _, m := range members[:n] {
			m.upd.Lock()
			if m.left {
				m.upd.Unlock()
				continue
			}
			recs = append(recs, m.recordLocked())
			locked = append(locked, m)
		}
		members = members[n:]
		if len(recs) > 0 {
			if err := bp.PutParticipants(ctx, r.key.t, r.name, recs); err != nil {
				h.gw.log.Warn("presence refresh failed", "room", r.name, "participants", len(recs), "err", err)
			}
		}
		for _, m := range locked {
			m.upd.Unlock()
		}
		recs, locked = recs[:0], locked[:0]
	}
}

// close stops every room (the sessions have ended by then).
func (h *hub) close() {
	for _, r := range h.snapshotRooms() {
		<-r.ready
		if r.sub != nil {
			_ = r.sub.Close()
		}
	}
}
