package sfu

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

// Fan-out is pipelined: a track's read goroutine writes to a small audience
// itself; a larger one it splits into chunks queued to the node's workers,
// and goes back to reading at once, into another buffer (a slot). It never
// waits for the workers' writes of a packet, only, when every slot is still
// in flight, for the oldest one.
//
// Why: with a synchronous fan-out (write everything, then read the next
// packet), one worker held up for a moment (a Pion interceptor's lock whose
// holder was preempted, the shared socket's write lock, a GC assist) held
// up the reader, hence every subscriber of the track, and the packets behind
// it queued in the publisher's receive buffer: the load tester saw 0.4–0.9 s
// stalls hitting all viewers at once (docs/benchmarks.md, SFU section).
//
// Order: chunk i of a track always goes to the same worker, whose queue is
// FIFO, so each subscriber receives a track's packets in order. A
// subscriber joining or leaving shifts the others between chunks (or the
// audience between the reader and the workers), so one
// packet may overtake another at that moment; the munger treats it as a
// late packet (rewrites it within the sequence), as it does for network
// reordering.

// fanoutQueue is the depth of one worker's queue, in chunk jobs.
const fanoutQueue = 1024

// fanoutMaxDelay: a chunk job that waited longer than this in a worker's
// queue (a node short of CPU) is dropped rather than written: a packet that
// late is useless to a real-time receiver (a browser's jitter buffer is
// 50–200 ms), and writing it would only make the next ones later. The
// subscribers see loss, which NACK and PLI repair.
const fanoutMaxDelay = 250 * time.Millisecond

var metricFanoutDropped = prometheus.NewCounter(prometheus.CounterOpts{
	Namespace: metrics.Namespace, Subsystem: "sfu", Name: "fanout_dropped_packets_total",
	Help: "Packets not forwarded to a subscriber because the node's fan-out workers were more than 250 ms behind.",
})

func init() { metrics.MustRegister(metricFanoutDropped) }

// Slots per layer: a track starts with one and grows, up to
// fanoutMaxSlots, only when the workers fall behind, so a room of three
// costs one buffer per received stream and a large stage keeps the reader
// going through a worker's pause of about fanoutMaxSlots packets.
const fanoutMaxSlots = 256

// fanoutPool is a fixed set of goroutines shared by every track of the
// node, each with its own FIFO queue.
type fanoutPool struct {
	queues   []chan *fanoutJob
	maxDelay int64         // fanoutMaxDelay in ns; tests change it
	next     atomic.Uint32 // spreads tracks' chunks over the workers
	done     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

func newFanoutPool(workers int) *fanoutPool {
	p := &fanoutPool{done: make(chan struct{}), queues: make([]chan *fanoutJob, workers), maxDelay: int64(fanoutMaxDelay)}
	p.wg.Add(workers)
	for i := range p.queues {
		p.queues[i] = make(chan *fanoutJob, fanoutQueue)
		go p.work(p.queues[i])
	}
	return p
}

func (p *fanoutPool) work(q chan *fanoutJob) {
	defer p.wg.Done()
	for {
		select {
		case j := <-q:
			j.run()
		case <-p.done:
			// Finish what was queued, so no reader waits for a slot forever.
			for {
				select {
				case j := <-q:
					j.run()
				default:
					return
				}
			}
		}
	}
}

// submit queues j on worker w. A full queue blocks the reader (the workers
// are that far behind); after close, the caller's goroutine runs j.
func (p *fanoutPool) submit(w int, j *fanoutJob) {
	select {
	case p.queues[w] <- j:
		return
	default:
	}
	select {
	case p.queues[w] <- j:
	case <-p.done:
		j.run()
	}
}

func (p *fanoutPool) close() {
	p.once.Do(func() {
		close(p.done)
		p.wg.Wait()
	})
}

// fanoutSlot is one received packet in flight: its buffer, the parsed
// packet (aliasing the buffer) and the chunk jobs writing it.
type fanoutSlot struct {
	buf     [mtu]byte
	pkt     rtp.Packet
	pending atomic.Int32   // jobs not finished
	wg      sync.WaitGroup // the same jobs, to wait for them
	jobs    []fanoutJob
}

func (s *fanoutSlot) busy() bool { return s.pending.Load() != 0 }

// fanoutJob writes one packet to a chunk of down-tracks.
type fanoutJob struct {
	t     *publishedTrack
	slot  *fanoutSlot
	dts   []*DownTrack
	layer Layer
	kf    bool
	now   int64
	late  int64 // drop the job if it starts after this (monotonic ns)
}

func (j *fanoutJob) run() {
	pkt := &j.slot.pkt
	if nanotime() > j.late {
		metricFanoutDropped.Add(float64(len(j.dts)))
	} else {
		sent := 0
		for _, dt := range j.dts {
			if dt.writeRTP(j.layer, pkt, j.kf, j.now) {
				sent++
			}
		}
		j.t.countSent(sent, len(pkt.Payload))
	}
	s := j.slot
	j.dts = nil // do not keep unsubscribed down-tracks alive
	s.pending.Add(-1)
	s.wg.Done()
}

// fanout is the per-layer fan-out state, owned by the layer's reader: slots
// and their job structs are reused packet after packet, so fan-out does not
// allocate once the ring has grown to what the audience needs.
type fanout struct {
	ring []*fanoutSlot
	i    int
	base int // worker of the track's chunk 1, once based
	// based: base was chosen (at the first split fan-out)
	based bool
}

// acquire returns a slot whose previous packet is fully written, for the
// next packet.
func (f *fanout) acquire() *fanoutSlot {
	if len(f.ring) == 0 {
		f.ring = append(f.ring, &fanoutSlot{})
	}
	f.i = (f.i + 1) % len(f.ring)
	s := f.ring[f.i]
	if !s.busy() {
		return s
	}
	if len(f.ring) < fanoutMaxSlots {
		s = &fanoutSlot{}
		f.ring = slices.Insert(f.ring, f.i, s)
		return s
	}
	s.wg.Wait()
	return s
}

// wait returns when every packet handed to the workers has been written.
func (f *fanout) wait() {
	for _, s := range f.ring {
		s.wg.Wait()
	}
}

// forward writes the packet in s to every down-track: a small audience
// (one chunk) before it returns, on the reader's goroutine; a larger one
// on the pool's workers, chunk by chunk, after. The reader keeps none of a
// large audience for itself, so that its own pace (reading, and the
// publisher's receive buffer behind it) never depends on the writes. It
// returns how many down-tracks it sent the packet to itself; the workers
// count theirs (publishedTrack.countSent).
func (f *fanout) forward(pool *fanoutPool, chunk int, t *publishedTrack, dts []*DownTrack, layer Layer, s *fanoutSlot, kf bool, now int64) int {
	pkt := &s.pkt
	if pool == nil || chunk <= 0 || len(dts) <= chunk {
		sent := 0
		for _, dt := range dts {
			if dt.writeRTP(layer, pkt, kf, now) {
				sent++
			}
		}
		return sent
	}
	if !f.based {
		f.base, f.based = int(pool.next.Add(1)), true
	}
	n := (len(dts) + chunk - 1) / chunk
	if cap(s.jobs) < n {
		s.jobs = make([]fanoutJob, n)
	}
	s.jobs = s.jobs[:n]
	s.pending.Add(int32(n))
	s.wg.Add(n)
	for i := range n {
		end := min((i+1)*chunk, len(dts))
		j := &s.jobs[i]
		*j = fanoutJob{t: t, slot: s, dts: dts[i*chunk : end], layer: layer, kf: kf, now: now, late: now + pool.maxDelay}
		pool.submit((f.base+i)%len(pool.queues), j)
	}
	return 0
}
