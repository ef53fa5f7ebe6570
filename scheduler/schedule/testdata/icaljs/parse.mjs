// Parses an iCalendar file with ical.js and prints one JSON object per
// VEVENT: {uid, start, end, summary, location} with start/end as UTC ISO
// instants. Used by the Go tests to check exported calendars with a real,
// independent parser. Usage: node parse.mjs FILE.ics
import { readFileSync } from 'node:fs';
import ICAL from 'ical.js';

const text = readFileSync(process.argv[2], 'utf8');
const comp = new ICAL.Component(ICAL.parse(text));
const out = comp.getAllSubcomponents('vevent').map((v) => {
  const ev = new ICAL.Event(v);
  return {
    uid: ev.uid,
    start: ev.startDate.toJSDate().toISOString(),
    end: ev.endDate.toJSDate().toISOString(),
    summary: ev.summary,
    location: ev.location,
    description: ev.description,
  };
});
process.stdout.write(JSON.stringify(out));
