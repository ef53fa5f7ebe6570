package auth_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
)

func TestParseRole(t *testing.T) {
	tests := []struct {
		in   string
		want auth.Role
		err  bool
	}{
		{"attendee", auth.RoleAttendee, false},
		{"speaker", auth.RoleSpeaker, false},
		{"moderator", auth.RoleModerator, false},
		{"organizer", auth.RoleOrganizer, false},
		{" Organizer ", auth.RoleOrganizer, false},
		{"unknown", auth.RoleUnknown, true},
		{"", auth.RoleUnknown, true},
		{"admin", auth.RoleUnknown, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := auth.ParseRole(tt.in)
			if tt.err {
				require.ErrorIs(t, err, auth.ErrInvalidRole)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestRoleString(t *testing.T) {
	require.Equal(t, "unknown", auth.RoleUnknown.String())
	require.Equal(t, "attendee", auth.RoleAttendee.String())
	require.Equal(t, "organizer", auth.RoleOrganizer.String())
	require.Equal(t, "Role(9)", auth.Role(9).String())
	for _, r := range []auth.Role{auth.RoleAttendee, auth.RoleSpeaker, auth.RoleModerator, auth.RoleOrganizer} {
		back, err := auth.ParseRole(r.String())
		require.NoError(t, err)
		require.Equal(t, r, back)
	}
}

func TestRoleAtLeast(t *testing.T) {
	tests := []struct {
		r, min auth.Role
		want   bool
	}{
		{auth.RoleOrganizer, auth.RoleModerator, true},
		{auth.RoleModerator, auth.RoleModerator, true},
		{auth.RoleSpeaker, auth.RoleModerator, false},
		{auth.RoleAttendee, auth.RoleAttendee, true},
		{auth.RoleUnknown, auth.RoleAttendee, false},
		{auth.RoleOrganizer, auth.RoleUnknown, false},
		{auth.RoleUnknown, auth.RoleUnknown, false},
		{auth.Role(9), auth.RoleAttendee, false},
	}
	for _, tt := range tests {
		t.Run(tt.r.String()+">="+tt.min.String(), func(t *testing.T) {
			require.Equal(t, tt.want, tt.r.AtLeast(tt.min))
		})
	}
}

func TestRoleJSON(t *testing.T) {
	raw, err := json.Marshal(struct{ R auth.Role }{auth.RoleSpeaker})
	require.NoError(t, err)
	require.JSONEq(t, `{"R":"speaker"}`, string(raw))
	var v struct{ R auth.Role }
	require.NoError(t, json.Unmarshal([]byte(`{"R":"moderator"}`), &v))
	require.Equal(t, auth.RoleModerator, v.R)
	require.Error(t, json.Unmarshal([]byte(`{"R":"king"}`), &v))
	_, err = json.Marshal(struct{ R auth.Role }{auth.RoleUnknown})
	require.Error(t, err)
}

func TestCanAccessRoom(t *testing.T) {
	tests := []struct {
		name  string
		rooms []string
		room  string
		want  bool
	}{
		{"no grants means every room", nil, "main", true},
		{"granted", []string{"main", "side"}, "side", true},
		{"not granted", []string{"main"}, "side", false},
		{"empty room name", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &auth.Claims{Tenant: tenantA, Subject: "u", Role: auth.RoleAttendee, Rooms: tt.rooms}
			require.Equal(t, tt.want, c.CanAccessRoom(tt.room))
			if tt.want {
				require.NoError(t, c.CheckRoom(tt.room))
			} else {
				require.ErrorIs(t, c.CheckRoom(tt.room), auth.ErrForbidden)
			}
		})
	}
	var nilClaims *auth.Claims
	require.False(t, nilClaims.CanAccessRoom("main"))
}

// TestCodesStable pins the client codes: they are part of the protocol.
func TestCodesStable(t *testing.T) {
	want := map[error]auth.Code{
		auth.ErrMissingToken:  1001,
		auth.ErrMalformed:     1002,
		auth.ErrExpired:       1003,
		auth.ErrNotYetValid:   1004,
		auth.ErrBadSignature:  1005,
		auth.ErrAlgNone:       1006,
		auth.ErrBadAlgorithm:  1007,
		auth.ErrUnknownTenant: 1008,
		auth.ErrUnknownKey:    1009,
		auth.ErrWrongTenant:   1010,
		auth.ErrInvalidClaims: 1011,
		auth.ErrForbidden:     1012,
		auth.ErrUnavailable:   1013,
	}
	seen := map[auth.Code]bool{}
	for err, code := range want {
		ce := auth.ToClientError(err)
		require.Equal(t, code, ce.Code, "%v", err)
		require.False(t, seen[code])
		seen[code] = true
	}
	require.Equal(t, auth.CodeInternal, auth.ToClientError(auth.ErrTenantExists).Code)
}
