package loadtest

import "math/bits"

// seqSet tracks which room sequence numbers a bot received after its join,
// for completeness: at the end of the run every number in (start, head]
// was either delivered or is missing. It keeps a bitmap from the lowest
// number not yet received, dropping whole received words, so a bot that
// receives everything holds a few words whatever the run's length.
//
// It is not safe for concurrent use; the chat bot guards it.
type seqSet struct {
	start   uint64   // the room's head at join; numbers above it count
	base    uint64   // sequence number of bit 0 of words[0]
	words   []uint64 // received numbers from base on
	below   uint64   // received numbers compacted away (all in (start, base))
	dups    uint64   // numbers received twice (or after being written off)
	written uint64   // numbers written off as missing when the window overflowed
	started bool
	early   []uint64 // numbers received before the start was known
}

// maxSeqWords bounds the bitmap: 256 words are 16,384 sequence numbers
// behind the oldest missing one. Beyond that the oldest word is written
// off (its holes count as missing).
const maxSeqWords = 256

// maxEarly bounds numbers kept before the start is known (the join
// backlog is 50 events by default).
const maxEarly = 128

// begin sets the room's head at join; only numbers after it are expected.
func (s *seqSet) begin(head uint64) {
	if s.started {
		return
	}
	s.started = true
	s.start, s.base = head, head+1
	early := s.early
	s.early = nil
	for _, n := range early {
		s.add(n)
	}
}

// add records the receipt of sequence number n. It reports whether n is
// a first delivery within the bot's window (after its join), as opposed to
// history replayed at join, a duplicate, or a number received before the
// join's position was known.
func (s *seqSet) add(n uint64) bool {
	if !s.started {
		if len(s.early) < maxEarly {
			s.early = append(s.early, n)
		}
		return false
	}
	if n <= s.start {
		return false // replayed history from before the join
	}
	if n < s.base {
		// Received before, or written off as missing long ago: either way
		// not a delivery that counts.
		s.dups++
		return false
	}
	off := n - s.base
	w := int(off / 64)
	for w >= maxSeqWords {
		s.writeOff()
		off = n - s.base
		w = int(off / 64)
	}
	for len(s.words) <= w {
		s.words = append(s.words, 0)
	}
	bit := uint64(1) << (off % 64)
	if s.words[w]&bit != 0 {
		s.dups++
		return false
	}
	s.words[w] |= bit
	s.compact()
	return true
}

// compact drops leading words whose numbers were all received.
func (s *seqSet) compact() {
	i := 0
	for i < len(s.words)-1 && s.words[i] == ^uint64(0) {
		i++
	}
	if i > 0 {
		s.words = append(s.words[:0], s.words[i:]...)
		s.below += uint64(i) * 64
		s.base += uint64(i) * 64
	}
}

// writeOff drops the oldest word, counting its holes as missing.
func (s *seqSet) writeOff() {
	if len(s.words) == 0 {
		s.base += 64
		s.written += 64
		return
	}
	got := uint64(bits.OnesCount64(s.words[0]))
	s.below += got
	s.written += 64 - got
	s.words = append(s.words[:0], s.words[1:]...)
	s.base += 64
}

// count returns, for sequence numbers in (start, head], how many were
// expected and how many delivered.
func (s *seqSet) count(head uint64) (expected, delivered uint64) {
	if !s.started || head <= s.start {
		return 0, 0
	}
	expected = head - s.start
	// Everything below base that was not written off was received.
	delivered = min(s.below, expected)
	for i, w := range s.words {
		lo := s.base + uint64(i)*64
		if lo > head {
			break
		}
		if hi := lo + 63; hi > head {
			w &= (uint64(1) << (head - lo + 1)) - 1
		}
		delivered += uint64(bits.OnesCount64(w))
	}
	return expected, min(delivered, expected)
}
