// Package ical writes iCalendar (RFC 5545) content lines: property values
// escaped as TEXT (section 3.3.11), lines folded at 75 octets (section 3.1)
// and terminated by CRLF. It knows nothing about conventions or sessions; the
// scheduler's exporter decides which components and properties to write.
package ical

import (
	"bufio"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxLineOctets is the longest a content line may be, excluding the CRLF
// line break (RFC 5545 section 3.1). Continuation lines count their leading
// space against the same limit.
const MaxLineOctets = 75

// Writer writes content lines to an underlying writer. The first write error
// is remembered and returned by Flush; later writes are dropped, so callers
// can write a whole calendar and check once.
type Writer struct {
	w   *bufio.Writer
	err error
}

// NewWriter returns a Writer that buffers output to w. Call Flush at the end.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriter(w)}
}

// Begin writes "BEGIN:<component>".
func (w *Writer) Begin(component string) { w.Raw("BEGIN", component) }

// End writes "END:<component>".
func (w *Writer) End(component string) { w.Raw("END", component) }

// Text writes a property whose value type is TEXT, escaping the value.
func (w *Writer) Text(name, value string) { w.Raw(name, EscapeText(value)) }

// UTC writes a DATE-TIME property in UTC form ("19980119T070000Z",
// RFC 5545 section 3.3.5, FORM #2), which needs no VTIMEZONE component.
func (w *Writer) UTC(name string, t time.Time) { w.Raw(name, FormatUTC(t)) }

// Raw writes a property with a value that is already in its final form (a
// URI, a date-time, an escaped text). Control characters that no value type
// allows are removed, and the line is folded.
func (w *Writer) Raw(name, value string) {
	if w.err != nil {
		return
	}
	line := name + ":" + stripControls(value)
	w.err = writeFolded(w.w, line)
}

// Flush writes any buffered data and returns the first error seen.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	return w.w.Flush()
}

// FormatUTC formats t as a UTC DATE-TIME, truncated to whole seconds.
func FormatUTC(t time.Time) string {
	return t.UTC().Format("20060102T150405Z")
}

// EscapeText escapes s as a TEXT value (RFC 5545 section 3.3.11): backslash,
// semicolon and comma get a backslash, a line break becomes "\n". CR is
// dropped, so CRLF and LF both become one "\n".
func EscapeText(s string) string {
	if !strings.ContainsAny(s, "\\;,\n\r") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', ';', ',':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// stripControls removes characters RFC 5545 excludes from every value
// (CONTROL: %x00-08 / %x0A-1F / %x7F) and replaces invalid UTF-8, so one bad
// imported field cannot break the calendar for every reader. HTAB stays.
func stripControls(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			clean = false
			break
		}
	}
	if clean && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			b.WriteRune('\uFFFD')
		case (r < 0x20 && r != '\t') || r == 0x7f:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// writeFolded writes line folded into chunks of at most MaxLineOctets octets,
// each continuation starting with one space, never splitting a UTF-8
// sequence (section 3.1: "multi-octet characters SHOULD NOT be split").
func writeFolded(w *bufio.Writer, line string) error {
	limit := MaxLineOctets
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		if cut == 0 { // cannot happen with valid UTF-8 and limit >= 4
			cut = limit
		}
		if _, err := w.WriteString(line[:cut]); err != nil {
			return err
		}
		if _, err := w.WriteString("\r\n "); err != nil {
			return err
		}
		line = line[cut:]
		limit = MaxLineOctets - 1 // the leading space counts
	}
	if _, err := w.WriteString(line); err != nil {
		return err
	}
	_, err := w.WriteString("\r\n")
	return err
}

// Fold returns line folded and CRLF-terminated exactly as Writer would write
// it. It exists for tests and for callers building a single line.
func Fold(line string) string {
	var b strings.Builder
	bw := bufio.NewWriter(&b)
	_ = writeFolded(bw, line) // strings.Builder never fails
	_ = bw.Flush()
	return b.String()
}
