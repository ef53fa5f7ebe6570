package sfu

import "fmt"

// Pinned layers (TrackPreference.Pin). A recorder, or a relay that must pass
// on the best a publisher sends, asks for a layer whatever its own
// congestion estimate says: the allocator then forwards that layer (the
// switch still waits for its keyframe) and never downgrades it. The
// subscriber accepts the consequence: if its path cannot carry the layer,
// packets are lost and NACKed rather than the layer lowered.

// setPin records the pin of pref for track id (LayerNone: none), after
// checking it names a layer.
func (p *Participant) setPin(id TrackID, pref TrackPreference) error {
	if pref.Pin > LayerHigh {
		return fmt.Errorf("%w: pin %d", ErrInvalidLayer, pref.Pin)
	}
	pin := pref.Pin
	if pref.Paused {
		pin = LayerNone // paused wins: nothing is forwarded
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.subs[id]; !ok {
		return fmt.Errorf("%w: %s", ErrNotSubscribed, id)
	}
	if pin == LayerNone {
		delete(p.pins, id)
	} else {
		p.pins[id] = pin
	}
	return nil
}

// pinnedLayer returns the layer to forward for the subscribed track id if
// the subscriber pinned one, else LayerNone: the pinned layer if the track
// has it (even paused by dynacast: pinning makes the publisher resume it),
// otherwise the highest layer below it that the track has, otherwise the
// lowest above it.
func (p *Participant) pinnedLayer(id TrackID, present [numLayers]bool) Layer {
	p.mu.Lock()
	pin := p.pins[id]
	p.mu.Unlock()
	if pin == LayerNone {
		return LayerNone
	}
	for l := pin; l >= LayerLow; l-- {
		if present[l.idx()] {
			return l
		}
	}
	for l := pin + 1; l <= LayerHigh; l++ {
		if present[l.idx()] {
			return l
		}
	}
	return LayerNone
}
