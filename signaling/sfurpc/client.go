package sfurpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/signaling"
)

// eventBuffer is how many events a session may have undelivered before the
// client gives up on it (the gateway's pump drains it continuously; a
// session this far behind is broken).
const eventBuffer = 1024

// Client is a gateway's end: it turns node IDs into signaling.MediaNodes
// whose calls travel over the bus.
type Client struct {
	bus  bus.Bus
	id   string
	cfg  Config
	log  *slog.Logger
	sub  bus.Subscription
	done chan struct{}
	wg   sync.WaitGroup

	nextID atomic.Uint64

	mu       sync.Mutex
	pending  map[uint64]chan message
	joining  map[uint64]*remoteSession // join requests in flight
	sessions map[string]*remoteSession
	nodes    map[string]*nodeState
	closed   bool
}

// nodeState is what the client knows of one node's liveness.
type nodeState struct {
	lastAnswer time.Time
	// absent counts the pings that reached no subscriber of the node's
	// channel (ErrUnreachable) since it last answered; absentDead of them
	// end its sessions, long before NodeTimeout.
	absent int
}

// absentDead is how many keep-alive pings without an answer between them
// must reach nobody for a node to count as gone. One could be a node resubscribing after a bus
// reconnect; two span at least one KeepAlive, while a crashed process
// (whose connection the bus server saw close) is found within
// 2 × KeepAlive instead of NodeTimeout + KeepAlive.
const absentDead = 2

// NewClient subscribes the gateway's reply channel (gatewayID must be unique
// among the gateways on the bus) and starts routing and keep-alives until
// Close.
func NewClient(ctx context.Context, b bus.Bus, gatewayID string, cfg Config, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ch, err := gatewayChannel(gatewayID)
	if err != nil {
		return nil, fmt.Errorf("sfurpc: gateway id %q: %w", gatewayID, err)
	}
	sub, err := b.Subscribe(ctx, ch)
	if err != nil {
		return nil, fmt.Errorf("sfurpc: subscribe %s: %w", ch, err)
	}
	c := &Client{bus: b, id: gatewayID, cfg: cfg.withDefaults(), log: log.With("component", "sfurpc", "gateway", gatewayID),
		sub: sub, done: make(chan struct{}), pending: make(map[uint64]chan message), joining: make(map[uint64]*remoteSession),
		sessions: make(map[string]*remoteSession), nodes: make(map[string]*nodeState)}
	c.wg.Add(2)
	go c.route()
	go c.keepAlive()
	return c, nil
}

// ID returns the gateway ID the client answers to.
func (c *Client) ID() string { return c.id }

// Node returns the remote node id as a MediaNode. No traffic happens until
// Join.
func (c *Client) Node(id string) signaling.MediaNode { return &remoteNode{c: c, id: id} }

// Close ends every session's event stream (without leaving them at the
// nodes: they expire there, or the gateway left them already) and stops.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	sessions := c.sessions
	c.sessions = map[string]*remoteSession{}
	c.mu.Unlock()
	close(c.done)
	_ = c.sub.Close()
	c.wg.Wait()
	for _, rs := range sessions {
		rs.end()
	}
	return nil
}

// route delivers replies and events in arrival order.
func (c *Client) route() {
	defer c.wg.Done()
	for raw := range c.sub.C() {
		var m message
		if err := json.Unmarshal(raw, &m); err != nil {
			c.log.Warn("sfurpc: malformed message dropped", "err", err)
			continue
		}
		switch m.Kind {
		case kindReply:
			c.mu.Lock()
			ch := c.pending[m.ID]
			delete(c.pending, m.ID)
			if rs := c.joining[m.ID]; rs != nil {
				// Register a joined session here, in arrival order: its
				// first events follow this reply on the channel.
				delete(c.joining, m.ID)
				if m.Err == nil && m.Session != "" && ch != nil && !c.closed {
					rs.id = m.Session
					c.sessions[rs.id] = rs
				}
			}
			c.mu.Unlock()
			if ch != nil {
				ch <- m // buffered 1
			}
		case kindEvent, kindGone:
			c.mu.Lock()
			rs := c.sessions[m.Session]
			c.mu.Unlock()
			if rs != nil {
				rs.deliver(m)
			}
		}
	}
}

// keepAlive pings every node with sessions and ends the sessions of nodes
// that stopped answering or forgot them.
func (c *Client) keepAlive() {
	defer c.wg.Done()
	tick := time.NewTicker(c.cfg.KeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
		}
		byNode := map[string][]string{}
		c.mu.Lock()
		for id, rs := range c.sessions {
			byNode[rs.node] = append(byNode[rs.node], id)
		}
		for n := range c.nodes {
			if _, ok := byNode[n]; !ok {
				delete(c.nodes, n)
			}
		}
		c.mu.Unlock()
		for node, ids := range byNode {
			go c.pingNode(node, ids)
		}
	}
}

func (c *Client) pingNode(node string, ids []string) {
	// A late answer still proves the node alive: wait up to NodeTimeout.
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.NodeTimeout)
	defer cancel()
	m, err := c.call(ctx, node, request{Op: opPing, Sessions: ids})
	now := time.Now()
	c.mu.Lock()
	ns := c.nodes[node]
	if ns == nil {
		ns = &nodeState{lastAnswer: now}
		c.nodes[node] = ns
	}
	var gone []*remoteSession
	// Only an answer clears absence: a ping that timed out may have been
	// sent before the node's connection went.
	switch {
	case err == nil:
		ns.absent = 0
	case errors.Is(err, ErrUnreachable):
		ns.absent++
	}
	if err == nil {
		ns.lastAnswer = now
		for _, id := range m.Unknown {
			if rs := c.sessions[id]; rs != nil {
				delete(c.sessions, id)
				gone = append(gone, rs)
			}
		}
	} else if ns.absent >= absentDead || now.Sub(ns.lastAnswer) > c.cfg.NodeTimeout {
		for id, rs := range c.sessions {
			if rs.node == node {
				delete(c.sessions, id)
				gone = append(gone, rs)
			}
		}
		delete(c.nodes, node)
	}
	c.mu.Unlock()
	if len(gone) > 0 {
		c.log.Warn("sfurpc: ending sessions the node lost or that live on a silent node", "node", node, "sessions", len(gone), "err", err)
	}
	for _, rs := range gone {
		rs.end()
	}
}

// call sends req to node and waits for its reply.
func (c *Client) call(ctx context.Context, node string, req request) (message, error) {
	return c.callJoin(ctx, node, req, nil)
}

// callJoin is call; for a join, rs is registered under the session ID of
// the reply by the route goroutine, before any event of the session.
func (c *Client) callJoin(ctx context.Context, node string, req request, rs *remoteSession) (message, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
	}
	dl, _ := ctx.Deadline()
	ch, err := nodeChannel(node)
	if err != nil {
		return message{}, err
	}
	req.ID = c.nextID.Add(1)
	req.From = c.id
	req.Deadline = dl.UnixMilli()
	raw, err := json.Marshal(&req)
	if err != nil {
		return message{}, err
	}
	wait := make(chan message, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return message{}, fmt.Errorf("%w: sfurpc client closed", signaling.ErrMediaClosed)
	}
	c.pending[req.ID] = wait
	if rs != nil {
		c.joining[req.ID] = rs
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, req.ID)
		delete(c.joining, req.ID)
		c.mu.Unlock()
	}()
	if reached, err := c.publish(ctx, ch, raw); err != nil {
		return message{}, fmt.Errorf("sfurpc: %s to node %s: %w", req.Op, node, err)
	} else if !reached {
		return message{}, fmt.Errorf("%w: %s to node %s", ErrUnreachable, req.Op, node)
	}
	select {
	case m := <-wait:
		return m, m.Err.decode()
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return message{}, fmt.Errorf("%w: %s to node %s", ErrTimeout, req.Op, node)
		}
		return message{}, ctx.Err()
	case <-c.done:
		return message{}, fmt.Errorf("%w: sfurpc client closed", signaling.ErrMediaClosed)
	}
}

// publish sends raw on ch and reports whether it reached a subscriber
// (always true on a bus that does not count, see bus.Reacher).
func (c *Client) publish(ctx context.Context, ch bus.Channel, raw []byte) (bool, error) {
	r, ok := c.bus.(bus.Reacher)
	if !ok {
		return true, c.bus.Publish(ctx, ch, raw)
	}
	n, err := r.PublishReach(ctx, ch, raw)
	return n > 0, err
}

// remoteNode is a node reached over the bus.
type remoteNode struct {
	c  *Client
	id string
}

// ID implements signaling.MediaNode.
func (n *remoteNode) ID() string { return n.id }

// Join implements signaling.MediaNode.
func (n *remoteNode) Join(ctx context.Context, t tenant.ID, room, participant string, opts signaling.MediaJoinOptions) (signaling.MediaSession, error) {
	rs := &remoteSession{c: n.c, node: n.id, events: make(chan signaling.MediaEvent, eventBuffer)}
	m, err := n.c.callJoin(ctx, n.id, request{Op: opJoin, Tenant: string(t), Room: room, Participant: participant, Opts: &opts}, rs)
	if err != nil {
		if errors.Is(err, ErrTimeout) || errors.Is(err, ErrUnreachable) {
			// The node may have joined after all (a timeout): it expires
			// the session when nobody pings it. Either way the gateway
			// may place the participant elsewhere.
			return nil, fmt.Errorf("%w: %w", signaling.ErrNoMedia, err)
		}
		return nil, err
	}
	n.c.mu.Lock()
	if n.c.closed || n.c.sessions[m.Session] != rs {
		n.c.mu.Unlock()
		go func() { _, _ = n.c.call(context.Background(), n.id, request{Op: opLeave, Session: m.Session}) }()
		return nil, fmt.Errorf("%w: sfurpc client closed", signaling.ErrMediaClosed)
	}
	if n.c.nodes[n.id] == nil {
		n.c.nodes[n.id] = &nodeState{lastAnswer: time.Now()}
	}
	n.c.mu.Unlock()
	return rs, nil
}

// remoteSession is a MediaSession held by a remote node.
type remoteSession struct {
	c    *Client
	node string
	id   string

	lastSeq uint64 // touched only by the route goroutine
	left    atomic.Bool

	mu     sync.Mutex // guards sending on and closing events
	ended  bool
	events chan signaling.MediaEvent
}

// deliver hands one event to the gateway; a gap or an overflow ends the
// session (the gateway re-joins the participant).
func (rs *remoteSession) deliver(m message) {
	if m.Seq != rs.lastSeq+1 {
		rs.c.log.Warn("sfurpc: event lost, ending the session", "session", rs.id, "want_seq", rs.lastSeq+1, "got_seq", m.Seq)
		rs.abandon()
		return
	}
	rs.lastSeq = m.Seq
	if m.Kind == kindGone || m.Event == nil {
		rs.forget()
		rs.end()
		return
	}
	if !rs.push(*m.Event) {
		rs.c.log.Warn("sfurpc: session events not drained, ending the session", "session", rs.id)
		rs.abandon()
	}
}

// push queues ev without blocking; false when the buffer is full.
func (rs *remoteSession) push(ev signaling.MediaEvent) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.ended {
		return true
	}
	select {
	case rs.events <- ev:
		return true
	default:
		return false
	}
}

// abandon ends the session here and leaves it at the node.
func (rs *remoteSession) abandon() {
	rs.forget()
	rs.end()
	go func() {
		_, _ = rs.c.call(context.Background(), rs.node, request{Op: opLeave, Session: rs.id})
	}()
}

func (rs *remoteSession) forget() {
	rs.c.mu.Lock()
	if rs.c.sessions[rs.id] == rs {
		delete(rs.c.sessions, rs.id)
	}
	rs.c.mu.Unlock()
}

// end closes Events once.
func (rs *remoteSession) end() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if !rs.ended {
		rs.ended = true
		close(rs.events)
	}
}

func (rs *remoteSession) do(ctx context.Context, req request) (message, error) {
	if rs.left.Load() {
		return message{}, fmt.Errorf("%w: session left", signaling.ErrMediaClosed)
	}
	req.Session = rs.id
	return rs.c.call(ctx, rs.node, req)
}

// PublisherOffer implements signaling.MediaSession.
func (rs *remoteSession) PublisherOffer(ctx context.Context, offer signaling.SessionDescription) (signaling.SessionDescription, error) {
	m, err := rs.do(ctx, request{Op: opOffer, SDP: &offer})
	if err != nil {
		return signaling.SessionDescription{}, err
	}
	if m.SDP == nil {
		return signaling.SessionDescription{}, fmt.Errorf("%w: node sent no answer", ErrRemote)
	}
	return *m.SDP, nil
}

// SubscriberAnswer implements signaling.MediaSession.
func (rs *remoteSession) SubscriberAnswer(ctx context.Context, answer signaling.SessionDescription) error {
	_, err := rs.do(ctx, request{Op: opAnswer, SDP: &answer})
	return err
}

// AddICECandidate implements signaling.MediaSession.
func (rs *remoteSession) AddICECandidate(ctx context.Context, t signaling.Target, cand signaling.ICECandidate) error {
	_, err := rs.do(ctx, request{Op: opICE, Target: t, Candidate: &cand})
	return err
}

// Subscribe implements signaling.MediaSession.
func (rs *remoteSession) Subscribe(track string) error {
	_, err := rs.do(context.Background(), request{Op: opSubscribe, Track: track})
	return err
}

// Unsubscribe implements signaling.MediaSession.
func (rs *remoteSession) Unsubscribe(track string) error {
	_, err := rs.do(context.Background(), request{Op: opUnsub, Track: track})
	return err
}

// SetPreference implements signaling.MediaSession.
func (rs *remoteSession) SetPreference(track string, p signaling.TrackPreference) error {
	_, err := rs.do(context.Background(), request{Op: opPref, Track: track, Pref: &p, Pin: p.Pin})
	return err
}

// RestartICE implements signaling.MediaSession.
func (rs *remoteSession) RestartICE(ctx context.Context) error {
	_, err := rs.do(ctx, request{Op: opRestart})
	return err
}

// MuteTrack implements signaling.MediaSession.
func (rs *remoteSession) MuteTrack(track string, muted bool) error {
	_, err := rs.do(context.Background(), request{Op: opMute, Track: track, Muted: muted})
	return err
}

// Unpublish implements signaling.MediaSession.
func (rs *remoteSession) Unpublish(track string) error {
	_, err := rs.do(context.Background(), request{Op: opUnpublish, Track: track})
	return err
}

// Events implements signaling.MediaSession.
func (rs *remoteSession) Events() <-chan signaling.MediaEvent { return rs.events }

// Leave implements signaling.MediaSession: it ends the session at the node
// (best effort: a node that misses it expires the session) and closes
// Events.
func (rs *remoteSession) Leave() {
	if rs.left.Swap(true) {
		return
	}
	rs.mu.Lock()
	ended := rs.ended
	rs.mu.Unlock()
	if ended {
		// The node ended it (gone), lost it, or died: nothing to tell it,
		// and a dead node would only make the caller wait.
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), rs.c.cfg.KeepAlive)
	defer cancel()
	req := request{Op: opLeave, Session: rs.id}
	if _, err := rs.c.call(ctx, rs.node, req); err != nil && !errors.Is(err, signaling.ErrMediaClosed) {
		rs.c.log.Info("sfurpc: leave not confirmed; the node expires the session", "session", rs.id, "err", err)
	}
	rs.forget()
	rs.end()
}
