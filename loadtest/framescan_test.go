package loadtest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/protocol"
)

// encode builds a frame the way the server does.
func encode(t testing.TB, e *protocol.Envelope) []byte {
	t.Helper()
	b, err := json.Marshal(e)
	require.NoError(t, err)
	return b
}

func TestScanFrame(t *testing.T) {
	sent := time.Now().UnixNano()
	msg, _ := json.Marshal(map[string]any{"user": "u", "role": "attendee", "text": chatText(sent, 64), "ts": 1})
	withSeqInData, _ := json.Marshal(map[string]any{"seq": 99})
	tests := []struct {
		name string
		env  *protocol.Envelope
		want frame
	}{
		{"chat message", &protocol.Envelope{V: 1, Type: "chat.message", Room: "r", Seq: 42, Data: msg},
			frame{typ: []byte("chat.message"), seq: 42, sent: sent}},
		{"ack with seq in data only", &protocol.Envelope{V: 1, Re: requestID(idChat, sent), Type: "ack", Data: withSeqInData},
			frame{typ: []byte("ack"), re: []byte(requestID(idChat, sent))}},
		{"error reply", &protocol.Envelope{V: 1, Re: "u123", Type: "error", Error: &protocol.Error{Code: 4304, Message: "voted"}},
			frame{typ: []byte("error"), re: []byte("u123"), code: 4304}},
		{"presence without seq", &protocol.Envelope{V: 1, Type: "presence.join", Room: "r", Data: json.RawMessage(`{"participant":{"id":"p"}}`)},
			frame{typ: []byte("presence.join")}},
		{"foreign chat text", &protocol.Envelope{V: 1, Type: "chat.message", Room: "r", Seq: 7, Data: json.RawMessage(`{"text":"hello \"lt 5\""}`)},
			frame{typ: []byte("chat.message"), seq: 7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := scanFrame(encode(t, tc.env))
			if len(got.re) == 0 {
				got.re = nil
			}
			require.Equal(t, tc.want, got)
		})
	}
	kind, at, ok := parseRequestID([]byte(requestID(idVote, sent)))
	require.True(t, ok)
	require.Equal(t, byte(idVote), kind)
	require.Equal(t, sent, at)
	_, _, ok = parseRequestID([]byte("x"))
	require.False(t, ok)
	require.Len(t, chatText(sent, 80), 80)
	require.True(t, strings.HasPrefix(chatText(sent, 10), textMarker))
}

func TestDataOf(t *testing.T) {
	b := encode(t, &protocol.Envelope{V: 1, Type: "poll.created", Room: "r", Seq: 3, Data: json.RawMessage(`{"id":"p1","options":["a","b"]}`)})
	require.JSONEq(t, `{"id":"p1","options":["a","b"]}`, string(dataOf(b)))
	require.Nil(t, dataOf([]byte(`{"v":1}`)))
}

// FuzzScanFrame feeds arbitrary server frames to the bots' scanner: it
// must never panic.
func FuzzScanFrame(f *testing.F) {
	f.Add([]byte(`{"v":1,"type":"chat.message","room":"r","seq":42,"data":{"text":"lt 123 x"}}`))
	f.Add([]byte(`{"v":1,"re":"m1a","type":"error","error":{"code":4400}}`))
	f.Add([]byte(`{"v":1,"type":"chat.sync","data":{"head":`))
	f.Fuzz(func(t *testing.T, b []byte) {
		f := scanFrame(b)
		_, _, _ = parseRequestID(f.re)
		_ = dataOf(b)
		_ = findStamp(b)
	})
}

func BenchmarkScanFrame(b *testing.B) {
	msg, _ := json.Marshal(map[string]any{"user": "lt-x-audience-17", "role": "attendee", "text": chatText(time.Now().UnixNano(), 80), "ts": 1})
	frame := encode(b, &protocol.Envelope{V: 1, Type: "chat.message", Room: "keynote", Seq: 123456, Data: msg})
	b.ReportAllocs()
	for b.Loop() {
		_ = scanFrame(frame)
	}
}
