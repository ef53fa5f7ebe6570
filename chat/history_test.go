package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/chat"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// historyFactory builds a fresh, empty history keeping window events per room.
type historyFactory func(t *testing.T, window int) chat.History

// histories are the implementations run through the conformance suite.
func histories() map[string]historyFactory {
	return map[string]historyFactory{
		"memory": func(_ *testing.T, window int) chat.History { return chat.NewMemoryHistory(window) },
		"redis": func(t *testing.T, window int) chat.History {
			return newRedisHistory(t, requireRedis(t), window)
		},
	}
}

func ev(i int) *chat.Event {
	return &chat.Event{Type: "chat.message", Data: json.RawMessage(fmt.Sprintf(`{"text":"m%d"}`, i))}
}

// TestHistoryConformance runs the History contract against every backend.
func TestHistoryConformance(t *testing.T) {
	for name, newHist := range histories() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			a := chat.RoomKey{Tenant: tenant.MustParse("alpha"), Room: "main"}
			b := chat.RoomKey{Tenant: tenant.MustParse("beta"), Room: "main"}

			t.Run("unseeded room", func(t *testing.T) {
				h := newHist(t, 10)
				_, err := h.Append(ctx, a, ev(1))
				require.ErrorIs(t, err, chat.ErrNoSequence)
				_, _, err = h.Read(ctx, a, 0, 10)
				require.ErrorIs(t, err, chat.ErrNoSequence)
			})

			t.Run("append and read in order", func(t *testing.T) {
				h := newHist(t, 100)
				require.NoError(t, h.Seed(ctx, a, 0))
				for i := 1; i <= 20; i++ {
					e := ev(i)
					seq, err := h.Append(ctx, a, e)
					require.NoError(t, err)
					require.Equal(t, uint64(i), seq)
					require.Equal(t, uint64(i), e.Seq)
				}
				evs, head, err := h.Read(ctx, a, 5, 10)
				require.NoError(t, err)
				require.Equal(t, uint64(20), head)
				require.Len(t, evs, 10)
				for i, e := range evs {
					require.Equal(t, uint64(6+i), e.Seq)
					require.JSONEq(t, fmt.Sprintf(`{"text":"m%d"}`, 6+i), string(e.Data))
					require.Equal(t, "chat.message", e.Type)
				}
				evs, head, err = h.Read(ctx, a, 20, 10)
				require.NoError(t, err)
				require.Empty(t, evs)
				require.Equal(t, uint64(20), head)
			})

			t.Run("seed keeps existing counter and continues", func(t *testing.T) {
				h := newHist(t, 100)
				require.NoError(t, h.Seed(ctx, a, 41))
				require.NoError(t, h.Seed(ctx, a, 7)) // no effect
				seq, err := h.Append(ctx, a, ev(1))
				require.NoError(t, err)
				require.Equal(t, uint64(42), seq)
				evs, head, err := h.Read(ctx, a, 0, 10)
				require.NoError(t, err)
				require.Equal(t, uint64(42), head)
				require.Len(t, evs, 1)
				require.Equal(t, uint64(42), evs[0].Seq)
			})

			t.Run("window bounds what is kept", func(t *testing.T) {
				h := newHist(t, 50)
				require.NoError(t, h.Seed(ctx, a, 0))
				for i := 1; i <= 500; i++ {
					_, err := h.Append(ctx, a, ev(i))
					require.NoError(t, err)
				}
				evs, head, err := h.Read(ctx, a, 0, 1000)
				require.NoError(t, err)
				require.Equal(t, uint64(500), head)
				require.GreaterOrEqual(t, len(evs), 50)
				require.Less(t, len(evs), 500, "window must trim")
				// What is kept is the contiguous newest tail.
				first := evs[0].Seq
				for i, e := range evs {
					require.Equal(t, first+uint64(i), e.Seq)
				}
				require.Equal(t, uint64(500), evs[len(evs)-1].Seq)
			})

			t.Run("tenants and rooms are separate", func(t *testing.T) {
				h := newHist(t, 10)
				require.NoError(t, h.Seed(ctx, a, 0))
				require.NoError(t, h.Seed(ctx, b, 100))
				_, err := h.Append(ctx, a, ev(1))
				require.NoError(t, err)
				seq, err := h.Append(ctx, b, ev(2))
				require.NoError(t, err)
				require.Equal(t, uint64(101), seq)
				evs, _, err := h.Read(ctx, a, 0, 10)
				require.NoError(t, err)
				require.Len(t, evs, 1)
				require.JSONEq(t, `{"text":"m1"}`, string(evs[0].Data))
				_, _, err = h.Read(ctx, chat.RoomKey{Tenant: a.Tenant, Room: "other"}, 0, 10)
				require.ErrorIs(t, err, chat.ErrNoSequence)
			})

			t.Run("concurrent appends get distinct gapless numbers", func(t *testing.T) {
				h := newHist(t, 1000)
				require.NoError(t, h.Seed(ctx, a, 0))
				const workers, each = 8, 50
				var wg sync.WaitGroup
				seqs := make(chan uint64, workers*each)
				errs := make(chan error, workers*each)
				for w := range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range each {
							s, err := h.Append(ctx, a, ev(w*each+i))
							if err != nil {
								errs <- err
								return
							}
							seqs <- s
						}
					}()
				}
				wg.Wait()
				close(seqs)
				close(errs)
				for err := range errs {
					require.NoError(t, err)
				}
				seen := map[uint64]bool{}
				for s := range seqs {
					require.False(t, seen[s], "duplicate seq %d", s)
					seen[s] = true
				}
				for s := uint64(1); s <= workers*each; s++ {
					require.True(t, seen[s], "missing seq %d", s)
				}
			})
		})
	}
}

// TestRedisHistoryUnavailable checks that an unreachable Redis yields
// ErrUnavailable, never a hang or a silent success.
func TestRedisHistoryUnavailable(t *testing.T) {
	r := startPrivateRedis(t)
	h := newRedisHistory(t, r.URL(), 10)
	ctx := context.Background()
	k := chat.RoomKey{Tenant: tenant.MustParse("alpha"), Room: "main"}
	require.NoError(t, h.Seed(ctx, k, 0))
	r.Stop()
	_, err := h.Append(ctx, k, ev(1))
	require.Error(t, err)
	require.True(t, errors.Is(err, chat.ErrUnavailable), "got %v", err)
	_, _, err = h.Read(ctx, k, 0, 10)
	require.ErrorIs(t, err, chat.ErrUnavailable)
	r.Start()
	// After a restart without persistence the counter is gone.
	_, err = h.Append(ctx, k, ev(1))
	require.ErrorIs(t, err, chat.ErrNoSequence)
}
