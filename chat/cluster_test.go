package chat_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/chat"
	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
)

// TestTwoProcessesOneOrder runs two services — two gateway processes — on
// one Redis and one store, with members posting concurrently on both. The
// room gets one sequence: every event is published once, the numbers are
// consecutive, and a replay on either process returns the same events in
// the same order. Votes count once across both.
func TestTwoProcessesOneOrder(t *testing.T) {
	url := requireRedis(t)
	prefix := uniquePrefix()
	e1 := newEnv(t, chat.Config{JoinBacklog: 1000}, newRedisHistoryPrefix(t, url, prefix, 1000))
	h2 := newRedisHistoryPrefix(t, url, prefix, 1000)
	svc2, err := chat.New(chat.Config{JoinBacklog: 1000, RatePerSecond: 1e6, RateBurst: 1e6}, chat.Deps{Store: e1.st, History: h2, Publisher: e1.pub, Log: quietLog})
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc2.Close() })
	e2 := &env{t: t, st: e1.st, hist: h2, pub: e1.pub, svc: svc2}

	const perSender, senders = 40, 4
	var wg sync.WaitGroup
	for i := range senders {
		e := []*env{e1, e2}[i%2]
		c := conn(tenantA, fmt.Sprintf("s%d", i), auth.RoleAttendee, "main")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perSender {
				req := &protocol.Envelope{V: 1, Type: "chat.send", Room: "main", Data: []byte(fmt.Sprintf(`{"text":"s%d m%d"}`, i, j))}
				if _, perr := e.svc.Handle(context.Background(), c, req); perr != nil {
					t.Errorf("send: %v", perr)
					return
				}
			}
		}()
	}
	wg.Wait()

	var seqs []int
	for _, ev := range e1.pub.room(tenantA, "main") {
		seqs = append(seqs, int(ev.Seq))
	}
	sort.Ints(seqs)
	require.Len(t, seqs, perSender*senders)
	for i, s := range seqs {
		require.Equal(t, i+1, s, "one sequence, no duplicate, no gap")
	}
	r1, _ := e1.join(conn(tenantA, "r", auth.RoleAttendee, "main"), "main", 0)
	r2, _ := e2.join(conn(tenantA, "r", auth.RoleAttendee, "main"), "main", 0)
	require.Len(t, r1, perSender*senders)
	require.Equal(t, r1, r2, "both processes replay the same order")

	// Vote once holds across processes, even when racing.
	mod := conn(tenantA, "mod", auth.RoleModerator, "main")
	id := e1.must(mod, "poll.create", "main", map[string]any{"question": "?", "options": []string{"a", "b"}})["id"].(string)
	voter := conn(tenantA, "voter", auth.RoleAttendee, "main")
	var ok, dup int
	var mu sync.Mutex
	for range 4 {
		for _, e := range []*env{e1, e2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := &protocol.Envelope{V: 1, Type: "poll.vote", Room: "main", Data: []byte(fmt.Sprintf(`{"id":%q,"option":0}`, id))}
				_, perr := e.svc.Handle(context.Background(), voter, req)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case perr == nil:
					ok++
				case perr.Code == protocol.CodeAlreadyVoted:
					dup++
				default:
					t.Errorf("vote: %v", perr)
				}
			}()
		}
	}
	wg.Wait()
	require.Equal(t, 1, ok)
	require.Equal(t, 7, dup)
}
