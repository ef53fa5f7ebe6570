package sfu

import (
	"fmt"
	"strings"
)

// RoomID names a room within a tenant. Two tenants may use the same RoomID;
// the SFU keys rooms by (tenant, room) so they never meet.
type RoomID string

// ParticipantID identifies a participant within a room.
type ParticipantID string

// TrackID identifies a published track within a room. The SFU assigns it as
// "<participant>/<client track id>" so that clients cannot collide.
type TrackID string

// maxIDLen bounds room and participant IDs (they end up in logs and SDP).
const maxIDLen = 128

func validID(s string) bool { return s != "" && len(s) <= maxIDLen }

// Target says which of a participant's two peer connections a signaling
// message belongs to.
type Target uint8

const (
	// TargetUnknown is the zero value and is rejected.
	TargetUnknown Target = iota
	// TargetPublisher is the client→SFU connection (client offers).
	TargetPublisher
	// TargetSubscriber is the SFU→client connection (SFU offers).
	TargetSubscriber
)

// String returns "publisher", "subscriber" or "unknown".
func (t Target) String() string {
	switch t {
	case TargetPublisher:
		return "publisher"
	case TargetSubscriber:
		return "subscriber"
	default:
		return "unknown"
	}
}

// ParseTarget parses the output of Target.String.
func ParseTarget(s string) (Target, error) {
	switch strings.ToLower(s) {
	case "publisher":
		return TargetPublisher, nil
	case "subscriber":
		return TargetSubscriber, nil
	default:
		return TargetUnknown, fmt.Errorf("%w: %q", ErrInvalidTarget, s)
	}
}

// Layer is a simulcast spatial layer. A track without simulcast has exactly
// one layer, LayerHigh.
type Layer uint8

const (
	// LayerNone means "no layer": nothing forwarded, or nothing wanted.
	LayerNone Layer = iota
	// LayerLow is the quarter-resolution layer, rid "q".
	LayerLow
	// LayerMedium is the half-resolution layer, rid "h".
	LayerMedium
	// LayerHigh is the full-resolution layer, rid "f" (or the only layer).
	LayerHigh
)

// numLayers is the number of real layers (Low, Medium, High).
const numLayers = 3

// String returns "none", "low", "medium" or "high".
func (l Layer) String() string {
	switch l {
	case LayerLow:
		return "low"
	case LayerMedium:
		return "medium"
	case LayerHigh:
		return "high"
	default:
		return "none"
	}
}

// RID returns the RTP stream id (RFC 8852) of the layer: "q", "h" or "f".
func (l Layer) RID() string {
	switch l {
	case LayerLow:
		return "q"
	case LayerMedium:
		return "h"
	case LayerHigh:
		return "f"
	default:
		return ""
	}
}

// idx maps LayerLow..LayerHigh to 0..2; callers check valid() first.
func (l Layer) idx() int { return int(l) - 1 }

func (l Layer) valid() bool { return l >= LayerLow && l <= LayerHigh }

func layerFromIdx(i int) Layer { return Layer(i + 1) }

// ParseLayer accepts a layer name ("low", "medium", "high", "none") or a rid
// ("q", "h", "f").
func ParseLayer(s string) (Layer, error) {
	switch strings.ToLower(s) {
	case "none", "off":
		return LayerNone, nil
	case "low", "q":
		return LayerLow, nil
	case "medium", "h":
		return LayerMedium, nil
	case "high", "f":
		return LayerHigh, nil
	default:
		return LayerNone, fmt.Errorf("sfu: unknown layer %q", s)
	}
}

// layerForRID maps a received rid to a layer; an empty rid (no simulcast)
// and unknown rids map to LayerHigh.
func layerForRID(rid string) Layer {
	switch rid {
	case "q":
		return LayerLow
	case "h":
		return LayerMedium
	default:
		return LayerHigh
	}
}
