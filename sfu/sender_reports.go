package sfu

import (
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// senderReportInterval is how often a subscriber connection reports on each
// of its streams (RFC 3550 §6.2 allows 5 s; browsers use SRs for lip sync
// and RTT, so 1 s as Pion's default).
const senderReportInterval = time.Second

// senderReportFactory builds the subscriber connections' RTCP sender report
// interceptor (RFC 3550 §6.4.1). It replaces Pion's report.SenderInterceptor,
// whose per-stream mutex is taken by every forwarded packet and, once a
// second, by the report goroutine, which allocated the report while
// holding it. Caught in a runtime trace of the viewer-capacity load test:
// during a GC cycle that goroutine was drafted into a mark assist inside
// the lock, preempted, and left runnable for 0.73 s; the fan-out worker
// writing to that subscriber waited on the lock, the track's reader waited
// on the worker, and every viewer lost 0.8 s of video. Here the packet path
// takes only its stream's lock, for a few stores, and nothing is allocated
// or called while any stream lock is held.
type senderReportFactory struct {
	interval time.Duration
}

// NewInterceptor implements interceptor.Factory.
func (f senderReportFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	interval := f.interval
	if interval <= 0 {
		interval = senderReportInterval
	}
	return &senderReports{interval: interval, streams: map[uint32]*srStream{}, done: make(chan struct{})}, nil
}

type senderReports struct {
	interceptor.NoOp
	interval time.Duration

	mu      sync.Mutex // guards streams and closed; never taken per packet
	streams map[uint32]*srStream
	closed  bool
	done    chan struct{}
	wg      sync.WaitGroup
}

// srStream is what a sender report says about one sent stream.
type srStream struct {
	ssrc      uint32
	clockRate float64

	mu      sync.Mutex
	packets uint32
	octets  uint32
	lastSeq uint16
	// lastTS was sent at lastAt: the RTP timestamp of the first packet of
	// the latest frame, so that a frame's packetization time does not skew
	// the report.
	lastTS uint32
	lastAt time.Time
}

// BindRTCPWriter implements interceptor.Interceptor: it starts the
// connection's report loop.
func (s *senderReports) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.wg.Add(1)
		go s.loop(w)
	}
	return w
}

// BindLocalStream implements interceptor.Interceptor.
func (s *senderReports) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	st := &srStream{ssrc: info.SSRC, clockRate: float64(info.ClockRate)}
	s.mu.Lock()
	s.streams[info.SSRC] = st
	s.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		st.sent(time.Now(), h, len(payload))
		return w.Write(h, payload, a)
	})
}

// UnbindLocalStream implements interceptor.Interceptor.
func (s *senderReports) UnbindLocalStream(info *interceptor.StreamInfo) {
	s.mu.Lock()
	delete(s.streams, info.SSRC)
	s.mu.Unlock()
}

// Close implements interceptor.Interceptor; it stops the report loop.
func (s *senderReports) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *senderReports) loop(w interceptor.RTCPWriter) {
	defer s.wg.Done()
	t := time.NewTicker(s.interval)
	defer t.Stop()
	var streams []*srStream
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		s.mu.Lock()
		streams = streams[:0]
		for _, st := range s.streams {
			streams = append(streams, st)
		}
		s.mu.Unlock()
		if pkts := reports(streams, time.Now()); len(pkts) > 0 {
			// One compound RTCP packet for all the connection's streams.
			_, _ = w.Write(pkts, interceptor.Attributes{})
		}
	}
}

// reports returns a sender report for each stream that has sent a packet
// (RFC 3550 §6.4: one that has not sends none).
func reports(streams []*srStream, now time.Time) []rtcp.Packet {
	var pkts []rtcp.Packet
	for _, st := range streams {
		if sr, ok := st.report(now); ok {
			pkts = append(pkts, &sr)
		}
	}
	return pkts
}

// sent records one packet (the forwarding path: no allocation).
func (st *srStream) sent(now time.Time, h *rtp.Header, size int) {
	st.mu.Lock()
	diff := h.SequenceNumber - st.lastSeq
	if st.packets == 0 || (diff > 0 && diff < 1<<15) {
		// First packet, or in order: a late packet does not move the clock.
		st.lastSeq = h.SequenceNumber
		if h.Timestamp != st.lastTS || st.packets == 0 {
			st.lastTS, st.lastAt = h.Timestamp, now
		}
	}
	st.packets++
	st.octets += uint32(size) //nolint:gosec // wraps by definition (RFC 3550 §6.4.1)
	st.mu.Unlock()
}

// report is the stream's sender report at now: the RTP timestamp is the
// last sent one advanced by the time since, at the clock rate.
func (st *srStream) report(now time.Time) (rtcp.SenderReport, bool) {
	st.mu.Lock()
	packets, octets, ts, at := st.packets, st.octets, st.lastTS, st.lastAt
	st.mu.Unlock()
	if packets == 0 {
		return rtcp.SenderReport{}, false
	}
	return rtcp.SenderReport{
		SSRC:        st.ssrc,
		NTPTime:     ntpTime(now),
		RTPTime:     ts + uint32(now.Sub(at).Seconds()*st.clockRate),
		PacketCount: packets,
		OctetCount:  octets,
	}, true
}

// ntpTime is t as a 64-bit NTP timestamp (RFC 5905 §6: seconds since 1900
// in the high 32 bits, the fraction in the low 32).
func ntpTime(t time.Time) uint64 {
	const unixToNTP = 2208988800 // seconds from 1900-01-01 to 1970-01-01
	ns := t.UnixNano()
	secs := uint64(ns/1e9) + unixToNTP
	frac := (uint64(ns%1e9) << 32) / 1e9
	return secs<<32 | frac
}
