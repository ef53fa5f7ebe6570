package sfu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/transport/v5/vnet"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	plog "github.com/plenaryhq/plenary/internal/logging"
)

// Test datagrams carry a header: writer (1 byte), sequence number (4
// bytes), then a filler derived from both, so a slot overwritten while
// queued or sent shows up as a corrupt payload.
const testHeader = 5

func testDatagram(buf []byte, writer byte, seq uint32, size int) []byte {
	p := buf[:size]
	p[0] = writer
	binary.BigEndian.PutUint32(p[1:], seq)
	for i := testHeader; i < size; i++ {
		p[i] = writer ^ byte(seq) ^ byte(i)
	}
	return p
}

// testReceiver is a loopback UDP socket that checks that, per writer, the
// datagrams it receives are exactly 0, 1, 2, … with intact payloads.
type testReceiver struct {
	conn *net.UDPConn
	addr netip.AddrPort
	got  [256]atomic.Uint32 // datagrams received per writer
	mu   sync.Mutex
	errs []string
	done chan struct{}
}

func newTestReceiver(t *testing.T) *testReceiver {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	_ = conn.SetReadBuffer(4 << 20)
	r := &testReceiver{conn: conn, addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(), done: make(chan struct{})}
	go r.run()
	t.Cleanup(r.close)
	return r
}

func (r *testReceiver) run() {
	defer close(r.done)
	buf := make([]byte, 4096)
	for {
		n, _, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		r.check(buf[:n])
	}
}

func (r *testReceiver) check(p []byte) {
	if len(p) < testHeader {
		r.fail("short datagram of %d bytes", len(p))
		return
	}
	w, seq := p[0], binary.BigEndian.Uint32(p[1:])
	if want := r.got[w].Load(); seq != want {
		r.fail("writer %d: got seq %d, want %d", w, seq, want)
	}
	for i := testHeader; i < len(p); i++ {
		if p[i] != w^byte(seq)^byte(i) {
			r.fail("writer %d seq %d: corrupt byte %d", w, seq, i)
			break
		}
	}
	r.got[w].Store(seq + 1)
}

func (r *testReceiver) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) < 10 {
		r.errs = append(r.errs, fmt.Sprintf(format, args...))
	}
}

func (r *testReceiver) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// close stops the receiver and waits for its goroutine; idempotent.
func (r *testReceiver) close() {
	_ = r.conn.Close()
	<-r.done
}

// newTestBatchConn opens a loopback socket and wraps it. With gated, the
// flusher waits for c.gate to be closed before sending anything.
func newTestBatchConn(t *testing.T, queueLen int, gated bool) *batchConn {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	c := prepareBatchConn(conn, queueLen, testLogger())
	if gated {
		c.gate = make(chan struct{})
	}
	go c.flushLoop()
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (c *batchConn) waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waiters
}

func (c *batchConn) queued() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tail - c.head
}

// TestBatchConnDeliversEveryPacketInOrder: concurrent writers send to many
// destinations through a small ring (so it wraps and fills); every
// destination receives every writer's packets, in order and intact,
// including datagrams too big for a slot.
func TestBatchConnDeliversEveryPacketInOrder(t *testing.T) {
	const (
		dests   = 8
		writers = 4
		perDest = 300 // packets per writer per destination
		window  = 16  // unacknowledged packets per writer per destination
	)
	c := newTestBatchConn(t, 64, false)
	rx := make([]*testReceiver, dests)
	for i := range rx {
		rx[i] = newTestReceiver(t)
	}
	var g errgroup.Group
	for w := range writers {
		g.Go(func() error {
			buf := make([]byte, 2000)
			for seq := range uint32(perDest) {
				size := 100 + int(seq%7)*10
				if seq%50 == 49 {
					size = 1800 // larger than udpSlotSize
				}
				p := testDatagram(buf, byte(w), seq, size)
				for _, r := range rx {
					// Flow control, so no datagram is lost in a full
					// receive buffer: loopback loss is not what this tests.
					if err := waitUntil(5*time.Second, func() bool { return r.got[w].Load()+window > seq }); err != nil {
						return fmt.Errorf("writer %d seq %d: %w", w, seq, err)
					}
					if _, err := c.WriteToAddrPort(p, r.addr); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	for i, r := range rx {
		waitFor(t, 10*time.Second, fmt.Sprintf("destination %d receives everything", i), func() bool {
			for w := range writers {
				if r.got[w].Load() != perDest {
					return false
				}
			}
			return true
		})
		require.Empty(t, r.errors(), "destination %d", i)
	}
	st := c.stats()
	require.Equal(t, uint64(dests*writers*perDest), st.Sent)
	require.Zero(t, st.Errors)
	t.Logf("sent %d datagrams in %d sendmmsg calls (%.1f per call), %d writes waited for a slot",
		st.Sent, st.Batches, float64(st.Sent)/float64(st.Batches), st.FullWaits)
}

// waitUntil polls cond until it holds or d passes. Unlike waitFor it can
// run outside the test goroutine.
func waitUntil(d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met after %s", d)
		}
		time.Sleep(100 * time.Microsecond)
	}
	return nil
}

// TestBatchConnCloseSendsQueuedPackets: Close sends what is still queued
// before it closes the socket, stops the flusher (no goroutine left) and
// later writes fail with net.ErrClosed.
func TestBatchConnCloseSendsQueuedPackets(t *testing.T) {
	check := checkNoLeaks(t)
	const n = 200
	r := newTestReceiver(t)
	c := newTestBatchConn(t, 256, true)
	buf := make([]byte, 200)
	for seq := range uint32(n) {
		_, err := c.WriteToAddrPort(testDatagram(buf, 1, seq, 150), r.addr)
		require.NoError(t, err)
	}
	require.Equal(t, uint64(n), c.queued(), "the gated flusher has sent nothing yet")

	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	close(c.gate)
	require.NoError(t, <-closed)

	waitFor(t, 10*time.Second, "receiver gets every queued packet", func() bool { return r.got[1].Load() == n })
	require.Empty(t, r.errors())
	_, err := c.WriteToAddrPort(buf[:10], r.addr)
	require.ErrorIs(t, err, net.ErrClosed)
	require.NoError(t, c.Close(), "Close is idempotent")
	r.close()
	check()
}

// TestBatchConnSkipsFailedDatagrams: datagrams the kernel refuses (port 0,
// an IPv6 address on an IPv4 socket) are counted and skipped; the ones
// queued with them still reach their destinations, in order.
func TestBatchConnSkipsFailedDatagrams(t *testing.T) {
	const n = 100
	before := counterValue(t, metricUDPSendErrors)
	a, b := newTestReceiver(t), newTestReceiver(t)
	bad := []netip.AddrPort{
		netip.MustParseAddrPort("127.0.0.1:0"), // EINVAL
		netip.MustParseAddrPort("[::1]:9"),     // EAFNOSUPPORT
	}
	c := newTestBatchConn(t, 1024, true)
	buf := make([]byte, 200)
	for seq := range uint32(n) {
		p := testDatagram(buf, 2, seq, 120)
		for _, to := range []netip.AddrPort{a.addr, bad[0], b.addr, bad[1]} {
			_, err := c.WriteToAddrPort(p, to)
			require.NoError(t, err, "errors are reported by the flusher, not the writer")
		}
	}
	close(c.gate) // all 4n datagrams go out in batches that mix good and bad
	for _, r := range []*testReceiver{a, b} {
		waitFor(t, 10*time.Second, "good destinations receive everything", func() bool { return r.got[2].Load() == n })
		require.Empty(t, r.errors())
	}
	waitFor(t, 10*time.Second, "every datagram is accounted for", func() bool {
		st := c.stats()
		return st.Sent+st.Errors == 4*n
	})
	st := c.stats()
	require.Equal(t, uint64(2*n), st.Sent)
	require.Equal(t, uint64(2*n), st.Errors)
	require.GreaterOrEqual(t, counterValue(t, metricUDPSendErrors)-before, float64(2*n))
}

// TestBatchConnFullQueueWaitsAndHonoursWriteDeadline: when the ring is full
// a write waits for a free slot; with a write deadline it fails with a
// timeout instead, like a blocked sendto.
func TestBatchConnFullQueueWaitsAndHonoursWriteDeadline(t *testing.T) {
	r := newTestReceiver(t)
	c := newTestBatchConn(t, udpSendBatch, true)
	buf := make([]byte, 200)
	seq := uint32(0)
	write := func() error {
		_, err := c.WriteToAddrPort(testDatagram(buf, 3, seq, 100), r.addr)
		if err == nil {
			seq++
		}
		return err
	}
	for range udpSendBatch {
		require.NoError(t, write())
	}

	require.NoError(t, c.SetWriteDeadline(time.Now().Add(20*time.Millisecond)))
	err := write()
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout())
	err = write() // the deadline has passed: fails before waiting
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)

	// A write already waiting gives up when the deadline is moved to the
	// past (the ICE mux aborts writes that way).
	require.NoError(t, c.SetWriteDeadline(time.Time{}))
	blocked := make(chan error, 1)
	go func() { blocked <- write() }()
	waitFor(t, 5*time.Second, "the write waits for a slot", func() bool { return c.waiting() == 1 })
	require.NoError(t, c.SetWriteDeadline(time.Now()))
	require.ErrorIs(t, <-blocked, os.ErrDeadlineExceeded)

	// Without a deadline, a waiting write completes once the flusher runs.
	require.NoError(t, c.SetWriteDeadline(time.Time{}))
	go func() { blocked <- write() }()
	waitFor(t, 5*time.Second, "the write waits for a slot", func() bool { return c.waiting() == 1 })
	close(c.gate)
	require.NoError(t, <-blocked)
	waitFor(t, 10*time.Second, "receiver gets every accepted packet", func() bool { return r.got[3].Load() == udpSendBatch+1 })
	require.Empty(t, r.errors())
}

// TestOpenTransportBatchesOnlyKernelSockets: the node's UDP socket is
// wrapped when it is a kernel socket, not when batching is off or the
// network is a pion vnet (not a kernel socket, used by the loss tests).
func TestOpenTransportBatchesOnlyKernelSockets(t *testing.T) {
	lf := &plog.PionFactory{Log: testLogger()}
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.0.1.0/24", LoggerFactory: lf})
	require.NoError(t, err)
	vn, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.0.1.1"}})
	require.NoError(t, err)
	require.NoError(t, wan.AddNet(vn))
	require.NoError(t, wan.Start())
	t.Cleanup(func() { _ = wan.Stop() })

	for _, tc := range []struct {
		name    string
		cfg     Config
		batched bool
	}{
		{"kernel socket", Config{BindIP: "127.0.0.1", TCPPort: -1}, true},
		{"batching off", Config{BindIP: "127.0.0.1", TCPPort: -1, UDPSendQueue: -1}, false},
		{"vnet", Config{BindIP: "10.0.1.1", TCPPort: -1, Net: vn}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.cfg.Validate())
			tr, err := openTransport(tc.cfg.withDefaults(), lf)
			require.NoError(t, err)
			_, batched := tr.udpConn.(*batchConn)
			require.Equal(t, tc.batched, batched, "socket type %T", tr.udpConn)
			require.NoError(t, tr.close())
		})
	}
	require.ErrorIs(t, Config{UDPSendQueue: -2}.Validate(), ErrInvalidConfig)
}

// rusageCPU is this process's user+system CPU time.
func rusageCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBatchConnWriteTo: 1,100-byte datagrams (a forwarded packet with
// SRTP overhead) to 10 loopback destinations with one sendto per datagram
// ("sendto") and through the batching wrapper ("batched"). cpu-ns/op is
// the whole process's CPU time per datagram, the figure that bounds
// packets per core; allocs/op must be 0. On loopback the sender's system
// call also runs the receiver's kernel path. With read, goroutines of this
// process drain the receivers, so their recvfrom calls count too; with
// unread nobody reads and the kernel drops at the full receive buffer,
// which leaves mostly the send side.
func BenchmarkBatchConnWriteTo(b *testing.B) {
	for _, read := range []bool{true, false} {
		for _, batched := range []bool{false, true} {
			name := fmt.Sprintf("%s/%s", map[bool]string{false: "sendto", true: "batched"}[batched],
				map[bool]string{false: "unread", true: "read"}[read])
			b.Run(name, func(b *testing.B) { benchmarkWrites(b, batched, read) })
		}
	}
}

func benchmarkWrites(b *testing.B, batched, read bool) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(b, err)
	write, closeConn := conn.WriteToUDPAddrPort, conn.Close
	if batched {
		bc := newBatchConn(conn, DefaultUDPSendQueue, nil)
		write, closeConn = bc.WriteToAddrPort, bc.Close
	}
	var dests []netip.AddrPort
	var wg sync.WaitGroup
	var rxs []*net.UDPConn
	for range 10 {
		rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		require.NoError(b, err)
		rxs = append(rxs, rx)
		dests = append(dests, rx.LocalAddr().(*net.UDPAddr).AddrPort())
		if !read {
			continue
		}
		_ = rx.SetReadBuffer(4 << 20)
		wg.Go(func() {
			buf := make([]byte, 2048)
			for {
				if _, _, err := rx.ReadFromUDPAddrPort(buf); err != nil {
					return
				}
			}
		})
	}
	pkt := make([]byte, 1100)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := rusageCPU()
	for i := range b.N {
		_, _ = write(pkt, dests[i%len(dests)])
	}
	_ = closeConn() // the batched one waits for its queue to drain
	b.StopTimer()
	b.ReportMetric(float64(rusageCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	for _, rx := range rxs {
		_ = rx.Close()
	}
	wg.Wait()
}
