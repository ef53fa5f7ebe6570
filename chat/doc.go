// Package chat is room chat, Q&A, polls, reactions and announcements for
// Plenary rooms, with per-room sequence numbers and gap-free resume.
//
// The Service plugs into the signaling gateway through the interfaces of
// internal/protocol: it is the protocol.Handler for the "chat.", "qa.",
// "poll." and "announce." message types, the protocol.RoomObserver that
// replays what a reconnecting client missed, and it fans room events out
// through the gateway's protocol.RoomPublisher.
//
// # Sequencing and durability
//
// Every room event (a chat message, an edit, a reaction count, a question, a
// poll result, an announcement) is appended to the room's History, which
// assigns it the next per-room sequence number atomically with the append
// (MemoryHistory in one process; RedisHistory — a Lua script doing INCR and
// XADD on a bounded stream per tenant and room — across processes). The
// event is then archived to the store (collection chat_events, tenant
// scoped) by a group-commit writer, and only then published and
// acknowledged. So an acknowledged event is in recent history and, unless
// the store failed at that moment (see archive.go), in the archive.
//
// When the history backend is unreachable, sends fail with the retryable
// protocol.CodeUnavailable; nothing is acknowledged that was not stored.
// When Redis comes back empty (a restart without persistence), the room's
// counter is re-seeded from the archive, so sequence numbers never repeat.
//
// # Resume
//
// A client joining a room says which sequence it saw last. OnJoin returns
// exactly the events after it, in order: from recent history when it still
// holds them, with the older part filled from the archive otherwise, capped
// at Config.MaxReplay (then the newest events are sent and the closing
// chat.sync says the replay is incomplete so the client can page older
// messages with chat.history). docs/protocol-chat.md describes the flows.
//
// # State
//
// Q&A, polls, reactions, reports and moderation state live in the store,
// which every process shares. Vote-once rules rest on unique-key inserts,
// which the store enforces atomically even on embedded FerretDB (see
// docs/decisions.md D1); counts are recomputed from the vote documents, never
// incremented in place. Moderation settings are cached per process for
// Config.StateTTL; rate limits and slow mode are enforced per process.
//
// # Timetable
//
// With Deps.Bus set, the service follows the scheduler's stage_open and
// qa_close events for the rooms they name and opens or closes their Q&A,
// once per event across processes (schedule.go).
package chat
