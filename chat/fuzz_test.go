package chat

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/plenaryhq/plenary/internal/protocol"
)

// FuzzChatPayloads feeds arbitrary payloads to the decoder of every message
// type the service handles. A decoder must never panic, and what it accepts
// must be normalised: valid UTF-8, no control characters but newline and
// tab, within limits, and stable (decoding its own re-encoding gives the
// same value).
func FuzzChatPayloads(f *testing.F) {
	types := Types()
	slices.Sort(types)
	seeds := map[string][]string{
		"chat.send":     {`{"text":"hi","reply_to":3,"nonce":"c1","tenant":"alpha"}`, `{"text":"\u202ehi\u0000"}`, `{"text":""}`},
		"chat.edit":     {`{"message":1,"text":"x"}`, `{"message":0,"text":"x"}`},
		"chat.delete":   {`{"message":1}`},
		"chat.react":    {`{"message":1,"emoji":"👍"}`, `{"message":1,"emoji":"👍🏽","remove":true}`, `{"message":1,"emoji":"a"}`},
		"chat.history":  {`{"before":10,"limit":5}`, `{}`, `{"limit":-1}`},
		"chat.report":   {`{"message":1,"reason":"spam"}`},
		"chat.replay":   {`{"since":42}`, `{"since":-1}`},
		"chat.silence":  {`{"user":"u","scope":"convention","seconds":60}`, `{"user":"u","lift":true}`, `{"user":""}`},
		"chat.ban":      {`{"user":"u","scope":"room"}`},
		"chat.slowmode": {`{"seconds":10}`, `{"seconds":99999}`},
		"chat.filter":   {`{"words":["Spam","buy now"]}`, `{"words":[]}`},
		"qa.ask":        {`{"text":"why?"}`},
		"qa.upvote":     {`{"id":"q_1"}`},
		"qa.answer":     {`{"id":"q_1","answer":"because"}`},
		"qa.pin":        {`{"id":"q_1","pinned":false}`, `{"id":"q_1"}`},
		"qa.list":       {`{"status":"pending"}`, `{"status":"x"}`},
		"qa.settings":   {`{"premoderation":true,"open":false}`},
		"poll.create":   {`{"question":"?","options":["a","b"]}`, `{"question":"?","options":["a"]}`},
		"poll.vote":     {`{"id":"p_1","option":0}`, `{"id":"p_1"}`},
		"announce.send": {`{"text":"Lunch"}`},
	}
	for i, typ := range types {
		for _, s := range append(seeds[typ], `{}`, `null`, `[]`, `{"x":1}`) {
			f.Add(uint8(i), []byte(s))
		}
	}
	cfg := Config{}.withDefaults()
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		typ := types[int(which)%len(types)]
		r := routes[typ]
		p, perr := r.decode(&protocol.Envelope{V: 1, Type: typ, Data: data}, &cfg)
		if perr != nil {
			if perr.Code != protocol.CodeInvalidPayload && perr.Code != protocol.CodeMessageTooLong {
				t.Fatalf("%s: unexpected error code %d", typ, perr.Code)
			}
			return
		}
		checkNormalised(t, typ, p, &cfg)
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("%s: re-encode: %v", typ, err)
		}
		p2, perr := r.decode(&protocol.Envelope{V: 1, Type: typ, Data: again}, &cfg)
		if perr != nil {
			t.Fatalf("%s: accepted %q but rejects its normal form %s: %v", typ, data, again, perr)
		}
		if b, _ := json.Marshal(p2); string(b) != string(again) {
			t.Fatalf("%s: normalisation not stable: %s then %s", typ, again, b)
		}
	})
}

// checkNormalised asserts the invariants of accepted payloads.
func checkNormalised(t *testing.T, typ string, p any, cfg *Config) {
	t.Helper()
	text := func(field, s string, limit int, optional bool) {
		if s == "" && optional {
			return
		}
		if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > limit || strings.TrimSpace(s) != s {
			t.Fatalf("%s: %s not normalised: %q", typ, field, s)
		}
		for _, r := range s {
			if (unicode.IsControl(r) && r != '\n' && r != '\t') || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) {
				t.Fatalf("%s: %s keeps control character %U", typ, field, r)
			}
		}
	}
	switch v := p.(type) {
	case *sendReq:
		text("text", v.Text, cfg.MaxMessageRunes, false)
	case *editReq:
		text("text", v.Text, cfg.MaxMessageRunes, false)
		if v.Message == 0 {
			t.Fatalf("%s: message 0 accepted", typ)
		}
	case *reactReq:
		if !validEmoji(v.Emoji) || v.Message == 0 {
			t.Fatalf("%s: bad reaction accepted: %+v", typ, v)
		}
	case *historyReq:
		if v.Limit < 1 || v.Limit > cfg.MaxPage {
			t.Fatalf("%s: limit %d", typ, v.Limit)
		}
	case *reportReq:
		text("reason", v.Reason, maxReasonRunes, true)
	case *restrictReq:
		if !validUser(v.User) || (v.Scope != scopeRoom && v.Scope != scopeConvention) || v.Seconds < 0 {
			t.Fatalf("%s: bad restriction accepted: %+v", typ, v)
		}
	case *filterReq:
		for _, w := range v.Words {
			if w == "" || w != normalizeFilterEntry(w) {
				t.Fatalf("%s: filter entry not normalised: %q", typ, w)
			}
		}
	case *askReq:
		text("text", v.Text, cfg.MaxQuestionRunes, false)
	case *answerReq:
		text("answer", v.Answer, cfg.MaxQuestionRunes, true)
	case *pollCreateReq:
		text("question", v.Question, maxPollQuestion, false)
		if len(v.Options) < 2 || len(v.Options) > cfg.MaxPollOptions {
			t.Fatalf("%s: %d options", typ, len(v.Options))
		}
		for _, o := range v.Options {
			text("option", o, maxPollOption, false)
		}
	case *voteReq:
		if v.Option == nil || *v.Option < 0 {
			t.Fatalf("%s: bad option", typ)
		}
	case *announceReq:
		text("text", v.Text, cfg.MaxMessageRunes, false)
	}
}
