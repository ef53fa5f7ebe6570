package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
)

// Close codes besides the protocol codes (which double as WebSocket close
// codes in the 4000–4999 application range, RFC 6455 §7.4.2).
const (
	closeNormal  = websocket.CloseNormalClosure // 1000: the session ended
	closeTooBig  = websocket.CloseMessageTooBig // 1009: frame over HardFrameLimit
	closeTimeout = 2 * time.Second              // wait for the peer's close reply
	// writeBatch bounds the frames a writer takes from the session at once
	// and writes with one writev.
	writeBatch = 64
	// maxRateStrikes closes a connection that keeps exceeding its rate limit.
	maxRateStrikes = 200
)

// conn is one WebSocket. It has exactly one reader goroutine (which also
// runs the handlers of the connection's requests, in order) and at most one
// writer goroutine, started when frames are queued and ending when the
// queue is empty; they share done. Writes never block anyone else: frames
// are queued on the session's outLog and the writer drains it.
//
// An idle connection therefore costs one parked goroutine, not two: in a
// room of 20,000 a parked writer per connection is 20,000 stacks doing
// nothing between messages (docs/benchmarks.md, gateway memory). Waking a
// parked writer and starting one cost about the same per delivery.
type conn struct {
	gw     *Gateway
	ws     *websocket.Conn
	claims *auth.Claims
	remote string

	sess       atomic.Pointer[session]
	settled    atomic.Bool     // joined a room or resumed: the join timeout no longer applies
	writing    atomic.Bool     // a writer goroutine owns the socket's data writes
	wmu        sync.Mutex      // orders the writer's raw frames and gorilla's control frames on the socket
	raw        syscall.RawConn // the socket, for inline writes (inline_write.go); nil: always a writer goroutine
	rest       []byte          // what a partial inline write left, for the writer goroutine (wmu held)
	restFrames []frame         // the frames of rest, accounted once it is written
	ping       *time.Timer     // the next keepalive ping
	done       chan struct{}
	limiter    *rate.Limiter
	strikes    int  // consecutive rate-limited messages (reader only)
	sampled    bool // observes chat delivery latency (delivery.go)
	timers     []*time.Timer
	closing    sync.Once
	finished   sync.Once
}

// newConn wraps an upgraded WebSocket.
func newConn(gw *Gateway, ws *websocket.Conn, claims *auth.Claims) *conn {
	return &conn{
		gw:      gw,
		ws:      ws,
		claims:  claims,
		remote:  ws.RemoteAddr().String(),
		raw:     rawConn(ws.NetConn()),
		done:    make(chan struct{}),
		limiter: rate.NewLimiter(rate.Limit(gw.cfg.RateLimit), gw.cfg.RateBurst),
		sampled: sampleConn(),
	}
}

// log returns the connection's logger. It is built when something is
// logged, not per connection: a scoped slog.Logger costs about a kilobyte,
// which 20,000 quiet connections would hold for nothing.
func (c *conn) log() *slog.Logger {
	return c.gw.log.With("tenant", c.claims.Tenant, "user", c.claims.Subject, "remote", c.remote)
}

// serve runs the connection until it closes: the reader (and the handlers
// of the requests) on the caller's goroutine; writers start on demand
// (wake) and a timer sends the keepalive pings.
func (c *conn) serve() {
	cfg := c.gw.cfg
	c.timers = append(c.timers, time.AfterFunc(cfg.JoinTimeout, func() {
		if !c.settled.Load() {
			c.closeAsync(protocol.CodeTimeout, "no join within the join timeout")
		}
	}))
	if !c.claims.ExpiresAt.IsZero() {
		c.timers = append(c.timers, time.AfterFunc(time.Until(c.claims.ExpiresAt), func() {
			c.closeAsync(protocol.CodeUnauthorized, "token expired; reconnect with a fresh token and resume")
		}))
	}
	c.ping = time.AfterFunc(cfg.PingInterval, c.sendPing)
	c.timers = append(c.timers, c.ping)
	c.readLoop()
}

// wake makes sure a writer drains the queued frames: it starts one unless
// one is running (which re-checks the queue before it ends). Nil-safe.
func (c *conn) wake() {
	if c == nil {
		return
	}
	if c.writing.CompareAndSwap(false, true) && (c.raw == nil || !c.writeInline()) {
		go c.writeLoop()
	}
}

// sendPing sends a keepalive ping and arms the next one. WriteControl may
// run concurrently with a writer (gorilla/websocket's rule).
func (c *conn) sendPing() {
	select {
	case <-c.done:
		return
	default:
	}
	cfg := c.gw.cfg
	c.wmu.Lock()
	err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(cfg.WriteTimeout))
	c.wmu.Unlock()
	if err != nil {
		c.closeAsync(closeNormal, "ping failed")
		return
	}
	c.ping.Reset(cfg.PingInterval)
}

// closeAsync sends a close frame with code and reason and stops the
// connection; the reader's exit finishes it. Safe from any goroutine;
// only the first call counts.
func (c *conn) closeAsync(code int, reason string) {
	c.closing.Do(func() {
		c.log().Debug("closing connection", "code", code, "reason", reason)
		metricCloses.WithLabelValues(closeLabel(code)).Inc()
		msg := websocket.FormatCloseMessage(code, reason)
		writeClose := func() {
			_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeTimeout))
			c.wmu.Unlock()
		}
		// closeAsync runs under session locks: it must not wait for a
		// writer stuck on a full socket (its deadline or the reader's
		// close frees the lock).
		if c.wmu.TryLock() {
			writeClose()
		} else {
			go func() { c.wmu.Lock(); writeClose() }()
		}
		close(c.done)
		// The reader returns once the peer answers the close or the deadline hits.
		_ = c.ws.SetReadDeadline(time.Now().Add(closeTimeout))
	})
}

// readLoop reads frames until the connection fails or closes.
func (c *conn) readLoop() {
	cfg := c.gw.cfg
	var byeByClient bool
	defer func() { c.finish(byeByClient) }()
	c.ws.SetReadLimit(int64(cfg.HardFrameLimit))
	_ = c.ws.SetReadDeadline(time.Now().Add(cfg.PongTimeout))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(cfg.PongTimeout))
	})
	for {
		mt, r, err := c.ws.NextReader()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code == websocket.CloseNormalClosure {
				byeByClient = true
			}
			if errors.Is(err, websocket.ErrReadLimit) {
				c.closeAsync(closeTooBig, "frame too large")
			}
			return
		}
		// After a close frame was sent, nothing more is processed; the loop
		// only waits for the peer's close reply (or the deadline).
		select {
		case <-c.done:
			return
		default:
		}
		// Any frame proves the peer alive, not just pongs.
		_ = c.ws.SetReadDeadline(time.Now().Add(cfg.PongTimeout))
		data, tooBig, err := readFrame(r, cfg.MaxFrame)
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.closeAsync(closeTooBig, "frame too large")
			}
			return
		}
		metricFramesIn.Inc()
		// The rate limit is checked before decoding, so a flood costs as
		// little as possible; persistent abuse ends the connection.
		if !c.limiter.Allow() {
			c.strikes++
			if c.strikes >= maxRateStrikes {
				c.closeAsync(protocol.CodeRateLimited, "rate limit exceeded persistently")
				return
			}
			c.replyError(requestID(data), perr(protocol.CodeRateLimited, "too many messages; slow down"))
			continue
		}
		c.strikes = 0
		switch {
		case tooBig:
			c.replyError("", perr(protocol.CodeFrameTooLarge, "frame exceeds the maximum size"))
		case mt != websocket.TextMessage:
			c.replyError("", perr(protocol.CodeMalformed, "only text frames are accepted"))
		default:
			c.handleFrame(data)
		}
	}
}

// requestID extracts the id of a frame that is not processed (rate
// limited), so the client can match the error to its request. Malformed
// frames yield "".
func requestID(data []byte) string {
	var h struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &h) != nil || len(h.ID) > 64 {
		return ""
	}
	return h.ID
}

// readFrame reads one message of at most limit bytes; a longer message is
// read to its end and discarded (tooBig), so the connection stays usable.
func readFrame(r io.Reader, limit int) (data []byte, tooBig bool, err error) {
	data, err = io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, false, err
	}
	if len(data) <= limit {
		return data, false, nil
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, true, err
	}
	return nil, true, nil
}

// handleFrame decodes and dispatches one client frame.
func (c *conn) handleFrame(data []byte) {
	e, pe := protocol.Decode(data)
	if pe != nil {
		metricErrors.WithLabelValues(codeLabel(pe.Code)).Inc()
		c.replyError("", pe)
		return
	}
	// The first frame decides: resume an existing session, or start one.
	if c.sess.Load() == nil {
		if e.Type == typeResume {
			c.gw.resume(c, e)
			return
		}
		s := newSession(c.gw, c.claims)
		s.attach(c)
		c.sess.Store(s)
		c.gw.addSession(s)
	}
	ctx, cancel := context.WithTimeout(c.gw.ctx, c.gw.cfg.RequestTimeout)
	defer cancel()
	c.gw.dispatch(ctx, c, c.sess.Load(), e)
}

// replyError sends an error frame; before a session exists it opens one so
// the frame is counted on the outbound stream like every other frame.
func (c *conn) replyError(re string, pe *protocol.Error) {
	s := c.sess.Load()
	if s == nil {
		s = newSession(c.gw, c.claims)
		s.attach(c)
		c.sess.Store(s)
		c.gw.addSession(s)
	}
	s.sendEnvelope(&protocol.Envelope{V: protocol.Version, Re: re, Type: typeError, Error: pe})
}

// writeLoop drains the session's queued frames, a batch at a time (so a
// burst does not hold the session lock while writing), and ends when the
// queue is empty or the connection is done. It runs only while c.writing
// is set, so there is never more than one.
func (c *conn) writeLoop() {
	if c.rest != nil {
		if err := c.finishRest(); err != nil {
			c.log().Debug("write failed", "err", err)
			c.closeAsync(closeNormal, "write failed")
			return
		}
	}
	var buf [writeBatch]frame // on the writer's stack: nothing per connection while idle
	for {
		select {
		case <-c.done:
			return // writing stays set: nothing is written any more
		default:
		}
		s := c.sess.Load()
		var batch []frame
		if s != nil {
			batch = s.take(c, buf[:0], writeBatch)
		}
		if len(batch) == 0 {
			if !c.releaseWriting(s) {
				return
			}
			continue
		}
		if err := c.writeFrames(batch); err != nil {
			c.log().Debug("write failed", "err", err)
			c.closeAsync(closeNormal, "write failed")
			return
		}
		clear(batch)
	}
}

// releaseWriting gives up the writer role after a take found nothing (or
// everything taken was written). A frame queued after that take and before
// the release saw a running writer and started none, so it looks again:
// keep reports that the caller has the role back and must write on,
// because frames wait and no other writer has started since.
func (c *conn) releaseWriting(s *session) (keep bool) {
	c.writing.Store(false)
	return s != nil && c.hasQueued(s) && c.writing.CompareAndSwap(false, true)
}

// hasQueued reports whether s has frames for c that no writer took yet.
func (c *conn) hasQueued(s *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn == c && !s.ended && s.out.queued() > 0
}

// writeFrames writes a batch of frames with one writev: frames queued
// while the previous write was under way leave together, so a busy
// gateway makes fewer, larger writes instead of falling behind (on
// loopback a write also runs the receiver's TCP path and costs about as
// much for 1 frame as for 30). Shared room frames are written as framed
// once (wireFrame); others get their header here. The deadline is set once
// per batch: setting it per frame costs a runtime timer update per
// delivery, which a 20,000-member fan-out pays 20,000 times per event.
func (c *conn) writeFrames(batch []frame) error {
	wb := writeBufs.Get().(*writeBuf)
	defer wb.release()
	bufs := net.Buffers(wb.iovecs(batch))
	nc := c.ws.NetConn()
	c.wmu.Lock()
	_ = nc.SetWriteDeadline(time.Now().Add(c.gw.cfg.WriteTimeout))
	_, err := bufs.WriteTo(nc)
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	metricWritesWriter.Inc()
	c.wrote(batch)
	return nil
}

// writeBuf is a writer's scratch space for one writev: frame headers and
// the iovec list. Pooled, because net.Buffers.WriteTo makes it escape, and
// one 3 KB allocation per write was a tenth of a busy gateway's CPU in GC.
type writeBuf struct {
	hdrs [writeBatch * maxFrameHeader]byte
	bufs [2 * writeBatch][]byte
}

var writeBufs = sync.Pool{New: func() any { return new(writeBuf) }}

// iovecs lists the bytes of batch for one writev: shared room frames as
// framed once (wireFrame), others behind a header built here.
func (wb *writeBuf) iovecs(batch []frame) [][]byte {
	bufs, h := wb.bufs[:0], wb.hdrs[:0]
	for _, f := range batch {
		if f.wire != nil {
			bufs = append(bufs, f.wire)
			continue
		}
		n := len(h)
		h = appendFrameHeader(h, len(f.b))
		bufs = append(bufs, h[n:len(h):len(h)], f.b)
	}
	return bufs
}

// release returns wb to the pool, keeping no frame alive.
func (wb *writeBuf) release() {
	clear(wb.bufs[:])
	writeBufs.Put(wb)
}

// finish runs once when the reader exits: it releases the socket and hands
// the session to its grace period (or ends it when the client said bye).
func (c *conn) finish(bye bool) {
	c.finished.Do(func() {
		c.closeAsync(closeNormal, "")
		for _, t := range c.timers {
			t.Stop()
		}
		_ = c.ws.Close()
		c.gw.removeConn(c)
		if s := c.sess.Load(); s != nil {
			s.detach(c, bye)
		}
	})
}

// mustJSON marshals values the gateway built itself; they always encode.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("{}")
	}
	return b
}
