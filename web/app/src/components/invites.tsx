// Invites mints personal links for moderators, speakers and attendees
// (POST /v1/invites, organizers only) and shows them to copy.

import { useState } from 'preact/hooks';
import { api, enc, errorText } from '../lib/api';
import type { Convention, Room } from '../lib/types';
import { ErrorBox, useAsync } from './common';

interface Invite {
  url: string;
  token: string;
  expires_at: string;
}

export function Invites({ tenant, convention }: { tenant: string; convention: Convention }) {
  const rooms = useAsync((signal) => api<{ rooms: Room[] }>(`/v1/conventions/${enc(convention.slug)}/rooms`, { signal }), [convention.slug]);
  const [made, setMade] = useState<(Invite & { who: string })[]>([]);
  const [err, setErr] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const room = String(f.get('room') || '');
    const name = String(f.get('name') || '').trim();
    const role = String(f.get('role'));
    setErr('');
    try {
      const inv = await api<Invite>('/v1/invites', {
        method: 'POST',
        body: { name, role, rooms: room ? [room] : [], ttl_hours: Number(f.get('hours')) || 72, path: room ? `/t/${tenant}/${role === 'moderator' ? 'moderate' : 'stage'}/${room}?c=${convention.slug}` : `/t/${tenant}/c/${convention.slug}` },
      });
      setMade([{ ...inv, who: `${name || 'Anyone'} · ${role}${room ? ` · ${room}` : ''}` }, ...made]);
    } catch (x) {
      setErr(errorText(x));
    }
  };
  return (
    <div class="grid2">
      <form class="card stack" onSubmit={submit} aria-label="Create an invitation link">
        <h2>Invitation link</h2>
        <p class="muted">Each link signs its holder in with the role you choose. Send it privately.</p>
        <label for="inv-name">Name shown to others</label>
        <input id="inv-name" name="name" required maxLength={100} />
        <label for="inv-role">Role</label>
        <select id="inv-role" name="role">
          <option value="attendee">Attendee</option>
          <option value="speaker" selected>
            Speaker
          </option>
          <option value="moderator">Moderator</option>
        </select>
        <label for="inv-room">Room</label>
        <select id="inv-room" name="room">
          <option value="">All rooms</option>
          {rooms.data?.rooms.map((r) => (
            <option key={r.name} value={r.slug || r.name}>
              {r.name}
            </option>
          ))}
        </select>
        <label for="inv-hours">Valid for (hours)</label>
        <input id="inv-hours" name="hours" type="number" min={1} max={720} defaultValue="72" />
        <button type="submit" class="primary">
          Create link
        </button>
        <ErrorBox error={err} />
      </form>
      <div class="card">
        <h2>Links created</h2>
        {made.length === 0 && <p class="muted">None yet in this visit. Links are not stored: copy them now.</p>}
        <ul class="invites">
          {made.map((m, i) => (
            <li key={i}>
              <p>{m.who}</p>
              <input readOnly value={m.url} aria-label={`Invitation link for ${m.who}`} onFocus={(e) => (e.target as HTMLInputElement).select()} />
              <button type="button" onClick={() => navigator.clipboard?.writeText(m.url)}>
                Copy
              </button>
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
