package recorder

import (
	"path/filepath"
	"time"

	"github.com/pion/rtp"

	"github.com/plenaryhq/plenary/recorder/internal/container"
)

// videoTimebase is the IVF timebase the recorder writes: the 90 kHz RTP
// video clock, so RTP timestamps are stored without rounding.
const videoTimebase = 90000

// videoSink assembles frames from ordered packets and appends them to an IVF
// file, created when the first keyframe is complete so that its header can
// carry the real frame size.
type videoSink struct {
	t     *trackWriter
	depkt depacketizer

	frame    []byte
	frameTS  uint32
	frameKey bool // the frame's first packet said keyframe
	inFrame  bool
	broken   bool // a packet of the current frame was lost
	needKey  bool // drop frames until a keyframe

	lastKeyReq time.Time

	ivf    *container.IVFWriter
	clock  extendedClock
	frames uint64
	bytes  uint64
}

func newVideoSink(t *trackWriter, d depacketizer) *videoSink {
	return &videoSink{t: t, depkt: d, needKey: true}
}

// packet handles one in-order packet; lost counts the packets missing
// before it.
func (s *videoSink) packet(p *rtp.Packet, lost int) error {
	if lost > 0 {
		// The frame in progress (and, since later frames reference it, the
		// ones after it) cannot be decoded correctly: wait for a keyframe.
		s.dropFrame()
		s.depkt.reset()
		s.wantKeyframe()
	}
	if len(p.Payload) == 0 {
		return nil // padding-only packet (RFC 3550 §5.1)
	}
	if s.inFrame && p.Timestamp != s.frameTS {
		// A new timestamp without the previous frame's marker: with no
		// loss in between, the previous frame is complete.
		if err := s.finishFrame(); err != nil {
			return err
		}
	}
	data, start, key, err := s.depkt.unpack(p.Payload)
	if err != nil {
		s.dropFrame()
		s.depkt.reset()
		s.wantKeyframe()
		return nil //nolint:nilerr // a malformed packet is counted as loss, not a write failure
	}
	if !s.inFrame {
		s.inFrame, s.frameTS, s.frameKey = true, p.Timestamp, key
		s.frame = s.frame[:0]
		// For codecs with a start bit, a frame must begin with it.
		if _, isH264 := s.depkt.(*h264Depacketizer); !isH264 && !start {
			s.broken = true
		}
	}
	s.frame = append(s.frame, data...)
	if p.Marker {
		return s.finishFrame()
	}
	return nil
}

// keyframeRequestInterval throttles RequestKeyframe: one request per
// interval is enough for the sender (RFC 4585 §6.3.1 asks senders to treat
// repeats as one anyway).
const keyframeRequestInterval = 500 * time.Millisecond

func (s *videoSink) wantKeyframe() {
	s.needKey = true
	if s.t.spec.RequestKeyframe == nil {
		return
	}
	now := s.t.rec.now()
	if !s.lastKeyReq.IsZero() && now.Sub(s.lastKeyReq) < keyframeRequestInterval {
		return
	}
	s.lastKeyReq = now
	keyframeRequests.Inc()
	s.t.spec.RequestKeyframe()
}

func (s *videoSink) dropFrame() {
	s.inFrame, s.broken = false, false
	s.frame = s.frame[:0]
}

// finishFrame writes the assembled frame unless it is broken or not
// decodable yet.
func (s *videoSink) finishFrame() error {
	defer s.dropFrame()
	if s.broken || len(s.frame) == 0 {
		s.wantKeyframe()
		return nil
	}
	key := s.depkt.keyframe(s.frame, s.frameKey)
	if s.needKey && !key {
		return nil
	}
	s.needKey = false
	frame := s.depkt.fixup(s.frame, key)
	if s.ivf == nil {
		w, h := s.depkt.size(frame)
		f, err := container.CreateIVF(filepath.Join(s.t.rec.dir, s.t.track.File), container.IVFHeader{
			FourCC: s.depkt.fourcc(), Width: uint16(w), Height: uint16(h), //nolint:gosec // 14-bit values
			TimebaseDen: videoTimebase, TimebaseNum: 1,
		})
		if err != nil {
			return err
		}
		s.ivf = f
		s.t.started(w, h)
	} else if key {
		if w, h := s.depkt.size(frame); w > 0 && h > 0 {
			s.t.resized(w, h)
		}
	}
	n, err := s.ivf.WriteFrame(frame, s.clock.extend(s.frameTS))
	if err != nil {
		return err
	}
	s.frames++
	s.bytes += uint64(n) //nolint:gosec // n > 0
	framesWritten.WithLabelValues(KindVideo.String()).Inc()
	bytesWritten.WithLabelValues(KindVideo.String()).Add(float64(n))
	return nil
}

// close writes a complete pending frame and closes the file.
func (s *videoSink) close() error {
	var err error
	if s.inFrame && !s.broken {
		err = s.finishFrame()
	}
	if s.ivf != nil {
		err = firstErr(err, s.ivf.Close())
	}
	return err
}

func (s *videoSink) totals() (frames, bytes uint64) { return s.frames, s.bytes }

// extendedClock turns 32-bit RTP timestamps into a 64-bit count from the
// first one, across wrap-around. Timestamps that step backwards (reordered
// frames never reach here, but a sender restart may) are clamped so the file
// stays monotonic.
type extendedClock struct {
	started bool
	last    uint32
	value   uint64
}

func (c *extendedClock) extend(ts uint32) uint64 {
	if !c.started {
		c.started, c.last = true, ts
		return 0
	}
	d := int32(ts - c.last) //nolint:gosec // serial-number arithmetic
	c.last = ts
	if d > 0 {
		c.value += uint64(d)
	} else {
		c.value++ // keep timestamps strictly increasing
	}
	return c.value
}
