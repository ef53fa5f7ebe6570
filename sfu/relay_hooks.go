package sfu

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
