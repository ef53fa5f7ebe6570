package loadtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestChatBotConsumesAllButRequestReplies: a chat bot's client decodes and
// queues only the replies its Requests wait for. Everything else, the
// replies to fire-and-forget sends included, is handled in the reader: a
// chat bot reads no Events, so anything queued there stalls its reader
// once the small buffer is full (until the next upkeep sweep), which at
// 10,000 bots showed up as seconds of delay and slow-consumer drops.
func TestChatBotConsumesAllButRequestReplies(t *testing.T) {
	b := &wsBot{r: &run{rec: NewRecorder(nil)}, room: &roomState{}}
	now := time.Now().UnixNano()
	for _, tc := range []struct {
		frame    string
		consumed bool
	}{
		{`{"v":1,"re":"` + requestID(idChat, now) + `","type":"ack","room":"main"}`, true},
		{`{"v":1,"re":"` + requestID(idPing, now) + `","type":"ack"}`, true},
		{`{"v":1,"re":"` + requestID(idVote, now) + `","type":"error","error":{"code":4409,"message":"x"}}`, true},
		{`{"v":1,"re":"7","type":"ack","room":"main","data":{"room":"main"}}`, false}, // the client's Request (join)
		{`{"v":1,"type":"chat.message","room":"main","seq":3,"data":{"text":"hi"}}`, true},
		{`{"v":1,"type":"presence.batch","room":"main","data":{"events":[]}}`, true},
	} {
		require.Equal(t, tc.consumed, b.onFrame(nil, []byte(tc.frame)), tc.frame)
	}
}
