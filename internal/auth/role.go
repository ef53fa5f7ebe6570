package auth

import (
	"fmt"
	"strings"
)

// Role is what a participant may do in a tenant's rooms. Roles are ordered:
// each one includes the powers of those below it, so a check for "at least
// moderator" also admits organizers.
type Role uint8

// Roles, lowest first. The zero value is RoleUnknown and grants nothing.
const (
	// RoleUnknown is the zero value: no role, never accepted in a token.
	RoleUnknown Role = iota
	// RoleAttendee watches, chats, asks and votes.
	RoleAttendee
	// RoleSpeaker may also publish camera, microphone and screen when on stage.
	RoleSpeaker
	// RoleModerator may also run a stage: promote, mute, remove, lock, record.
	RoleModerator
	// RoleOrganizer is the tenant administrator.
	RoleOrganizer
)

var roleNames = [...]string{
	RoleUnknown:   "unknown",
	RoleAttendee:  "attendee",
	RoleSpeaker:   "speaker",
	RoleModerator: "moderator",
	RoleOrganizer: "organizer",
}

// String returns the role's name as it appears in tokens and on the CLI.
func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Valid reports whether r is one of the four known roles.
func (r Role) Valid() bool { return r >= RoleAttendee && r <= RoleOrganizer }

// AtLeast reports whether r includes the powers of other. An unknown role is
// at least nothing, and nothing is at least an unknown role.
func (r Role) AtLeast(other Role) bool {
	return r.Valid() && other.Valid() && r >= other
}

// ParseRole parses a role name (attendee, speaker, moderator, organizer),
// ignoring case and surrounding spaces.
func ParseRole(s string) (Role, error) {
	s = strings.TrimSpace(s)
	for r := RoleAttendee; r <= RoleOrganizer; r++ {
		if strings.EqualFold(s, roleNames[r]) {
			return r, nil
		}
	}
	return RoleUnknown, fmt.Errorf("%w: %q (want attendee, speaker, moderator or organizer)", ErrInvalidRole, s)
}

// MarshalText encodes a known role by name, so roles read well in JSON and
// configuration.
func (r Role) MarshalText() ([]byte, error) {
	if !r.Valid() {
		return nil, fmt.Errorf("%w: %d", ErrInvalidRole, uint8(r))
	}
	return []byte(roleNames[r]), nil
}

// UnmarshalText decodes a role name with ParseRole.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
