// Package sfu is Plenary's media plane: a selective forwarding unit built on
// Pion WebRTC v4.
//
// The package knows nothing about WebSockets or JSON. The signaling layer
// drives it through a small Go API:
//
//	s, _ := sfu.New(cfg, log)                       // one per node
//	room := s.Room(tenantID, roomID)                 // rooms are keyed by (tenant, room)
//	p, _ := room.Join(ctx, participantID, sfu.JoinOptions{AutoSubscribe: true})
//	answer, _ := p.HandlePublisherOffer(ctx, offer)  // browser → SFU media
//	_ = p.HandleSubscriberAnswer(ctx, answer)        // SFU → browser media
//	for ev := range p.Events() { ... }               // offers, candidates, speakers, layers, dynacast
//	p.Leave()
//
// Every participant has two peer connections, as in LiveKit: a publisher PC
// whose offers always come from the client, and a subscriber PC whose offers
// always come from the SFU. Neither side ever has to resolve offer glare.
//
// Media path. Each received RTP stream (one per simulcast layer) is read by one
// goroutine into a reused buffer, inspected once (keyframe, audio level) and
// fanned out to the subscribers' DownTracks, in parallel over a shared worker
// pool when the audience is large. A DownTrack rewrites SSRC, sequence number
// and timestamp (see munger.go) so the subscriber sees a single continuous
// stream across layer switches, pauses and publisher restarts; a switch to
// another layer happens only on a keyframe of that layer. Nothing in the
// SFU's own code on this path allocates; Pion's interceptors below it do
// (about 1 KB per packet: TWCC history and feedback, the NACK send buffer),
// which is one reason to run media nodes with a higher GOGC.
//
// Control loops. Per subscriber, an allocator divides the send-side bandwidth
// estimate (TWCC + Google Congestion Control, RFC 8888 predecessor
// draft-ietf-rmcat-gcc) among its video tracks and picks layers with
// hysteresis. Per published track, keyframe requests from all subscribers are
// merged and throttled (one PLI per window, RFC 4585 §6.3.1). Layers no
// subscriber wants are reported to the publisher (dynacast), and audio levels
// (RFC 6464) drive active-speaker events. When the estimate keeps a wanted
// layer out of reach, a bounded burst of RTP padding probes for headroom
// (prober.go), so upgrades take seconds rather than GCC's slow climb.
//
// Moderation. Participant.Unpublish stops a published track on the server
// and Participant.MuteTrack mutes it (subscriptions stay; unmuting resumes
// on a keyframe with continuous sequence numbers).
//
// Connection repair. Participant.RestartICE makes the SFU offer new ICE
// credentials on the subscriber connection (RFC 8445 §9) when the client's
// network changed; a restart asked while an offer is outstanding rides on
// the next one. Candidates are always sent after the offer they belong to.
//
// Who counts. JoinOptions.Hidden is for recorders and relay links: they are
// left out of Room.Participants, Room.ParticipantCount, the participants
// gauge and the active-speaker race, but subscribe (and publish) as anyone.
// TrackPreference.Pin asks for one simulcast layer whatever the bandwidth
// estimate (a recorder pins LayerHigh).
//
// Shutdown. Run returns when its context ends without touching peers; the
// owner calls SFU.Drain (joins fail with ErrDraining, every participant gets
// EventNodeDraining once, Drain returns when all have left or closes the rest
// at its deadline) and then Close. SFU.Load gives the figures the node
// registry publishes (tracks, subscribers, packets/s).
//
// Non-trickle clients. Participant.LocalDescription returns a connection's
// answer with the SFU's candidates once gathered. JoinOptions.ClientOffer
// lets a player that only makes offers (WHEP) drive the subscriber
// connection with HandleSubscriberOffer; package whip builds the WHIP ingest
// and WHEP playback HTTP endpoints on these.
//
// Measuring. Subscribers' RTCP receiver reports feed the
// plenary_sfu_subscriber_loss_ratio histogram (RFC 3550 §6.4.1 fraction
// lost). SFU.Stats counts forwarded packets; with Config.MeasureLatency
// SFU.ForwardLatency gives the latency the SFU adds, from the read at the
// publisher's track to the completed write to each subscriber. See
// BenchmarkProcessFanout for the load client in a separate process.
package sfu
