package queue

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
)

func TestDelayBucket(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want int64
	}{
		{0, 0},
		{-time.Second, 0},
		{999 * time.Microsecond, 0},
		{time.Millisecond, 1},
		{3 * time.Millisecond, 2},
		{1500 * time.Millisecond, 1024},
		{2048 * time.Millisecond, 2048},
		{90 * 24 * time.Hour, 1 << maxDelayExp},
	}
	for _, c := range cases {
		t.Run(c.d.String(), func(t *testing.T) {
			got := delayBucket(c.d)
			require.Equal(t, c.want, got)
			require.LessOrEqual(t, time.Duration(got)*time.Millisecond, max(c.d, 0), "a hop never overshoots")
		})
	}
}

// TestMessageRoundTrip encodes a job as a publishing and decodes it back.
func TestMessageRoundTrip(t *testing.T) {
	nb := time.Unix(0, 1_700_000_000_123_456_789)
	m := message{
		job: Job{ID: "job-1", Queue: "jobs", Tenant: tenantA, Kind: "k", Payload: []byte("p"),
			IdempotencyKey: "key", NotBefore: nb, LastError: "last"},
		attempts: 2,
		due:      nb.Add(time.Second),
	}
	p := m.publishing()
	got, err := decodeDelivery("jobs", amqp.Delivery{Headers: p.Headers, MessageId: p.MessageId, Type: p.Type, Body: p.Body})
	require.NoError(t, err)
	require.Equal(t, 2, got.attempts)
	require.Equal(t, 3, got.job.Attempt)
	require.Equal(t, nb.UnixNano(), got.job.NotBefore.UnixNano())
	require.Equal(t, m.due.UnixNano(), got.due.UnixNano())
	require.Equal(t, m.due.UnixNano(), got.readyAt().UnixNano())
	got.job.NotBefore, m.job.NotBefore = time.Time{}, time.Time{}
	m.job.Attempt = 3
	require.Equal(t, m.job, got.job)
}

// FuzzDecodeDelivery feeds arbitrary header values to the decoder, which
// reads messages anyone with broker access can publish: it must return an
// error or a valid job, never panic.
func FuzzDecodeDelivery(f *testing.F) {
	f.Add("acme", "job-1", int64(0), "kind", []byte("body"), int64(0), "err")
	f.Add("", "", int64(-1), "", []byte{}, int64(-5), "")
	f.Add("Bad Tenant", "a b", int64(1<<40), "x", []byte{0xff}, int64(1<<62), "e")
	f.Fuzz(func(t *testing.T, tn, id string, attempts int64, kind string, body []byte, nb int64, lastErr string) {
		d := amqp.Delivery{
			Headers: amqp.Table{
				headerTenant:    tn,
				headerAttempts:  attempts,
				headerNotBefore: nb,
				headerLastError: lastErr,
				headerDue:       []byte(lastErr),
			},
			MessageId: id, Type: kind, Body: body,
		}
		m, err := decodeDelivery("jobs", d)
		if err != nil {
			return
		}
		if !m.job.Tenant.Valid() || !validID(m.job.ID) || m.job.Attempt < 1 || m.job.Queue != "jobs" {
			t.Fatalf("decoded an invalid job: %+v", m.job)
		}
	})
}
