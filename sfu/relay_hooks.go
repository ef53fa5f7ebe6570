package sfu

import "github.com/plenaryhq/plenary/internal/tenant"

// TrackSubscribers returns how many participants are subscribed to the
// track id in the room (0 when it is unknown). Package relay polls it on an
// edge node to tell the origin which relayed tracks anyone still wants.
func (r *Room) TrackSubscribers(id TrackID) int {
	r.mu.Lock()
	t := r.tracks[id]
	r.mu.Unlock()
	if t == nil {
		return 0
	}
	return len(*t.downTracks.Load())
}

// Rooms returns the rooms open on the node, in no particular order.
// Package relay lists them to tell the node registry which rooms the node
// serves and to open relay links on demand.
func (s *SFU) Rooms() []*Room {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		out = append(out, r)
	}
	return out
}

// Tenant returns the tenant the room belongs to.
func (r *Room) Tenant() tenant.ID { return r.key.tenant }

// TrackMaxLayer returns the highest layer the subscribers of track id in
// the room want (each one's preference cap, LayerHigh when uncapped), or
// LayerNone when nobody subscribes or every subscriber paused it. Package
// relay asks the upstream node for no more than this over a relay link.
func (r *Room) TrackMaxLayer(id TrackID) Layer {
	r.mu.Lock()
	t := r.tracks[id]
	r.mu.Unlock()
	if t == nil {
		return LayerNone
	}
	best := LayerNone
	for _, dt := range *t.downTracks.Load() {
		best = max(best, Layer(dt.maxLayer.Load()))
	}
	return best
}

// MemberIDs returns the IDs of every participant in the room, hidden ones
// (recorders, relay links) included, in no particular order. Package relay
// counts a room's demand with it: a recorder alone on a node still needs
// the room's media relayed there.
func (r *Room) MemberIDs() []ParticipantID {
	ms := r.members()
	out := make([]ParticipantID, len(ms))
	for i, p := range ms {
		out[i] = p.id
	}
	return out
}
