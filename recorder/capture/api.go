// Package capture joins an SFU room as a recorder: a hidden participant
// that publishes nothing, subscribes to every track (top layer) and writes
// what it receives to a recording directory as it arrives.
//
// It is a client of the signaling media interfaces (signaling.NodeSelector,
// MediaNode, MediaSession), like the gateway: the node may be this
// process's SFU (signaling/sfunode) or another process's, over the bus
// (signaling/sfurpc). The recorder's own Pion peer connection answers the
// node's subscriber offers, with trickle ICE both ways.
//
// A Session is one recording of one room. Speakers who join later add
// tracks; speakers who leave end theirs (their writer is closed when the SFU
// unpublishes the track or the track's stream ends); active-speaker events
// go to the manifest for the speaker layout. Any number of sessions run at
// once, each with its own peer connection.
package capture

import (
	"fmt"

	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// NewAPI builds the Pion API recorder connections use: the default codecs
// (VP8, VP9, H.264, AV1, Opus...), RFC 6464 audio levels, and the default
// interceptors, among them the NACK generator (lost packets are asked for
// again, RFC 4585 §6.2.1), receiver reports and transport-wide congestion
// control feedback, so that the SFU's bandwidth estimate towards the
// recorder grows to the top layer. se carries network settings (interfaces,
// ports, a virtual network in tests).
func NewAPI(se webrtc.SettingEngine) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("capture: codecs: %w", err)
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("capture: audio level extension: %w", err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		return nil, fmt.Errorf("capture: interceptors: %w", err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}
