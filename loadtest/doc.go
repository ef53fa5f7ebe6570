// Package loadtest is Plenary's load tester: it runs tens of thousands of
// simulated attendees (bots) against a deployment, measures what users
// would feel, and writes a report people can read and machines can merge.
//
// A run is described by a Scenario (YAML, see LoadScenario and the files in
// loadtest/scenarios): groups of bots of three kinds —
//
//   - chat bots speak only the WebSocket protocol (through the shared
//     signaling client): join, chat, ask and upvote questions, vote,
//     react, and resume or rejoin when their connection drops;
//   - viewer bots additionally subscribe to the room's media over WebRTC
//     (Pion), decode nothing, and measure first-frame time, end-to-end
//     latency, jitter and loss per track (see loadtest/rtpseq);
//   - speaker bots publish synthetic VP8 simulcast and Opus at a configured
//     bitrate, with the send time inside every RTP payload.
//
// Chat messages carry their send time in their text, so delivery latency
// is measured end to end. Every bot knows which room events it should have
// received (the room's sequence numbers between its join and the end of the
// run), so a report states delivered + missing = expected.
//
// Measurements are HDR-style histograms (loadtest/hist) and per-second
// series. Run writes report.json — with the histograms themselves, so the
// reports of shards run on several machines merge exactly (Merge) — and a
// self-contained report.html. A run whose scenario SLOs are not met returns
// an error wrapping ErrSLOFailed; the command exits 1.
//
// Memory: a chat bot is one goroutine (the signaling client's reader, which
// also runs the bot's frame handler) and a few hundred bytes of state;
// sends, votes and reconnects are driven by shared per-group schedulers and
// a small worker pool rather than per-bot timers.
package loadtest
