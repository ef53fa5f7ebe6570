package chat

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/protocol"
)

func TestCleanText(t *testing.T) {
	cases := []struct {
		in, want string
		code     int
	}{
		{"hello", "hello", 0},
		{"  two\nlines\t ", "two\nlines", 0},
		{"a\r\nb", "a\nb", 0},
		{"nul\x00bell\x07", "nulbell", 0},
		{"\u202eevil\u202c", "evil", 0},
		{"<i>x</i>&", "<i>x</i>&", 0}, // plain text, not escaped
		{"", "", protocol.CodeInvalidPayload},
		{" \x00\n ", "", protocol.CodeInvalidPayload},
		{"\xff\xfe", "", protocol.CodeInvalidPayload},
		{strings.Repeat("é", 10), strings.Repeat("é", 10), 0},
		{strings.Repeat("é", 11), "", protocol.CodeMessageTooLong},
		{strings.Repeat("x", 1000), "", protocol.CodeMessageTooLong},
	}
	for _, c := range cases {
		got, err := cleanText("text", c.in, 10)
		if c.code != 0 {
			require.NotNil(t, err, "%q", c.in)
			require.Equal(t, c.code, err.Code, "%q", c.in)
			continue
		}
		require.Nil(t, err, "%q", c.in)
		require.Equal(t, c.want, got)
	}
}

func TestValidEmojiAndRoom(t *testing.T) {
	for s, ok := range map[string]bool{"👍": true, "👍🏽": true, "👩‍👩‍👧": true, "🎉🎉": true, "a": false, "👍 ": false, "": false,
		strings.Repeat("🎉", 9): false} {
		require.Equal(t, ok, validEmoji(s), "%q", s)
	}
	for s, ok := range map[string]bool{"main": true, "Main-Stage_2.b": true, "": false, "a b": false, "a/b": false, "{x}": false,
		"-lead": false, "a~b": false,
		strings.Repeat("r", MaxRoomLen): true, strings.Repeat("r", MaxRoomLen+1): false} {
		require.Equal(t, ok, validRoom(s) == nil, "%q", s)
	}
}

func TestWordFilterMatch(t *testing.T) {
	f := newWordFilter([]string{"Spam", "buy now", "", "日本"})
	for text, want := range map[string]bool{
		"spam": true, "SPAM.": true, "no-spam-here": true, "spammy": false,
		"buy now!": true, "buy, now": true, "buy later now": false,
		"日本": true, "日本語": false, "": false,
	} {
		require.Equal(t, want, f.match(text), "%q", text)
	}
	require.False(t, newWordFilter(nil).match("anything"))
}

func TestLimiter(t *testing.T) {
	l := newLimiter(2, 3)
	now := time.Unix(1000, 0)
	for range 3 {
		require.True(t, l.allow("u", now))
	}
	require.False(t, l.allow("u", now))
	require.True(t, l.allow("other", now))
	require.True(t, l.allow("u", now.Add(500*time.Millisecond)), "refills at 2/s")
	require.False(t, l.allow("u", now.Add(500*time.Millisecond)))
	// Idle buckets are swept.
	l.allow("u", now.Add(2*sweepEvery))
	require.Len(t, l.buckets, 1)
}

func TestSlowModeReserve(t *testing.T) {
	m := newSlowMode()
	k := RoomKey{Tenant: "alpha", Room: "main"}
	now := time.Unix(1000, 0)
	_, prev, ok := m.reserve(k, "u", 10*time.Second, now)
	require.True(t, ok)
	wait, _, ok := m.reserve(k, "u", 10*time.Second, now.Add(4*time.Second))
	require.False(t, ok)
	require.Equal(t, 6*time.Second, wait)
	m.release(k, "u", prev, now) // the post failed
	_, _, ok = m.reserve(k, "u", 10*time.Second, now.Add(4*time.Second))
	require.True(t, ok)
}

func TestRedactDeleted(t *testing.T) {
	msg := func(seq uint64, text string) *Event {
		raw, _ := json.Marshal(chatMessage{User: "u", Text: text})
		return &Event{Seq: seq, Type: typeMessage, Data: raw}
	}
	del, _ := json.Marshal(chatDeleted{Message: 1, By: "m"})
	evs := redactDeleted([]*Event{msg(1, "rude"), msg(2, "fine"), {Seq: 3, Type: typeDeleted, Data: del}})
	require.NotContains(t, string(evs[0].Data), "rude")
	require.Contains(t, string(evs[0].Data), `"deleted":true`)
	require.Contains(t, string(evs[1].Data), "fine")
}

func TestCoalescer(t *testing.T) {
	c := newCoalescer(time.Hour, time.Second, nil)
	var runs atomic.Int32
	for range 100 {
		c.schedule("k", func(context.Context) { runs.Add(1) })
	}
	c.schedule("other", func(context.Context) { runs.Add(1) })
	c.close() // flushes what is pending, once per key
	require.Equal(t, int32(2), runs.Load())
	c.schedule("k", func(context.Context) { runs.Add(1) })
	require.Equal(t, int32(2), runs.Load(), "ignored after close")

	c = newCoalescer(10*time.Millisecond, time.Second, nil)
	done := make(chan struct{})
	c.schedule("k", func(context.Context) { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("flush did not run")
	}
	c.close()
}

func TestPrefixesCoverTypes(t *testing.T) {
	for _, typ := range Types() {
		ok := false
		for _, p := range Prefixes() {
			ok = ok || strings.HasPrefix(typ, p)
		}
		require.True(t, ok, typ)
	}
}
