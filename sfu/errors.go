package sfu

import "errors"

// Sentinel errors returned (wrapped with %w) by the package. Test them with
// errors.Is.
var (
	// ErrClosed is returned when the SFU, a room or a participant is closed.
	ErrClosed = errors.New("sfu: closed")
	// ErrParticipantExists is returned by Join for an ID already in the room.
	ErrParticipantExists = errors.New("sfu: participant already in room")
	// ErrTrackNotFound is returned for an unknown track ID.
	ErrTrackNotFound = errors.New("sfu: track not found")
	// ErrAlreadySubscribed is returned by Subscribe for a track already subscribed.
	ErrAlreadySubscribed = errors.New("sfu: already subscribed")
	// ErrNotSubscribed is returned for a track the participant does not subscribe to.
	ErrNotSubscribed = errors.New("sfu: not subscribed")
	// ErrOwnTrack is returned when a participant tries to subscribe to its own track.
	ErrOwnTrack = errors.New("sfu: cannot subscribe to own track")
	// ErrInvalidSDP is returned for a session description of the wrong type or
	// one Pion cannot apply.
	ErrInvalidSDP = errors.New("sfu: invalid session description")
	// ErrInvalidTarget is returned for an ICE candidate with an unknown target.
	ErrInvalidTarget = errors.New("sfu: invalid signaling target")
	// ErrNoOffer is returned by HandleSubscriberAnswer when no offer is outstanding.
	ErrNoOffer = errors.New("sfu: no subscriber offer outstanding")
	// ErrInvalidConfig is returned by Config.Validate.
	ErrInvalidConfig = errors.New("sfu: invalid config")
	// ErrInvalidID is returned for an empty or oversized room or participant ID.
	ErrInvalidID = errors.New("sfu: invalid id")
	// ErrNoSlot is returned by Subscribe in ClientOffer mode when the
	// client's offer has no free section of the track's kind.
	ErrNoSlot = errors.New("sfu: no free media section for the track")
	// ErrDraining is returned by Join while the node drains (SFU.Drain): the
	// caller should place the participant on another node.
	ErrDraining = errors.New("sfu: node draining")
	// ErrNotSupported is returned for an operation the participant's mode
	// does not allow, e.g. RestartICE with JoinOptions.ClientOffer.
	ErrNotSupported = errors.New("sfu: not supported")
	// ErrInvalidLayer is returned by SetTrackPreference for a Pin that is
	// not a layer.
	ErrInvalidLayer = errors.New("sfu: invalid layer")
)
