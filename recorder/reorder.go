package recorder

import "github.com/pion/rtp"

// reorderBuffer puts RTP packets back in sequence-number order. Packets that
// arrive in order pass straight through without being copied; a packet that
// arrives early waits (copied) until its predecessors come or until too many
// packets wait, at which point the missing ones are declared lost. Late
// packets (behind the emitted point) and duplicates are dropped.
//
// Not safe for concurrent use; the owning trackWriter serialises calls.
type reorderBuffer struct {
	slots   []*rtp.Packet
	mask    uint16
	next    uint16 // the next sequence number to emit
	waiting int    // packets in slots
	started bool
	// dropped counts late or duplicate packets.
	dropped uint64
}

// emitFunc receives packets in order; lost is the number of sequence
// numbers skipped right before p.
type emitFunc func(p *rtp.Packet, lost int) error

// newReorderBuffer holds up to size packets; size must be a power of two.
func newReorderBuffer(size int) *reorderBuffer {
	return &reorderBuffer{slots: make([]*rtp.Packet, size), mask: uint16(size - 1)} //nolint:gosec // size is a small constant
}

// push accepts p and emits everything that became ready.
func (b *reorderBuffer) push(p *rtp.Packet, emit emitFunc) error {
	if !b.started {
		b.started = true
		b.next = p.SequenceNumber
	}
	d := int16(p.SequenceNumber - b.next) //nolint:gosec // serial-number arithmetic (RFC 1982)
	switch {
	case d < 0:
		b.dropped++
		return nil
	case d == 0 && b.waiting == 0:
		b.next++
		return emit(p, 0)
	case int(d) >= len(b.slots):
		// Far ahead: a burst of loss or a sender restart. Give up on
		// everything missing before p.
		if err := b.flush(emit); err != nil {
			return err
		}
		lost := int(int16(p.SequenceNumber - b.next)) //nolint:gosec // serial-number arithmetic
		b.next = p.SequenceNumber + 1
		return emit(p, lost)
	}
	i := p.SequenceNumber & b.mask
	if b.slots[i] != nil {
		b.dropped++
		return nil
	}
	b.slots[i] = clonePacket(p)
	b.waiting++
	if err := b.drain(emit); err != nil {
		return err
	}
	// Waiting for more than half the window: the gap will not fill.
	for b.waiting > len(b.slots)/2 {
		if err := b.skip(emit); err != nil {
			return err
		}
	}
	return nil
}

// drain emits the contiguous run starting at next.
func (b *reorderBuffer) drain(emit emitFunc) error {
	return b.drainLost(emit, 0)
}

func (b *reorderBuffer) drainLost(emit emitFunc, lost int) error {
	for {
		i := b.next & b.mask
		p := b.slots[i]
		if p == nil || p.SequenceNumber != b.next {
			return nil
		}
		b.slots[i] = nil
		b.waiting--
		b.next++
		if err := emit(p, lost); err != nil {
			return err
		}
		lost = 0
	}
}

// skip declares the packets before the oldest waiting one lost and emits
// from there.
func (b *reorderBuffer) skip(emit emitFunc) error {
	for lost := 1; lost <= len(b.slots); lost++ {
		b.next++
		if p := b.slots[b.next&b.mask]; p != nil && p.SequenceNumber == b.next {
			return b.drainLost(emit, lost)
		}
	}
	return nil
}

// flush emits every waiting packet in order, counting the holes as lost.
func (b *reorderBuffer) flush(emit emitFunc) error {
	for b.waiting > 0 {
		if err := b.skip(emit); err != nil {
			return err
		}
	}
	return nil
}

// clonePacket copies the parts of p the writers use, so that the caller may
// reuse p's buffers.
func clonePacket(p *rtp.Packet) *rtp.Packet {
	c := &rtp.Packet{Header: p.Header}
	c.CSRC = nil
	c.Extensions = nil
	c.Payload = append([]byte(nil), p.Payload...)
	return c
}
