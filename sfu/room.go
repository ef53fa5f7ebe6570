package sfu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// errRoomClosing is returned by Room.Join for a room that is closing; SFU.Join
// retries with a fresh room.
var errRoomClosing = fmt.Errorf("%w: room closing", ErrClosed)

// Room is one (tenant, room) media session: its participants and the tracks
// they publish. Obtain it from SFU.Room.
type Room struct {
	sfu *SFU
	key roomKey
	log *slog.Logger

	mu           sync.Mutex
	participants map[ParticipantID]*Participant
	tracks       map[TrackID]*publishedTrack
	closed       bool

	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once

	speaker ParticipantID // owned by speakerLoop
}

func newRoom(s *SFU, k roomKey) *Room {
	r := &Room{
		sfu:          s,
		key:          k,
		log:          s.log.With("tenant", string(k.tenant), "room", string(k.room)),
		participants: make(map[ParticipantID]*Participant),
		tracks:       make(map[TrackID]*publishedTrack),
		done:         make(chan struct{}),
	}
	r.wg.Add(1)
	go r.speakerLoop()
	return r
}

// ID returns the room's ID (unique within its tenant).
func (r *Room) ID() RoomID { return r.key.room }

// Participants returns the IDs of the visible participants in the room
// (those not joined with JoinOptions.Hidden), sorted.
func (r *Room) Participants() []ParticipantID {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]ParticipantID, 0, len(r.participants))
	for id, p := range r.participants {
		if p != nil && !p.opts.Hidden {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// ParticipantCount returns the number of visible participants in the room
// (hidden ones, recorders and relay links, are not counted).
func (r *Room) ParticipantCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, p := range r.participants {
		if p != nil && !p.opts.Hidden {
			n++
		}
	}
	return n
}

// members returns the room's joined participants, hidden ones included.
func (r *Room) members() []*Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Participant, 0, len(r.participants))
	for _, p := range r.participants {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// Tracks returns the tracks published in the room, sorted by ID.
func (r *Room) Tracks() []TrackInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	infos := make([]TrackInfo, 0, len(r.tracks))
	for _, t := range r.tracks {
		infos = append(infos, t.infoNow())
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].ID < infos[j].ID })
	return infos
}

// Join adds participant id to the room and creates its two peer
// connections. The participant's events start flowing on Events() at once;
// if AutoSubscribe is set it is subscribed to every track already published.
// While the node drains, Join fails with ErrDraining.
func (r *Room) Join(ctx context.Context, id ParticipantID, opts JoinOptions) (*Participant, error) {
	if !validID(string(id)) {
		return nil, fmt.Errorf("%w: participant %q", ErrInvalidID, id)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.sfu.Draining() {
		return nil, ErrDraining
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errRoomClosing
	}
	if _, ok := r.participants[id]; ok {
		r.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrParticipantExists, id)
	}
	// Reserve the ID so a concurrent Join with the same ID fails.
	r.participants[id] = nil
	r.mu.Unlock()

	p, err := newParticipant(r, id, opts)
	r.mu.Lock()
	// Draining is checked again under r.mu: SFU.Drain sets it before it
	// notifies each room's members under the same lock, so a participant
	// either is refused here or is among those notified.
	draining := r.sfu.Draining()
	if err != nil || r.closed || draining {
		delete(r.participants, id)
		empty := len(r.participants) == 0
		closed := r.closed
		r.mu.Unlock()
		if p != nil {
			p.Leave()
		}
		if empty {
			r.closeIfEmpty()
		}
		switch {
		case err != nil:
		case closed:
			err = errRoomClosing
		default:
			err = ErrDraining
		}
		return nil, err
	}
	r.participants[id] = p
	r.sfu.members.add(1)
	var existing []*publishedTrack
	if opts.AutoSubscribe {
		for _, t := range r.tracks {
			existing = append(existing, t)
		}
	}
	infos := make([]TrackInfo, 0, len(r.tracks))
	for _, t := range r.tracks {
		infos = append(infos, t.infoNow())
	}
	r.mu.Unlock()
	participantGauge(opts.Hidden).Inc()
	for _, info := range infos {
		p.events.push(Event{Kind: EventTrackPublished, Track: info})
	}
	for _, t := range existing {
		if err := p.subscribe(t); err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrNoSlot) {
			p.log.Warn("auto-subscribe failed", "track", t.info.ID, "err", err)
		}
	}
	return p, nil
}

// addTrack registers a newly published track, announces it and
// auto-subscribes the participants that asked for it.
func (r *Room) addTrack(t *publishedTrack) bool {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return false
	}
	r.tracks[t.info.ID] = t
	var auto []*Participant
	var all []*Participant
	for _, p := range r.participants {
		if p == nil {
			continue
		}
		all = append(all, p)
		if p.opts.AutoSubscribe && p != t.pub {
			auto = append(auto, p)
		}
	}
	r.mu.Unlock()
	metricTracks.WithLabelValues(t.info.Kind.String()).Inc()
	for _, p := range all {
		p.events.push(Event{Kind: EventTrackPublished, Track: t.infoNow()})
	}
	for _, p := range auto {
		if err := p.subscribe(t); err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrAlreadySubscribed) &&
			!errors.Is(err, ErrNoSlot) {
			p.log.Warn("auto-subscribe failed", "track", t.info.ID, "err", err)
		}
	}
	return true
}

// removeTrack unpublishes t: every subscriber drops its down-track and is
// told. It is idempotent.
func (r *Room) removeTrack(t *publishedTrack) {
	r.mu.Lock()
	if r.tracks[t.info.ID] != t {
		r.mu.Unlock()
		return
	}
	delete(r.tracks, t.info.ID)
	all := make([]*Participant, 0, len(r.participants))
	for _, p := range r.participants {
		if p != nil {
			all = append(all, p)
		}
	}
	r.mu.Unlock()
	metricTracks.WithLabelValues(t.info.Kind.String()).Dec()
	for _, dt := range t.closeDownTracks() {
		dt.sub.dropDownTrack(dt)
	}
	for _, p := range all {
		p.events.push(Event{Kind: EventTrackUnpublished, Track: t.infoNow()})
	}
}

// trackList returns the room's published tracks, in no particular order.
func (r *Room) trackList() []*publishedTrack {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*publishedTrack, 0, len(r.tracks))
	for _, t := range r.tracks {
		out = append(out, t)
	}
	return out
}

func (r *Room) track(id TrackID) (*publishedTrack, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.tracks[id]
	return t, ok
}

// removeParticipant forgets p and closes the room when it was the last one.
func (r *Room) removeParticipant(p *Participant) {
	r.mu.Lock()
	removed := r.participants[p.id] == p
	if removed {
		delete(r.participants, p.id)
	}
	r.mu.Unlock()
	if removed {
		participantGauge(p.opts.Hidden).Dec()
		r.sfu.members.add(-1)
	}
	r.closeIfEmpty()
}

func (r *Room) closeIfEmpty() {
	r.mu.Lock()
	empty := len(r.participants) == 0 && !r.closed
	r.mu.Unlock()
	if empty {
		_ = r.Close()
	}
}

// broadcast sends ev to every participant of the room.
func (r *Room) broadcast(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.participants {
		if p != nil {
			p.events.push(ev)
		}
	}
}

// Close makes every participant leave and stops the room's goroutines. The
// SFU forgets the room; a later SFU.Room call creates a fresh one. Close is
// idempotent.
func (r *Room) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		ps := make([]*Participant, 0, len(r.participants))
		for _, p := range r.participants {
			if p != nil {
				ps = append(ps, p)
			}
		}
		r.mu.Unlock()
		r.sfu.removeRoom(r)
		for _, p := range ps {
			p.Leave()
		}
		close(r.done)
		r.wg.Wait()
	})
	return nil
}

// speakerLoop evaluates audio levels every SpeakerInterval and announces the
// loudest participant above SpeakerMinLevel (RFC 6464 levels, smoothed).
func (r *Room) speakerLoop() {
	defer r.wg.Done()
	tick := time.NewTicker(r.sfu.cfg.SpeakerInterval)
	defer tick.Stop()
	minLoudness := 127 - float64(r.sfu.cfg.SpeakerMinLevel)
	for {
		select {
		case <-r.done:
			return
		case <-tick.C:
		}
		r.mu.Lock()
		best, bestLoud := ParticipantID(""), minLoudness
		for _, t := range r.tracks {
			if t.audio == nil {
				continue
			}
			// A hidden publisher is no speaker of its own (its meter is
			// drained all the same), but a relay link's track speaks for
			// the participant that publishes it on another node
			// (JoinOptions.Relay): the active speaker crosses nodes.
			if l := t.audio.drain(); l > bestLoud && (!t.pub.opts.Hidden || t.info.Publisher != t.pub.id) {
				best, bestLoud = t.info.Publisher, l
			}
		}
		r.mu.Unlock()
		if best != r.speaker {
			r.speaker = best
			level := 0.0
			if best != "" {
				level = 127 - bestLoud
			}
			r.broadcast(Event{Kind: EventActiveSpeaker, Speaker: best, Level: level})
		}
	}
}
