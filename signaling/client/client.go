// Package client is a Go client of the Plenary signaling protocol: the one
// the gateway's tests drive it with and the load tester's bots use. It
// speaks the JSON envelope over one WebSocket, matches replies to requests,
// delivers events on a channel, counts received frames and resumes a
// dropped session with them (see docs/protocol.md, "Resume").
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/plenaryhq/plenary/internal/protocol"
)

// Direction says which way a frame went, for Options.OnFrame.
type Direction int

// Frame directions.
const (
	// Sent is a frame from the client to the server.
	Sent Direction = iota + 1
	// Received is a frame from the server to the client.
	Received
)

// Errors of the client.
var (
	// ErrClosed is returned by requests on a client that was closed, or
	// whose connection dropped while waiting (resume, then retry).
	ErrClosed = errors.New("client: connection closed")
	// ErrNoSession is returned by Resume before any join.
	ErrNoSession = errors.New("client: no session to resume")
)

// Options configure a Client. The zero value works.
type Options struct {
	// Header is sent with the WebSocket handshake (e.g. Origin).
	Header http.Header
	// Dialer dials the WebSocket. Default websocket.DefaultDialer.
	Dialer *websocket.Dialer
	// OnFrame, when set, sees every frame sent and received, in order per
	// direction (tests validate them against the JSON Schemas).
	OnFrame func(dir Direction, data []byte)
	// Consumed, when set, is asked about every received frame after
	// OnFrame; a frame it reports consumed is neither decoded nor
	// delivered on Events. Load-test bots scan their frames themselves
	// and would otherwise pay a JSON decode and a channel hand-off per
	// chat delivery. It must not consume replies to Request (frames with
	// "re").
	Consumed func(data []byte) bool
	// EventBuffer is the capacity of the Events channel. A full channel
	// stops reading, and the server eventually drops a consumer that slow.
	// Default 1024.
	EventBuffer int
	// GapTimeout is how long a room event received ahead of its sequence
	// waits for the missing ones before the client asks the server to
	// replay them (order.go). Default DefaultGapTimeout; negative delivers
	// events as received, unordered.
	GapTimeout time.Duration
}

// Client is one connection to a gateway (and, across resumes, one session).
type Client struct {
	url   string
	token atomic.Value // string
	opts  Options

	events chan *protocol.Envelope
	order  ordering // per-room sequence order of events (order.go)
	nextID atomic.Uint64
	recv   atomic.Uint64 // frames received on the session

	wmu sync.Mutex // one writer at a time (gorilla's rule)

	mu      sync.Mutex
	ws      *websocket.Conn
	down    chan struct{} // closed when the current connection's reader exits
	closeCE *websocket.CloseError
	pending map[string]chan *protocol.Envelope
	session SessionInfo
	closed  bool
}

// SessionInfo is what the server said about the session in its last join or
// resume reply.
type SessionInfo struct {
	ID          string `json:"id"`
	ResumeToken string `json:"resume_token"`
	GraceMS     int64  `json:"grace_ms"`
}

// Dial opens a connection to the gateway's WebSocket endpoint (e.g.
// "ws://127.0.0.1:8080/v1/ws") with token. An HTTP error (401 for a bad
// token) is returned as *HandshakeError.
func Dial(ctx context.Context, endpoint, token string, opts Options) (*Client, error) {
	if opts.EventBuffer <= 0 {
		opts.EventBuffer = 1024
	}
	c := &Client{
		url:     endpoint,
		opts:    opts,
		events:  make(chan *protocol.Envelope, opts.EventBuffer),
		pending: make(map[string]chan *protocol.Envelope),
	}
	c.token.Store(token)
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// HandshakeError is a refused WebSocket upgrade.
type HandshakeError struct {
	// Status is the HTTP status (401 for a missing or bad token).
	Status int
	// Body is the response body (a JSON error for auth failures).
	Body string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("websocket handshake refused: HTTP %d: %s", e.Status, e.Body)
}

// connect dials a new WebSocket and starts its reader.
func (c *Client) connect(ctx context.Context) error {
	u, err := url.Parse(c.url)
	if err != nil {
		return fmt.Errorf("client: url: %w", err)
	}
	q := u.Query()
	q.Set("access_token", c.token.Load().(string))
	u.RawQuery = q.Encode()
	d := c.opts.Dialer
	if d == nil {
		d = websocket.DefaultDialer
	}
	ws, resp, err := d.DialContext(ctx, u.String(), c.opts.Header)
	if resp != nil && resp.Body != nil {
		defer func() { _ = resp.Body.Close() }()
	}
	if err != nil {
		if resp != nil {
			var body [512]byte
			n, _ := resp.Body.Read(body[:])
			return &HandshakeError{Status: resp.StatusCode, Body: string(body[:n])}
		}
		return fmt.Errorf("client: dial: %w", err)
	}
	down := make(chan struct{})
	c.mu.Lock()
	c.ws, c.down, c.closeCE = ws, down, nil
	c.mu.Unlock()
	go c.readLoop(ws, down)
	return nil
}

// readLoop reads frames until the connection ends.
func (c *Client) readLoop(ws *websocket.Conn, down chan struct{}) {
	defer close(down)
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.mu.Lock()
				c.closeCE = ce
				c.mu.Unlock()
			}
			_ = ws.Close()
			return
		}
		c.recv.Add(1)
		if c.opts.OnFrame != nil {
			c.opts.OnFrame(Received, data)
		}
		if c.opts.Consumed != nil && c.opts.Consumed(data) {
			continue
		}
		var e protocol.Envelope
		if err := json.Unmarshal(data, &e); err != nil {
			continue
		}
		if e.Type == "presence.batch" {
			c.unbatch(&e)
			continue
		}
		if e.Re != "" {
			c.mu.Lock()
			ch := c.pending[e.Re]
			delete(c.pending, e.Re)
			c.mu.Unlock()
			if ch != nil {
				ch <- &e
				continue
			}
		}
		c.deliver(&e)
	}
}

// unbatch delivers the events of a presence.batch frame one by one.
func (c *Client) unbatch(e *protocol.Envelope) {
	var d struct {
		Events []*protocol.Envelope `json:"events"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return
	}
	for _, ev := range d.Events {
		c.events <- ev
	}
}

// Events delivers server events (and error frames that answer no request)
// in the order received, except that a room's sequenced events (seq > 0)
// come in sequence order, once each, after the room's chat.sync (see
// order.go and Options.GapTimeout); the events of a presence.batch frame
// are delivered one by one. It is never closed; watch Down for disconnects.
func (c *Client) Events() <-chan *protocol.Envelope { return c.events }

// Down is closed when the current connection ends.
func (c *Client) Down() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.down
}

// CloseCode is the close code the server sent when the current connection
// ended (0 if none, e.g. the network dropped), and its reason.
func (c *Client) CloseCode() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeCE == nil {
		return 0, ""
	}
	return c.closeCE.Code, c.closeCE.Text
}

// ReceivedFrames is how many frames the session has received.
func (c *Client) ReceivedFrames() uint64 { return c.recv.Load() }

// Session returns what the server last said about the session.
func (c *Client) Session() SessionInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// SetToken replaces the token used by later reconnects (Resume).
func (c *Client) SetToken(tok string) { c.token.Store(tok) }

// WriteRaw sends data as one frame of type mt (websocket.TextMessage or
// BinaryMessage), unchecked and unseen by Options.OnFrame: tests send
// deliberately malformed frames with it.
func (c *Client) WriteRaw(mt int, data []byte) error {
	return c.write(mt, data, false)
}

// write sends one frame; hook says whether OnFrame sees it.
func (c *Client) write(mt int, data []byte, hook bool) error {
	c.mu.Lock()
	ws := c.ws
	c.mu.Unlock()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if hook && c.opts.OnFrame != nil {
		c.opts.OnFrame(Sent, data)
	}
	_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := ws.WriteMessage(mt, data); err != nil {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return nil
}

// Send sends an envelope without waiting for a reply (V is filled in).
func (c *Client) Send(e *protocol.Envelope) error {
	if e.V == 0 {
		e.V = protocol.Version
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("client: encode: %w", err)
	}
	return c.write(websocket.TextMessage, b, true)
}

// Request sends a request of type typ about room (may be empty) with data
// and waits for its reply. An error reply is returned as *protocol.Error;
// otherwise the ack's envelope. Pending requests survive Resume: their
// replies are replayed.
func (c *Client) Request(ctx context.Context, typ, room string, data any) (*protocol.Envelope, error) {
	e := &protocol.Envelope{V: protocol.Version, Type: typ, Room: room}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return nil, fmt.Errorf("client: encode %s: %w", typ, err)
		}
		e.Data = b
	}
	return c.Do(ctx, e)
}

// Do sends e with a fresh id and waits for its reply.
func (c *Client) Do(ctx context.Context, e *protocol.Envelope) (*protocol.Envelope, error) {
	return c.do(ctx, e, nil)
}

// do is Do; a non-nil abort ends the wait with ErrClosed when closed.
func (c *Client) do(ctx context.Context, e *protocol.Envelope, abort <-chan struct{}) (*protocol.Envelope, error) {
	e.ID = "c" + strconv.FormatUint(c.nextID.Add(1), 10)
	ch := make(chan *protocol.Envelope, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	c.pending[e.ID] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, e.ID)
		c.mu.Unlock()
	}
	if err := c.Send(e); err != nil {
		forget()
		return nil, err
	}
	select {
	case r := <-ch:
		if r.Type == "error" && r.Error != nil {
			return r, r.Error
		}
		return r, nil
	case <-abort:
		forget()
		return nil, ErrClosed
	case <-ctx.Done():
		forget()
		return nil, fmt.Errorf("client: %s: %w", e.Type, ctx.Err())
	}
}

// JoinOptions are the optional fields of a join.
type JoinOptions struct {
	// Tenant names the room's tenant (checked against the token's).
	Tenant string `json:"tenant,omitempty"`
	// Since is the last room sequence seen, for chat history replay.
	Since uint64 `json:"since,omitempty"`
	// Media asks for peer connections; nil means yes.
	Media *bool `json:"media,omitempty"`
}

// Participant is a presence entry.
type Participant struct {
	ID       string `json:"id"`
	User     string `json:"user"`
	Name     string `json:"name,omitempty"`
	Role     string `json:"role"`
	Hand     int64  `json:"hand,omitempty"`
	Speaking bool   `json:"speaking"`
	Muted    bool   `json:"muted"`
	Joined   int64  `json:"joined"`
}

// Joined is the reply to a join.
type Joined struct {
	Room         string        `json:"room"`
	Self         Participant   `json:"self"`
	Participants []Participant `json:"participants"`
	Count        int           `json:"count"`
	Locked       bool          `json:"locked"`
	CanPublish   bool          `json:"can_publish"`
	Media        *struct {
		Node string `json:"node"`
	} `json:"media,omitempty"`
	Session SessionInfo `json:"session"`
}

// Join joins room and remembers the session for Resume.
func (c *Client) Join(ctx context.Context, room string, opts JoinOptions) (*Joined, error) {
	r, err := c.Request(ctx, "join", room, opts)
	if err != nil {
		return nil, err
	}
	var j Joined
	if err := json.Unmarshal(r.Data, &j); err != nil {
		return nil, fmt.Errorf("client: join reply: %w", err)
	}
	c.mu.Lock()
	c.session = j.Session
	c.mu.Unlock()
	return &j, nil
}

// Drop cuts the connection without a close frame, as a network failure
// would; the session stays on the server for its grace period.
func (c *Client) Drop() {
	c.mu.Lock()
	ws, down := c.ws, c.down
	c.mu.Unlock()
	if ws == nil {
		return
	}
	_ = ws.NetConn().Close()
	<-down
}

// Resume reconnects and resumes the session: frames the server sent after
// the ones received are delivered again, in order, once; requests still
// waiting get their replies. The current connection, if still up, is
// dropped first. A refused resume returns an error and the client must
// Dial again and join.
func (c *Client) Resume(ctx context.Context) error {
	s := c.Session()
	if s.ResumeToken == "" {
		return ErrNoSession
	}
	c.Drop()
	if err := c.connect(ctx); err != nil {
		return err
	}
	data, _ := json.Marshal(map[string]any{"token": s.ResumeToken, "received": c.recv.Load()})
	e := &protocol.Envelope{V: protocol.Version, Type: "resume", Data: data}
	r, err := c.do(ctx, e, c.Down())
	if err != nil {
		if code, _ := c.CloseCode(); code != 0 {
			return &protocol.Error{Code: code, Message: "resume refused"}
		}
		return err
	}
	var rr struct {
		Session SessionInfo `json:"session"`
	}
	if err := json.Unmarshal(r.Data, &rr); err == nil {
		c.mu.Lock()
		c.session = rr.Session
		c.mu.Unlock()
	}
	return nil
}

// Close ends the session with a normal close frame (no grace period) and
// closes the connection. Idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	ws, down := c.ws, c.down
	c.mu.Unlock()
	c.wmu.Lock()
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"),
		time.Now().Add(time.Second))
	c.wmu.Unlock()
	select {
	case <-down:
	case <-time.After(2 * time.Second):
	}
	_ = ws.Close()
	return nil
}

// LocalAddr is the client side of the connection, for logs.
func (c *Client) LocalAddr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws.LocalAddr()
}

// Ack confirms the frames received so far with a ping, letting the server
// release them from the session's replay buffer. Long-lived clients call it
// now and then (e.g. every 10 s); it also measures the round trip.
func (c *Client) Ack(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	_, err := c.Request(ctx, "ping", "", map[string]uint64{"received": c.recv.Load()})
	return time.Since(start), err
}
