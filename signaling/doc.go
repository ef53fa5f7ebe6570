// Package signaling is Plenary's WebSocket gateway: one connection per
// browser tab carries signaling, moderation and the areas other components
// register (chat, Q&A, polls). docs/protocol.md describes the protocol and
// docs/protocol/*.json holds the schema of every message type.
//
// # Wiring
//
//	gw, err := signaling.New(signaling.Config{}, signaling.Deps{
//		Bus: bus, Verifier: verifier, State: state, Media: signaling.SingleNode{Node: sfunode.New("local", sfu)},
//		Draining: httpServer.Draining, Log: log,
//	})
//	gw.Register("chat.", chatService)  // other areas
//	gw.AddObserver(chatService)        // replay on join
//	gw.RegisterRoutes(httpServer)      // GET /v1/ws
//	httpServer.OnDrain(gw.Drain)
//	go gw.Run(ctx)                     // presence leases
//
// # Connections
//
// GET /v1/ws?access_token=JWT is authenticated by auth.Middleware before the
// upgrade (HTTP 401 otherwise). Each connection has one reader goroutine,
// which also runs the handlers of its requests in order (per-peer
// operations are serialised, as in Pion's operations queue), and one writer
// goroutine; they share a done channel. Limits: frames over MaxFrame are
// answered with 4004 and skipped, frames over HardFrameLimit close the
// connection (1009); a token bucket per connection (4400); a connection that
// neither joins nor resumes within JoinTimeout is closed (4402); the token's
// expiry closes it (4100, the client reconnects and resumes); pings every
// PingInterval, closed after PongTimeout of silence; origins checked against
// AllowedOrigins.
//
// # Sessions, sequencing and resume
//
// A session is a participant's identity on the gateway (participant ID,
// rooms, presence, media). Its outbound stream is an ordered log of frames
// (outLog) that is both the send queue and the replay buffer: the writer
// drains it, and a connection whose backlog exceeds SendQueue is closed
// with 4401 (slow consumer) without ever blocking the room. When a
// connection drops, the session waits ResumeGrace for a resume; its SFU
// participant stays, and events keep being logged. The client resumes
// with the number of frames it received; TCP delivered a prefix of the
// stream, so the count is an exact position and the server continues with
// the next frame: missed events arrive in order, exactly once, and room
// events need no per-client sequence number (which is what lets them be
// shared frames).
//
// # Rooms and fan-out
//
// Every room with local members has one bus subscription per gateway
// process (tenant channel "room:{room}") and one goroutine that frames each
// event once (wireFrame: the bytes of a WebSocket frame, like a
// websocket.PreparedMessage) and queues that frame on every local member's
// session. A connection's writer sends everything queued with one writev,
// so a busy gateway makes fewer, larger writes rather than falling behind.
// With PresenceBatchMin or more local members, events are collected per
// room before the fan-out (chat within ChatWindow, presence within
// PresenceWindow; consecutive presence events become one presence.batch
// frame), and each member gets the window's frames at once.
//
// # Presence and moderation state across gateways
//
// Presence records live in a State (MemoryState in one process,
// RedisState across processes), which is authoritative for join snapshots
// and checks (lock, bans, moderation targets); every change is also fanned
// out as a presence.* event through the bus. Each record has exactly one
// writer, the gateway owning the session, so updates never conflict; a
// record carries a lease renewed every HeartbeatInterval, and when a
// gateway dies, whichever gateway sweeps the expired record first announces
// presence.leave (reason "timeout"). A moderation command is checked where
// it arrives (role, target, tenant) and carried out by the gateway owning
// the target, reached by a control message on the room's channel.
//
// # Scheduler events
//
// The scheduler's reminders and stage openings reach clients through the
// gateway (schedule.go): while a user has sessions here, one subscription
// to the user's channel forwards schedule.reminder to each of them; while a
// tenant has rooms here, one subscription to its "scheduler:actions"
// channel delivers schedule.stage_open to the members of the room it names,
// as a room event. Only those types are forwarded. ScheduleFeeds reports
// the subscriptions held.
//
// # Media
//
// The gateway drives the media plane only through NodeSelector, MediaNode
// and MediaSession (media.go). Each participant has a publisher connection
// (client offers, media.offer request) and a subscriber connection (server
// offers, media.offer event, media.answer request), with trickle ICE both
// ways. A demotion is enforced by replacing the participant's media session
// (media.reset), which ends its published tracks whatever the client does;
// a moderator's mute by MediaSession.MuteTrack on the target's gateway
// (moderation.go). When a session's node drains (MediaNodeDraining) or
// fails (its Events channel closes without Leave), the gateway places the
// participant on another node (NodeAvoider, if the selector has it), joins
// it there and sends media.moved; the client rebuilds both connections
// (media_pump.go).
package signaling
