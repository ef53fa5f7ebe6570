package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/plenaryhq/plenary/internal/protocol"
)

// cleanText prepares user text for storage and delivery as plain text:
// control characters other than newline and tab are removed, as are the
// Unicode bidirectional overrides and isolates (U+202A–U+202E,
// U+2066–U+2069) that can make a message display as something else;
// surrounding space is trimmed. No HTML escaping happens here: the text is
// plain text end to end and the web client escapes it when rendering.
//
// An empty result is CodeInvalidPayload; more than maxRunes characters is
// CodeMessageTooLong.
func cleanText(field, s string, maxRunes int) (string, *protocol.Error) {
	if !utf8.ValidString(s) {
		return "", clientErr(protocol.CodeInvalidPayload, "%s is not valid UTF-8", field)
	}
	// Cheap bound first: a text far over the limit is rejected without work.
	if len(s) > maxRunes*utf8.UTFMax {
		return "", clientErr(protocol.CodeMessageTooLong, "%s longer than %d characters", field, maxRunes)
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return -1
		case unicode.IsControl(r):
			return -1
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "" {
		return "", clientErr(protocol.CodeInvalidPayload, "%s is empty", field)
	}
	if n := utf8.RuneCountInString(s); n > maxRunes {
		return "", clientErr(protocol.CodeMessageTooLong, "%s has %d characters, at most %d", field, n, maxRunes)
	}
	return s, nil
}

// maxEmojiRunes and maxEmojiBytes bound a reaction.
const (
	maxEmojiRunes = 8
	maxEmojiBytes = 32
)

// validEmoji accepts a short string of non-ASCII, non-space, non-control
// characters: emoji including ZWJ sequences and skin tones, not words.
func validEmoji(s string) bool {
	if s == "" || len(s) > maxEmojiBytes || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxEmojiRunes {
		return false
	}
	for _, r := range s {
		if r < 0x80 || unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// maxIDLen bounds user subjects, question and poll IDs and nonces in
// payloads.
const maxIDLen = 128

// validID accepts 1–maxIDLen printable, non-space ASCII characters (token
// subjects, question and poll IDs, client nonces).
func validID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
