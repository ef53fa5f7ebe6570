package sfurpc

import (
	"errors"
	"fmt"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/signaling"
)

// Operations a client asks of a node.
const (
	opJoin      = "join"
	opOffer     = "offer"
	opAnswer    = "answer"
	opICE       = "ice"
	opSubscribe = "sub"
	opUnsub     = "unsub"
	opPref      = "pref"
	opRestart   = "restart"
	opMute      = "mute"
	opUnpublish = "unpublish"
	opLeave     = "leave"
	opPing      = "ping"
)

// Kinds of messages a node sends to a gateway.
const (
	kindReply = "reply"
	kindEvent = "event"
	kindGone  = "gone"
)

// request is a gateway → node message.
type request struct {
	ID       uint64 `json:"id"`
	From     string `json:"from"`
	Op       string `json:"op"`
	Session  string `json:"s,omitempty"`
	Deadline int64  `json:"dl,omitempty"` // Unix milliseconds

	Tenant      string                        `json:"t,omitempty"`
	Room        string                        `json:"room,omitempty"`
	Participant string                        `json:"p,omitempty"`
	Opts        *signaling.MediaJoinOptions   `json:"opts,omitempty"`
	SDP         *signaling.SessionDescription `json:"sdp,omitempty"`
	Target      signaling.Target              `json:"target,omitempty"`
	Candidate   *signaling.ICECandidate       `json:"cand,omitempty"`
	Track       string                        `json:"track,omitempty"`
	Pref        *signaling.TrackPreference    `json:"pref,omitempty"`
	Pin         string                        `json:"pin,omitempty"` // Pref.Pin, which has no JSON name
	Muted       bool                          `json:"muted,omitempty"`
	Sessions    []string                      `json:"sessions,omitempty"`
}

// message is a node → gateway message.
type message struct {
	Kind    string                        `json:"k"`
	ID      uint64                        `json:"id,omitempty"`
	Session string                        `json:"s,omitempty"`
	Seq     uint64                        `json:"seq,omitempty"`
	Err     *rpcError                     `json:"err,omitempty"`
	SDP     *signaling.SessionDescription `json:"sdp,omitempty"`
	Event   *signaling.MediaEvent         `json:"ev,omitempty"`
	Unknown []string                      `json:"unknown,omitempty"`
}

// rpcError carries a signaling sentinel across processes by code.
type rpcError struct {
	Code string `json:"code"`
	Msg  string `json:"msg"`
}

// The sentinels that cross the wire; anything else arrives as a plain error.
var sentinels = []struct {
	code string
	err  error
}{
	{"invalid_sdp", signaling.ErrInvalidSDP},
	{"track_not_found", signaling.ErrTrackNotFound},
	{"closed", signaling.ErrMediaClosed},
	{"not_supported", signaling.ErrNotSupported},
	{"no_media", signaling.ErrNoMedia},
}

// ErrTimeout is returned when a node does not answer before the deadline.
var ErrTimeout = errors.New("sfurpc: node did not answer in time")

// ErrUnreachable is returned when a request reached no subscriber of the
// node's channel (a bus that counts, bus.Reacher): the node's process is
// gone, or it is reconnecting to the bus. No reply can come.
var ErrUnreachable = errors.New("sfurpc: node not on the bus")

// ErrRemote wraps an error a node reported that has no signaling sentinel.
var ErrRemote = errors.New("sfurpc: node error")

func encodeErr(err error) *rpcError {
	if err == nil {
		return nil
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return &rpcError{Code: s.code, Msg: err.Error()}
		}
	}
	return &rpcError{Code: "internal", Msg: err.Error()}
}

func (e *rpcError) decode() error {
	if e == nil {
		return nil
	}
	for _, s := range sentinels {
		if s.code == e.Code {
			return fmt.Errorf("%w (node: %s)", s.err, e.Msg)
		}
	}
	return fmt.Errorf("%w: %s", ErrRemote, e.Msg)
}

// nodeChannel is where a node's Server listens.
func nodeChannel(node string) (bus.Channel, error) { return bus.SystemChannel("sfurpc.node." + node) }

// gatewayChannel is where a gateway's Client listens.
func gatewayChannel(gw string) (bus.Channel, error) { return bus.SystemChannel("sfurpc.gw." + gw) }
