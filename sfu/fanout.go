package sfu

import (
	"sync"

	"github.com/pion/rtp"
)

// fanoutPool is a fixed set of goroutines shared by every track of the node.
// A track whose audience is larger than one chunk hands chunks of
// subscribers to idle workers and writes one chunk itself, so a 20,000-viewer
// stage uses every core while a 3-person meeting never leaves its read
// goroutine. Hand-off is a non-blocking send on an unbuffered channel: if no
// worker is idle the reader writes the chunk itself, so a busy pool degrades
// to sequential fan-out, never to a stall or a deadlock.
type fanoutPool struct {
	jobs chan *fanoutJob
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func newFanoutPool(workers int) *fanoutPool {
	p := &fanoutPool{jobs: make(chan *fanoutJob), done: make(chan struct{})}
	p.wg.Add(workers)
	for range workers {
		go p.work()
	}
	return p
}

func (p *fanoutPool) work() {
	defer p.wg.Done()
	for {
		select {
		case j := <-p.jobs:
			j.run()
		case <-p.done:
			return
		}
	}
}

func (p *fanoutPool) close() {
	p.once.Do(func() {
		close(p.done)
		p.wg.Wait()
	})
}

// fanoutJob writes one packet to a chunk of down-tracks.
type fanoutJob struct {
	dts   []*DownTrack
	layer Layer
	pkt   *rtp.Packet
	kf    bool
	now   int64
	wg    *sync.WaitGroup
	sent  int // written by run, read by forward after wg.Wait
}

func (j *fanoutJob) run() {
	for _, dt := range j.dts {
		if dt.writeRTP(j.layer, j.pkt, j.kf, j.now) {
			j.sent++
		}
	}
	j.wg.Done()
}

// fanout is the per-reader state for parallel fan-out: job structs are
// reused packet after packet, so fan-out does not allocate.
type fanout struct {
	jobs []fanoutJob
	wg   sync.WaitGroup
}

// forward writes pkt to every down-track and returns when all writes are
// done, so the caller may reuse pkt's buffer. It returns how many down-tracks
// sent the packet.
func (f *fanout) forward(pool *fanoutPool, chunk int, dts []*DownTrack, layer Layer, pkt *rtp.Packet, kf bool, now int64) int {
	sent := 0
	if pool == nil || chunk <= 0 || len(dts) <= chunk {
		for _, dt := range dts {
			if dt.writeRTP(layer, pkt, kf, now) {
				sent++
			}
		}
		return sent
	}
	n := (len(dts) + chunk - 1) / chunk
	if cap(f.jobs) < n {
		f.jobs = make([]fanoutJob, n)
	}
	f.jobs = f.jobs[:n]
	for i := 1; i < n; i++ {
		end := min((i+1)*chunk, len(dts))
		j := &f.jobs[i]
		*j = fanoutJob{dts: dts[i*chunk : end], layer: layer, pkt: pkt, kf: kf, now: now, wg: &f.wg}
		f.wg.Add(1)
		select {
		case pool.jobs <- j:
		default:
			j.run()
		}
	}
	for _, dt := range dts[:chunk] {
		if dt.writeRTP(layer, pkt, kf, now) {
			sent++
		}
	}
	f.wg.Wait()
	for i := range f.jobs {
		sent += f.jobs[i].sent
		f.jobs[i] = fanoutJob{}
	}
	return sent
}
