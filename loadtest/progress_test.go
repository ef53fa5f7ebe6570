package loadtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProgressLine(t *testing.T) {
	rec := NewRecorder(nil)
	var p progress
	rec.Connected(3)
	rec.Add(CounterChatSent, 5)
	rec.Add(CounterChatReceived, 12_000)
	rec.Observe(MetricJoin, 120*time.Millisecond)
	rec.Error("network")
	rec.Error("network")
	rec.Error("4400")
	line := p.line(rec, 42*time.Second, 10)
	for _, want := range []string{"42s", "bots 3/10 up", "chat 5/s sent, 12k/s recv", "join 120ms", "errors 3", "network:2", "4400:1"} {
		require.Contains(t, line, want)
	}
	rec.Add(CounterChatSent, 2)
	require.Contains(t, p.line(rec, 43*time.Second, 10), "chat 2/s sent", "rates are per second")
}
