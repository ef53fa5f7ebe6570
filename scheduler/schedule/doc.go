// Package schedule is the pure core of the scheduler: the timetable model of a
// convention (days, rooms, tracks, sessions, speakers), importers for the
// frab/pentabarf schedule.xml and c3voc schedule JSON formats, exporters for
// those formats and iCalendar (RFC 5545), the import summary and conflict
// detection.
//
// Nothing here touches the network, the store or the clock (except where a
// caller asks for "now"): the REST API, persistence and timed actions build
// on it. Model types carry bson tags so the store can keep them as documents;
// a session's identity is its GUID, which re-imports match on.
//
// Times are absolute (time.Time instants). A convention's IANA time zone and
// its day-change clock time only matter where a file gives a local clock time
// without an offset, and for presentation. The tz database is embedded
// (time/tzdata) so that resolution does not depend on the host.
package schedule

import _ "time/tzdata" // conventions name IANA zones; do not depend on the host's copy
