package schedule

import (
	"fmt"
	"io"
	"time"
)

// Default limits; a zero field in Limits means the default.
const (
	DefaultMaxBytes           = 32 << 20
	DefaultMaxEvents          = 20000
	DefaultMaxDays            = 100
	DefaultMaxRooms           = 2000
	DefaultMaxPersonsPerEvent = 200
	DefaultMaxLinksPerEvent   = 200
	DefaultMaxTextBytes       = 256 << 10
	DefaultMaxSessionDuration = 99*time.Hour + 59*time.Minute
)

// Limits bound what an import accepts, so that a hostile or broken upload
// cannot exhaust memory or produce an unusable timetable. The largest real
// files (39C3: 2.6 MB, 895 events, 58 rooms, 4 days) are far below them.
type Limits struct {
	// MaxBytes is the largest input accepted (default 32 MiB).
	MaxBytes int64
	// MaxEvents is the most sessions in one file (default 20000).
	MaxEvents int
	// MaxDays is the most convention days (default 100).
	MaxDays int
	// MaxRooms is the most distinct rooms (default 2000).
	MaxRooms int
	// MaxPersonsPerEvent is the most speakers on one session (default 200).
	MaxPersonsPerEvent int
	// MaxLinksPerEvent is the most links, and separately attachments, on
	// one session (default 200).
	MaxLinksPerEvent int
	// MaxTextBytes is the longest single text field (default 256 KiB).
	MaxTextBytes int
	// MaxSessionDuration is the longest session (default 99:59, the most
	// the schedule.xml duration type can express).
	MaxSessionDuration time.Duration
}

// withDefaults fills zero fields with the defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxEvents <= 0 {
		l.MaxEvents = DefaultMaxEvents
	}
	if l.MaxDays <= 0 {
		l.MaxDays = DefaultMaxDays
	}
	if l.MaxRooms <= 0 {
		l.MaxRooms = DefaultMaxRooms
	}
	if l.MaxPersonsPerEvent <= 0 {
		l.MaxPersonsPerEvent = DefaultMaxPersonsPerEvent
	}
	if l.MaxLinksPerEvent <= 0 {
		l.MaxLinksPerEvent = DefaultMaxLinksPerEvent
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = DefaultMaxTextBytes
	}
	if l.MaxSessionDuration <= 0 {
		l.MaxSessionDuration = DefaultMaxSessionDuration
	}
	return l
}

// Import reads a schedule file in format f (FormatUnknown: detect it from
// the content) with the default limits. See Limits.Import.
func Import(r io.Reader, f Format) (*Schedule, error) {
	return Limits{}.Import(r, f)
}

// Import reads at most l.MaxBytes from r and parses them as a schedule in
// format f (FormatUnknown: detect it). The whole file is checked before
// anything is returned: on error there is no partial schedule. Errors wrap
// ErrTooLarge, ErrUnknownFormat, ErrUnsupported, or ErrInvalid (a
// *ParseError naming the first problem).
func (l Limits) Import(r io.Reader, f Format) (*Schedule, error) {
	l = l.withDefaults()
	b, err := io.ReadAll(io.LimitReader(r, l.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read schedule: %w", err)
	}
	return l.ImportBytes(b, f)
}

// ImportBytes is Import for a file already in memory.
func (l Limits) ImportBytes(b []byte, f Format) (*Schedule, error) {
	l = l.withDefaults()
	if int64(len(b)) > l.MaxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, l.MaxBytes)
	}
	if f == FormatUnknown {
		var err error
		if f, err = Detect(b); err != nil {
			return nil, err
		}
	}
	var (
		raw *rawSchedule
		err error
	)
	switch f {
	case FormatFrabXML:
		raw, err = decodeFrabXML(b, l)
	case FormatC3VOCJSON:
		raw, err = decodeC3VOCJSON(b, l)
	case FormatICal:
		return nil, fmt.Errorf("%w: cannot import iCalendar", ErrUnsupported)
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnknownFormat, f)
	}
	if err != nil {
		return nil, err
	}
	return resolve(raw, l)
}
