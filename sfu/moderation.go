package sfu

import "fmt"

// Server-side moderation of published tracks: a moderator stops or mutes a
// speaker's camera, microphone or screen share without the speaker's client
// having to cooperate. The signaling layer checks the moderator's rights and
// calls these on the publishing participant.

// publishedTrack returns the live track id that p publishes.
func (p *Participant) publishedTrack(id TrackID) (*publishedTrack, error) {
	p.mu.Lock()
	t, ok := p.published[id]
	p.mu.Unlock()
	if !ok || t.stopped.Load() {
		return nil, fmt.Errorf("%w: %s is not published by %s", ErrTrackNotFound, id, p.id)
	}
	return t, nil
}

// Unpublish stops the participant's track id on the server: it leaves the
// room, every subscriber drops it, and everyone, the publisher included,
// gets EventTrackUnpublished (the publisher's client should stop its sender).
// Until the client does, its packets are read and dropped. A track that is
// already stopped, or not this participant's, gives ErrTrackNotFound.
func (p *Participant) Unpublish(id TrackID) error {
	t, err := p.publishedTrack(id)
	if err != nil {
		return err
	}
	if t.stopped.Swap(true) {
		return fmt.Errorf("%w: %s", ErrTrackNotFound, id)
	}
	p.log.Info("track unpublished by the server", "track", id)
	p.room.removeTrack(t)
	return nil
}

// MuteTrack mutes or unmutes the participant's track id on the server:
// while muted its media is dropped (and an audio track cannot become the
// active speaker), but subscriptions stay, so unmuting resumes at once:
// video on the next keyframe (one is requested), with sequence numbers
// continuous for the subscribers. Everyone in the room gets EventTrackMuted.
// Muting a muted track (or unmuting an unmuted one) does nothing.
func (p *Participant) MuteTrack(id TrackID, muted bool) error {
	t, err := p.publishedTrack(id)
	if err != nil {
		return err
	}
	if t.muted.Swap(muted) == muted {
		return nil
	}
	if !muted {
		for _, dt := range *t.downTracks.Load() {
			dt.restart()
			t.requestKeyframe(dt.Target())
		}
	}
	p.log.Info("track mute changed by the server", "track", id, "muted", muted)
	p.room.broadcast(Event{Kind: EventTrackMuted, Track: t.infoNow()})
	return nil
}
