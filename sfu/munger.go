package sfu

import "github.com/pion/rtp"

// munger rewrites sequence numbers and timestamps of one outgoing stream so
// that the subscriber sees a single continuous RTP stream (RFC 3550 §5.1)
// while the SFU forwards different sources into it: another simulcast layer,
// the same layer after a pause, or a restarted publisher with a new SSRC.
//
// Within one source the mapping is a fixed offset, so reordered packets and
// retransmissions from the publisher keep their relative position. At a
// switch the next output sequence number is last+1 (no gap, so the receiver
// does not NACK packets it was never meant to get) and the output timestamp
// advances by the wall-clock time since the last forwarded packet.
//
// A munger is not safe for concurrent use; its DownTrack serialises calls.
type munger struct {
	clockRate uint32
	started   bool

	ssrc      uint32 // source SSRC currently mapped
	firstSeq  uint16 // first source sequence number after the last switch
	highestIn uint16 // highest source sequence number seen since the switch

	seqOffset uint16
	tsOffset  uint32

	lastSeq uint16 // last output sequence number (of the highest packet)
	lastTS  uint32 // last output timestamp
	lastAt  int64  // monotonic nanoseconds when lastTS was sent

	// Padding inserted by the prober takes output sequence numbers, so the
	// offset grows by one per padding packet. Late packets of the source
	// from before the most recent padding keep the offset they had then
	// (only the latest padding point is remembered: a packet later than two
	// probes is rare and would at worst be dropped by the receiver as a
	// duplicate).
	padActive bool
	padFrom   uint16 // highest source sequence number when padding began
	padOffset uint16 // seqOffset that applies up to padFrom
}

func newMunger(clockRate uint32) munger {
	if clockRate == 0 {
		clockRate = 90000
	}
	return munger{clockRate: clockRate}
}

// switchTo maps a new source starting at h, which the caller has checked is
// a valid switch point (a keyframe for video). now is monotonic nanoseconds.
func (m *munger) switchTo(h *rtp.Header, now int64) {
	if m.started {
		outSeq := m.lastSeq + 1
		m.seqOffset = outSeq - h.SequenceNumber
		delta := uint32(1)
		if elapsed := now - m.lastAt; elapsed > 0 {
			if d := uint32(uint64(elapsed) * uint64(m.clockRate) / 1e9); d > 0 {
				delta = d
			}
		}
		m.tsOffset = (m.lastTS + delta) - h.Timestamp
	}
	m.started = true
	m.ssrc = h.SSRC
	m.firstSeq = h.SequenceNumber
	m.highestIn = h.SequenceNumber - 1
	m.padActive = false
}

// pad returns the sequence number and timestamp of one padding-only packet
// inserted after the last forwarded one (RFC 3550 §5.1: padding packets
// take sequence numbers; they repeat the last timestamp, as libwebrtc's
// do). The caller has checked m.started.
func (m *munger) pad() (seq uint16, ts uint32) {
	if !m.padActive || m.padFrom != m.highestIn {
		m.padActive = true
		m.padFrom = m.highestIn
		m.padOffset = m.seqOffset
	}
	m.seqOffset++
	m.lastSeq++
	return m.lastSeq, m.lastTS
}

// rewrite returns the output sequence number and timestamp for h, or
// ok=false when the packet must be dropped (a duplicate, or older than the
// last switch point).
func (m *munger) rewrite(h *rtp.Header, now int64) (seq uint16, ts uint32, ok bool) {
	diff := int16(h.SequenceNumber - m.highestIn)
	switch {
	case diff > 0:
		m.highestIn = h.SequenceNumber
		seq = h.SequenceNumber + m.seqOffset
		ts = h.Timestamp + m.tsOffset
		m.lastSeq, m.lastTS, m.lastAt = seq, ts, now
		return seq, ts, true
	case diff == 0:
		return 0, 0, false
	case int16(h.SequenceNumber-m.firstSeq) < 0:
		// Belongs to the stream before the switch point.
		return 0, 0, false
	case m.padActive && int16(h.SequenceNumber-m.padFrom) <= 0:
		// Late packet from before the latest padding: its place is before it.
		return h.SequenceNumber + m.padOffset, h.Timestamp + m.tsOffset, true
	default:
		// Late or retransmitted packet of the current source: keep its place.
		return h.SequenceNumber + m.seqOffset, h.Timestamp + m.tsOffset, true
	}
}
