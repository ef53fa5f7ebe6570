package sfu

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/webrtc/v4"
)

// JoinOptions configure a participant at Join.
type JoinOptions struct {
	// AutoSubscribe subscribes the participant to every track published in
	// the room, now and later (a typical meeting or stage viewer). Without
	// it the signaling layer calls Subscribe per track.
	AutoSubscribe bool
	// MaxBitrate caps the bandwidth the SFU sends to this participant, in
	// bit/s, on top of the congestion-control estimate (e.g. a client on a
	// metered connection). Default 0: no cap.
	MaxBitrate int
	// ClientOffer makes the client the offerer on the subscriber connection
	// too, for players that cannot take offers from the server (WHEP): the
	// signaling layer passes the client's offer to HandleSubscriberOffer
	// instead of relaying EventSubscriberOffer. The offer fixes the
	// connection once; each of its receive-only audio and video sections
	// carries one subscribed track at a time (see HandleSubscriberOffer), and
	// Subscribe fails with ErrNoSlot when every section of the track's kind
	// is taken. Default false: the SFU offers (browsers).
	ClientOffer bool
	// Hidden keeps the participant out of what the room tells about its
	// members: Room.Participants and Room.ParticipantCount skip it, the
	// participants gauge does not count it (plenary_sfu_hidden_participants
	// does) and its audio never makes it the active speaker. Everything else
	// works as usual: its subscriptions, and its tracks if it publishes any
	// (a relay's republished tracks are listed and forwarded like any
	// other). For recorders ("recorder-<id>") and relay links ("relay~<node>").
	// Default false.
	Hidden bool
	// Relay marks a relay link's republisher: each track it publishes
	// belongs to the participant (on another node) named by the track's
	// MediaStream ID, which the upstream node sets to the original
	// publisher's ID. TrackInfo.Publisher names that participant, and the
	// track's audio levels can make them the active speaker even though the
	// link itself is Hidden. Default false.
	Relay bool
}

// Participant is one client in a room, with a publisher connection (client
// offers, SFU answers) and a subscriber connection (SFU offers, client
// answers). All methods are safe for concurrent use.
type Participant struct {
	id   ParticipantID
	room *Room
	log  *slog.Logger
	opts JoinOptions

	pub *webrtc.PeerConnection
	sub *webrtc.PeerConnection

	events    *eventQueue
	estimator atomic.Value // cc.BandwidthEstimator of the subscriber connection
	cap       atomic.Int64
	probe     prober
	// subReady is set once the subscriber connection is connected (DTLS
	// done): Pion silently drops packets written before SRTP is ready, so
	// down-tracks must not start (and consume a keyframe) earlier.
	subReady atomic.Bool
	kick     chan struct{}
	done     chan struct{}
	// pubICE is closed once the publisher connection's ICE transport has
	// started (and knows the client's credentials); see
	// HandlePublisherOffer.
	pubICE     chan struct{}
	pubICEOnce sync.Once

	mu        sync.Mutex
	closed    bool
	published map[TrackID]*publishedTrack
	subs      map[TrackID]*DownTrack
	slots     []*subscriberSlot // ClientOffer mode only

	negMu          sync.Mutex
	outstanding    bool // an offer is waiting for its answer
	pendingNeg     bool // changes happened meanwhile; offer again after the answer
	pendingRestart bool // RestartICE was asked meanwhile; the next offer restarts ICE

	// candMu orders subscriber candidates after the offer they belong to:
	// while holdCands, they wait in heldCands (see offer).
	candMu    sync.Mutex
	holdCands bool
	heldCands []Event

	// pins are the layers the subscriber pinned (TrackPreference.Pin), by
	// track; guarded by mu.
	pins map[TrackID]Layer
	// drainNotified is set once EventNodeDraining was sent (SFU.Drain).
	drainNotified atomic.Bool

	wg        sync.WaitGroup // media and RTCP goroutines, allocator
	pumpDone  chan struct{}
	closeOnce sync.Once
}

func newParticipant(r *Room, id ParticipantID, opts JoinOptions) (*Participant, error) {
	s := r.sfu
	p := &Participant{
		id:        id,
		room:      r,
		log:       r.log.With("participant", string(id)),
		opts:      opts,
		events:    newEventQueue(),
		kick:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		pubICE:    make(chan struct{}),
		published: make(map[TrackID]*publishedTrack),
		subs:      make(map[TrackID]*DownTrack),
		pins:      make(map[TrackID]Layer),
		pumpDone:  make(chan struct{}),
	}
	p.cap.Store(int64(opts.MaxBitrate))
	go func() {
		defer close(p.pumpDone)
		p.events.run()
	}()
	var err error
	if p.pub, err = s.pubAPI.NewPeerConnection(webrtc.Configuration{}); err != nil {
		p.Leave()
		return nil, fmt.Errorf("sfu: publisher connection: %w", err)
	}
	subAPI, err := newSubscriberAPI(s.media, s.settings, s.lf, s.cfg, func(e cc.BandwidthEstimator) {
		p.estimator.Store(e)
	}, func() int { return int(p.probe.rate.Load()) })
	if err != nil {
		p.Leave()
		return nil, err
	}
	if p.sub, err = subAPI.NewPeerConnection(webrtc.Configuration{}); err != nil {
		p.Leave()
		return nil, fmt.Errorf("sfu: subscriber connection: %w", err)
	}
	p.pub.OnTrack(p.onRemoteTrack)
	p.pub.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		if st != webrtc.ICEConnectionStateNew {
			p.pubICEOnce.Do(func() { close(p.pubICE) })
		}
	})
	for _, c := range []struct {
		pc     *webrtc.PeerConnection
		target Target
	}{{p.pub, TargetPublisher}, {p.sub, TargetSubscriber}} {
		target := c.target
		c.pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
			if cand == nil {
				return
			}
			ev := Event{Kind: EventICECandidate, Target: target, Candidate: cand.ToJSON()}
			if target == TargetSubscriber {
				p.pushSubscriberCandidate(ev)
				return
			}
			p.events.push(ev)
		})
		c.pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
			if target == TargetSubscriber && st == webrtc.PeerConnectionStateConnected && !p.subReady.Swap(true) {
				p.requestKeyframes()
			}
			p.events.push(Event{Kind: EventConnectionState, Target: target, State: st})
		})
	}
	p.goSafe(p.allocLoop)
	return p, nil
}

// ID returns the participant's ID.
func (p *Participant) ID() ParticipantID { return p.id }

// Hidden reports whether the participant joined with JoinOptions.Hidden.
func (p *Participant) Hidden() bool { return p.opts.Hidden }

// Events returns the participant's event stream. The signaling layer must
// drain it; it is closed when the participant has left.
func (p *Participant) Events() <-chan Event { return p.events.out }

// goSafe starts fn on a goroutine tracked by Leave, unless the participant
// is already leaving (no goroutines start after shutdown begins).
func (p *Participant) goSafe(fn func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		fn()
	}()
	return true
}

// HandlePublisherOffer applies the client's offer for its publisher
// connection and returns the SFU's answer. Tracks in the offer are published
// in the room as their media arrives.
func (p *Participant) HandlePublisherOffer(ctx context.Context, offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	if err := ctx.Err(); err != nil {
		return webrtc.SessionDescription{}, err
	}
	if offer.Type != webrtc.SDPTypeOffer {
		return webrtc.SessionDescription{}, fmt.Errorf("%w: want offer, got %s", ErrInvalidSDP, offer.Type)
	}
	if p.isClosed() {
		return webrtc.SessionDescription{}, ErrClosed
	}
	if p.pub.RemoteDescription() != nil {
		// A renegotiation (a browser adding its microphone right after its
		// camera) must wait until the ICE transport has started: before
		// that Pion does not know the client's ICE credentials yet, sees
		// them as changed and restarts ICE, and the client, which never
		// asked for a restart, drops the new candidates.
		select {
		case <-p.pubICE:
		case <-ctx.Done():
			return webrtc.SessionDescription{}, ctx.Err()
		case <-p.done:
			return webrtc.SessionDescription{}, ErrClosed
		}
	}
	if err := p.pub.SetRemoteDescription(offer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("%w: %w", ErrInvalidSDP, err)
	}
	answer, err := p.pub.CreateAnswer(nil)
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("%w: create answer: %w", ErrInvalidSDP, err)
	}
	if err := p.pub.SetLocalDescription(answer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("%w: set answer: %w", ErrInvalidSDP, err)
	}
	return answer, nil
}

// HandleSubscriberAnswer applies the client's answer to the last
// EventSubscriberOffer. If subscriptions changed meanwhile, a new offer
// follows as another event.
func (p *Participant) HandleSubscriberAnswer(ctx context.Context, answer webrtc.SessionDescription) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if answer.Type != webrtc.SDPTypeAnswer {
		return fmt.Errorf("%w: want answer, got %s", ErrInvalidSDP, answer.Type)
	}
	p.negMu.Lock()
	if !p.outstanding {
		p.negMu.Unlock()
		return ErrNoOffer
	}
	if err := p.sub.SetRemoteDescription(answer); err != nil {
		p.negMu.Unlock()
		return fmt.Errorf("%w: %w", ErrInvalidSDP, err)
	}
	p.outstanding = false
	again, restart := p.pendingNeg, p.pendingRestart
	p.pendingNeg, p.pendingRestart = false, false
	p.negMu.Unlock()
	if again {
		_ = p.offer(restart)
	}
	return nil
}

// AddICECandidate adds a trickled remote candidate to the target connection.
func (p *Participant) AddICECandidate(ctx context.Context, target Target, cand webrtc.ICECandidateInit) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var pc *webrtc.PeerConnection
	switch target {
	case TargetPublisher:
		pc = p.pub
	case TargetSubscriber:
		pc = p.sub
	default:
		return fmt.Errorf("%w: %d", ErrInvalidTarget, target)
	}
	if err := pc.AddICECandidate(cand); err != nil {
		return fmt.Errorf("sfu: add %s candidate: %w", target, err)
	}
	return nil
}

// negotiate sends a new subscriber offer, or remembers to once the
// outstanding one is answered (one offer in flight at a time: no glare).
func (p *Participant) negotiate() { _ = p.offer(false) }

// offer is negotiate, with new ICE credentials when restart is set (RFC
// 8445 §9). A restart asked while an offer is outstanding is remembered and
// made by the offer that follows the answer.
func (p *Participant) offer(restart bool) error {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed() {
		return ErrClosed
	}
	if p.opts.ClientOffer {
		return nil
	}
	if p.outstanding {
		p.pendingNeg = true
		p.pendingRestart = p.pendingRestart || restart
		return nil
	}
	var opts *webrtc.OfferOptions
	if restart {
		opts = &webrtc.OfferOptions{ICERestart: true}
	}
	// Candidates gathered from here on (an ICE restart gathers in
	// CreateOffer, a first offer in SetLocalDescription) belong to this
	// offer: they are held until the offer is queued, so the client never
	// gets one before the offer it belongs to.
	p.holdSubscriberCandidates()
	offer, err := p.sub.CreateOffer(opts)
	if err != nil {
		p.releaseSubscriberCandidates(nil)
		p.log.Warn("create subscriber offer", "err", err, "ice_restart", restart)
		return fmt.Errorf("sfu: create subscriber offer: %w", err)
	}
	if err := p.sub.SetLocalDescription(offer); err != nil {
		p.releaseSubscriberCandidates(nil)
		p.log.Warn("set subscriber offer", "err", err, "ice_restart", restart)
		return fmt.Errorf("sfu: set subscriber offer: %w", err)
	}
	p.outstanding = true
	p.releaseSubscriberCandidates(&Event{Kind: EventSubscriberOffer, SDP: offer})
	return nil
}

// holdSubscriberCandidates makes subscriber candidates wait (see offer).
func (p *Participant) holdSubscriberCandidates() {
	p.candMu.Lock()
	p.holdCands = true
	p.candMu.Unlock()
}

// releaseSubscriberCandidates queues first (the offer), if any, then the
// held candidates, and stops holding.
func (p *Participant) releaseSubscriberCandidates(first *Event) {
	p.candMu.Lock()
	defer p.candMu.Unlock()
	if first != nil {
		p.events.push(*first)
	}
	for _, ev := range p.heldCands {
		p.events.push(ev)
	}
	p.heldCands, p.holdCands = nil, false
}

// pushSubscriberCandidate queues a subscriber candidate, or holds it while
// an offer is being made.
func (p *Participant) pushSubscriberCandidate(ev Event) {
	p.candMu.Lock()
	defer p.candMu.Unlock()
	if p.holdCands {
		p.heldCands = append(p.heldCands, ev)
		return
	}
	p.events.push(ev)
}

func (p *Participant) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// onRemoteTrack is Pion's OnTrack: one call per received stream, so a
// simulcast track arrives as up to three calls with the same track ID.
func (p *Participant) onRemoteTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	id := TrackID(string(p.id) + "/" + remote.ID())
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	t, ok := p.published[id]
	if !ok {
		t = newPublishedTrack(p.room, p, id, remote, recv)
		p.published[id] = t
	}
	p.mu.Unlock()
	if !t.addLayer(remote, recv) {
		return
	}
	if !ok {
		p.log.Info("track published", "track", id, "mime", t.info.MimeType, "rid", remote.RID())
		p.room.addTrack(t)
	}
}

// requestKeyframes asks for a keyframe on every subscribed video layer, so
// forwarding starts as soon as the subscriber connection is up.
func (p *Participant) requestKeyframes() {
	p.mu.Lock()
	dts := make([]*DownTrack, 0, len(p.subs))
	for _, dt := range p.subs {
		dts = append(dts, dt)
	}
	p.mu.Unlock()
	for _, dt := range dts {
		dt.track.requestKeyframe(dt.Target())
	}
}

// forgetTrack drops an unpublished track from the publisher's set.
func (p *Participant) forgetTrack(t *publishedTrack) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.published[t.info.ID] == t {
		delete(p.published, t.info.ID)
	}
}

// Subscribe subscribes the participant to a published track; an
// EventSubscriberOffer follows.
func (p *Participant) Subscribe(id TrackID) error {
	t, ok := p.room.track(id)
	if !ok {
		return fmt.Errorf("%w: %s", ErrTrackNotFound, id)
	}
	return p.subscribe(t)
}

func (p *Participant) subscribe(t *publishedTrack) error {
	if t.pub == p {
		return ErrOwnTrack
	}
	if p.opts.ClientOffer {
		return p.subscribeSlot(t)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if _, ok := p.subs[t.info.ID]; ok {
		p.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrAlreadySubscribed, t.info.ID)
	}
	dt := newDownTrack(t, p)
	sender, err := p.sub.AddTrack(dt)
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("sfu: add down-track: %w", err)
	}
	dt.sender = sender
	p.subs[t.info.ID] = dt
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		dt.rtcpLoop()
	}()
	p.mu.Unlock()
	// Counted before addDownTrack: dropDownTrack below uncounts it.
	metricSubscriptions.WithLabelValues(t.info.Kind.String()).Inc()
	if !t.addDownTrack(dt) {
		p.dropDownTrack(dt)
		return fmt.Errorf("%w: %s", ErrTrackNotFound, t.info.ID)
	}
	p.negotiate()
	p.kickAllocator()
	return nil
}

// Unsubscribe stops forwarding a track to the participant; an
// EventSubscriberOffer follows.
func (p *Participant) Unsubscribe(id TrackID) error {
	p.mu.Lock()
	dt, ok := p.subs[id]
	p.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotSubscribed, id)
	}
	if dt.track.removeDownTrack(dt) {
		dt.track.updateDynacast()
	}
	p.dropDownTrack(dt)
	return nil
}

// dropDownTrack removes dt from the subscriber connection.
func (p *Participant) dropDownTrack(dt *DownTrack) {
	p.mu.Lock()
	if p.subs[dt.track.info.ID] != dt {
		p.mu.Unlock()
		return
	}
	delete(p.subs, dt.track.info.ID)
	delete(p.pins, dt.track.info.ID)
	closed := p.closed
	p.mu.Unlock()
	metricSubscriptions.WithLabelValues(dt.track.info.Kind.String()).Dec()
	if closed {
		return // the connection is closing anyway
	}
	if dt.slot != nil {
		p.releaseSlot(dt)
		return
	}
	if err := p.sub.RemoveTrack(dt.sender); err != nil {
		p.log.Debug("remove down-track", "err", err)
	}
	p.negotiate()
}

// Subscriptions returns the IDs of the tracks the participant receives.
func (p *Participant) Subscriptions() []TrackID {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]TrackID, 0, len(p.subs))
	for id := range p.subs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Leave closes both connections, unpublishes the participant's tracks,
// drops its subscriptions and waits for its goroutines. Events() is closed.
// Leave is idempotent.
func (p *Participant) Leave() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		own := make([]*publishedTrack, 0, len(p.published))
		for _, t := range p.published {
			own = append(own, t)
		}
		subs := make([]*DownTrack, 0, len(p.subs))
		for _, dt := range p.subs {
			subs = append(subs, dt)
		}
		p.mu.Unlock()
		close(p.done)
		for _, t := range own {
			p.room.removeTrack(t)
		}
		for _, dt := range subs {
			if dt.track.removeDownTrack(dt) {
				dt.track.updateDynacast()
			}
			p.dropDownTrack(dt)
		}
		for _, pc := range []*webrtc.PeerConnection{p.pub, p.sub} {
			if pc != nil {
				if err := pc.Close(); err != nil {
					p.log.Debug("close connection", "err", err)
				}
			}
		}
		p.wg.Wait()
		p.events.close()
		<-p.pumpDone
		p.room.removeParticipant(p)
	})
}
