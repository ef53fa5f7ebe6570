package signaling

import (
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// TestUserChannelVectors pins the user channel names. scheduler/actions
// publishes reminders with its own copy of the rule and tests the same
// vectors (docs/scheduler.md lists them).
func TestUserChannelVectors(t *testing.T) {
	alpha := tenant.MustParse("alpha")
	for _, tc := range []struct{ subject, want string }{
		{"ada", "t:alpha:user:ada"},
		{"bob@example.org", "t:alpha:user:bob@example.org"},
		{"名前", "t:alpha:user:~7ec26292414bccefa35290004928d8cf"},
		{"a b", "t:alpha:user:~c8687a08aa5d6ed2044328fa6a697ab8"},
		{"~x", "t:alpha:user:~52fa21738cf5adaeb141fed4489e0a78"},
		{strings.Repeat("x", 300), "t:alpha:user:~0d4e2ca9e9cbced7a7a5380eb29e1a37"},
	} {
		ch, err := userChannel(alpha, tc.subject)
		require.NoError(t, err)
		require.Equal(t, tc.want, string(ch), "subject %q", tc.subject)
	}
}

func TestDecodeScheduleEvent(t *testing.T) {
	for _, tc := range []struct {
		name, msg, typ string
		ok             bool
	}{
		{"reminder", `{"v":1,"type":"schedule.reminder","data":{"id":"r"}}`, "schedule.reminder", true},
		{"wrong version", `{"v":2,"type":"schedule.reminder","data":{}}`, "schedule.reminder", false},
		{"data not an object", `{"v":1,"type":"schedule.reminder","data":[1]}`, "schedule.reminder", false},
		{"no data", `{"v":1,"type":"schedule.reminder"}`, "schedule.reminder", false},
		{"not json", `nope`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ, _, ok := decodeScheduleEvent([]byte(tc.msg))
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.typ, typ)
		})
	}
}

// BenchmarkScheduleReframe is a gateway's cost per scheduler message it
// forwards, whatever the number of local recipients: decode, check,
// re-encode, one prepared frame.
func BenchmarkScheduleReframe(b *testing.B) {
	msg := []byte(`{"v":1,"type":"schedule.reminder","data":{"id":"reminder:9f2c01ab9f2c01ab9f2c01ab9f2c01ab","starts_in_seconds":600,` +
		`"session":{"convention":"fosdem-2026","guid":"0f8e5a52-1b7c-5c3e-9a57-3a0e3c1f7d21","title":"Opening keynote","room":"Janson",` +
		`"room_id":"4f6c2a34-1e35-5c8e-9d3b-6b2f3d8a1c77","room_guid":"4f6c2a34-1e35-5c8e-9d3b-6b2f3d8a1c77","track":"Keynotes",` +
		`"start":"2026-01-31T09:30:00Z","end":"2026-01-31T09:55:00Z"}}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		typ, data, ok := decodeScheduleEvent(msg)
		if !ok {
			b.Fatal("not decoded")
		}
		frameBytes := mustJSON(&protocol.Envelope{V: protocol.Version, Type: typ, Data: data})
		if _, err := websocket.NewPreparedMessage(websocket.TextMessage, frameBytes); err != nil {
			b.Fatal(err)
		}
	}
}
