package actions

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/queue"
	"github.com/plenaryhq/plenary/internal/store/storetest"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// TestUserChannelVectors pins the user channel names. The signaling gateway
// computes them with its own copy of the rule (components share no
// packages) and tests the same vectors; docs/scheduler.md documents them.
func TestUserChannelVectors(t *testing.T) {
	for _, tc := range []struct{ subject, want string }{
		{"ada", "t:alpha:user:ada"},
		{"bob@example.org", "t:alpha:user:bob@example.org"},
		{"名前", "t:alpha:user:~7ec26292414bccefa35290004928d8cf"},
		{"a b", "t:alpha:user:~c8687a08aa5d6ed2044328fa6a697ab8"},
		{"~x", "t:alpha:user:~52fa21738cf5adaeb141fed4489e0a78"},
		{strings.Repeat("x", 300), "t:alpha:user:~0d4e2ca9e9cbced7a7a5380eb29e1a37"},
	} {
		ch, err := UserChannel(tenantA, tc.subject)
		require.NoError(t, err)
		require.Equal(t, tc.want, string(ch), "subject %q", tc.subject)
	}
}

// contractEnv is one worker on a real store, queue and bus, with a published
// one-session convention.
type contractEnv struct {
	w      *worker
	q      *queue.MemoryQueue
	b      *bus.MemoryBus
	sess   schedule.Session
	roomID string
}

func newContractEnv(t *testing.T) *contractEnv {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t)
	cat, err := catalog.New(ctx, st, catalog.Options{}, quiet)
	require.NoError(t, err)
	start := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	sched := synthetic("con", start, 1, 1, 30*time.Minute)
	sched.Tracks = []schedule.Track{{Name: "Keynotes"}}
	sched.Sessions[0].Track = "Keynotes"
	sched.Sessions[0].RecordingLicense = "CC BY 4.0"
	_, err = cat.Import(ctx, tenantA, "con", sched)
	require.NoError(t, err)
	_, err = cat.SetPublished(ctx, tenantA, "con", true)
	require.NoError(t, err)
	require.NoError(t, cat.Star(ctx, tenantA, "con", "ada", sched.Sessions[0].GUID))
	tt, err := cat.Fresh(ctx, tenantA, "con")
	require.NoError(t, err)
	roomID, ok := tt.RoomID("Room 00")
	require.True(t, ok)

	q, err := queue.NewMemoryQueue(ctx, st, queue.MemoryConfig{PollInterval: 20 * time.Millisecond}, quiet)
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	b := bus.NewMemoryBus(bus.MemoryConfig{}, quiet)
	t.Cleanup(func() { _ = b.Close() })
	cfg := Config{}.withDefaults()
	fired, err := newFiredStore(ctx, st, cfg.ClaimTTL)
	require.NoError(t, err)
	w := &worker{cfg: cfg, src: cat, q: q, bus: b, fired: fired, clock: System(), owner: "test", log: quiet}
	return &contractEnv{w: w, q: q, b: b, sess: sched.Sessions[0], roomID: roomID}
}

// fire hands the worker the job of action k of the session, as the queue
// would, and returns its key.
func (e *contractEnv) fire(t *testing.T, k Kind) string {
	t.Helper()
	var at time.Time
	for _, p := range (Offsets{}).Plan(&e.sess) {
		if p.Kind == k {
			at = p.At
		}
	}
	require.False(t, at.IsZero(), "%s planned", k)
	key := Key(tenantA, "con", e.sess.GUID, k, at)
	b, err := json.Marshal(ActionJob{V: 1, Convention: "con", Session: e.sess.GUID, Action: k.String(), At: at, Key: key, Term: 1})
	require.NoError(t, err)
	require.NoError(t, e.w.handle(context.Background(), queue.Job{ID: "j-" + key, Queue: ActionsQueue, Tenant: tenantA, Kind: k.String(), Payload: b}))
	return key
}

// TestRecorderJobContract: recording.start and recording.stop publish the
// recorder's commands, exactly as docs/recording.md shows them, once.
func TestRecorderJobContract(t *testing.T) {
	e := newContractEnv(t)
	startKey := e.fire(t, KindRecordingStart)
	e.fire(t, KindRecordingStart) // a redelivery: the fired record makes it a no-op
	stopKey := e.fire(t, KindRecordingStop)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan queue.Job, 8)
	go func() {
		_ = e.q.Consume(ctx, "recorder.commands", func(_ context.Context, j queue.Job) error {
			got <- j
			return nil
		}, queue.ConsumeOptions{})
	}()
	want := map[string]string{startKey: "start", stopKey: "stop"}
	for range 2 {
		var j queue.Job
		select {
		case j = <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("no recorder job")
		}
		kind, ok := want[j.IdempotencyKey]
		require.True(t, ok, "job with key %q", j.IdempotencyKey)
		delete(want, j.IdempotencyKey)
		require.Equal(t, kind, j.Kind)
		require.Equal(t, tenantA, j.Tenant)
		var payload map[string]any
		require.NoError(t, json.Unmarshal(j.Payload, &payload))
		require.Equal(t, map[string]any{
			"v": 1.0, "room": e.roomID, "session": e.sess.GUID, "convention": "con",
			"title": e.sess.Title, "track": "Keynotes", "license": "CC BY 4.0", "key": j.IdempotencyKey,
		}, payload)
	}
	select {
	case j := <-got:
		t.Fatalf("unexpected second job %s %s", j.Kind, j.IdempotencyKey)
	case <-time.After(300 * time.Millisecond): // nothing more may arrive
	}
	require.Equal(t, "room-00", e.roomID, "a room-name-safe guid is the live room ID")
}

// TestEventsNameTheLiveRoom: reminder and stage events carry the session's
// live room ID, on the channels the gateway and chat subscribe.
func TestEventsNameTheLiveRoom(t *testing.T) {
	e := newContractEnv(t)
	ctx := context.Background()
	userCh, err := bus.TenantChannel(tenantA, "user:ada")
	require.NoError(t, err)
	actionsCh, err := bus.TenantChannel(tenant.MustParse("alpha"), "scheduler:actions")
	require.NoError(t, err)
	users, err := e.b.Subscribe(ctx, userCh)
	require.NoError(t, err)
	defer func() { _ = users.Close() }()
	acts, err := e.b.Subscribe(ctx, actionsCh)
	require.NoError(t, err)
	defer func() { _ = acts.Close() }()

	next := func(sub bus.Subscription) map[string]any {
		t.Helper()
		select {
		case msg := <-sub.C():
			var env map[string]any
			require.NoError(t, json.Unmarshal(msg, &env))
			return env
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
			return nil
		}
	}
	for _, tc := range []struct {
		kind Kind
		sub  bus.Subscription
		typ  string
	}{
		{KindReminder, users, "schedule.reminder"},
		{KindStageOpen, acts, "schedule.stage_open"},
		{KindQAClose, acts, "schedule.qa_close"},
	} {
		key := e.fire(t, tc.kind)
		env := next(tc.sub)
		require.Equal(t, tc.typ, env["type"])
		require.EqualValues(t, 1, env["v"])
		data := env["data"].(map[string]any)
		require.Equal(t, key, data["id"])
		sess := data["session"].(map[string]any)
		require.Equal(t, e.roomID, sess["room_id"])
		require.Equal(t, "Room 00", sess["room"])
		require.Equal(t, e.sess.GUID, sess["guid"])
	}
}
