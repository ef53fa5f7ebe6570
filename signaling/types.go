package signaling

import (
	"fmt"
	"regexp"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// Message types the gateway serves or sends itself. docs/protocol/<type>.json
// is the schema of each; docs/protocol.md walks through the flows.
const (
	typeAck    = "ack"
	typeError  = "error"
	typeJoin   = "join"
	typeLeave  = "leave"
	typePing   = "ping"
	typeResume = "resume"

	typeMediaOffer       = "media.offer"
	typeMediaAnswer      = "media.answer"
	typeMediaICE         = "media.ice"
	typeMediaSubscribe   = "media.subscribe"
	typeMediaUnsubscribe = "media.unsubscribe"
	typeMediaPrefs       = "media.prefs"
	typeMediaRestart     = "media.restart"
	typeMediaMute        = "media.mute"
	typeMediaTrack       = "media.track"  // event
	typeMediaLayers      = "media.layers" // event
	typeMediaState       = "media.state"  // event
	typeMediaReset       = "media.reset"  // event
	typeMediaMoved       = "media.moved"  // event

	typeModPromote = "mod.promote"
	typeModDemote  = "mod.demote"
	typeModMute    = "mod.mute"
	typeModUnmute  = "mod.unmute"
	typeModRemove  = "mod.remove"
	typeModBan     = "mod.ban"
	typeModLock    = "mod.lock"
	typeHandRaise  = "hand.raise"
	typeHandLower  = "hand.lower"

	typeModPromoted = "mod.promoted" // event to the target
	typeModDemoted  = "mod.demoted"  // event to the target
	typeModMuted    = "mod.muted"    // event to the target
	typeModUnmuted  = "mod.unmuted"  // event to the target
	typeModRemoved  = "mod.removed"  // event to the target

	typePresenceJoin   = "presence.join"
	typePresenceUpdate = "presence.update"
	typePresenceLeave  = "presence.leave"
	typeRoomState      = "room.state"
)

// roomPattern is the syntax of room names: safe in bus channel names, Redis
// keys, URL path segments and SFU room IDs without escaping.
var roomPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// validRoom checks a room name.
func validRoom(room string) error {
	if !roomPattern.MatchString(room) {
		return fmt.Errorf("%w: %q (1-64 letters, digits, '.', '_' or '-')", ErrInvalidRoom, room)
	}
	return nil
}

// sessionInfo tells the client how to resume its session.
type sessionInfo struct {
	// ID is the participant ID, kept across resume.
	ID string `json:"id"`
	// ResumeToken is presented in a resume request after a dropped
	// connection.
	ResumeToken string `json:"resume_token"`
	// GraceMS is how long the session waits for a resume, in milliseconds.
	GraceMS int64 `json:"grace_ms"`
}

// joinRequest is the data of a join.
type joinRequest struct {
	// Tenant, when given, must be the token's tenant (CodeWrongTenant).
	Tenant tenant.ID `json:"tenant,omitempty"`
	// Since is the last room sequence the client saw, for observers that
	// replay history (chat); 0 for none.
	Since uint64 `json:"since,omitempty"`
	// Media asks for peer connections on an SFU node; default true (and
	// ignored by a gateway without media).
	Media *bool `json:"media,omitempty"`
}

// mediaInfo describes the media placement in a join reply.
type mediaInfo struct {
	// Node is the SFU node the participant was placed on.
	Node string `json:"node"`
}

// joinReply is the data of a join's ack.
type joinReply struct {
	Room         string        `json:"room"`
	Self         Participant   `json:"self"`
	Participants []Participant `json:"participants"`
	// Count is the number of participants in the room; Participants lists
	// at most Config.MaxPresenceList of them.
	Count      int         `json:"count"`
	Locked     bool        `json:"locked"`
	CanPublish bool        `json:"can_publish"`
	Media      *mediaInfo  `json:"media,omitempty"`
	Session    sessionInfo `json:"session"`
}

// resumeRequest is the data of a resume.
type resumeRequest struct {
	// Token is the resume token from the join reply.
	Token string `json:"token"`
	// Received is how many frames the client received on the session
	// (every text frame counts, replies and events alike).
	Received uint64 `json:"received"`
}

// resumeReply is the data of a resume's ack.
type resumeReply struct {
	Session sessionInfo `json:"session"`
	Rooms   []string    `json:"rooms"`
}

// pingRequest is the data of a ping.
type pingRequest struct {
	// Received, when set, confirms the frames received so far, letting the
	// server release them from the replay buffer.
	Received uint64 `json:"received,omitempty"`
}

// pingReply is the data of a ping's ack.
type pingReply struct {
	// Time is the server clock in Unix milliseconds.
	Time int64 `json:"time"`
}

// tenantRequest is embedded by requests that may name the tenant.
type tenantRequest struct {
	Tenant tenant.ID `json:"tenant,omitempty"`
}

// targetRequest is the data of mod.promote, mod.demote, mod.mute,
// mod.unmute, mod.remove, mod.ban and hand.lower.
type targetRequest struct {
	Tenant      tenant.ID `json:"tenant,omitempty"`
	Participant string    `json:"participant,omitempty"`
	// Video (mod.mute only) mutes the participant's video tracks too.
	Video bool `json:"video,omitempty"`
	// Hard (mod.mute only) forbids the participant to unmute itself until
	// a moderator sends mod.unmute.
	Hard bool `json:"hard,omitempty"`
}

// lockRequest is the data of mod.lock.
type lockRequest struct {
	Tenant tenant.ID `json:"tenant,omitempty"`
	Locked bool      `json:"locked"`
}

// sdpMessage is the data of media.offer and media.answer (both directions).
type sdpMessage struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

// iceMessage is the data of media.ice (both directions).
type iceMessage struct {
	Target    Target       `json:"target"`
	Candidate ICECandidate `json:"candidate"`
}

// trackRequest is the data of media.subscribe and media.unsubscribe.
type trackRequest struct {
	Track string `json:"track"`
}

// prefsRequest is the data of media.prefs.
type prefsRequest struct {
	Track string `json:"track"`
	TrackPreference
}

// restartRequest is the data of media.restart.
type restartRequest struct {
	Target Target `json:"target"`
}

// muteRequest is the data of media.mute.
type muteRequest struct {
	Muted bool `json:"muted"`
	// Kind is "audio" (the default: the microphone, shown in presence) or
	// "video" (the camera).
	Kind string `json:"kind,omitempty"`
}

// trackEvent is the data of media.track.
type trackEvent struct {
	State string    `json:"state"` // published | unpublished | muted | unmuted
	Track TrackInfo `json:"track"`
}

// layersEvent is the data of media.layers.
type layersEvent struct {
	Track    string `json:"track"`
	MaxLayer string `json:"max_layer"`
}

// stateEvent is the data of media.state.
type stateEvent struct {
	Target Target `json:"target"`
	State  string `json:"state"`
}

// resetEvent is the data of media.reset.
type resetEvent struct {
	Reason     string `json:"reason"`
	CanPublish bool   `json:"can_publish"`
}

// movedEvent is the data of media.moved.
type movedEvent struct {
	// Node is the media node the participant now uses.
	Node string `json:"node"`
	// Reason is node_draining or node_failed.
	Reason     string `json:"reason"`
	CanPublish bool   `json:"can_publish"`
}

// modEvent is the data of mod.promoted, mod.demoted, mod.muted,
// mod.unmuted and mod.removed, sent to the participant acted on.
type modEvent struct {
	By         string `json:"by"`
	Role       string `json:"role,omitempty"`
	CanPublish *bool  `json:"can_publish,omitempty"`
	Banned     bool   `json:"banned,omitempty"`
	// Video and Hard describe a mod.muted (see targetRequest).
	Video bool `json:"video,omitempty"`
	Hard  bool `json:"hard,omitempty"`
}

// presenceEvent is the data of presence.join and presence.update.
type presenceEvent struct {
	Participant Participant `json:"participant"`
}

// presenceLeaveEvent is the data of presence.leave.
type presenceLeaveEvent struct {
	Participant Participant `json:"participant"`
	// Reason is left, removed, banned, timeout or disconnected.
	Reason string `json:"reason"`
}

// roomStateEvent is the data of room.state.
type roomStateEvent struct {
	Locked bool   `json:"locked"`
	By     string `json:"by,omitempty"`
}
