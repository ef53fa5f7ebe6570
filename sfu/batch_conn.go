package sfu

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Sizes of the send queue of the node's UDP socket (see batchConn).
const (
	// udpSendBatch is the most datagrams one sendmmsg(2) call carries. 64
	// amortises the system call entry well; more only makes the first
	// packet of a batch wait longer for the last.
	udpSendBatch = 64
	// udpSlotSize is the preallocated room per queued datagram: an Ethernet
	// MTU with margin. SRTP packets (receive MTU 1460 + auth tag) and DTLS
	// records (MTU 1200) fit; a larger datagram gets a buffer of its own.
	udpSlotSize = 1536
	// udpCloseDrain bounds how long Close may spend sending what is still
	// queued before it closes the socket anyway.
	udpCloseDrain = time.Second
)

// batchWriter is the sendmmsg(2) capability shared by ipv4.PacketConn and
// ipv6.PacketConn (ipv4.Message and ipv6.Message are the same type). On
// systems without sendmmsg, x/net sends one message per call.
type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

var (
	_ net.PacketConn           = (*batchConn)(nil)
	_ ice.AddrPortReaderWriter = (*batchConn)(nil)
)

// batchConn wraps the node's UDP socket so that writes are queued and sent
// in batches with sendmmsg(2) by one flusher goroutine, instead of one
// sendto(2) per packet per subscriber.
//
// WriteTo copies the datagram into a slot of a fixed ring and returns; the
// flusher sends whatever is queued as soon as it is queued (no timer): an
// idle node sends each packet at once, a busy one forms batches by itself
// while the previous batch is in the kernel. One FIFO and one sender keep
// the order of datagrams to each destination.
//
// When the ring is full WriteTo blocks until the flusher frees a slot (or
// the write deadline passes), as sendto does when the socket's send buffer
// is full. It does not drop: a full ring means the node is CPU-bound, and
// losses made by the node would come back as NACKs and retransmissions,
// more work at the worst moment, and could hit DTLS or RTCP packets, which
// share the socket. The wait is counted in
// plenary_sfu_udp_send_queue_full_total.
//
// Reads, LocalAddr and read deadlines go straight to the socket. A write
// deadline applies to queueing (the only place a write can block).
type batchConn struct {
	conn  *net.UDPConn
	batch batchWriter
	log   *slog.Logger

	// mem backs the slots: one allocation, udpSlotSize bytes per slot.
	mem   []byte
	slots []batchSlot
	mask  uint64

	mu sync.Mutex
	// head is the next slot to send, tail the next free one; both only
	// grow (index = counter & mask). Slots in [head, tail) belong to the
	// flusher while it sends them.
	head, tail uint64
	closed     bool
	// idle is set by the flusher before it waits on wake; the writer that
	// clears it sends the one wake token.
	idle bool
	// waiters counts writers blocked on a full ring.
	waiters int
	// deadlineSet is closed and replaced by SetWriteDeadline, so blocked
	// writers look at the new deadline.
	deadlineSet chan struct{}

	wake    chan struct{} // cap 1: flusher wake-up token
	space   chan struct{} // cap 1: a slot was freed, for blocked writers
	closing chan struct{} // closed by Close: blocked writers give up
	done    chan struct{} // closed when the flusher has returned

	// writeDeadline is the write deadline in Unix nanoseconds, 0 for none.
	writeDeadline atomic.Int64

	// Flusher-owned send state, preallocated so sending allocates nothing.
	msgs  []ipv4.Message
	addrs []net.UDPAddr
	ips   [][16]byte

	// gate, when non-nil, is received from before each batch is sent, so a
	// test can hold packets in the queue. Always nil outside tests.
	gate chan struct{}

	sent, errs, batches, fullWaits atomic.Uint64

	closeOnce sync.Once
	closeErr  error
}

// batchSlot is one queued datagram.
type batchSlot struct {
	to  netip.AddrPort
	n   int
	big []byte // set when the datagram did not fit the slot's buffer
}

// batchConnStats are the counters of a batchConn, for tests and reports.
type batchConnStats struct {
	Sent      uint64 // datagrams the kernel accepted
	Errors    uint64 // datagrams that failed to send
	Batches   uint64 // sendmmsg calls that sent something
	FullWaits uint64 // writes that waited for a free slot
}

// newBatchConn wraps conn with a send queue of queueLen datagrams (rounded
// up to a power of two) and starts the flusher. Close stops it. A nil log
// discards logs.
func newBatchConn(conn *net.UDPConn, queueLen int, log *slog.Logger) *batchConn {
	c := prepareBatchConn(conn, queueLen, log)
	go c.flushLoop()
	return c
}

// prepareBatchConn builds a batchConn without starting its flusher.
func prepareBatchConn(conn *net.UDPConn, queueLen int, log *slog.Logger) *batchConn {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	size := 1
	for size < max(queueLen, udpSendBatch) {
		size <<= 1
	}
	c := &batchConn{
		conn:        conn,
		log:         log,
		mem:         make([]byte, size*udpSlotSize),
		slots:       make([]batchSlot, size),
		mask:        uint64(size - 1),
		wake:        make(chan struct{}, 1),
		space:       make(chan struct{}, 1),
		deadlineSet: make(chan struct{}),
		closing:     make(chan struct{}),
		done:        make(chan struct{}),
		msgs:        make([]ipv4.Message, udpSendBatch),
		addrs:       make([]net.UDPAddr, udpSendBatch),
		ips:         make([][16]byte, udpSendBatch),
	}
	if la, ok := conn.LocalAddr().(*net.UDPAddr); ok && la.IP.To4() == nil {
		c.batch = ipv6.NewPacketConn(conn)
	} else {
		c.batch = ipv4.NewPacketConn(conn)
	}
	for i := range c.msgs {
		c.msgs[i].Buffers = make([][]byte, 1)
		c.msgs[i].Addr = &c.addrs[i]
	}
	return c
}

// WriteTo queues p for addr. Only UDP addresses are queued; anything else
// (never passed by the ICE mux) is sent directly, unordered with the queue.
func (c *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return c.conn.WriteTo(p, addr)
	}
	return c.WriteToAddrPort(p, ua.AddrPort())
}

// WriteToAddrPort queues p for to and returns len(p). Send errors are
// asynchronous: they are counted and logged, not returned. The ICE mux
// calls this allocation-free form (ice.AddrPortReaderWriter).
func (c *batchConn) WriteToAddrPort(p []byte, to netip.AddrPort) (int, error) {
	if d := c.writeDeadline.Load(); d != 0 && time.Now().UnixNano() >= d {
		return 0, c.opError(os.ErrDeadlineExceeded)
	}
	c.mu.Lock()
	for c.tail-c.head > c.mask && !c.closed {
		if err := c.waitForSpace(); err != nil {
			c.mu.Unlock()
			return 0, err
		}
	}
	if c.closed {
		c.mu.Unlock()
		return 0, c.opError(net.ErrClosed)
	}
	i := c.tail & c.mask
	s := &c.slots[i]
	s.to, s.n = to, len(p)
	if len(p) <= udpSlotSize {
		copy(c.mem[int(i)*udpSlotSize:], p)
	} else {
		s.big = append([]byte(nil), p...)
	}
	c.tail++
	wake := c.idle
	c.idle = false
	if c.waiters > 0 && c.tail-c.head <= c.mask {
		// Pass the wake-up on to the next blocked writer.
		signal(c.space)
	}
	c.mu.Unlock()
	if wake {
		c.wake <- struct{}{}
	}
	return len(p), nil
}

// waitForSpace blocks, with c.mu held on entry and on return, until the
// flusher frees a slot, Close is called, the write deadline changes or it
// passes. Only the last is an error; the caller checks the ring again.
func (c *batchConn) waitForSpace() error {
	c.fullWaits.Add(1)
	metricUDPSendQueueFull.Inc()
	c.waiters++
	deadlineSet := c.deadlineSet
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.waiters--
	}()
	var timeout <-chan time.Time
	if d := c.writeDeadline.Load(); d != 0 {
		wait := time.Until(time.Unix(0, d))
		if wait <= 0 {
			return c.opError(os.ErrDeadlineExceeded)
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-c.space:
	case <-c.closing:
	case <-deadlineSet:
	case <-timeout:
		return c.opError(os.ErrDeadlineExceeded)
	}
	return nil
}

// signal puts a token in a capacity-1 channel unless one is there already.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// flushLoop is the flusher: it sends queued datagrams in batches until
// Close, then sends what is left and returns.
func (c *batchConn) flushLoop() {
	defer close(c.done)
	for {
		c.mu.Lock()
		for c.head == c.tail {
			if c.closed {
				c.mu.Unlock()
				return
			}
			c.idle = true
			c.mu.Unlock()
			<-c.wake
			c.mu.Lock()
		}
		start, n := c.head, min(c.tail-c.head, udpSendBatch)
		c.mu.Unlock()

		if c.gate != nil {
			<-c.gate
		}
		c.send(start, int(n))

		c.mu.Lock()
		c.head += n
		if c.waiters > 0 {
			signal(c.space)
		}
		c.mu.Unlock()
	}
}

// send sends the n slots from start with as few sendmmsg calls as the
// kernel allows. A datagram that fails is counted and skipped; the ones
// after it are still sent.
func (c *batchConn) send(start uint64, n int) {
	msgs := c.msgs[:n]
	for k := range msgs {
		i := (start + uint64(k)) & c.mask
		s := &c.slots[i]
		if s.big != nil {
			msgs[k].Buffers[0] = s.big
		} else {
			off := int(i) * udpSlotSize
			msgs[k].Buffers[0] = c.mem[off : off+s.n : off+s.n]
		}
		c.setAddr(k, s.to)
	}
	for len(msgs) > 0 {
		sent, err := c.batch.WriteBatch(msgs, 0)
		sent = max(sent, 0)
		if sent > 0 {
			c.batches.Add(1)
			c.sent.Add(uint64(sent))
			msgs = msgs[sent:]
		}
		if err == nil && sent > 0 {
			continue
		}
		// sendmmsg reports the error of the first datagram it could not
		// send; skip that one. A closed socket or the drain deadline of
		// Close fails them all.
		failed := 1
		if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
			failed = len(msgs)
		}
		if len(msgs) > 0 {
			c.sendFailed(msgs[0].Addr, failed, err)
			msgs = msgs[failed:]
		}
	}
	for k := range n {
		s := &c.slots[(start+uint64(k))&c.mask]
		s.big = nil
		c.msgs[k].Buffers[0] = nil
	}
}

// sendFailed counts n datagrams that could not be sent, the first to addr.
func (c *batchConn) sendFailed(addr net.Addr, n int, err error) {
	c.errs.Add(uint64(n))
	metricUDPSendErrors.Add(float64(n))
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		c.log.Debug("udp send failed", "to", addr.String(), "datagrams", n, "err", err)
	}
}

// setAddr points message k at to, reusing its preallocated address.
func (c *batchConn) setAddr(k int, to netip.AddrPort) {
	a, ua := to.Addr(), &c.addrs[k]
	if a.Is4() || a.Is4In6() {
		b := a.As4()
		ua.IP = append(c.ips[k][:0], b[:]...)
	} else {
		b := a.As16()
		ua.IP = append(c.ips[k][:0], b[:]...)
	}
	ua.Port, ua.Zone = int(to.Port()), a.Zone()
}

// opError wraps err the way net.UDPConn reports write errors.
func (c *batchConn) opError(err error) error {
	return &net.OpError{Op: "write", Net: "udp", Source: c.conn.LocalAddr(), Err: err}
}

// stats returns the counters.
func (c *batchConn) stats() batchConnStats {
	return batchConnStats{Sent: c.sent.Load(), Errors: c.errs.Load(),
		Batches: c.batches.Load(), FullWaits: c.fullWaits.Load()}
}

// ReadFrom reads from the socket.
func (c *batchConn) ReadFrom(p []byte) (int, net.Addr, error) { return c.conn.ReadFrom(p) }

// ReadFromAddrPort reads from the socket without allocating an address.
func (c *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return c.conn.ReadFromUDPAddrPort(p)
}

// LocalAddr is the socket's address.
func (c *batchConn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// SetDeadline sets the read and write deadlines.
func (c *batchConn) SetDeadline(t time.Time) error {
	c.storeWriteDeadline(t)
	return c.conn.SetReadDeadline(t)
}

// SetReadDeadline sets the socket's read deadline.
func (c *batchConn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline makes writes that would wait for a free slot past t
// fail, including those already waiting (the ICE mux relies on this to
// abort writes). It is not passed to the socket: the flusher's sends carry
// other writers' packets too.
func (c *batchConn) SetWriteDeadline(t time.Time) error {
	c.storeWriteDeadline(t)
	return nil
}

func (c *batchConn) storeWriteDeadline(t time.Time) {
	var d int64
	if !t.IsZero() {
		d = t.UnixNano()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writeDeadline.Store(d)
	close(c.deadlineSet)
	c.deadlineSet = make(chan struct{})
}

// Close stops accepting writes, sends what is queued (for at most
// udpCloseDrain), stops the flusher and closes the socket. It is
// idempotent.
func (c *batchConn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		wake := c.idle
		c.idle = false
		c.mu.Unlock()
		close(c.closing)
		if wake {
			c.wake <- struct{}{}
		}
		_ = c.conn.SetWriteDeadline(time.Now().Add(udpCloseDrain))
		<-c.done
		c.closeErr = c.conn.Close()
	})
	return c.closeErr
}
