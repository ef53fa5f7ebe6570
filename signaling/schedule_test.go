package signaling_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client"
)

// scheduleEnvelope is an envelope as scheduler/actions publishes it (see
// docs/scheduler.md): the session names its live room in room_id.
func scheduleEnvelope(t *testing.T, typ, id, roomID string) []byte {
	t.Helper()
	data := map[string]any{
		"id": id,
		"session": map[string]any{
			"convention": "con", "guid": "con-0000", "title": "Talk 0", "room": "Room 00", "room_id": roomID,
			"room_guid": roomID, "track": "Keynotes", "start": "2026-02-01T10:00:00Z", "end": "2026-02-01T10:30:00Z",
		},
	}
	if typ == "schedule.reminder" {
		data["starts_in_seconds"] = 600
	}
	b, err := json.Marshal(map[string]any{"v": 1, "type": typ, "data": data})
	require.NoError(t, err)
	return b
}

// publishOn publishes msg on the tenant channel name of t.
func publishOn(t *testing.T, b bus.Bus, tn tenant.ID, name string, msg []byte) {
	t.Helper()
	ch, err := bus.TenantChannel(tn, name)
	require.NoError(t, err)
	require.NoError(t, b.Publish(context.Background(), ch, msg))
}

// nextSchedule returns the next event of c that is not about presence:
// whatever the gateway forwards by mistake shows up here.
func nextSchedule(t *testing.T, c *client.Client) *protocol.Envelope {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case e := <-c.Events():
			if !strings.HasPrefix(e.Type, "presence.") {
				return e
			}
		case <-deadline:
			t.Fatal("timed out waiting for a schedule event")
			return nil
		}
	}
}

// eventID is data.id of a schedule event.
func eventID(t *testing.T, e *protocol.Envelope) string {
	t.Helper()
	var d struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(e.Data, &d))
	return d.ID
}

// numSub counts the Redis subscribers of a bus channel.
func numSub(t *testing.T, url, prefix, channel string) int64 {
	t.Helper()
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	c := redis.NewClient(opts)
	defer func() { _ = c.Close() }()
	n, err := c.PubSubNumSub(context.Background(), prefix+":"+channel).Result()
	require.NoError(t, err)
	return n[prefix+":"+channel]
}

// TestScheduleReminderTwoGatewaysRedis: a user with sessions on two
// gateways (two processes on one Redis) gets the scheduler's reminder on
// each of them, nobody else does, and the user channel is unsubscribed once
// the user's last session on a gateway ends.
func TestScheduleReminderTwoGatewaysRedis(t *testing.T) {
	url := requireRedis(t)
	prefix := uniquePrefix()
	cleanupRedis(t, url, prefix)
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	newBus := func() bus.Bus {
		b, err := bus.NewRedisBus(ctx, bus.RedisConfig{URL: url, Prefix: prefix}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		return b
	}
	newState := func() signaling.State {
		st, err := signaling.NewRedisState(ctx, signaling.RedisStateConfig{URL: url, Prefix: prefix}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	e.Bus, e.State = newBus(), newState()
	g1 := e.Start(t, signaling.Config{GatewayID: "gw-1"}, nil)
	e.Bus, e.State = newBus(), newState()
	g2 := e.Start(t, signaling.Config{GatewayID: "gw-2"}, nil)
	scheduler := newBus() // the scheduler is a third process

	ada1 := e.Dial(t, g1, e.Token(t, tenantA, "ada", auth.RoleAttendee))
	ada2 := e.Dial(t, g2, e.Token(t, tenantA, "ada", auth.RoleAttendee))
	ada3 := e.Dial(t, g2, e.Token(t, tenantA, "ada", auth.RoleAttendee)) // a second tab
	bob := e.Dial(t, g1, e.Token(t, tenantA, "bob", auth.RoleAttendee))
	adaB := e.Dial(t, g2, e.Token(t, tenantB, "ada", auth.RoleAttendee)) // same subject, other tenant
	join(t, ada1, "lobby", false)
	join(t, ada2, "stage", false)
	join(t, ada3, "lobby", false)
	join(t, bob, "lobby", false)
	join(t, adaB, "lobby", false)
	require.EqualValues(t, 0, numSub(t, url, prefix, "t:alpha:user:ada"), "no subscription per user: one pattern subscription per gateway")
	u1, _ := g1.G.ScheduleFeeds()
	u2, _ := g2.G.ScheduleFeeds()
	require.Equal(t, 2, u1, "gateway 1 routes alpha's ada and bob")
	require.Equal(t, 2, u2, "gateway 2 routes alpha's ada and beta's ada")

	publishOn(t, scheduler, tenantA, "user:ada", scheduleEnvelope(t, "schedule.reminder", "reminder:ada-1", "room-00"))
	for _, c := range []*client.Client{ada1, ada2, ada3} {
		ev := nextSchedule(t, c)
		require.Equal(t, "schedule.reminder", ev.Type)
		require.Empty(t, ev.Room, "a reminder is no room event")
		require.Equal(t, "reminder:ada-1", eventID(t, ev))
	}
	publishOn(t, scheduler, tenantA, "user:bob", scheduleEnvelope(t, "schedule.reminder", "reminder:bob-1", "room-00"))
	require.Equal(t, "reminder:bob-1", eventID(t, nextSchedule(t, bob)), "bob gets his own reminder and not ada's")
	publishOn(t, scheduler, tenantB, "user:ada", scheduleEnvelope(t, "schedule.reminder", "reminder:beta-ada", "room-00"))
	require.Equal(t, "reminder:beta-ada", eventID(t, nextSchedule(t, adaB)), "tenant beta's ada gets only beta's reminder")

	// Only reminders pass the user channel: anything else is dropped.
	publishOn(t, scheduler, tenantA, "user:ada", []byte(`{"v":1,"type":"mod.removed","room":"lobby","data":{"by":"x"}}`))
	publishOn(t, scheduler, tenantA, "user:ada", scheduleEnvelope(t, "schedule.qa_close", "qa.close:1", "room-00"))
	publishOn(t, scheduler, tenantA, "user:ada", []byte(`not json`))
	publishOn(t, scheduler, tenantA, "user:ada", scheduleEnvelope(t, "schedule.reminder", "reminder:ada-2", "room-00"))
	require.Equal(t, "reminder:ada-2", eventID(t, nextSchedule(t, ada1)))

	// Gateway 2 routes ada's channel while ada has a session there.
	require.NoError(t, ada2.Close())
	u2, _ = g2.G.ScheduleFeeds()
	require.Equal(t, 2, u2)
	require.NoError(t, ada3.Close())
	eventually(t, "gateway 2 stopped routing alpha's ada", func() bool {
		u, _ := g2.G.ScheduleFeeds()
		return u == 1
	})
	require.NoError(t, ada1.Close())
	eventually(t, "gateway 1 routes only bob", func() bool {
		u, _ := g1.G.ScheduleFeeds()
		return u == 1
	})
	publishOn(t, scheduler, tenantA, "user:bob", scheduleEnvelope(t, "schedule.reminder", "reminder:bob-2", "room-00"))
	require.Equal(t, "reminder:bob-2", eventID(t, nextSchedule(t, bob)), "bob still gets his reminders")
}

// TestScheduleStageOpenRoomEvent: the scheduler's stage_open reaches the
// members of the room it names on every gateway, as a room event, and only
// them; qa_close (chat's business) is not forwarded to clients.
func TestScheduleStageOpenRoomEvent(t *testing.T) {
	e := newEnv(t)
	g1, g2 := twoGateways(t, e, signaling.Config{})
	a := e.Dial(t, g1, e.Token(t, tenantA, "ada", auth.RoleAttendee))
	b := e.Dial(t, g2, e.Token(t, tenantA, "bob", auth.RoleAttendee))
	o := e.Dial(t, g1, e.Token(t, tenantA, "oz", auth.RoleAttendee))
	x := e.Dial(t, g2, e.Token(t, tenantB, "xi", auth.RoleAttendee))
	join(t, a, "room-00", false)
	join(t, b, "room-00", false)
	join(t, o, "room-01", false)
	join(t, x, "room-00", false) // the same room name in another tenant

	publishOn(t, e.Bus, tenantA, "scheduler:actions", scheduleEnvelope(t, "schedule.qa_close", "qa.close:1", "room-00"))
	publishOn(t, e.Bus, tenantA, "scheduler:actions", scheduleEnvelope(t, "schedule.stage_open", "stage.open:0", "no-room-here"))
	publishOn(t, e.Bus, tenantA, "scheduler:actions", []byte(`{"v":1,"type":"schedule.stage_open","data":{"id":"x","session":{"room_id":"../bad"}}}`))
	publishOn(t, e.Bus, tenantA, "scheduler:actions", scheduleEnvelope(t, "schedule.stage_open", "stage.open:1", "room-00"))
	for _, c := range []*client.Client{a, b} {
		ev := nextSchedule(t, c)
		require.Equal(t, "schedule.stage_open", ev.Type)
		require.Equal(t, "room-00", ev.Room)
		require.Equal(t, "stage.open:1", eventID(t, ev))
	}
	publishOn(t, e.Bus, tenantA, "scheduler:actions", scheduleEnvelope(t, "schedule.stage_open", "stage.open:2", "room-01"))
	ev := nextSchedule(t, o)
	require.Equal(t, "room-01", ev.Room)
	require.Equal(t, "stage.open:2", eventID(t, ev), "room-01 gets its own stage_open only")
	publishOn(t, e.Bus, tenantB, "scheduler:actions", scheduleEnvelope(t, "schedule.stage_open", "stage.open:beta", "room-00"))
	require.Equal(t, "stage.open:beta", eventID(t, nextSchedule(t, x)), "tenant beta's room gets beta's event only")
}

// TestScheduleFeedsFollowMembers: the scheduler subscriptions of a gateway
// end with the sessions and rooms that needed them.
func TestScheduleFeedsFollowMembers(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, nil)
	a := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleAttendee))
	a2 := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleAttendee))
	join(t, a, "room-00", false)
	join(t, a, "room-01", false)
	join(t, a2, "room-00", false)
	users, tenants := s.G.ScheduleFeeds()
	require.Equal(t, 1, users, "one user channel for ada's two sessions")
	require.Equal(t, 1, tenants, "one scheduler channel for alpha's two rooms")
	require.NoError(t, a.Close())
	users, tenants = s.G.ScheduleFeeds()
	require.Equal(t, 1, users)
	require.Equal(t, 1, tenants)
	require.NoError(t, a2.Close())
	eventually(t, "feeds closed", func() bool {
		u, tn := s.G.ScheduleFeeds()
		return u == 0 && tn == 0
	})
}
