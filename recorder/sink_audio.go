package recorder

import (
	"path/filepath"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"github.com/plenaryhq/plenary/recorder/internal/container"
)

// maxSilenceFill bounds how much silence one timestamp jump may insert: 30
// minutes. A larger jump is a sender restart, not a pause, and is passed
// through unfilled.
const maxSilenceFill = 30 * 60 * container.OpusGranuleRate

// opusSink writes Opus packets to an Ogg file with Pion's oggwriter. The Ogg
// granule position counts decoded samples, not RTP time, so where the RTP
// timestamps jump (discontinuous transmission, lost packets) the sink
// inserts 20 ms silence packets to keep audio aligned with the wall clock
// and with the video.
type opusSink struct {
	t   *trackWriter
	ogg *oggwriter.OggWriter

	started  bool
	nextTS   uint32 // RTP timestamp the next packet should carry
	silence  rtp.Packet
	packets  uint64
	bytes    uint64
	silenced uint64 // silence packets inserted
}

func newOpusSink(t *trackWriter) *opusSink {
	return &opusSink{t: t, silence: rtp.Packet{Payload: container.OpusSilence}}
}

func (s *opusSink) packet(p *rtp.Packet, _ int) error {
	samples := container.OpusPacketSamples(p.Payload)
	if samples == 0 {
		return nil // empty or malformed: nothing to decode
	}
	if !s.started {
		w, err := oggwriter.New(filepath.Join(s.t.rec.dir, s.t.track.File), container.OpusGranuleRate, uint16(s.t.track.Channels)) //nolint:gosec // 1 or 2
		if err != nil {
			return err
		}
		s.ogg, s.started = w, true
		s.nextTS = p.Timestamp
		s.t.started(0, 0)
	}
	if gap := int64(int32(p.Timestamp - s.nextTS)); gap >= container.OpusSilenceSamples && gap <= maxSilenceFill { //nolint:gosec // serial-number arithmetic
		for n := gap / container.OpusSilenceSamples; n > 0; n-- {
			if err := s.write(&s.silence, len(container.OpusSilence)); err != nil {
				return err
			}
			s.silenced++
		}
	}
	if err := s.write(p, len(p.Payload)); err != nil {
		return err
	}
	s.nextTS = p.Timestamp + uint32(samples) //nolint:gosec // at most 5760
	return nil
}

func (s *opusSink) write(p *rtp.Packet, n int) error {
	if err := s.ogg.WriteRTP(p); err != nil {
		return err
	}
	s.packets++
	s.bytes += uint64(n) //nolint:gosec // n > 0
	framesWritten.WithLabelValues(KindAudio.String()).Inc()
	bytesWritten.WithLabelValues(KindAudio.String()).Add(float64(n))
	return nil
}

func (s *opusSink) close() error {
	if s.ogg == nil {
		return nil
	}
	return s.ogg.Close()
}

func (s *opusSink) totals() (frames, bytes uint64) { return s.packets, s.bytes }
