package actions

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// Queue names and job kinds.
const (
	// ActionsQueue carries the planned actions (ActionJob payloads; Job.Kind
	// is the action's Kind string).
	ActionsQueue = "scheduler.actions"
	// RecorderQueue is the recorder's command queue; the scheduler publishes
	// RecorderJob payloads on it. The recorder (recorder/capture) consumes
	// it under the name CommandQueue: the contract is the JSON documented
	// in docs/recording.md ("Recorder commands"), not a shared Go type.
	RecorderQueue = "recorder.commands"
	// RecorderStart and RecorderStop are the Job.Kind values of the
	// recorder's start and stop commands.
	RecorderStart = "start"
	RecorderStop  = "stop"
)

// Bus channel names (inside the tenant's scope) and envelope types.
const (
	// ActionsChannel is the tenant channel carrying stage and Q&A events.
	ActionsChannel = "scheduler:actions"
	// ChangedChannel is the system channel on which writers announce a
	// changed timetable ({"tenant","convention"}) so the leader re-plans
	// at once instead of at its next PlanInterval.
	ChangedChannel = "scheduler:changed"
	// EventReminder, EventStageOpen and EventQAClose are the envelope types.
	EventReminder  = "schedule.reminder"
	EventStageOpen = "schedule.stage_open"
	EventQAClose   = "schedule.qa_close"
)

// ActionJob is the payload of a job on ActionsQueue.
type ActionJob struct {
	// V is the payload version, 1.
	V int `json:"v"`
	// Convention is the convention slug (the tenant is Job.Tenant).
	Convention string `json:"convention"`
	// Session is the session guid.
	Session string `json:"session"`
	// Action is the Kind's wire name.
	Action string `json:"action"`
	// At is the planned instant; the worker fires only if the session still
	// plans this action at this instant.
	At time.Time `json:"at"`
	// Key is the action's identity (Key).
	Key string `json:"key"`
	// Term is the fencing token of the leader that planned the job.
	Term int64 `json:"term"`
}

// SessionRef describes a session in events.
type SessionRef struct {
	Convention string `json:"convention"`
	GUID       string `json:"guid"`
	Title      string `json:"title"`
	// Room is the room's display name; RoomID its live room ID
	// (catalog.RoomID): the room the gateway and the SFU know, the {room}
	// of the live page.
	Room     string    `json:"room"`
	RoomID   string    `json:"room_id"`
	RoomGUID string    `json:"room_guid,omitempty"`
	Track    string    `json:"track,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

func sessionRef(slug string, s *schedule.Session, room schedule.Room, roomID string) SessionRef {
	return SessionRef{
		Convention: slug, GUID: s.GUID, Title: s.Title, Room: s.Room, RoomID: roomID, RoomGUID: room.GUID,
		Track: s.Track, Start: s.Start.UTC(), End: s.End().UTC(),
	}
}

// RecorderJob is the payload of the start and stop commands the scheduler
// publishes on RecorderQueue, with Job.IdempotencyKey = Key. Its fields are
// those of the recorder's command (docs/recording.md) that the scheduler
// fills; the recorder derives the recording ID from Key, so a repeated start
// (a redelivery, or a repeat after a scheduler crash) never starts a second
// recording, and a stop ends the running recording of Session.
type RecorderJob struct {
	// V is the payload version, 1.
	V int `json:"v"`
	// Room is the live room ID of the session's room (catalog.RoomID).
	Room string `json:"room"`
	// Session is the session guid; Convention its convention's slug.
	Session    string `json:"session"`
	Convention string `json:"convention"`
	// Title and Track describe the session for the library.
	Title string `json:"title,omitempty"`
	Track string `json:"track,omitempty"`
	// License is the session's recording license, if any.
	License string `json:"license,omitempty"`
	// Key is the scheduler action that sent the job (its idempotency key).
	Key string `json:"key"`
}

// ReminderEvent is the data of a "schedule.reminder" envelope.
type ReminderEvent struct {
	// ID is the action key; clients drop repeats by it.
	ID string `json:"id"`
	// Session is the starred session.
	Session SessionRef `json:"session"`
	// StartsIn is the number of seconds until the session starts when the
	// reminder was sent.
	StartsIn int64 `json:"starts_in_seconds"`
}

// StageEvent is the data of "schedule.stage_open" and "schedule.qa_close".
type StageEvent struct {
	// ID is the action key; consumers drop repeats by it.
	ID string `json:"id"`
	// Session is the session whose stage or Q&A the event concerns.
	Session SessionRef `json:"session"`
}

// ChangedEvent is published on ChangedChannel after a timetable changed.
type ChangedEvent struct {
	Tenant     tenant.ID `json:"tenant"`
	Convention string    `json:"convention"`
}

// UserChannel is the tenant channel that reaches one user's connections:
// "user:" + the token subject when it is made of channel-safe characters
// (letters, digits, "-_.:/@+=~") and short enough, else "user:~" + the first
// 32 hex digits of the subject's SHA-256. The gateway subscribes with the
// same function.
func UserChannel(t tenant.ID, subject string) (bus.Channel, error) {
	name := "user:" + subject
	if !channelSafe(subject) || len(name) > bus.MaxNameLen {
		sum := sha256.Sum256([]byte(subject))
		name = "user:~" + hex.EncodeToString(sum[:16])
	}
	return bus.TenantChannel(t, name)
}

func channelSafe(s string) bool {
	if s == "" || s[0] == '~' { // "~" starts the hashed form
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '@' || c == '+' || c == '=' || c == '~':
		default:
			return false
		}
	}
	return true
}
