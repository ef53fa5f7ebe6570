package cascade_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// wan is a userspace stand-in for `tc netem` (this test's kernels may lack
// sch_netem): every namespace gets a TUN device on one /24, and wan moves
// IPv4 packets between the TUN devices, holding a packet between two
// regions for the configured one-way delay and dropping a share of what a
// region sends to other regions. Traffic within a region, and to and from
// the core (the root namespace: Redis and the test's own HTTP probes), is
// neither delayed nor dropped.
type wan struct {
	delay time.Duration

	mu    sync.Mutex
	ports map[netip.Addr]*wanPort

	// overshoot records how late delayed packets left (beyond the delay),
	// so the emulator's own error can be told apart from the SFU's.
	overMu    sync.Mutex
	overshoot []time.Duration

	stop chan struct{}
	wg   sync.WaitGroup
}

// wanPort is one namespace's TUN device.
type wanPort struct {
	w      *wan
	name   string
	addr   netip.Addr
	region string // "" for the core
	f      *os.File
	loss   atomic.Uint64 // drop probability × 1e6 for packets to other regions
	// dropped and forwarded count packets to other regions.
	dropped, forwarded atomic.Uint64
	queue              chan wanPacket
}

type wanPacket struct {
	due time.Time
	in  time.Time
	b   []byte
}

func newWAN(delay time.Duration) *wan {
	return &wan{delay: delay, ports: make(map[netip.Addr]*wanPort), stop: make(chan struct{})}
}

// openTUN creates TUN device name inside the network namespace at nsPath
// ("" = this process's namespace) and returns its file. The namespace is
// entered on a locked OS thread that is discarded afterwards.
func openTUN(nsPath, name string) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if nsPath != "" {
			nsf, err := os.Open(nsPath)
			if err != nil {
				ch <- result{nil, err}
				return
			}
			err = unix.Setns(int(nsf.Fd()), unix.CLONE_NEWNET)
			_ = nsf.Close()
			if err != nil {
				ch <- result{nil, fmt.Errorf("setns %s: %w", nsPath, err)}
				return
			}
		}
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{nil, fmt.Errorf("open /dev/net/tun: %w", err)}
			return
		}
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			_ = unix.Close(fd)
			ch <- result{nil, err}
			return
		}
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			_ = unix.Close(fd)
			ch <- result{nil, fmt.Errorf("TUNSETIFF %s: %w", name, err)}
			return
		}
		if err := unix.SetNonblock(fd, true); err != nil {
			_ = unix.Close(fd)
			ch <- result{nil, err}
			return
		}
		ch <- result{os.NewFile(uintptr(fd), name), nil}
	}()
	r := <-ch
	return r.f, r.err
}

// attach adds a port of region ("" = the core): packets to addr are
// written to f.
func (w *wan) attach(name string, addr netip.Addr, f *os.File, region string) *wanPort {
	p := &wanPort{w: w, name: name, addr: addr, region: region, f: f, queue: make(chan wanPacket, 65536)}
	w.mu.Lock()
	w.ports[addr] = p
	w.mu.Unlock()
	w.wg.Add(2)
	go p.readLoop()
	go p.writeLoop()
	return p
}

// setLoss makes p drop share (0..1) of the packets it sends to other regions.
func (p *wanPort) setLoss(share float64) { p.loss.Store(uint64(share * 1e6)) }

// readLoop takes the packets the namespace sends and queues them at their
// destination port.
func (p *wanPort) readLoop() {
	defer p.w.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, err := p.f.Read(buf)
		if err != nil {
			return
		}
		if n < 20 || buf[0]>>4 != 4 {
			continue // IPv4 only
		}
		dst := netip.AddrFrom4([4]byte(buf[16:20]))
		p.w.mu.Lock()
		to := p.w.ports[dst]
		p.w.mu.Unlock()
		if to == nil || to == p {
			continue
		}
		now := time.Now()
		pkt := wanPacket{in: now, due: now, b: append([]byte(nil), buf[:n]...)}
		if p.region != "" && to.region != "" && p.region != to.region {
			if l := p.loss.Load(); l > 0 && rand.Uint64N(1e6) < l {
				p.dropped.Add(1)
				continue
			}
			p.forwarded.Add(1)
			pkt.due = now.Add(p.w.delay)
		}
		select {
		case to.queue <- pkt:
		default: // queue full: dropped, like a full netem limit
		}
	}
}

// writeLoop delivers queued packets at their due time: it sleeps until
// shortly before and spins the rest, so the emulator adds little of its
// own to the delay.
func (p *wanPort) writeLoop() {
	defer p.w.wg.Done()
	for {
		var pkt wanPacket
		select {
		case <-p.w.stop:
			return
		case pkt = <-p.queue:
		}
		if d := time.Until(pkt.due); d > 300*time.Microsecond {
			time.Sleep(d - 300*time.Microsecond)
		}
		for time.Now().Before(pkt.due) {
			runtime.Gosched()
		}
		if _, err := p.f.Write(pkt.b); err != nil {
			continue
		}
		if pkt.due != pkt.in {
			late := time.Since(pkt.due)
			p.w.overMu.Lock()
			if len(p.w.overshoot) < 1_000_000 {
				p.w.overshoot = append(p.w.overshoot, late)
			}
			p.w.overMu.Unlock()
		}
	}
}

// sent returns how many packets p passed on to other regions.
func (w *wan) sent(p *wanPort) uint64 { return p.forwarded.Load() }

// resetOvershoot forgets the recorded overshoot.
func (w *wan) resetOvershoot() {
	w.overMu.Lock()
	w.overshoot = w.overshoot[:0]
	w.overMu.Unlock()
}

// overshootQuantile returns the q-quantile of how late delayed packets left.
func (w *wan) overshootQuantile(q float64) time.Duration {
	w.overMu.Lock()
	s := append([]time.Duration(nil), w.overshoot...)
	w.overMu.Unlock()
	if len(s) == 0 {
		return 0
	}
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// close stops the emulator and closes every TUN device.
func (w *wan) close() {
	close(w.stop)
	w.mu.Lock()
	for _, p := range w.ports {
		_ = p.f.Close()
	}
	w.mu.Unlock()
	w.wg.Wait()
}
