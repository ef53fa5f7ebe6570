package chat_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/chat"
	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/store/storetest"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// schedEvent is an envelope as scheduler/actions publishes it on the tenant
// channel "scheduler:actions" (docs/scheduler.md).
func schedEvent(t *testing.T, typ, id, session, roomID string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"v": 1, "type": typ, "data": map[string]any{
		"id": id,
		"session": map[string]any{
			"convention": "con", "guid": session, "title": "Talk", "room": "Room 00", "room_id": roomID,
			"start": "2026-02-01T10:00:00Z", "end": "2026-02-01T10:30:00Z",
		},
	}})
	require.NoError(t, err)
	return b
}

// settingsEvents returns the qa.settings events published to t/room.
func settingsEvents(p *fakePub, tn tenant.ID, room string) []map[string]any {
	var out []map[string]any
	for _, e := range p.room(tn, room) {
		if e.Type != "qa.settings" {
			continue
		}
		var d map[string]any
		if json.Unmarshal(e.Data, &d) == nil {
			out = append(out, d)
		}
	}
	return out
}

// schedEnv is n chat processes on one store, history and bus (each receives
// every scheduler event), all publishing to one fakePub; ada has joined
// room-00 on each, which subscribes alpha's scheduler channel there.
type schedEnv struct {
	*env
	b   *bus.MemoryBus
	ada *fakeConn
}

func newSchedEnv(t *testing.T, n int) *schedEnv {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t)
	b := bus.NewMemoryBus(bus.MemoryConfig{}, nil)
	t.Cleanup(func() { _ = b.Close() })
	hist := chat.NewMemoryHistory(0) // shared, as a Redis history would be
	pub := newFakePub(t)
	ada := conn(tenantA, "ada", auth.RoleAttendee, "room-00")
	var first *chat.Service
	for range n {
		// A short StateTTL: the process asked may not be the one that
		// changed the settings.
		svc, err := chat.New(chat.Config{RatePerSecond: 1e6, RateBurst: 1e6, StateTTL: time.Millisecond},
			chat.Deps{Store: st, History: hist, Publisher: pub, Bus: b, Log: quietLog})
		require.NoError(t, err)
		t.Cleanup(func() { _ = svc.Close() })
		_, perr := svc.OnJoin(ctx, ada, "room-00", 0)
		require.Nil(t, perr)
		if first == nil {
			first = svc
		}
	}
	return &schedEnv{env: &env{t: t, st: st, hist: hist, pub: pub, svc: first}, b: b, ada: ada}
}

// send publishes a scheduler event about room-00 on alpha's channel.
func (e *schedEnv) send(typ, id, session string) {
	e.t.Helper()
	ch, err := bus.TenantChannel(tenantA, "scheduler:actions")
	require.NoError(e.t, err)
	require.NoError(e.t, e.b.Publish(context.Background(), ch, schedEvent(e.t.(*testing.T), typ, id, session, "room-00")))
}

// waitOpen waits for a qa.settings event of room-00 with open = want.
func (e *schedEnv) waitOpen(want bool) {
	e.t.Helper()
	e.pub.waitFor(e.t.(*testing.T), tenantA, "room-00", "qa.settings", func(d map[string]any) bool { return d["open"] == want })
}

// TestScheduleBackToBackSessions: the earlier session's qa_close does not
// close the next session's Q&A; the last session's does, and the next
// stage_open reopens it.
func TestScheduleBackToBackSessions(t *testing.T) {
	e := newSchedEnv(t, 1)
	e.send("schedule.stage_open", "stage.open:A", "A") // Q&A already open: nothing to announce
	e.send("schedule.stage_open", "stage.open:B", "B") // B starts right after A
	e.send("schedule.qa_close", "qa.close:A", "A")     // A's Q&A closes during B: ignored
	e.send("schedule.qa_close", "qa.close:B", "B")
	e.waitOpen(false)
	require.Equal(t, protocol.CodeClosed, e.code(e.ada, "qa.ask", "room-00", map[string]any{"text": "too late?"}))
	e.send("schedule.stage_open", "stage.open:C", "C")
	e.waitOpen(true)
	e.must(e.ada, "qa.ask", "room-00", map[string]any{"text": "a question for C"})
	got := settingsEvents(e.pub, tenantA, "room-00")
	require.Len(t, got, 2, "one close, one reopen: %v", got)
	require.Equal(t, false, got[0]["open"])
	require.Equal(t, true, got[1]["open"])
}

// TestScheduleEventOncePerCluster: two chat processes receive every event,
// and it may be delivered again (a scheduler that took over a dead
// worker's claim); the Q&A changes once.
func TestScheduleEventOncePerCluster(t *testing.T) {
	e := newSchedEnv(t, 2)
	for range 3 {
		e.send("schedule.qa_close", "qa.close:A", "A")
	}
	e.waitOpen(false)
	require.Equal(t, protocol.CodeClosed, e.code(e.ada, "qa.ask", "room-00", map[string]any{"text": "too late?"}))
	// Both processes handle their copies in order: once the reopen shows,
	// every copy of the close before it was handled.
	e.send("schedule.stage_open", "stage.open:B", "B")
	e.waitOpen(true)
	e.must(e.ada, "qa.ask", "room-00", map[string]any{"text": "a question for B"})
	got := settingsEvents(e.pub, tenantA, "room-00")
	require.Len(t, got, 2, "one close, one reopen: %v", got)
}

// TestScheduleEventsScopedToTenant: an event on one tenant's channel never
// touches another tenant's room of the same name, and malformed events are
// ignored.
func TestScheduleEventsScopedToTenant(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	b := bus.NewMemoryBus(bus.MemoryConfig{}, nil)
	t.Cleanup(func() { _ = b.Close() })
	pub := newFakePub(t)
	svc, err := chat.New(chat.Config{RatePerSecond: 1e6, RateBurst: 1e6},
		chat.Deps{Store: st, History: chat.NewMemoryHistory(0), Publisher: pub, Bus: b, Log: quietLog})
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Close() })
	e := &env{t: t, st: st, pub: pub, svc: svc}
	a := conn(tenantA, "ada", auth.RoleAttendee, "room-00")
	bb := conn(tenantB, "bob", auth.RoleAttendee, "room-00")
	for _, c := range []*fakeConn{a, bb} {
		_, perr := svc.OnJoin(ctx, c, "room-00", 0)
		require.Nil(t, perr)
	}
	chA, err := bus.TenantChannel(tenantA, "scheduler:actions")
	require.NoError(t, err)
	for _, msg := range [][]byte{
		[]byte(`not json`),
		[]byte(`{"v":1,"type":"schedule.qa_close","data":{"id":"x","session":{"guid":"A","room_id":"../etc"}}}`),
		[]byte(`{"v":1,"type":"schedule.qa_close","data":{"session":{"guid":"A","room_id":"room-00"}}}`),
		[]byte(`{"v":2,"type":"schedule.qa_close","data":{"id":"y","session":{"guid":"A","room_id":"room-00"}}}`),
		schedEvent(t, "schedule.qa_close", "qa.close:alpha", "A", "room-00"),
	} {
		require.NoError(t, b.Publish(ctx, chA, msg))
	}
	pub.waitFor(t, tenantA, "room-00", "qa.settings", func(d map[string]any) bool { return d["open"] == false })
	require.Len(t, settingsEvents(pub, tenantA, "room-00"), 1, "only the valid event acted")
	require.Empty(t, settingsEvents(pub, tenantB, "room-00"))
	e.must(bb, "qa.ask", "room-00", map[string]any{"text": "beta's Q&A is open"})
}
