package bus_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/tenant"
)

func TestTenantChannel(t *testing.T) {
	tests := []struct {
		name    string
		tenant  tenant.ID
		chName  string
		want    bus.Channel
		wantErr bool
	}{
		{name: "simple", tenant: "acme", chName: "lobby", want: "t:acme:lobby"},
		{name: "structured", tenant: "acme", chName: "room:42:chat", want: "t:acme:room:42:chat"},
		{name: "all allowed bytes", tenant: "a-1", chName: "Az09-_.:/@+=~", want: "t:a-1:Az09-_.:/@+=~"},
		{name: "max length", tenant: "acme", chName: strings.Repeat("x", bus.MaxNameLen), want: bus.Channel("t:acme:" + strings.Repeat("x", bus.MaxNameLen))},
		{name: "empty name", tenant: "acme", chName: "", wantErr: true},
		{name: "space", tenant: "acme", chName: "room 1", wantErr: true},
		{name: "tab", tenant: "acme", chName: "room\t1", wantErr: true},
		{name: "newline", tenant: "acme", chName: "room\n1", wantErr: true},
		{name: "glob star", tenant: "acme", chName: "room:*", wantErr: true},
		{name: "glob question", tenant: "acme", chName: "room?", wantErr: true},
		{name: "glob bracket", tenant: "acme", chName: "room[1]", wantErr: true},
		{name: "non-ascii", tenant: "acme", chName: "salle-é", wantErr: true},
		{name: "too long", tenant: "acme", chName: strings.Repeat("x", bus.MaxNameLen+1), wantErr: true},
		{name: "empty tenant", tenant: "", chName: "lobby", wantErr: true},
		{name: "invalid tenant", tenant: "Acme:evil", chName: "lobby", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bus.TenantChannel(tc.tenant, tc.chName)
			if tc.wantErr {
				require.ErrorIs(t, err, bus.ErrInvalidChannel)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.NoError(t, got.Validate())
			id, ok := got.Tenant()
			require.True(t, ok)
			require.Equal(t, tc.tenant, id)
		})
	}
}

func TestSystemChannel(t *testing.T) {
	ch, err := bus.SystemChannel("node:sfu-1:rpc")
	require.NoError(t, err)
	require.Equal(t, bus.Channel("sys:node:sfu-1:rpc"), ch)
	require.NoError(t, ch.Validate())
	_, ok := ch.Tenant()
	require.False(t, ok, "a system channel has no tenant")

	for _, bad := range []string{"", "a b", "x*"} {
		_, err := bus.SystemChannel(bad)
		require.ErrorIs(t, err, bus.ErrInvalidChannel, "%q", bad)
	}
}

func TestChannelValidate(t *testing.T) {
	tests := []struct {
		ch bus.Channel
		ok bool
	}{
		{"t:acme:lobby", true},
		{"sys:lobby", true},
		{"", false},
		{"lobby", false},
		{"t:", false},
		{"t:acme", false},
		{"t:acme:", false},
		{"t::lobby", false},
		{"t:-acme:lobby", false},
		{"sys:", false},
		{"sys:a b", false},
		{"T:acme:lobby", false},
	}
	for _, tc := range tests {
		t.Run(string(tc.ch), func(t *testing.T) {
			err := tc.ch.Validate()
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, bus.ErrInvalidChannel)
			}
		})
	}
}
