package recorder

import (
	"fmt"
	"strings"
	"sync"

	"github.com/pion/rtp"
)

// TrackSpec describes a track to record.
type TrackSpec struct {
	// Kind is audio or video; required.
	Kind TrackKind
	// Codec is the RTP MIME type (case-insensitive): video/VP8, video/VP9,
	// video/H264 or audio/opus.
	Codec string
	// Channels of an Opus track. Default 2 (WebRTC always negotiates
	// opus/48000/2).
	Channels int
	// Participant, SourceID and StreamID identify the track's publisher,
	// SFU track and MediaStream, for the manifest.
	Participant string
	SourceID    string
	StreamID    string
	// RequestKeyframe, when set, is called after video loss so that the
	// sender produces a keyframe (an RTCP PLI, RFC 4585 §6.3.1) and
	// recording can resume. It is called from WriteRTP, throttled, and must
	// not block.
	RequestKeyframe func()
}

// reorder window sizes (packets): about 150 ms of 720p video and 160 ms of
// Opus before a missing packet is declared lost.
const (
	videoReorderWindow = 64
	audioReorderWindow = 16
)

// sink receives one track's packets in sequence order.
type sink interface {
	packet(p *rtp.Packet, lost int) error
	close() error
	totals() (frames, bytes uint64)
}

// trackWriter is the Writer returned by Recording.AddTrack.
type trackWriter struct {
	rec   *Recording
	idx   int
	spec  TrackSpec
	track Track // immutable copy of the manifest entry's identity fields

	mu      sync.Mutex
	closed  bool
	reorder *reorderBuffer
	sink    sink
	lost    uint64
	err     error // first write error; later writes return it
	emit    emitFunc
}

func newTrackWriter(rec *Recording, idx int, spec TrackSpec, tr Track) (*trackWriter, error) {
	w := &trackWriter{rec: rec, idx: idx, spec: spec, track: tr}
	switch spec.Kind {
	case KindVideo:
		d, err := newDepacketizer(spec.Codec)
		if err != nil {
			return nil, err
		}
		w.sink = newVideoSink(w, d)
		w.reorder = newReorderBuffer(videoReorderWindow)
	case KindAudio:
		if normalizeMime(spec.Codec) != "audio/opus" {
			return nil, fmt.Errorf("%w: %s", ErrUnsupportedCodec, spec.Codec)
		}
		w.sink = newOpusSink(w)
		w.reorder = newReorderBuffer(audioReorderWindow)
	default:
		return nil, fmt.Errorf("%w: kind %s", ErrUnsupportedCodec, spec.Kind)
	}
	kind := spec.Kind.String()
	w.emit = func(p *rtp.Packet, lost int) error {
		if lost > 0 {
			w.lost += uint64(lost) //nolint:gosec // lost > 0
			packetsLost.WithLabelValues(kind).Add(float64(lost))
		}
		return w.sink.packet(p, lost)
	}
	return w, nil
}

// WriteRTP implements Writer.
func (w *trackWriter) WriteRTP(p *rtp.Packet) error {
	if p == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	packetsReceived.WithLabelValues(w.spec.Kind.String()).Inc()
	if err := w.reorder.push(p, w.emit); err != nil {
		w.err = fmt.Errorf("recorder: track %s: %w", w.track.ID, err)
		writeErrors.WithLabelValues(w.spec.Kind.String()).Inc()
		return w.err
	}
	return nil
}

// Close implements Writer.
func (w *trackWriter) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	var err error
	if w.err == nil {
		err = w.reorder.flush(w.emit)
	}
	err = firstErr(err, w.sink.close())
	frames, bytes := w.sink.totals()
	lost := w.lost
	w.mu.Unlock()
	tracksActive.WithLabelValues(w.spec.Kind.String()).Dec()
	err = firstErr(err, w.rec.trackStopped(w.idx, frames, bytes, lost))
	if err != nil {
		return fmt.Errorf("recorder: close track %s: %w", w.track.ID, err)
	}
	return nil
}

// started is called by the sink when the first frame is written.
func (w *trackWriter) started(width, height int) {
	w.rec.trackStarted(w.idx, width, height)
}

// resized is called by the video sink when a keyframe declares a new size.
func (w *trackWriter) resized(width, height int) {
	w.rec.trackResized(w.idx, width, height)
}

// normalizeMime lower-cases an RTP MIME type for comparison.
func normalizeMime(m string) string { return strings.ToLower(strings.TrimSpace(m)) }
