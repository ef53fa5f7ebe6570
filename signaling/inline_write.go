package signaling

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Inline writes. A room fan-out queues a frame on each of 10,000 sessions
// and wakes each connection's writer; starting a goroutine per connection
// per fan-out cost a fifth of a busy gateway's CPU, and the 10,000 runnable
// writers queued every reader (chat sends, acks, joins) behind them. So
// wake first tries to write on the caller's goroutine with one
// non-blocking writev: a healthy client's socket has room, and the frames
// are gone without a goroutine, a timer or a deadline. Only when the
// socket is full (a slow reader) or the lock is busy does a writer
// goroutine take over, finishing the rest with the usual deadline.

// rawConn returns the socket's syscall.RawConn, or nil when the connection
// is not a plain socket (then writes always go through a writer goroutine).
func rawConn(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// writeInline writes what the session has queued for c on the calling
// goroutine without blocking. c.writing is held by the caller. It reports
// whether it is done (the flag released, or the connection failed); false
// means a writer goroutine must take over: frames remain, or a partial
// write left c.rest to finish (with c.wmu still held for it).
func (c *conn) writeInline() bool {
	s := c.sess.Load()
	if s == nil || !c.wmu.TryLock() {
		return false
	}
	var buf [writeBatch]frame
	batch := s.take(c, buf[:0], writeBatch)
	if len(batch) == 0 {
		c.wmu.Unlock()
		return !c.releaseWriting(s)
	}
	wb := writeBufs.Get().(*writeBuf)
	defer wb.release()
	bufs := wb.iovecs(batch)
	n, err := c.writevNow(bufs)
	switch {
	case err != nil && !errors.Is(err, unix.EAGAIN):
		c.wmu.Unlock()
		c.log().Debug("write failed", "err", err)
		c.closeAsync(closeNormal, "write failed")
		return true // writing stays set: nothing is written any more
	case n < total(bufs):
		// The socket is full: the rest is copied (the headers live in the
		// pooled buffer) and finished by a writer goroutine, which also
		// inherits the lock so that no ping lands inside a frame.
		metricWritesPartial.Inc()
		c.rest = tail(bufs, max(n, 0))
		c.restFrames = append([]frame(nil), batch...)
		clear(batch)
		return false
	}
	c.wmu.Unlock()
	metricWritesInline.Inc()
	c.wrote(batch)
	clear(batch)
	return !c.releaseWriting(s)
}

// writevNow makes one non-blocking writev of bufs.
func (c *conn) writevNow(bufs [][]byte) (int, error) {
	var (
		n    int
		werr error
	)
	write := func(fd uintptr) bool {
		n, werr = unix.Writev(int(fd), bufs)
		return true // never wait for the socket: the writer goroutine does
	}
	err := c.raw.Write(write)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// A deadline left by a blocking write (writer goroutine, gorilla's
		// control frames) has passed; it means nothing to a write that
		// does not wait.
		_ = c.ws.NetConn().SetWriteDeadline(time.Time{})
		err = c.raw.Write(write)
	}
	if err != nil {
		return 0, err
	}
	return n, werr
}

// finishRest writes what a partial inline write left, blocking up to the
// write timeout, and releases the lock the inline write kept.
func (c *conn) finishRest() error {
	defer c.wmu.Unlock()
	rest, frames := c.rest, c.restFrames
	c.rest, c.restFrames = nil, nil
	nc := c.ws.NetConn()
	_ = nc.SetWriteDeadline(time.Now().Add(c.gw.cfg.WriteTimeout))
	if _, err := nc.Write(rest); err != nil {
		return err
	}
	c.wrote(frames)
	return nil
}

// wrote accounts for frames written in full.
func (c *conn) wrote(batch []frame) {
	if c.sampled {
		now := time.Now()
		for _, f := range batch {
			if f.stamp != 0 {
				observeDelivery(f.stamp, now)
			}
		}
	}
	metricFramesOut.Add(float64(len(batch)))
}

// total is the number of bytes in bufs.
func total(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// tail copies the bytes of bufs from offset n on into one slice.
func tail(bufs [][]byte, n int) []byte {
	out := make([]byte, 0, total(bufs)-n)
	for _, b := range bufs {
		if n >= len(b) {
			n -= len(b)
			continue
		}
		out = append(out, b[n:]...)
		n = 0
	}
	return out
}

var (
	metricWritesInline  = metricWrites.WithLabelValues("inline")
	metricWritesPartial = metricWrites.WithLabelValues("partial")
	metricWritesWriter  = metricWrites.WithLabelValues("writer")
)
