// OrganizerConvention: one convention's metadata and publication, schedule
// import with summary and conflicts, editing sessions, rooms and tracks,
// exports, and invitation links for moderators and speakers.

import { useState } from 'preact/hooks';
import { api, enc, errorText } from '../lib/api';
import { token } from '../lib/auth';
import { Link } from '../lib/router';
import { roomSlug } from '../lib/rooms';
import { clock, dayLabel } from '../lib/time';
import type { Conflict, Convention, Room, Session, SessionList, Track } from '../lib/types';
import { ErrorBox, Loading, Panel, Tabs, useAsync, usePageTitle } from '../components/common';
import { Conflicts, ImportForm } from '../components/import';
import { Invites } from '../components/invites';

type Tab = 'overview' | 'sessions' | 'rooms' | 'tracks' | 'invites';

export function OrganizerConvention({ tenant, slug }: { tenant: string; slug: string }) {
  const conv = useAsync((signal) => api<Convention>(`/v1/conventions/${enc(slug)}`, { signal }), [slug]);
  usePageTitle(`Organize ${conv.data?.title || slug}`);
  const [tab, setTab] = useState<Tab>('overview');
  const t = encodeURIComponent(tenant);
  const c = conv.data;
  return (
    <section>
      <p>
        <Link href={`/t/${t}/organizer`}>← Organizer</Link>
      </p>
      {conv.loading && !c && <Loading />}
      <ErrorBox error={conv.error} retry={conv.reload} />
      {c && (
        <>
          <div class="page-head">
            <div>
              <h1>{c.title || c.slug}</h1>
              <p class="muted">
                <span data-count="sessions">{c.counts.sessions}</span> sessions over <span data-count="days">{c.days.length}</span> days · {c.counts.rooms} rooms · {c.counts.tracks} tracks · {c.time_zone} ·{' '}
                {c.published ? 'published' : 'draft'}
              </p>
            </div>
            <Link class="button" href={`/t/${t}/c/${enc(slug)}`}>
              Attendee view
            </Link>
          </div>
          <Tabs<Tab>
            label="Convention management"
            value={tab}
            onChange={setTab}
            tabs={[
              ['overview', 'Overview'],
              ['sessions', 'Sessions'],
              ['rooms', 'Rooms'],
              ['tracks', 'Tracks'],
              ['invites', 'Invitations'],
            ]}
          />
          <Panel id={tab}>
            {tab === 'overview' && <Overview c={c} reload={conv.reload} />}
            {tab === 'sessions' && <Sessions c={c} />}
            {tab === 'rooms' && <Rooms c={c} tenant={tenant} />}
            {tab === 'tracks' && <Tracks c={c} />}
            {tab === 'invites' && <Invites tenant={tenant} convention={c} />}
          </Panel>
        </>
      )}
    </section>
  );
}

function Overview({ c, reload }: { c: Convention; reload: () => void }) {
  const [err, setErr] = useState('');
  const conflicts = useAsync((signal) => api<{ conflicts: Conflict[] }>(`/v1/conventions/${enc(c.slug)}/conflicts`, { signal }), [c.slug, c.counts.sessions]);
  const publish = async () => {
    setErr('');
    try {
      await api(`/v1/conventions/${enc(c.slug)}/${c.published ? 'unpublish' : 'publish'}`, { method: 'POST' });
      reload();
    } catch (e) {
      setErr(errorText(e));
    }
  };
  const download = async (ext: string) => {
    setErr('');
    try {
      const res = await fetch(`/v1/conventions/${enc(c.slug)}/schedule.${ext}`, { headers: { Authorization: `Bearer ${token()}` } });
      if (!res.ok) throw new Error(`Export failed (${res.status})`);
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `${c.slug}.${ext}`;
      a.click();
      window.setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (e) {
      setErr(errorText(e));
    }
  };
  return (
    <div class="grid2">
      <div class="card stack">
        <h2>Publication</h2>
        <p>{c.published ? 'Attendees can see this convention and its timed actions run.' : 'Only organizers can see this convention.'}</p>
        <button type="button" class={c.published ? '' : 'primary'} onClick={publish}>
          {c.published ? 'Unpublish' : 'Publish'}
        </button>
        <h2>Days</h2>
        <ul>
          {c.days.map((d) => (
            <li key={d.index}>
              {dayLabel(d.date)}: {clock(d.start, c.time_zone)}–{clock(d.end, c.time_zone)}
            </li>
          ))}
        </ul>
        <h2>Export</h2>
        <div class="row">
          <button type="button" onClick={() => download('xml')}>
            frab XML
          </button>
          <button type="button" onClick={() => download('json')}>
            c3voc JSON
          </button>
          <button type="button" onClick={() => download('ics')}>
            iCal
          </button>
        </div>
        <ErrorBox error={err} />
        <h2>Conflicts</h2>
        {conflicts.loading ? <Loading /> : <Conflicts list={conflicts.data?.conflicts || []} />}
      </div>
      <ImportForm slug={c.slug} onDone={() => reload()} />
    </div>
  );
}

function toInput(s: Session) {
  return {
    guid: s.guid,
    title: s.title,
    subtitle: s.subtitle,
    abstract: s.abstract,
    type: s.type,
    language: s.language,
    start: s.start,
    duration_minutes: s.duration_minutes,
    day: s.day,
    room: s.room,
    track: s.track,
    persons: s.persons.map((p) => ({ name: p.name })),
    recording_opt_out: s.recording_opt_out,
  };
}

function Sessions({ c }: { c: Convention }) {
  const [q, setQ] = useState('');
  const [editing, setEditing] = useState<Session | null>(null);
  const list = useAsync((signal) => api<SessionList>(`/v1/conventions/${enc(c.slug)}/sessions?limit=5000${q ? `&q=${enc(q)}` : ''}`, { signal }), [c.slug, q]);
  const rooms = useAsync((signal) => api<{ rooms: Room[] }>(`/v1/conventions/${enc(c.slug)}/rooms`, { signal }), [c.slug]);
  const tracks = useAsync((signal) => api<{ tracks: Track[] }>(`/v1/conventions/${enc(c.slug)}/tracks`, { signal }), [c.slug]);
  const shown = (list.data?.sessions || []).slice(0, 200);
  return (
    <div>
      <div class="row">
        <label>
          Search sessions
          <input type="search" value={q} onChange={(e) => setQ((e.target as HTMLInputElement).value)} />
        </label>
        <button
          type="button"
          class="primary"
          onClick={() =>
            setEditing({ guid: '', title: '', start: c.days[0]?.start || new Date().toISOString(), end: '', duration_minutes: 30, day: c.days[0]?.index || 0, room: rooms.data?.rooms[0]?.name || '', persons: [], recording_opt_out: false })
          }
        >
          Add session
        </button>
      </div>
      {editing && <SessionEditor c={c} s={editing} rooms={rooms.data?.rooms || []} tracks={tracks.data?.tracks || []} onClose={() => setEditing(null)} onSaved={() => { setEditing(null); list.reload(); }} />}
      <p class="muted" role="status">
        {list.loading ? 'Loading…' : `${list.data?.total ?? 0} sessions${(list.data?.total || 0) > shown.length ? `, first ${shown.length} shown — search to narrow` : ''}`}
      </p>
      <ErrorBox error={list.error} retry={list.reload} />
      <table class="table">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Title</th>
            <th scope="col">Room</th>
            <th scope="col">Track</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {shown.map((s) => (
            <tr key={s.guid}>
              <td>
                {dayLabel(s.start, c.time_zone)} {clock(s.start, c.time_zone)}
              </td>
              <th scope="row">{s.title}</th>
              <td>{s.room}</td>
              <td>{s.track}</td>
              <td>
                <button type="button" onClick={() => setEditing(s)} aria-label={`Edit ${s.title}`}>
                  Edit
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function SessionEditor({ c, s, rooms, tracks, onClose, onSaved }: { c: Convention; s: Session; rooms: Room[]; tracks: Track[]; onClose: () => void; onSaved: () => void }) {
  const [err, setErr] = useState('');
  // The start is shown as the convention's local wall time; its UTC offset is kept.
  const offset = /([+-]\d\d:\d\d|Z)$/.exec(s.start)?.[1] || 'Z';
  const save = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const body = {
      ...toInput(s),
      title: String(f.get('title')),
      start: `${f.get('start')}:00${offset}`,
      duration_minutes: Number(f.get('duration')),
      room: String(f.get('room')),
      track: String(f.get('track') || '') || undefined,
      persons: String(f.get('persons') || '')
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean)
        .map((name) => ({ name })),
      recording_opt_out: f.get('optout') === 'on',
    };
    if (!s.guid) delete (body as { guid?: string }).guid;
    setErr('');
    try {
      if (s.guid) await api(`/v1/conventions/${enc(c.slug)}/sessions/${enc(s.guid)}`, { method: 'PUT', body });
      else await api(`/v1/conventions/${enc(c.slug)}/sessions`, { method: 'POST', body });
      onSaved();
    } catch (x) {
      setErr(errorText(x));
    }
  };
  const cancelSession = async () => {
    if (!confirm(`Cancel "${s.title}"?`)) return;
    try {
      await api(`/v1/conventions/${enc(c.slug)}/sessions/${enc(s.guid)}`, { method: 'DELETE' });
      onSaved();
    } catch (x) {
      setErr(errorText(x));
    }
  };
  return (
    <form class="card stack" onSubmit={save} aria-label={s.guid ? `Edit ${s.title}` : 'New session'}>
      <h2>{s.guid ? 'Edit session' : 'New session'}</h2>
      <label for="s-title">Title</label>
      <input id="s-title" name="title" required defaultValue={s.title} />
      <div class="row">
        <label>
          Start ({c.time_zone})
          <input name="start" type="datetime-local" required defaultValue={s.start.slice(0, 16)} />
        </label>
        <label>
          Minutes
          <input name="duration" type="number" min={0} defaultValue={String(s.duration_minutes)} />
        </label>
      </div>
      <div class="row">
        <label>
          Room
          <select name="room">
            {rooms.map((r) => (
              <option key={r.name} selected={r.name === s.room}>
                {r.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Track
          <select name="track">
            <option value="">None</option>
            {tracks.map((r) => (
              <option key={r.name} selected={r.name === s.track}>
                {r.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <label for="s-persons">Speakers (comma-separated)</label>
      <input id="s-persons" name="persons" defaultValue={s.persons.map((p) => p.name).join(', ')} />
      <label class="check">
        <input type="checkbox" name="optout" defaultChecked={s.recording_opt_out} /> Do not record
      </label>
      <div class="row">
        <button type="submit" class="primary">
          Save
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
        {s.guid && (
          <button type="button" class="danger" onClick={cancelSession}>
            Cancel session
          </button>
        )}
      </div>
      <ErrorBox error={err} />
    </form>
  );
}

function NamedList<T extends { name: string }>({ c, kind, fields }: { c: Convention; kind: 'rooms' | 'tracks'; fields: (x: T) => preact.ComponentChildren }) {
  const list = useAsync((signal) => api<Record<string, T[]>>(`/v1/conventions/${enc(c.slug)}/${kind}`, { signal }), [c.slug]);
  const [err, setErr] = useState('');
  const [name, setName] = useState('');
  const run = async (p: Promise<unknown>) => {
    setErr('');
    try {
      await p;
      list.reload();
    } catch (e) {
      setErr(errorText(e));
    }
  };
  const label = kind === 'rooms' ? 'room' : 'track';
  return (
    <div>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim()) void run(api(`/v1/conventions/${enc(c.slug)}/${kind}`, { method: 'POST', body: { name: name.trim() } }).then(() => setName('')));
        }}
      >
        <label>
          New {label}
          <input value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">Add {label}</button>
      </form>
      <ErrorBox error={err || list.error} />
      <table class="table">
        <tbody>
          {list.data?.[kind]?.map((x) => (
            <tr key={x.name}>
              <th scope="row">{x.name}</th>
              <td>{fields(x)}</td>
              <td class="row">
                <button
                  type="button"
                  aria-label={`Rename ${x.name}`}
                  onClick={() => {
                    const n = prompt(`Rename ${label}`, x.name);
                    if (n && n.trim() && n !== x.name) void run(api(`/v1/conventions/${enc(c.slug)}/${kind}/${enc(x.name)}`, { method: 'PUT', body: { ...x, name: n.trim() } }));
                  }}
                >
                  Rename
                </button>
                <button
                  type="button"
                  class="danger"
                  aria-label={`Delete ${x.name}`}
                  onClick={() => {
                    if (confirm(`Delete ${label} ${x.name}?`)) void run(api(`/v1/conventions/${enc(c.slug)}/${kind}/${enc(x.name)}`, { method: 'DELETE' }));
                  }}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Rooms({ c, tenant }: { c: Convention; tenant: string }) {
  const t = encodeURIComponent(tenant);
  return (
    <NamedList<Room>
      c={c}
      kind="rooms"
      fields={(r) => {
        const slug = r.slug || roomSlug(r.name);
        return (
          <span class="row">
            <Link href={`/t/${t}/stage/${enc(slug)}?c=${enc(c.slug)}`}>Stage</Link>
            <Link href={`/t/${t}/moderate/${enc(slug)}?c=${enc(c.slug)}`}>Console</Link>
          </span>
        );
      }}
    />
  );
}

function Tracks({ c }: { c: Convention }) {
  return <NamedList<Track> c={c} kind="tracks" fields={(x) => (x.color ? <span class="swatch" style={{ background: x.color }} aria-label={`colour ${x.color}`} /> : null)} />;
}
