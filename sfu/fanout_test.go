package sfu

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// blockingWriter is a down-track's writer that blocks until release is
// closed, as a write stuck behind a lock does.
type blockingWriter struct {
	discardWriter
	release chan struct{}
	entered chan struct{} // if set, receives when a write starts
}

func (w *blockingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if w.entered != nil {
		select {
		case w.entered <- struct{}{}:
		default:
		}
	}
	<-w.release
	return w.discardWriter.WriteRTP(h, payload)
}

// countingWriter counts packets and order breaks, readable while a worker
// writes.
type countingWriter struct {
	n, outOfOrder atomic.Int64
	last          uint16 // written by the one worker writing this down-track
}

func (w *countingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if w.n.Load() > 0 && h.SequenceNumber != w.last+1 {
		w.outOfOrder.Add(1)
	}
	w.last = h.SequenceNumber
	w.n.Add(1)
	return len(payload), nil
}

func (w *countingWriter) Write(b []byte) (int, error) { return len(b), nil }

// TestFanoutStalledWorkerDoesNotStallReader: a worker stuck on one
// subscriber's write must not hold up the track's reader, nor the
// subscribers on the other worker; once released, every subscriber has
// every packet, in order.
func TestFanoutStalledWorkerDoesNotStallReader(t *testing.T) {
	const subs, chunk, packets = 20, 4, 100 // packets < fanoutMaxSlots
	tr, lr, pool := newForwardFixture(t, subs)
	dts := *tr.downTracks.Load()
	counters := make([]*countingWriter, subs)
	for i, dt := range dts {
		counters[i] = &countingWriter{}
		dt.writer = counters[i]
	}
	stuck := &blockingWriter{release: make(chan struct{})}
	dts[chunk].writer = stuck // first subscriber of chunk 1
	released := false
	defer func() {
		if !released {
			close(stuck.release)
		}
	}()

	payload := make([]byte, 1000)
	payload[0] = 0x10 // VP8 keyframe: every down-track starts
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 42, PayloadType: 96}, Payload: payload}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range packets {
			pkt.SequenceNumber = uint16(1000 + i)
			forwardPacket(t, tr, lr, &pkt, pool, chunk)
			payload[1] = 0x01
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("reader blocked behind a stalled fan-out worker")
	}
	// Chunks go to workers (base+i) mod 2: those of the other parity than
	// the stalled chunk 1 run on the other worker and complete.
	var free []int
	for i := range subs {
		if (i/chunk)%2 != 1 {
			free = append(free, i)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, i := range free {
		for counters[i].n.Load() != packets {
			if time.Now().After(deadline) {
				t.Fatalf("subscriber %d on the free worker got %d packets while the other worker was stalled, want %d",
					i, counters[i].n.Load(), packets)
			}
			time.Sleep(time.Millisecond)
		}
	}
	close(stuck.release)
	released = true
	lr.fan.wait()
	for i := range subs {
		n, ooo := counters[i].n.Load(), counters[i].outOfOrder.Load()
		if i == chunk {
			n, ooo = int64(stuck.n), int64(stuck.outOfOrder)
		}
		if n != packets || ooo != 0 {
			t.Fatalf("subscriber %d got %d packets (%d out of order), want %d in order", i, n, ooo, packets)
		}
	}
}

// TestFanoutRingBounded: when the workers cannot keep up at all, the ring
// stops growing at fanoutMaxSlots and the reader waits for the oldest slot.
func TestFanoutRingBounded(t *testing.T) {
	const subs, chunk = 8, 4
	tr, lr, pool := newForwardFixture(t, subs)
	dts := *tr.downTracks.Load()
	stuck := &blockingWriter{release: make(chan struct{})}
	dts[chunk].writer = stuck
	payload := make([]byte, 100)
	payload[0] = 0x10
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 42, PayloadType: 96}, Payload: payload}
	for i := range fanoutMaxSlots {
		pkt.SequenceNumber = uint16(i)
		forwardPacket(t, tr, lr, &pkt, pool, chunk)
	}
	if got := len(lr.fan.ring); got != fanoutMaxSlots {
		t.Fatalf("ring has %d slots with every packet in flight, want %d", got, fanoutMaxSlots)
	}
	next := make(chan struct{})
	go func() {
		defer close(next)
		pkt.SequenceNumber = fanoutMaxSlots
		forwardPacket(t, tr, lr, &pkt, pool, chunk)
	}()
	select {
	case <-next:
		t.Fatal("reader went past a full ring")
	case <-time.After(50 * time.Millisecond):
	}
	close(stuck.release)
	select {
	case <-next:
	case <-time.After(30 * time.Second):
		t.Fatal("reader still blocked after the worker was released")
	}
	lr.fan.wait()
	if got := len(lr.fan.ring); got != fanoutMaxSlots {
		t.Fatalf("ring grew to %d slots, want at most %d", got, fanoutMaxSlots)
	}
	if stuck.n != fanoutMaxSlots+1 {
		t.Fatalf("stalled subscriber got %d packets, want %d", stuck.n, fanoutMaxSlots+1)
	}
}

// TestFanoutDropsLatePackets: chunk jobs that waited in a worker's queue
// longer than the pool's maxDelay are dropped, not written late; the
// reader's own chunk is unaffected.
func TestFanoutDropsLatePackets(t *testing.T) {
	const subs, chunk, packets = 8, 4, 10
	tr, lr, pool := newForwardFixture(t, subs)
	dts := *tr.downTracks.Load()
	stuck := &blockingWriter{release: make(chan struct{}), entered: make(chan struct{}, 1)}
	dts[chunk].writer = stuck
	payload := make([]byte, 100)
	payload[0] = 0x10
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 42, PayloadType: 96}, Payload: payload}
	forwardPacket(t, tr, lr, &pkt, pool, chunk)
	select {
	case <-stuck.entered: // the worker is inside the first packet's write
	case <-time.After(30 * time.Second):
		t.Fatal("worker never started the first packet")
	}
	pool.maxDelay = int64(time.Millisecond) // read by this goroutine only
	for i := 1; i < packets; i++ {
		pkt.SequenceNumber = uint16(i)
		forwardPacket(t, tr, lr, &pkt, pool, chunk)
	}
	time.Sleep(5 * time.Millisecond) // every queued job is now late
	close(stuck.release)
	lr.fan.wait()
	// Chunk 0 runs on the other worker: its first packet (queued with no
	// deadline to speak of) was written, the others may have been late too
	// on a loaded machine.
	for i, dt := range dts[:chunk] {
		if n := dt.writer.(*discardWriter).n; n < 1 || n > packets {
			t.Fatalf("chunk-0 subscriber %d got %d packets, want 1..%d", i, n, packets)
		}
	}
	// The stalled worker was inside the first packet's write: that one
	// completes; the other packets of its chunk were late.
	if stuck.n != 1 {
		t.Fatalf("stalled subscriber got %d packets, want 1 (the rest dropped as late)", stuck.n)
	}
	for i, dt := range dts[chunk+1:] {
		if n := dt.writer.(*discardWriter).n; n != 1 {
			t.Fatalf("subscriber %d behind the stall got %d packets, want 1", chunk+1+i, n)
		}
	}
}
