package ical

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestEscapeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a,b;c\\d", `a\,b\;c\\d`},
		{"line1\r\nline2\nline3", `line1\nline2\nline3`},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, EscapeText(tt.in))
		})
	}
}

// unfold reverses folding (RFC 5545 section 3.1): a CRLF followed by one
// space or tab is removed.
func unfold(s string) string {
	s = strings.ReplaceAll(s, "\r\n ", "")
	return strings.ReplaceAll(s, "\r\n\t", "")
}

func TestFold(t *testing.T) {
	tests := []struct {
		name string
		line string
	}{
		{"short", "SUMMARY:hello"},
		{"exactly 75", "SUMMARY:" + strings.Repeat("x", 75-len("SUMMARY:"))},
		{"76", "SUMMARY:" + strings.Repeat("x", 76-len("SUMMARY:"))},
		{"long ascii", "DESCRIPTION:" + strings.Repeat("abcdefghij", 40)},
		{"multibyte", "SUMMARY:" + strings.Repeat("é€𝄞", 60)},
		{"multibyte at boundary", "SUMMARY:" + strings.Repeat("x", 66) + strings.Repeat("€", 10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := Fold(tt.line)
			require.True(t, strings.HasSuffix(out, "\r\n"))
			for i, l := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
				require.LessOrEqual(t, len(l), MaxLineOctets, "line %d is %d octets", i, len(l))
				require.True(t, utf8.ValidString(l), "line %d splits a UTF-8 sequence", i)
				if i > 0 {
					require.True(t, strings.HasPrefix(l, " "), "continuation line %d must start with a space", i)
				}
			}
			require.Equal(t, tt.line+"\r\n", unfold(out))
		})
	}
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Begin("VEVENT")
	w.Text("SUMMARY", "Hello, world; \x01bye")
	w.UTC("DTSTART", time.Date(2026, 1, 31, 9, 30, 0, 0, time.FixedZone("CET", 3600)))
	w.Raw("URL", "https://example.org/a\r\nX-EVIL:1")
	w.End("VEVENT")
	require.NoError(t, w.Flush())
	require.Equal(t, "BEGIN:VEVENT\r\n"+
		"SUMMARY:Hello\\, world\\; bye\r\n"+
		"DTSTART:20260131T083000Z\r\n"+
		"URL:https://example.org/aX-EVIL:1\r\n"+
		"END:VEVENT\r\n", buf.String())
}
