package signaling

import (
	"context"
	"fmt"
	"slices"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// This file is the boundary between signaling and the media plane. The
// gateway only ever talks to these interfaces; signaling/sfunode adapts a
// local *sfu.SFU to them, and a bus RPC transport can serve the same
// interfaces for SFU nodes in other processes (ARCHITECTURE.md, "How
// signaling drives the SFU").

// NodeSelector places a participant on a media node. Today there is one
// node (SingleNode); the cascade work selects by region and load.
type NodeSelector interface {
	// Select returns the node that participant should use for room (t, room).
	Select(ctx context.Context, t tenant.ID, room, participant string) (MediaNode, error)
}

// NodeAvoider is the optional ability of a NodeSelector to place a
// participant anywhere but on some nodes: the gateway uses it to move a
// participant off a draining or failed node. A selector without it is
// asked with Select, and a choice of an avoided node counts as a failed
// attempt (retried briefly: a registry drops a dead node after its
// heartbeat expires).
type NodeAvoider interface {
	// SelectAvoiding is Select, never choosing a node whose ID is in
	// avoid; ErrNoMedia when no other node can take the participant.
	SelectAvoiding(ctx context.Context, t tenant.ID, room, participant string, avoid []string) (MediaNode, error)
}

// MediaNode is one SFU node as signaling sees it.
type MediaNode interface {
	// ID names the node in logs and in the join reply.
	ID() string
	// Join adds participant to room (t, room) on this node with two peer
	// connections: publisher (client offers) and subscriber (node offers).
	Join(ctx context.Context, t tenant.ID, room, participant string, opts MediaJoinOptions) (MediaSession, error)
}

// MediaJoinOptions configure a media session.
type MediaJoinOptions struct {
	// AutoSubscribe subscribes to every track of the room, now and later.
	AutoSubscribe bool
	// Hidden keeps the participant out of what other participants are told
	// (recorders, relays): its tracks, if any, are still forwarded.
	Hidden bool
}

// MediaSession is one participant's media on a node. Implementations are
// safe for concurrent use; the gateway calls them from the connection's
// reader (one request at a time) and the event pump.
type MediaSession interface {
	// PublisherOffer applies the client's offer for its publisher
	// connection and returns the node's answer. An invalid offer fails with
	// an error wrapping ErrInvalidSDP.
	PublisherOffer(ctx context.Context, offer SessionDescription) (SessionDescription, error)
	// SubscriberAnswer applies the client's answer to the node's last
	// subscriber offer (ErrInvalidSDP if it cannot).
	SubscriberAnswer(ctx context.Context, answer SessionDescription) error
	// AddICECandidate adds a trickled client candidate to target.
	AddICECandidate(ctx context.Context, target Target, c ICECandidate) error
	// Subscribe and Unsubscribe change the tracks received (ErrTrackNotFound).
	Subscribe(track string) error
	Unsubscribe(track string) error
	// SetPreference sets the subscriber's wish for one video track.
	SetPreference(track string, p TrackPreference) error
	// RestartICE makes the node send a subscriber offer with new ICE
	// credentials (RFC 8445 §9); ErrNotSupported if the node cannot.
	RestartICE(ctx context.Context) error
	// MuteTrack mutes (or unmutes) one of the participant's own published
	// tracks at the node: while muted its media reaches nobody, whatever the
	// client does (moderator mute). ErrTrackNotFound if the participant
	// does not publish track.
	MuteTrack(track string, muted bool) error
	// Unpublish stops one of the participant's own published tracks for
	// every subscriber (a demoted speaker). ErrTrackNotFound as MuteTrack.
	Unpublish(track string) error
	// Events delivers what the client must be told; closed after Leave.
	Events() <-chan MediaEvent
	// Leave closes both connections and unpublishes the participant's
	// tracks. Idempotent.
	Leave()
}

// SessionDescription is an SDP offer or answer (RFC 8866 body, RFC 3264
// offer/answer role).
type SessionDescription struct {
	// Type is "offer" or "answer".
	Type string `json:"type"`
	// SDP is the session description text.
	SDP string `json:"sdp"`
}

// ICECandidate is one trickled candidate, shaped like the browser's
// RTCIceCandidateInit (RFC 8840 trickle ICE).
type ICECandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// Target names one of a participant's two peer connections.
type Target string

// The two peer connections of a participant.
const (
	// TargetPublisher is the client→SFU connection (the client offers).
	TargetPublisher Target = "publisher"
	// TargetSubscriber is the SFU→client connection (the SFU offers).
	TargetSubscriber Target = "subscriber"
)

// Valid reports whether t is one of the two targets.
func (t Target) Valid() bool { return t == TargetPublisher || t == TargetSubscriber }

// TrackPreference is what a subscriber wants of one video track.
type TrackPreference struct {
	// MaxLayer caps the simulcast layer: "low", "medium", "high" or ""
	// (no cap).
	MaxLayer string `json:"max_layer,omitempty"`
	// Width and Height are the rendered size in CSS pixels (0: unknown).
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Paused stops the track (a hidden tile).
	Paused bool `json:"paused,omitempty"`
	// Pin forwards this layer ("low", "medium", "high") whatever the
	// congestion estimate: for recorders, never for browsers (not part of
	// the client protocol, hence no JSON name).
	Pin string `json:"-"`
}

// TrackInfo describes a published track.
type TrackInfo struct {
	// ID is the room-unique track ID.
	ID string `json:"id"`
	// Participant is the publisher's participant ID.
	Participant string `json:"participant"`
	// Kind is "audio" or "video".
	Kind string `json:"kind"`
	// MimeType is the codec, e.g. "video/VP8".
	MimeType string `json:"mime,omitempty"`
	// StreamID is the client's MediaStream id.
	StreamID string `json:"stream,omitempty"`
	// Simulcast is true when the track has several layers.
	Simulcast bool `json:"simulcast,omitempty"`
	// Muted is true while the node drops the track's media.
	Muted bool `json:"muted,omitempty"`
}

// MediaEventKind says what a MediaEvent reports.
type MediaEventKind uint8

// Media event kinds. The zero value is never sent.
const (
	// MediaEventUnknown is the zero value.
	MediaEventUnknown MediaEventKind = iota
	// MediaTrackPublished: Track appeared in the room.
	MediaTrackPublished
	// MediaTrackUnpublished: Track left the room.
	MediaTrackUnpublished
	// MediaSubscriberOffer: relay SDP to the client; it answers with
	// media.answer.
	MediaSubscriberOffer
	// MediaICECandidate: relay Candidate for Target to the client.
	MediaICECandidate
	// MediaActiveSpeaker: Speaker (empty: nobody) is the loudest participant.
	MediaActiveSpeaker
	// MediaPublisherLayers: the client should encode TrackID's layers up to
	// Layer only ("none": pause all) — dynacast.
	MediaPublisherLayers
	// MediaConnectionState: Target's peer connection is now State.
	MediaConnectionState
	// MediaTrackMuted: Track (Track.Muted says which way) was muted or
	// unmuted at the node.
	MediaTrackMuted
	// MediaNodeDraining: the node is shutting down; the gateway moves the
	// participant to another node (Select with the node avoided, Join
	// there, media.moved to the client). A session whose Events channel
	// closes without Leave having been called is treated as a failed node
	// and moved the same way.
	MediaNodeDraining
)

var mediaEventNames = [...]string{"unknown", "track_published", "track_unpublished", "subscriber_offer",
	"ice_candidate", "active_speaker", "publisher_layers", "connection_state", "track_muted", "node_draining"}

// String returns the kind's name.
func (k MediaEventKind) String() string {
	if int(k) < len(mediaEventNames) {
		return mediaEventNames[k]
	}
	return fmt.Sprintf("MediaEventKind(%d)", uint8(k))
}

// MediaEvent is something a media session reports. Only the fields named by
// Kind are set.
type MediaEvent struct {
	Kind      MediaEventKind
	Track     TrackInfo
	SDP       SessionDescription
	Target    Target
	Candidate ICECandidate
	Speaker   string
	TrackID   string
	Layer     string
	State     string
}

// SingleNode is the NodeSelector of a deployment with one media node.
type SingleNode struct {
	// Node takes every participant.
	Node MediaNode
}

var (
	_ NodeSelector = SingleNode{}
	_ NodeAvoider  = SingleNode{}
)

// Select implements NodeSelector.
func (s SingleNode) Select(context.Context, tenant.ID, string, string) (MediaNode, error) {
	if s.Node == nil {
		return nil, ErrNoMedia
	}
	return s.Node, nil
}

// SelectAvoiding implements NodeAvoider. With one node there is nowhere to
// move to: avoiding it gives ErrNoMedia.
func (s SingleNode) SelectAvoiding(ctx context.Context, t tenant.ID, room, participant string, avoid []string) (MediaNode, error) {
	if s.Node != nil && slices.Contains(avoid, s.Node.ID()) {
		return nil, fmt.Errorf("%w: the only node %s is being left", ErrNoMedia, s.Node.ID())
	}
	return s.Select(ctx, t, room, participant)
}
