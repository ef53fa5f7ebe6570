package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling/client"
)

// Bot states.
const (
	stIdle int32 = iota
	stConnecting
	stUp
	stDown // lost or never joined; due for a reconnect at nextTry
	stReconnecting
	stClosed
)

// Reconnect backoff bounds.
const (
	backoffMin = 250 * time.Millisecond
	backoffMax = 5 * time.Second
)

// wsBot is a chat bot, and the WebSocket half of viewer and speaker bots.
//
// It has no goroutine of its own: frames are handled in the signaling
// client's reader goroutine (Options.OnFrame) by scanning their bytes, and
// the decoded events the client queues are drained there too. Actions
// come from the runner's workers. Its state is a few words and the
// completeness bitmap.
type wsBot struct {
	r    *run
	g    *groupRun
	room *roomState
	idx  int

	// media, when set, makes the bot join with media and receive the
	// decoded events on its own goroutine (viewer and speaker bots).
	media mediaHooks

	state    atomic.Int32
	cl       atomic.Pointer[conn]
	joined   atomic.Bool // joined at least once
	nextTry  atomic.Int64
	attempts atomic.Int32

	lastAck atomic.Int64 // Unix ns of the last ping confirming frames

	mu     sync.Mutex // guards seqs
	seqs   seqSet
	maxSeq atomic.Uint64
}

// clientEventBuffer is a chat bot's client event buffer: it reads no
// events (Options.Consumed), so a small one.
const clientEventBuffer = 8

// ackEvery is how often a bot confirms received frames with a ping, as a
// long-lived browser client does.
const ackEvery = 10 * time.Second

// mediaHooks connect a wsBot to the media half of a viewer or speaker.
type mediaHooks interface {
	// beforeJoin is called as a join (first or again: a new session whose
	// media starts afresh) is sent.
	beforeJoin(start time.Time)
	// joined is called after each successful join with the connection
	// whose events go to event; an error fails the join.
	joined(c *conn, j *client.Joined) error
	// event handles one decoded server event.
	event(c *conn, e *protocol.Envelope)
	// close releases the media.
	close()
}

// conn is one signaling connection of a bot: the client and, for media
// bots, the goroutine consuming its events.
type conn struct {
	c    atomic.Pointer[client.Client]
	stop chan struct{}
	once sync.Once
}

// client returns the connection's client (nil while dialing).
func (c *conn) client() *client.Client { return c.c.Load() }

// close closes the client and stops the event goroutine. Idempotent.
func (c *conn) close() {
	c.once.Do(func() {
		close(c.stop)
		if cl := c.client(); cl != nil {
			_ = cl.Close()
		}
	})
}

var _ Bot = (*wsBot)(nil)

// subject returns the bot's identity.
func (b *wsBot) subject() string { return subject(b.r.opts.RunID, b.g.g.Name, b.idx) }

// Start implements Bot.
func (b *wsBot) Start(ctx context.Context) error {
	if !b.state.CompareAndSwap(stIdle, stConnecting) {
		return nil
	}
	b.r.rec.Inc(CounterBotsStarted)
	if err := b.connectAndJoin(ctx); err != nil {
		b.backoff()
		return err
	}
	return nil
}

// connectAndJoin dials a new connection and joins; on success the bot is
// up on it.
func (b *wsBot) connectAndJoin(ctx context.Context) error {
	tok, err := b.r.opts.Tokens.Token(ctx, TokenRequest{Subject: b.subject(), Name: b.subject(), Role: b.g.role,
		Rooms: []string{b.room.name}, TTL: b.r.tokenTTL()})
	if err != nil {
		b.r.rec.Error("token")
		return err
	}
	c, err := b.dial(ctx, tok)
	if err != nil {
		b.r.rec.Error(errCode(err))
		return err
	}
	since := b.maxSeq.Load()
	if err := b.join(ctx, c, since); err != nil {
		b.r.rec.Error(errCode(err))
		c.close()
		return err
	}
	if old := b.cl.Swap(c); old != nil {
		old.close()
	}
	b.up()
	return nil
}

// up marks the bot connected and joined.
func (b *wsBot) up() {
	if !b.state.CompareAndSwap(stConnecting, stUp) && !b.state.CompareAndSwap(stReconnecting, stUp) {
		return // closed meanwhile
	}
	b.attempts.Store(0)
	b.r.rec.Connected(1)
	if !b.joined.Swap(true) {
		b.r.rec.Inc(CounterBotsJoined)
	}
}

// dial opens a connection, timing the WebSocket connect.
func (b *wsBot) dial(ctx context.Context, tok string) (*conn, error) {
	c := &conn{stop: make(chan struct{})}
	// GapTimeout -1: the bot accounts for every sequence number itself
	// (seqSet) and must see frames as they arrive; the client's ordering
	// would hold events and, under load, send a chat.replay per bot per
	// hole, 20,000 of them for one reordered pair of events.
	opts := client.Options{Dialer: b.r.dialer, EventBuffer: clientEventBuffer, GapTimeout: -1,
		OnFrame: func(d client.Direction, data []byte) {
			if d == client.Received {
				b.onFrame(c, data)
			}
		}}
	if b.media != nil {
		opts.EventBuffer = 256
	} else {
		// A chat bot reads nothing from Events: every frame but the
		// replies its Requests wait for is handled by onFrame alone.
		opts.OnFrame = nil
		opts.Consumed = func(data []byte) bool { return b.onFrame(c, data) }
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	start := time.Now()
	cl, err := client.Dial(dctx, b.r.url(b.media != nil), tok, opts)
	if err != nil {
		return nil, err
	}
	b.r.rec.Observe(MetricConnect, time.Since(start))
	c.c.Store(cl)
	if b.media != nil {
		go b.events(c, cl)
	}
	return c, nil
}

// events hands a media bot's decoded events to its media half.
func (b *wsBot) events(c *conn, cl *client.Client) {
	for {
		select {
		case e := <-cl.Events():
			b.media.event(c, e)
		case <-c.stop:
			return
		}
	}
}

// join joins the bot's room on c, timing it.
func (b *wsBot) join(ctx context.Context, c *conn, since uint64) error {
	media := b.media != nil
	jctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	start := time.Now()
	if b.media != nil {
		b.media.beforeJoin(start)
	}
	j, err := c.client().Join(jctx, b.room.name, client.JoinOptions{Since: since, Media: &media})
	if err != nil {
		return err
	}
	b.r.rec.Observe(MetricJoin, time.Since(start))
	if b.media != nil {
		return b.media.joined(c, j)
	}
	return nil
}

// onFrame handles one received frame in the client's reader goroutine. It
// reports whether the client may skip the frame (Options.Consumed): all
// but the replies that the client's Requests wait for.
func (b *wsBot) onFrame(c *conn, data []byte) bool {
	rec := b.r.rec
	rec.Inc(CounterFramesReceived)
	f := scanFrame(data)
	consumed := true
	switch {
	case len(f.re) > 0:
		consumed = b.onReply(f)
	case bytes.Equal(f.typ, typeErr):
		rec.Error(strconv.Itoa(f.code))
	case f.seq > 0:
		b.mu.Lock()
		fresh := b.seqs.add(f.seq)
		b.mu.Unlock()
		advance(&b.maxSeq, f.seq)
		b.room.noteSeq(f.seq)
		switch string(f.typ) {
		case "chat.message":
			b.room.noteMessage(f.seq)
			// Only first deliveries after the join count: the history
			// replayed at join is old news, not a slow delivery. Messages
			// replayed by a resume do count, late as they are.
			if fresh {
				rec.Inc(CounterChatReceived)
				if f.sent > 0 {
					rec.Observe(MetricChatLatency, time.Duration(time.Now().UnixNano()-f.sent))
				}
			}
		case "qa.question":
			b.room.noteQuestion(f.seq, dataOf(data))
		case "poll.created":
			b.room.notePoll(f.seq, dataOf(data))
		}
	case bytes.Equal(f.typ, typeSync):
		if i := bytes.Index(data, []byte(`"head":`)); i >= 0 {
			if head, ok := digits(data[i+len(`"head":`):]); ok {
				b.mu.Lock()
				b.seqs.begin(head)
				b.mu.Unlock()
			}
		}
	}
	return consumed
}

// onReply counts the reply to one of the bot's fire-and-forget requests.
//
// It reports whether the reply was to a fire-and-forget request (no Request
// waits for it).
func (b *wsBot) onReply(f frame) bool {
	kind, sent, ok := parseRequestID(f.re)
	if !ok {
		return false
	}
	switch kind {
	case idChat, idReact, idAsk, idUpvote, idVote, idPing:
	default:
		return false // a reply to a Request; its caller handles it
	}
	switch {
	case bytes.Equal(f.typ, typeAck):
		if kind == idChat {
			b.r.rec.Inc(CounterChatAcked)
			b.r.rec.Observe(MetricChatAck, time.Duration(time.Now().UnixNano()-sent))
		}
	case bytes.Equal(f.typ, typeErr):
		// Voting twice or in a poll that just closed is the server
		// enforcing its rules on a randomly chosen bot, not a failure.
		if (kind == idUpvote || kind == idVote) && (f.code == protocol.CodeAlreadyVoted || f.code == protocol.CodeClosed) {
			return true
		}
		b.r.rec.Error(strconv.Itoa(f.code))
	}
	return true
}

// dataOf returns the bytes from an envelope's data value to the end of the
// frame; a json.Decoder reads the value and ignores what follows.
func dataOf(frame []byte) []byte {
	i := bytes.Index(frame, keyData)
	if i < 0 {
		return nil
	}
	var v json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(frame[i+len(keyData):])).Decode(&v); err != nil {
		return nil
	}
	return v
}

// Act implements Bot: it sends the action without waiting for the reply
// (the reply is counted in onFrame from the request id).
func (b *wsBot) Act(a Action) bool {
	if b.state.Load() != stUp {
		return false
	}
	c := b.cl.Load()
	if c == nil {
		return false
	}
	now := time.Now().UnixNano()
	e := &protocol.Envelope{V: protocol.Version, Room: b.room.name}
	var data any
	var counter Counter
	switch a {
	case ActChat:
		e.Type, e.ID, counter = "chat.send", requestID(idChat, now), CounterChatSent
		data = map[string]string{"text": chatText(now, b.g.g.Chat.MessageBytes)}
	case ActReact:
		msg := b.room.lastMsg.Load()
		if msg == 0 {
			return false
		}
		e.Type, e.ID, counter = "chat.react", requestID(idReact, now), CounterReactions
		data = map[string]any{"message": msg, "emoji": "👍"}
	case ActAsk:
		e.Type, e.ID, counter = "qa.ask", requestID(idAsk, now), CounterQuestions
		data = map[string]string{"text": "Load test question " + strconv.FormatInt(now, 36) + "?"}
	case ActUpvote:
		q := b.room.question(rand.IntN)
		if q == "" {
			return false
		}
		e.Type, e.ID, counter = "qa.upvote", requestID(idUpvote, now), CounterUpvotes
		data = map[string]string{"id": q}
	case ActVote:
		poll, n, _ := b.room.openPoll()
		if poll == "" {
			return false
		}
		e.Type, e.ID = "poll.vote", requestID(idVote, now)
		data = map[string]any{"id": poll, "option": rand.IntN(n)}
	default:
		return false
	}
	e.Data, _ = json.Marshal(data)
	if err := c.client().Send(e); err != nil {
		return false // the connection dropped; the supervisor notices
	}
	if a != ActVote {
		b.r.rec.Inc(counter)
	}
	return true
}

// chatText is a chat message of n bytes carrying the send time now.
func chatText(now int64, n int) string {
	s := textMarker + strconv.FormatInt(now, 10) + " "
	if pad := n - len(s); pad > 0 {
		s += strings.Repeat("x", pad)
	}
	return s
}

// Lost implements Bot. It detects a dropped connection (counting the drop
// and the server's close code) and reports bots due for a reconnect,
// moving them to reconnecting so only one caller acts.
func (b *wsBot) Lost() bool {
	switch b.state.Load() {
	case stUp:
		c := b.cl.Load()
		select {
		case <-c.client().Down():
		default:
			return false
		}
		if !b.state.CompareAndSwap(stUp, stReconnecting) {
			return false
		}
		b.r.rec.Connected(-1)
		b.r.rec.Inc(CounterDrops)
		if code, _ := c.client().CloseCode(); code >= 4000 && code != protocol.CodeDraining {
			b.r.rec.Error("close_" + strconv.Itoa(code))
		}
		return true
	case stDown:
		if time.Now().UnixNano() < b.nextTry.Load() {
			return false
		}
		return b.state.CompareAndSwap(stDown, stReconnecting)
	}
	return false
}

// Reconnect implements Bot: resume the session if the server still holds
// it, else join again with a new connection from the last sequence number
// seen (chat history fills the gap).
func (b *wsBot) Reconnect(ctx context.Context) error {
	start := time.Now()
	c := b.cl.Load()
	wasJoined := b.joined.Load() // a first join that failed is retried, not a reconnect
	if c != nil && wasJoined {
		rctx, cancel := context.WithTimeout(ctx, dialTimeout)
		err := c.client().Resume(rctx)
		cancel()
		if err == nil {
			b.reconnected(start)
			return nil
		}
		var pe *protocol.Error
		var he *client.HandshakeError
		if !errors.As(err, &pe) && !errors.As(err, &he) {
			// The target is unreachable: a new connection would fail the
			// same way. Count once and back off.
			b.r.rec.Error("resume_" + errCode(err))
			b.backoff()
			return err
		}
		// The session is gone (grace period over, or a refused resume):
		// join again below.
	}
	if err := b.connectAndJoin(ctx); err != nil {
		b.backoff()
		return err
	}
	if wasJoined {
		b.r.rec.Inc(CounterReconnects)
		b.r.rec.Observe(MetricReconnect, time.Since(start))
	}
	return nil
}

// reconnected marks a resumed bot up again.
func (b *wsBot) reconnected(start time.Time) {
	b.up()
	b.r.rec.Inc(CounterReconnects)
	b.r.rec.Observe(MetricReconnect, time.Since(start))
}

// backoff schedules the next reconnect attempt, exponentially later with
// jitter.
func (b *wsBot) backoff() {
	n := min(b.attempts.Add(1), 8)
	d := min(backoffMin<<(n-1), backoffMax)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	b.nextTry.Store(time.Now().Add(d).UnixNano())
	b.state.CompareAndSwap(stConnecting, stDown)
	b.state.CompareAndSwap(stReconnecting, stDown)
}

// Drop implements Bot.
func (b *wsBot) Drop() bool {
	if b.state.Load() != stUp {
		return false
	}
	if c := b.cl.Load(); c != nil {
		c.client().Drop()
		return true
	}
	return false
}

// Upkeep implements Bot.
func (b *wsBot) Upkeep(now time.Time) {
	c := b.cl.Load()
	if c == nil {
		return
	}
	cl := c.client()
	if cl == nil {
		return
	}
	if b.media == nil {
		// A chat bot's reader queues only replies to Requests (onFrame
		// consumes the rest); one whose Request gave up waiting lands on
		// Events and is dropped here, so the reader blocks for at most one
		// sweep interval.
		drain(cl.Events())
	}
	if b.state.Load() != stUp {
		return
	}
	last := b.lastAck.Load()
	if last == 0 {
		// Spread the first confirmations of bots that joined together.
		b.lastAck.Store(now.UnixNano() - rand.Int64N(int64(ackEvery)))
		return
	}
	if now.UnixNano()-last < int64(ackEvery) {
		return
	}
	b.lastAck.Store(now.UnixNano())
	b.r.submit(func() {
		raw, _ := json.Marshal(map[string]uint64{"received": cl.ReceivedFrames()})
		_ = cl.Send(&protocol.Envelope{V: protocol.Version, ID: requestID(idPing, time.Now().UnixNano()), Type: "ping", Data: raw})
	})
}

// Finish implements Bot.
func (b *wsBot) Finish(head uint64) {
	b.mu.Lock()
	exp, del := b.seqs.count(head)
	dups := b.seqs.dups
	b.mu.Unlock()
	rec := b.r.rec
	rec.Add(CounterEventsExpected, exp)
	rec.Add(CounterEventsDelivered, del)
	rec.Add(CounterEventsMissing, exp-del)
	rec.Add(CounterEventsDuplicate, dups)
	if !b.joined.Load() {
		rec.Inc(CounterBotsFailed)
	}
}

// Close implements Bot.
func (b *wsBot) Close() error {
	if b.state.Swap(stClosed) == stUp {
		b.r.rec.Connected(-1)
	}
	if c := b.cl.Load(); c != nil {
		c.close()
	}
	if b.media != nil {
		b.media.close()
	}
	return nil
}

// drain empties ch without blocking.
func drain(ch <-chan *protocol.Envelope) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}
