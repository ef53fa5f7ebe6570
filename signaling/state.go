package signaling

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// Participant is one entry of a room's presence list, as clients see it in
// the join reply and in presence.* events.
type Participant struct {
	// ID is the participant ID: unique per session, kept across resume.
	ID string `json:"id"`
	// User is the token subject; one user may be in a room several times
	// (two tabs), each with its own ID.
	User string `json:"user"`
	// Name is the display name from the token.
	Name string `json:"name,omitempty"`
	// Role is the role in this room: the token's role unless a moderator
	// promoted or demoted the participant.
	Role auth.Role `json:"role"`
	// Hand is when the hand was raised (Unix milliseconds), 0 when it is
	// down; the raised-hand queue is the participants ordered by Hand.
	Hand int64 `json:"hand,omitempty"`
	// Speaking is true while the participant is the room's active speaker.
	Speaking bool `json:"speaking"`
	// Muted is true when the participant's microphone is muted (by itself
	// or by a moderator).
	Muted bool `json:"muted"`
	// Joined is when the participant joined (Unix milliseconds).
	Joined int64 `json:"joined"`
}

// CanPublish reports whether the participant's role lets it send media.
func (p Participant) CanPublish() bool { return p.Role.AtLeast(auth.RoleSpeaker) }

// Record is a presence entry as stored: the participant, the gateway that
// owns its session and the lease's expiry. The owning gateway is the only
// writer of a record; it refreshes the lease every HeartbeatInterval.
type Record struct {
	Participant Participant `json:"p"`
	// Gateway is the GatewayID owning the session.
	Gateway string `json:"gw"`
	// Expires is when the lease ends (Unix milliseconds) unless refreshed.
	Expires int64 `json:"exp"`
	// TokenRole is the role in the participant's token, which moderation
	// compares against (a promotion does not raise it).
	TokenRole auth.Role `json:"tr"`
}

// State is the room state the gateways of one deployment share: presence
// records with leases, the lock flag and the ban list. MemoryState serves one
// process (and tests); RedisState serves several processes.
//
// The design (see doc.go): presence is stored here, authoritative for
// snapshots and checks, and changes are fanned out as events through the
// bus. Each record has one writer (the gateway owning the session), so
// updates never conflict; leases make the records of a crashed gateway
// disappear, and whichever gateway sweeps one first announces the leave.
type State interface {
	// PutParticipant creates or replaces a presence record.
	PutParticipant(ctx context.Context, t tenant.ID, room string, r Record) error
	// RemoveParticipant deletes a record; removing a missing one is not an
	// error.
	RemoveParticipant(ctx context.Context, t tenant.ID, room, id string) error
	// Participants returns the records whose lease has not ended at now,
	// ordered by join time.
	Participants(ctx context.Context, t tenant.ID, room string, now time.Time) ([]Record, error)
	// SweepExpired deletes the records whose lease ended before now and
	// returns those this call deleted (each record is returned to exactly
	// one caller, even with concurrent sweepers).
	SweepExpired(ctx context.Context, t tenant.ID, room string, now time.Time) ([]Record, error)

	// SetLocked locks or unlocks the room.
	SetLocked(ctx context.Context, t tenant.ID, room string, locked bool) error
	// Locked reports whether the room is locked.
	Locked(ctx context.Context, t tenant.ID, room string) (bool, error)
	// Ban bars user from the room for ttl.
	Ban(ctx context.Context, t tenant.ID, room, user string, ttl time.Duration) error
	// Banned reports whether user is barred from the room.
	Banned(ctx context.Context, t tenant.ID, room, user string) (bool, error)
}

// batchPutter is implemented by states that store many presence records of
// one room in one round trip (the heartbeat's lease renewals).
type batchPutter interface {
	// PutParticipants creates or replaces the records rs of room.
	PutParticipants(ctx context.Context, t tenant.ID, room string, rs []Record) error
}

var (
	_ batchPutter = (*MemoryState)(nil)
	_ batchPutter = (*RedisState)(nil)
)

// DefaultBanTTL is how long a ban lasts: the rest of a convention day.
const DefaultBanTTL = 24 * time.Hour

var (
	_ State = (*MemoryState)(nil)
	_ State = (*RedisState)(nil)
)

// sortRecords orders records by join time, then ID, so snapshots are stable.
func sortRecords(rs []Record) {
	slices.SortFunc(rs, func(a, b Record) int {
		if c := cmp.Compare(a.Participant.Joined, b.Participant.Joined); c != 0 {
			return c
		}
		return cmp.Compare(a.Participant.ID, b.Participant.ID)
	})
}
