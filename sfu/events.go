package sfu

import (
	"sync"

	"github.com/pion/webrtc/v4"
)

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventUnknown is the zero value and never sent.
	EventUnknown EventKind = iota
	// EventTrackPublished: Track was published in the room (sent to everyone
	// but the publisher, and to the publisher as confirmation).
	EventTrackPublished
	// EventTrackUnpublished: Track left the room.
	EventTrackUnpublished
	// EventSubscriberOffer: send SDP (an offer) to the client for its
	// subscriber connection and pass the answer to HandleSubscriberAnswer.
	EventSubscriberOffer
	// EventICECandidate: send Candidate for Target to the client.
	EventICECandidate
	// EventActiveSpeaker: Speaker (may be empty: nobody) is now the loudest
	// participant of the room; Level is the smoothed level in -dBov.
	EventActiveSpeaker
	// EventLayerChanged: the participant now receives Layer of TrackID.
	EventLayerChanged
	// EventPublisherLayers (dynacast): the publisher of TrackID should keep
	// encoding layers up to MaxLayer and pause the ones above (LayerNone:
	// nobody watches, pause all). Relay it to the client, which sets
	// RTCRtpSender encodings[].active accordingly.
	EventPublisherLayers
	// EventConnectionState: the peer connection of Target changed State.
	EventConnectionState
	// EventTrackMuted: Track was muted or unmuted on the server
	// (Participant.MuteTrack); Track.Muted says which. Sent to everyone in
	// the room, the publisher included.
	EventTrackMuted
	// EventNodeDraining: the node is shutting down (SFU.Drain). Sent once per
	// participant; the signaling layer should move the participant to
	// another node now (re-join there, then Leave here). Media keeps
	// flowing until the participant leaves or the drain deadline closes it.
	EventNodeDraining
)

// String returns the event kind's name.
func (k EventKind) String() string {
	switch k {
	case EventTrackPublished:
		return "track_published"
	case EventTrackUnpublished:
		return "track_unpublished"
	case EventSubscriberOffer:
		return "subscriber_offer"
	case EventICECandidate:
		return "ice_candidate"
	case EventActiveSpeaker:
		return "active_speaker"
	case EventLayerChanged:
		return "layer_changed"
	case EventPublisherLayers:
		return "publisher_layers"
	case EventConnectionState:
		return "connection_state"
	case EventTrackMuted:
		return "track_muted"
	case EventNodeDraining:
		return "node_draining"
	default:
		return "unknown"
	}
}

// TrackInfo describes a published track.
type TrackInfo struct {
	// ID is the room-unique track ID.
	ID TrackID
	// Publisher is the participant that publishes the track.
	Publisher ParticipantID
	// Kind is audio or video.
	Kind webrtc.RTPCodecType
	// MimeType is the codec, e.g. "video/VP8".
	MimeType string
	// StreamID is the client's MediaStream id (groups camera and mic).
	StreamID string
	// Simulcast is true when the track has more than one layer.
	Simulcast bool
	// Muted is true while the track is muted on the server: subscribers
	// stay subscribed but receive nothing.
	Muted bool
}

// Event is something the signaling layer must relay to the participant's
// client or may act on. Only the fields named by Kind are set.
type Event struct {
	Kind EventKind
	// Track for EventTrackPublished, EventTrackUnpublished and
	// EventTrackMuted.
	Track TrackInfo
	// SDP for EventSubscriberOffer.
	SDP webrtc.SessionDescription
	// Target for EventICECandidate and EventConnectionState.
	Target Target
	// Candidate for EventICECandidate.
	Candidate webrtc.ICECandidateInit
	// State for EventConnectionState.
	State webrtc.PeerConnectionState
	// Speaker and Level for EventActiveSpeaker.
	Speaker ParticipantID
	Level   float64
	// TrackID and Layer for EventLayerChanged; TrackID and MaxLayer for
	// EventPublisherLayers.
	TrackID  TrackID
	Layer    Layer
	MaxLayer Layer
}

// eventQueue delivers events to one consumer in order without ever blocking
// the producer (Pion callbacks, media goroutines): events wait in an
// unbounded slice until the pump goroutine hands them to the channel.
type eventQueue struct {
	out    chan Event
	mu     sync.Mutex
	queue  []Event
	wake   chan struct{}
	done   chan struct{}
	closed bool
}

func newEventQueue() *eventQueue {
	return &eventQueue{
		out:  make(chan Event),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
}

func (q *eventQueue) push(ev Event) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.queue = append(q.queue, ev)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run pumps events until close; it closes out when it returns, after
// delivering nothing more (pending events are dropped on close: the client
// is gone).
func (q *eventQueue) run() {
	defer close(q.out)
	for {
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.mu.Unlock()
			select {
			case <-q.wake:
				continue
			case <-q.done:
				return
			}
		}
		ev := q.queue[0]
		q.queue[0] = Event{}
		q.queue = q.queue[1:]
		q.mu.Unlock()
		select {
		case q.out <- ev:
		case <-q.done:
			return
		}
	}
}

func (q *eventQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed = true
	q.queue = nil
	close(q.done)
}
