package schedule

import (
	"bytes"
	"fmt"
	"strings"
)

// Format is a schedule file format.
type Format int

const (
	// FormatUnknown is the zero value; Import treats it as "detect from
	// content".
	FormatUnknown Format = iota
	// FormatFrabXML is the frab/pentabarf schedule.xml format.
	FormatFrabXML
	// FormatC3VOCJSON is the c3voc schedule JSON format (frab, pretalx and
	// the c3voc hub export it).
	FormatC3VOCJSON
	// FormatICal is iCalendar (RFC 5545); export only.
	FormatICal
)

var formatNames = [...]string{
	FormatUnknown:   "unknown",
	FormatFrabXML:   "frab-xml",
	FormatC3VOCJSON: "c3voc-json",
	FormatICal:      "ical",
}

// String returns the format's name as used in ?format= query parameters.
func (f Format) String() string {
	if f < 0 || int(f) >= len(formatNames) {
		return fmt.Sprintf("Format(%d)", int(f))
	}
	return formatNames[f]
}

// ContentType returns the media type an export in this format is served as.
func (f Format) ContentType() string {
	switch f {
	case FormatFrabXML:
		return "application/xml; charset=utf-8"
	case FormatC3VOCJSON:
		return "application/json; charset=utf-8"
	case FormatICal:
		return "text/calendar; charset=utf-8"
	default:
		return "application/octet-stream"
	}
}

// ParseFormat parses a format name. It accepts the names String returns and
// the common aliases "xml", "json", "ics" and "ical". An empty name is
// FormatUnknown with no error (detect from content).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return FormatUnknown, nil
	case "frab-xml", "frab", "xml", "pentabarf":
		return FormatFrabXML, nil
	case "c3voc-json", "c3voc", "json":
		return FormatC3VOCJSON, nil
	case "ical", "ics", "icalendar":
		return FormatICal, nil
	default:
		return FormatUnknown, fmt.Errorf("%w: %q (want frab-xml, c3voc-json or ical)", ErrUnknownFormat, s)
	}
}

// Detect guesses a file's format from its first significant bytes: XML
// starts with '<', JSON with '{', iCalendar with "BEGIN:VCALENDAR". A UTF-8
// byte order mark and leading white space are skipped. It never reads past
// the first 512 bytes.
func Detect(b []byte) (Format, error) {
	b = trimLeading(b)
	head := b[:min(len(b), 512)]
	switch {
	case len(head) == 0:
		return FormatUnknown, fmt.Errorf("%w: empty input", ErrUnknownFormat)
	case head[0] == '<':
		return FormatFrabXML, nil
	case head[0] == '{':
		return FormatC3VOCJSON, nil
	case len(head) >= 15 && bytes.EqualFold(head[:15], []byte("BEGIN:VCALENDAR")):
		return FormatICal, nil
	default:
		return FormatUnknown, fmt.Errorf("%w: content starts with %q", ErrUnknownFormat, head[:min(len(head), 16)])
	}
}

// trimLeading drops a UTF-8 BOM and leading ASCII white space.
func trimLeading(b []byte) []byte {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	return bytes.TrimLeft(b, " \t\r\n")
}
