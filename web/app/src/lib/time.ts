// Times are shown in the convention's time zone, with the viewer's own
// local time alongside when the two differ.

const localTZ = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** viewerZone is the browser's IANA time zone. */
export function viewerZone(): string {
  return localTZ;
}

/** clock formats an instant as HH:MM in tz. */
export function clock(iso: string | Date, tz?: string): string {
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  try {
    return new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', timeZone: tz }).format(d);
  } catch {
    return new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' }).format(d);
  }
}

/** dayLabel formats a date (YYYY-MM-DD or an instant) as "Sat 31 Jan". */
export function dayLabel(date: string, tz?: string): string {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(date) ? new Date(date + 'T12:00:00Z') : new Date(date);
  try {
    return new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', timeZone: /^\d{4}-\d{2}-\d{2}$/.test(date) ? 'UTC' : tz }).format(d);
  } catch {
    return date;
  }
}

/** differs reports whether tz shows other clock times than the viewer's. */
export function differs(tz: string, at: Date = new Date()): boolean {
  if (!tz || tz === localTZ) return false;
  return clock(at, tz) !== clock(at);
}

/** zoneName is a short name of tz ("CET", "GMT+1"). */
export function zoneName(tz: string, at: Date = new Date()): string {
  try {
    const parts = new Intl.DateTimeFormat(undefined, { timeZone: tz, timeZoneName: 'short' }).formatToParts(at);
    return parts.find((p) => p.type === 'timeZoneName')?.value || tz;
  } catch {
    return tz;
  }
}

/** span formats start–end in tz. */
export function span(start: string, end: string, tz?: string): string {
  return `${clock(start, tz)}–${clock(end, tz)}`;
}

/** duration formats seconds as m:ss or h:mm:ss. */
export function duration(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}
