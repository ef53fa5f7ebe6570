package relay

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/sfu"
)

// msgType names a control message exchanged over the bus.
type msgType string

const (
	// msgJoin (edge → origin) asks the origin to open a relay link for a
	// room, carrying the tracks that entered the cluster at Root (the
	// origin itself, or another node when the origin is a regional hub).
	msgJoin msgType = "join"
	// msgOffer (origin → edge) carries the origin's SDP offer.
	msgOffer msgType = "offer"
	// msgAnswer (edge → origin) carries the edge's SDP answer.
	msgAnswer msgType = "answer"
	// msgCandidate (both ways) carries one trickled ICE candidate.
	msgCandidate msgType = "candidate"
	// msgDemand (edge → origin) says whether anyone behind the edge wants
	// Track (the origin's track ID) and at which layer at most (MaxLayer);
	// unwanted tracks are paused at the origin so nothing crosses the link
	// for them.
	msgDemand msgType = "demand"
	// msgLeave (both ways) closes the link.
	msgLeave msgType = "leave"
	// msgProbe (edge → upstream) asks nothing: an edge sends it before
	// setting a link up, to learn from the bus's receiver count
	// (bus.Reacher) that the upstream is gone without first building
	// peer connections for it. Receivers ignore it.
	msgProbe msgType = "probe"
)

// message is the JSON envelope of every control message. Link names the
// relay link (the edge chooses it) so one node can hold many.
type message struct {
	Type      msgType                    `json:"type"`
	Link      string                     `json:"link"`
	From      string                     `json:"from"`
	Tenant    string                     `json:"tenant,omitempty"`
	Room      string                     `json:"room,omitempty"`
	Root      string                     `json:"root,omitempty"`
	SDP       *webrtc.SessionDescription `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit   `json:"candidate,omitempty"`
	Track     string                     `json:"track,omitempty"`
	Paused    bool                       `json:"paused,omitempty"`
	MaxLayer  sfu.Layer                  `json:"max_layer,omitempty"`
}

// channelName is the node-addressed system channel a node listens on.
func channelName(node string) (bus.Channel, error) {
	return bus.SystemChannel("sfurelay." + node)
}

// send publishes m on node's channel. On a bus that counts its receivers
// (bus.Reacher) a message nobody received is ErrNotOnBus.
func send(ctx context.Context, b bus.Bus, node string, m message) error {
	ch, err := channelName(node)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("relay: encode %s: %w", m.Type, err)
	}
	r, ok := b.(bus.Reacher)
	if !ok {
		return b.Publish(ctx, ch, raw)
	}
	n, err := r.PublishReach(ctx, ch, raw)
	if err == nil && n == 0 {
		err = fmt.Errorf("%w: %s to %s", ErrNotOnBus, m.Type, node)
	}
	return err
}
