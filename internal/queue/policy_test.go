package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPolicyBackoff(t *testing.T) {
	p := Policy{BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	cases := []struct {
		attempt int
		want    time.Duration // before jitter
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, time.Second},
		{50, time.Second},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.attempt), func(t *testing.T) {
			for range 20 {
				got := p.Backoff(c.attempt)
				require.GreaterOrEqual(t, got, c.want)
				require.Less(t, got, c.want+c.want/10+1)
			}
		})
	}
	require.GreaterOrEqual(t, Policy{}.Backoff(1), DefaultBaseBackoff, "zero policy uses defaults")
}

func TestDecide(t *testing.T) {
	p := Policy{MaxAttempts: 3}
	boom := errors.New("boom")
	cases := []struct {
		name     string
		err      error
		attempt  int
		stopping bool
		want     outcome
	}{
		{"success", nil, 1, false, outcomeAck},
		{"success while stopping", nil, 1, true, outcomeAck},
		{"failure", boom, 1, false, outcomeRetry},
		{"last attempt", boom, 3, false, outcomeDead},
		{"permanent", Permanent(boom), 1, false, outcomeDead},
		{"wrapped permanent", fmt.Errorf("ctx: %w", Permanent(boom)), 1, false, outcomeDead},
		{"cancelled by shutdown", fmt.Errorf("step: %w", context.Canceled), 3, true, outcomeInterrupt},
		{"cancelled but not stopping", context.Canceled, 1, false, outcomeRetry},
		{"other error while stopping", boom, 1, true, outcomeRetry},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, decide(c.err, c.attempt, p, c.stopping))
		})
	}
	require.Nil(t, Permanent(nil))
	require.True(t, IsPermanent(Permanent(boom)))
	require.ErrorIs(t, Permanent(boom), boom)
}

func TestValidQueueName(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"scheduler.actions", true},
		{"recorder_package-2", true},
		{"a", true},
		{"", false},
		{".hidden", false},
		{"Upper", false},
		{"with space", false},
		{"a/b", false},
		{"x.dlq", false},
		{strings.Repeat("a", MaxQueueName+1), false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%.20q", c.name), func(t *testing.T) {
			err := ValidQueueName(c.name)
			if c.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrInvalidQueue)
			}
		})
	}
}

func TestPrepareIDs(t *testing.T) {
	j, err := prepare(Job{Queue: "q", Tenant: tenantA})
	require.NoError(t, err)
	require.Len(t, j.ID, 32)
	k1, err := prepare(Job{Queue: "q", Tenant: tenantA, IdempotencyKey: "k"})
	require.NoError(t, err)
	k2, err := prepare(Job{Queue: "q", Tenant: tenantB, IdempotencyKey: "k"})
	require.NoError(t, err)
	require.Equal(t, k1.ID, k2.ID, "the key alone names the job within a queue")
	k3, err := prepare(Job{Queue: "other", Tenant: tenantA, IdempotencyKey: "k"})
	require.NoError(t, err)
	require.NotEqual(t, k1.ID, k3.ID, "keys are per queue")
	e, err := prepare(Job{Queue: "q", Tenant: tenantA, ID: "explicit:1", Attempt: 7, LastError: "x"})
	require.NoError(t, err)
	require.Equal(t, "explicit:1", e.ID)
	require.Zero(t, e.Attempt, "delivery fields are cleared")
	require.Empty(t, e.LastError)
}
