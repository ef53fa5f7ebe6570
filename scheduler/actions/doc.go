// Package actions runs a convention's timed actions: a reminder to the
// attendees who starred a session, opening the stage before it starts,
// starting and stopping its recording, closing its Q&A after it ends.
//
// # Exactly once with several replicas
//
// Every scheduler process runs a Runner. One of them is the leader, chosen by
// an Elector: leases are documents in the system collection
// scheduler.leases, one per term, claimed by a unique insert of the next term
// (atomic on every store backend, unlike conditional updates on the embedded
// FerretDB, docs/decisions.md D1). Only the holder renews its own term's
// document, so renewals never race. The term is the fencing token: the
// leader stops planning as soon as its lease may have expired or a higher
// term exists, and every job it publishes carries its term.
//
// The leader's Planner turns the timetables of published conventions into
// durable queue jobs (queue "scheduler.actions"), one per (session, action,
// planned instant), each published with NotBefore = the planned instant and
// an idempotency key derived from tenant, convention, session guid, action
// and planned instant. A new leader re-plans everything; the keys make the
// repeats no-ops.
//
// Any process consumes the jobs. Before acting, the worker re-reads the
// timetable: if the convention is unpublished, the session gone, or the
// action's planned instant is no longer what the job says (the session
// moved, was cancelled, or opted out of recording), the job is stale and is
// acknowledged without effect. Moving a session therefore re-plans it: the
// new instant has a new key, and the old job becomes a no-op. A live job is
// then claimed by a unique insert of (key, generation 1) in the tenant's
// sched.fired collection: two deliveries of the same job (a Rabbit
// redelivery, a duplicate publish) cannot both act. After the effect, a done
// marker is inserted. A claim without a done marker older than ClaimTTL
// belongs to a worker that died mid-action and is taken over with the next
// generation, so no action is lost; effects carry the action key as their
// id so that a consumer can drop the rare repeat that follows such a crash.
//
// # Effects
//
//   - reminder: a protocol envelope of type "schedule.reminder" published on
//     the bus channel UserChannel(tenant, subject) of every attendee who
//     starred the session; the WebSocket gateway forwards it to that user's
//     connections.
//   - stage.open and qa.close: envelopes "schedule.stage_open" and
//     "schedule.qa_close" on the tenant channel "scheduler:actions".
//   - recording.start and recording.stop: the recorder's commands "start"
//     and "stop" (RecorderJob payloads) on its queue "recorder.commands",
//     published with the action key as idempotency key and naming the
//     session's live room (catalog.RoomID). Sessions with RecordingOptOut
//     plan no recording actions.
//
// Events and jobs name the session's room by its live room ID (room_id):
// the gateway delivers stage_open to that room's members, chat closes that
// room's Q&A, the recorder records that SFU room.
//
// # Clocks
//
// Planned instants are read from a Clock, so that a test can compress a
// convention's day into seconds (Scaled). Liveness (lease TTL, renewals,
// claim staleness, polling) uses real time, which testing/synctest fakes.
package actions
