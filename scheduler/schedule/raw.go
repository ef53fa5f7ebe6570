package schedule

import "fmt"

// rawSchedule is what a format decoder extracts from a file: strings as
// written, before times are resolved and identities checked. Keeping the
// decoders this dumb puts every rule (time zones, day change, guids,
// limits) in one place, resolve, shared by all formats.
type rawSchedule struct {
	format  Format
	version string
	conf    rawConference
	rooms   []Room    // rooms the file declares, in order
	tracks  []Track   // tracks the file declares, in order
	people  []Speaker // persons the file declares (FOSDEM's top-level list)
	days    []rawDay
	events  int // running count, for the MaxEvents limit while decoding
}

// rawConference holds the conference fields as written.
type rawConference struct {
	at                                where
	acronym, title, subtitle          string
	venue, city, start, end           string
	dayChange, timeslot, baseURL, url string
	timeZone                          string
}

// rawDay holds a day's attributes as written and its events in file order.
type rawDay struct {
	at                      where
	index, date, start, end string
	events                  []rawEvent
}

// rawEvent holds one event's fields as written. persons carry whatever
// profile the file gives (JSON persons have biographies and avatars).
type rawEvent struct {
	at                              where
	groupRoom                       string // name of the enclosing room element/key
	guid, id, code, slug, url       string
	date, start, end, duration      string
	room, title, subtitle           string
	track, trackSlug, typ, language string
	abstract, description           string
	logo, feedbackURL, originURL    string
	license                         string
	optOut                          bool
	persons                         []Speaker
	links, attachments              []Link
}

// where locates something in the input for error messages.
type where struct {
	line, col int
	offset    int64 // JSON byte offset; -1 if unknown
	path      string
	sep       string // path separator: "/" for XML, "." for JSON
}

// child returns w with name appended to its path.
func (w where) child(name string) where {
	if w.path == "" {
		w.path = name
	} else {
		w.path += w.sep + name
	}
	return w
}

// errAt builds the *ParseError for a problem at w.
func errAt(f Format, w where, err error, format string, args ...any) *ParseError {
	return &ParseError{
		Format: f, Line: w.line, Column: w.col, Offset: w.offset,
		Path: w.path, Msg: fmt.Sprintf(format, args...), Err: err,
	}
}
