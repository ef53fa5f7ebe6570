// ConventionHome: what is on now and next in every room, and the whole
// timetable by day, filtered by room, track or text, in the convention's
// time zone with the viewer's local time alongside.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, enc, errorText } from '../lib/api';
import { useStars } from '../lib/agenda';
import { Link } from '../lib/router';
import { rememberRooms, roomSlug } from '../lib/rooms';
import { clock, dayLabel, differs, viewerZone, zoneName } from '../lib/time';
import type { Convention, NowNext, Room, Session, SessionList, Track } from '../lib/types';
import { ErrorBox, Loading, Panel, Tabs, useAsync, usePageTitle } from '../components/common';
import { SessionRow } from '../components/sessionrow';

type Tab = 'now' | 'schedule';
type Group = 'time' | 'room' | 'track';

export function ConventionHome({ tenant, slug }: { tenant: string; slug: string }) {
  const conv = useAsync((signal) => api<Convention>(`/v1/conventions/${enc(slug)}`, { signal }), [slug]);
  usePageTitle(conv.data?.title || slug);
  const [tab, setTab] = useState<Tab>('now');
  const [err, setErr] = useState('');
  const { stars, toggle } = useStars(slug, (e) => setErr(errorText(e)));
  const c = conv.data;
  const t = encodeURIComponent(tenant);
  return (
    <section>
      {conv.loading && !c && <Loading />}
      <ErrorBox error={conv.error} retry={conv.reload} />
      {c && (
        <>
          <div class="page-head">
            <div>
              <h1>{c.title || c.slug}</h1>
              {c.subtitle && <p class="subtitle">{c.subtitle}</p>}
              <p class="muted">
                {[c.venue, c.city].filter(Boolean).join(', ')}
                {(c.venue || c.city) && ' · '}
                Times in {c.time_zone}
                {zoneName(c.time_zone) !== c.time_zone && ` (${zoneName(c.time_zone)})`}
                {differs(c.time_zone) && `; your time (${zoneName(viewerZone())}) shown alongside`}
              </p>
            </div>
            <Link class="button" href={`/t/${t}/c/${enc(slug)}/agenda`}>
              My agenda ({stars.size})
            </Link>
          </div>
          <ErrorBox error={err} />
          <Tabs<Tab>
            label="Convention views"
            value={tab}
            onChange={setTab}
            tabs={[
              ['now', 'Now & next'],
              ['schedule', 'Schedule'],
            ]}
          />
          {tab === 'now' ? (
            <Panel id="now">
              <NowNextView conv={c} tenant={tenant} />
            </Panel>
          ) : (
            <Panel id="schedule">
              <Schedule conv={c} tenant={tenant} stars={stars} onStar={toggle} />
            </Panel>
          )}
        </>
      )}
    </section>
  );
}

function NowNextView({ conv, tenant }: { conv: Convention; tenant: string }) {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const id = window.setInterval(() => setTick((x) => x + 1), 60_000);
    return () => window.clearInterval(id);
  }, []);
  const nn = useAsync((signal) => api<NowNext>(`/v1/conventions/${enc(conv.slug)}/now`, { signal }), [conv.slug, tick]);
  useEffect(() => {
    if (nn.data) rememberRooms(nn.data.rooms.map((r) => r.room));
  }, [nn.data]);
  const tz = conv.time_zone;
  const t = encodeURIComponent(tenant);
  if (nn.loading && !nn.data) return <Loading />;
  return (
    <>
      <ErrorBox error={nn.error} retry={nn.reload} />
      {nn.data && nn.data.rooms.length === 0 && <p>Nothing is on now and nothing more is planned.</p>}
      <ul class="nownext">
        {nn.data?.rooms.map(({ room, now, next }) => {
          const stage = `/t/${t}/stage/${enc(room.slug || roomSlug(room.name))}?c=${enc(conv.slug)}`;
          return (
            <li key={room.name} class="card">
              <h2>{room.name}</h2>
              {now ? (
                <div class="now">
                  <p class="label">
                    <span class="live-dot" aria-hidden="true" />
                    Now · {clock(now.start, tz)}–{clock(now.end, tz)}
                    {differs(tz) && <span class="local"> ({clock(now.start)}–{clock(now.end)} your time)</span>}
                  </p>
                  <h3>{now.title}</h3>
                  {now.persons.length > 0 && <p class="speakers">{now.persons.map((p) => p.name).join(', ')}</p>}
                  <Link class="button primary" href={stage} aria-label={`Join live: ${now.title}`}>
                    Join live
                  </Link>
                </div>
              ) : (
                <p class="muted">Nothing on right now.</p>
              )}
              {next && (
                <div class="next">
                  <p class="label">
                    Next · {dayLabel(next.start, tz)} {clock(next.start, tz)}
                    {differs(tz) && <span class="local"> ({clock(next.start)} your time)</span>}
                  </p>
                  <h3>{next.title}</h3>
                </div>
              )}
            </li>
          );
        })}
      </ul>
    </>
  );
}

function Schedule({ conv, tenant, stars, onStar }: { conv: Convention; tenant: string; stars: Set<string>; onStar: (g: string, on: boolean) => void }) {
  const today = new Date().toISOString().slice(0, 10);
  const initialDay = conv.days.find((d) => d.date === today)?.index ?? conv.days[0]?.index ?? 0;
  const [day, setDay] = useState<number>(initialDay);
  const [group, setGroup] = useState<Group>('time');
  const [room, setRoom] = useState('');
  const [track, setTrack] = useState('');
  const [q, setQ] = useState('');
  const [query, setQuery] = useState('');
  useEffect(() => {
    const id = window.setTimeout(() => setQuery(q), 250);
    return () => window.clearTimeout(id);
  }, [q]);
  const rooms = useAsync((signal) => api<{ rooms: Room[] }>(`/v1/conventions/${enc(conv.slug)}/rooms`, { signal }), [conv.slug]);
  const tracks = useAsync((signal) => api<{ tracks: Track[] }>(`/v1/conventions/${enc(conv.slug)}/tracks`, { signal }), [conv.slug]);
  useEffect(() => {
    if (rooms.data) rememberRooms(rooms.data.rooms);
  }, [rooms.data]);
  const params = new URLSearchParams({ limit: '5000' });
  if (conv.days.length) params.set('day', String(day));
  if (room) params.set('room', room);
  if (track) params.set('track', track);
  if (query) params.set('q', query);
  const list = useAsync((signal) => api<SessionList>(`/v1/conventions/${enc(conv.slug)}/sessions?${params}`, { signal }), [conv.slug, params.toString()]);
  const groups = useMemo(() => {
    const out = new Map<string, Session[]>();
    for (const s of list.data?.sessions || []) {
      const k = group === 'room' ? s.room : group === 'track' ? s.track || 'No track' : clock(s.start, conv.time_zone);
      if (!out.has(k)) out.set(k, []);
      out.get(k)!.push(s);
    }
    return [...out.entries()];
  }, [list.data, group]);
  const now = Date.now();
  return (
    <>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter the schedule">
        {conv.days.length > 0 && (
          <label>
            Day
            <select value={day} onChange={(e) => setDay(Number((e.target as HTMLSelectElement).value))}>
              {conv.days.map((d) => (
                <option value={d.index} key={d.index}>
                  {dayLabel(d.date)}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          Group by
          <select value={group} onChange={(e) => setGroup((e.target as HTMLSelectElement).value as Group)}>
            <option value="time">Time</option>
            <option value="room">Room</option>
            <option value="track">Track</option>
          </select>
        </label>
        <label>
          Room
          <select value={room} onChange={(e) => setRoom((e.target as HTMLSelectElement).value)}>
            <option value="">All rooms</option>
            {rooms.data?.rooms.map((r) => (
              <option key={r.name}>{r.name}</option>
            ))}
          </select>
        </label>
        <label>
          Track
          <select value={track} onChange={(e) => setTrack((e.target as HTMLSelectElement).value)}>
            <option value="">All tracks</option>
            {tracks.data?.tracks.map((r) => (
              <option key={r.name}>{r.name}</option>
            ))}
          </select>
        </label>
        <label>
          Search
          <input type="search" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} placeholder="Title or speaker" />
        </label>
      </form>
      <p class="muted" role="status" aria-live="polite" id="schedule-count">
        {list.loading ? 'Loading…' : `${list.data?.total ?? 0} sessions`}
      </p>
      <ErrorBox error={list.error} retry={list.reload} />
      {groups.map(([k, ss]) => (
        <section key={k} class="group" aria-label={k}>
          <h2 class="group-head">{k}</h2>
          <ul class="sessions">
            {ss.map((s) => (
              <SessionRow key={s.guid} s={s} tz={conv.time_zone} tenant={tenant} slug={conv.slug} starred={stars.has(s.guid)} onStar={onStar} now={now} />
            ))}
          </ul>
        </section>
      ))}
    </>
  );
}
