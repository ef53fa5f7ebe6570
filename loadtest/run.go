package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/plenaryhq/plenary/internal/auth"
)

// Timeouts of bot operations: a dead target must make them fail, never
// hang the run.
const (
	dialTimeout    = 10 * time.Second
	requestTimeout = 10 * time.Second
	// superviseEvery is how often lost connections are looked for.
	superviseEvery = 250 * time.Millisecond
	// upkeepEvery is how often bots drain events and confirm frames.
	upkeepEvery = 50 * time.Millisecond
	// driveEvery is the tick of the action schedulers.
	driveEvery = 50 * time.Millisecond
	// closeTimeout bounds the closing of all bots at the end.
	closeTimeout = 30 * time.Second
	// tokenMargin is added to the run's length for token lifetimes.
	tokenMargin = 15 * time.Minute
)

// run is one Run in progress.
type run struct {
	opts   Options
	sc     *Scenario
	rec    *Recorder
	log    *slog.Logger
	urls   []string // gateways of chat bots
	murls  []string // gateways of media bots
	dialer *websocket.Dialer
	media  *mediaEnv

	rooms  map[string]*roomState
	groups []*groupRun
	bots   []Bot

	start    time.Time
	stopActs chan struct{} // closed when the run's duration is over
	connect  chan struct{} // semaphore of connects in flight
	work     chan func()   // scheduled actions for the workers
	nextURL  atomic.Uint64
	mem      memSampler
}

// groupRun is one scenario group's bots in this shard.
type groupRun struct {
	g      *Group
	role   auth.Role
	bots   []Bot            // in start order
	starts []time.Duration  // start offset of each bot
	byRoom map[string][]Bot // the bots of each room
	rooms  []string
}

// Run runs the scenario of opts against its targets until the scenario's
// duration (plus drain) is over or ctx ends, writes the report to
// opts.ReportDir and returns it. The error wraps ErrSLOFailed when an SLO
// was missed (the report is complete then), ErrInvalidOptions or
// ErrNoTokens when the run could not start, or ctx's error when it was
// cut short (the report covers what ran).
func Run(ctx context.Context, opts Options) (*Report, error) {
	urls, murls, err := opts.validate()
	if err != nil {
		return nil, err
	}
	r := &run{
		opts: opts, sc: opts.Scenario, log: opts.Log, urls: urls, murls: murls,
		rec:      NewRecorder(nil),
		rooms:    map[string]*roomState{},
		stopActs: make(chan struct{}),
		connect:  make(chan struct{}, opts.MaxConnecting),
		work:     make(chan func(), 4*opts.Workers),
		// Small buffers: most frames are a few hundred bytes and a chat bot
		// must stay small; the write buffer is pooled across connections.
		dialer: &websocket.Dialer{HandshakeTimeout: dialTimeout, ReadBufferSize: 1024, WriteBufferSize: 1024,
			WriteBufferPool: &sync.Pool{}},
	}
	if err := r.plan(); err != nil {
		return nil, err
	}
	return r.execute(ctx)
}

// plan creates this shard's bots and rooms.
func (r *run) plan() error {
	for _, name := range r.sc.Rooms() {
		r.rooms[name] = &roomState{name: name}
	}
	for i := range r.sc.Groups {
		g := &r.sc.Groups[i]
		role, err := auth.ParseRole(g.Role)
		if err != nil {
			return fmt.Errorf("%w: group %s: %w", ErrInvalidScenario, g.Name, err)
		}
		gr := &groupRun{g: g, role: role, byRoom: map[string][]Bot{}, rooms: g.RoomNames()}
		for k := 0; k < g.Count; k++ {
			if !r.opts.Shard.owns(k) {
				continue
			}
			room := r.rooms[gr.rooms[k%len(gr.rooms)]]
			b, err := r.newBot(gr, k, room)
			if err != nil {
				return err
			}
			start := g.StartAfter.D()
			if g.Count > 1 {
				start += time.Duration(int64(g.RampUp) * int64(k) / int64(g.Count))
			}
			gr.bots = append(gr.bots, b)
			gr.starts = append(gr.starts, start)
			gr.byRoom[room.name] = append(gr.byRoom[room.name], b)
			r.bots = append(r.bots, b)
		}
		r.groups = append(r.groups, gr)
	}
	return nil
}

// newBot creates bot k of group gr in room.
func (r *run) newBot(gr *groupRun, k int, room *roomState) (Bot, error) {
	base := &wsBot{r: r, g: gr, room: room, idx: k}
	switch gr.g.Kind {
	case KindChat:
		return base, nil
	case KindViewer, KindSpeaker:
		env, err := r.mediaEnv()
		if err != nil {
			return nil, err
		}
		if gr.g.Kind == KindViewer {
			return newViewer(base, env), nil
		}
		return newSpeaker(base, env), nil
	}
	return nil, fmt.Errorf("%w: group %s: unknown kind", ErrInvalidScenario, gr.g.Name)
}

// url returns the next target, round-robin; media bots get the next
// media target.
func (r *run) url(media bool) string {
	list := r.urls
	if media {
		list = r.murls
	}
	return list[int(r.nextURL.Add(1)-1)%len(list)]
}

// execute runs the planned bots and returns the report.
func (r *run) execute(ctx context.Context) (*Report, error) {
	r.mem.baseline()
	r.start = time.Now()
	end := r.start.Add(r.sc.Duration.D())
	r.log.Info("load test starting", "scenario", r.sc.Name, "run", r.opts.RunID, "shard", r.opts.Shard.String(),
		"bots", len(r.bots), "targets", r.urls)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	spawn := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	for i := 0; i < r.opts.Workers; i++ {
		spawn(func() { r.worker(runCtx) })
	}
	for _, gr := range r.groups {
		spawn(func() { r.ramp(runCtx, gr) })
		spawn(func() { r.drive(runCtx, gr) })
	}
	spawn(func() { r.polls(runCtx) })
	tickDone := make(chan struct{})
	var tickWG sync.WaitGroup
	tickWG.Add(3)
	go func() { defer tickWG.Done(); r.supervise(runCtx, tickDone) }()
	go func() { defer tickWG.Done(); r.ticker(tickDone) }()
	go func() { defer tickWG.Done(); r.lagMonitor(tickDone) }()

	// The run's duration, then the drain: bots listen, nothing is sent.
	interrupted := waitUntil(ctx, end)
	close(r.stopActs)
	r.mem.measure(r.rec.ConnectedNow())
	if !interrupted {
		interrupted = waitUntil(ctx, end.Add(r.sc.Drain.D()))
	}
	finishCtx, finishCancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer finishCancel()
	r.finish(finishCtx)
	cancel()
	wg.Wait()
	close(tickDone)
	tickWG.Wait()
	r.closeAll(finishCtx)

	m := r.rec.Snapshot()
	rep := buildReport(runMeta{scenario: r.sc, runID: r.opts.RunID, shard: r.opts.Shard, bots: len(r.bots),
		start: r.start, end: time.Now(), memory: r.mem.stats()}, m)
	if r.opts.ReportDir != "" {
		if err := rep.Write(r.opts.ReportDir); err != nil {
			return rep, err
		}
	}
	r.log.Info("load test finished", "pass", rep.Pass, "errors", rep.ErrorsTotal, "report", r.opts.ReportDir)
	var errs []error
	if interrupted {
		errs = append(errs, fmt.Errorf("loadtest: interrupted: %w", context.Cause(ctx)))
	}
	if err := rep.Err(); err != nil {
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

// waitUntil waits for t or ctx; it reports whether ctx ended first.
func waitUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return false
	case <-ctx.Done():
		return true
	}
}

// acting reports whether scheduled actions may still be sent.
func (r *run) acting() bool {
	select {
	case <-r.stopActs:
		return false
	default:
		return true
	}
}

// worker runs scheduled actions.
func (r *run) worker(ctx context.Context) {
	for {
		select {
		case f := <-r.work:
			f()
		case <-ctx.Done():
			return
		}
	}
}

// submit queues f for a worker; when all are busy the action is dropped
// and counted, so an overloaded tester shows up in the report instead of
// skewing the schedule silently.
func (r *run) submit(f func()) {
	select {
	case r.work <- f:
	default:
		r.rec.Inc(CounterActionsDropped)
	}
}

// ramp starts the group's bots at their start offsets.
func (r *run) ramp(ctx context.Context, gr *groupRun) {
	for i, b := range gr.bots {
		if waitUntil(ctx, r.start.Add(gr.starts[i])) || !r.acting() {
			return
		}
		select {
		case r.connect <- struct{}{}:
		case <-ctx.Done():
			return
		}
		go func() {
			defer func() { <-r.connect }()
			_ = b.Start(ctx)
		}()
	}
}

// supervise looks after every bot from one goroutine: twenty times a
// second it lets each do its upkeep (draining events, confirming frames),
// and four times a second it reconnects those whose connection dropped,
// with the connect semaphore bounding reconnects in flight.
func (r *run) supervise(ctx context.Context, done <-chan struct{}) {
	t := time.NewTicker(upkeepEvery)
	defer t.Stop()
	for n := 0; ; n++ {
		var now time.Time
		select {
		case now = <-t.C:
		case <-done:
			return
		}
		for _, b := range r.bots {
			b.Upkeep(now)
		}
		if n%int(superviseEvery/upkeepEvery) != 0 {
			continue
		}
		for _, b := range r.bots {
			if ctx.Err() != nil {
				break
			}
			if !b.Lost() {
				continue
			}
			select {
			case r.connect <- struct{}{}:
			case <-done:
				return
			}
			go func() {
				defer func() { <-r.connect }()
				_ = b.Reconnect(ctx)
			}()
		}
	}
}

// drive sends the group's scheduled actions until the run's duration is
// over: per room, Poisson arrivals at the scenario's rates (this shard's
// share), each given to a random connected bot of the group in the room;
// plus votes in new polls and injected drops.
func (r *run) drive(ctx context.Context, gr *groupRun) {
	rates := gr.g.Chat
	share := 1 / float64(r.opts.Shard.Count)
	perTick := driveEvery.Seconds() * share
	acts := []struct {
		a    Action
		rate float64
	}{{ActChat, rates.MessagesPerS}, {ActReact, rates.ReactionsPerS}, {ActAsk, rates.QuestionsPerS}, {ActUpvote, rates.UpvotesPerS}}
	dropsPerTick := gr.g.DropsPerMin / 60 * driveEvery.Seconds() * share
	votes := newVoteQueue()
	pollGen := map[string]uint64{}
	t := time.NewTicker(driveEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		if !r.acting() {
			return
		}
		now := time.Now()
		for _, room := range gr.rooms {
			bots := gr.byRoom[room]
			if len(bots) == 0 {
				continue
			}
			for _, ac := range acts {
				for n := poisson(ac.rate * perTick); n > 0; n-- {
					r.actOnRandom(bots, ac.a)
				}
			}
			if rates.PollVotePct > 0 {
				if _, _, gen := r.rooms[room].openPoll(); gen != pollGen[room] {
					pollGen[room] = gen
					votes.plan(now, bots, rates.PollVotePct)
				}
			}
		}
		for _, b := range votes.due(now) {
			r.submit(func() {
				if b.Act(ActVote) {
					r.rec.Inc(CounterVotes)
				}
			})
		}
		for n := poisson(dropsPerTick); n > 0 && len(gr.bots) > 0; n-- {
			b := gr.bots[rand.IntN(len(gr.bots))]
			r.submit(func() {
				if b.Drop() {
					r.rec.Inc(CounterDropsInjected)
				}
			})
		}
	}
}

// actOnRandom gives action a to a random connected bot among bots (a few
// tries; a room with nobody connected skips the action).
func (r *run) actOnRandom(bots []Bot, a Action) {
	r.submit(func() {
		for try := 0; try < 4; try++ {
			if bots[rand.IntN(len(bots))].Act(a) {
				return
			}
		}
	})
}

// poisson draws from a Poisson distribution of mean m (Knuth's method for
// small means, a normal approximation above 30).
func poisson(m float64) int {
	switch {
	case m <= 0:
		return 0
	case m > 30:
		return max(0, int(m+rand.NormFloat64()*math.Sqrt(m)+0.5))
	}
	l, k, p := math.Exp(-m), 0, 1.0
	for {
		p *= rand.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// voteQueue spreads the votes of a new poll over the ten seconds after it
// opens, each chosen bot voting once.
type voteQueue struct {
	plans []votePlan
}

// votePlan is one bot's vote and when it is due.
type votePlan struct {
	at  time.Time
	bot Bot
}

// voteSpread is how long after a poll opens its votes arrive.
const voteSpread = 10 * time.Second

func newVoteQueue() *voteQueue { return &voteQueue{} }

// plan schedules votes by pct percent of bots.
func (q *voteQueue) plan(now time.Time, bots []Bot, pct float64) {
	for _, b := range bots {
		if rand.Float64()*100 < pct {
			q.plans = append(q.plans, votePlan{at: now.Add(time.Duration(rand.Int64N(int64(voteSpread)))), bot: b})
		}
	}
	sort.Slice(q.plans, func(i, j int) bool { return q.plans[i].at.Before(q.plans[j].at) })
}

// due pops the votes due at now.
func (q *voteQueue) due(now time.Time) []Bot {
	n := 0
	for n < len(q.plans) && !q.plans[n].at.After(now) {
		n++
	}
	out := make([]Bot, n)
	for i := range out {
		out[i] = q.plans[i].bot
	}
	q.plans = q.plans[n:]
	return out
}
