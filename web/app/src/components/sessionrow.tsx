// SessionRow shows one timetable entry: times in the convention's zone
// (and the viewer's, when different), title, speakers, room and track, a
// star for the personal agenda and, while it runs, a link to the stage.

import { Link } from '../lib/router';
import { clock, differs } from '../lib/time';
import type { Session } from '../lib/types';
import { roomSlug } from '../lib/rooms';

interface Props {
  s: Session;
  tz: string;
  tenant: string;
  slug: string;
  starred?: boolean;
  onStar?: (guid: string, on: boolean) => void;
  now?: number;
}

export function SessionRow({ s, tz, tenant, slug, starred, onStar, now = Date.now() }: Props) {
  const live = new Date(s.start).getTime() <= now && now < new Date(s.end).getTime();
  const local = differs(tz, new Date(s.start));
  const stage = `/t/${encodeURIComponent(tenant)}/stage/${encodeURIComponent(roomSlug(s.room))}?c=${encodeURIComponent(slug)}`;
  return (
    <li class={`session${live ? ' live' : ''}`} data-guid={s.guid}>
      <div class="when">
        <time dateTime={s.start}>{clock(s.start, tz)}</time>–<time dateTime={s.end}>{clock(s.end, tz)}</time>
        {local && (
          <span class="local" title="Your local time">
            {clock(s.start)}–{clock(s.end)} your time
          </span>
        )}
      </div>
      <div class="what">
        <h3>{s.title}</h3>
        {s.persons.length > 0 && <p class="speakers">{s.persons.map((p) => p.name).join(', ')}</p>}
        <p class="muted">
          {s.room}
          {s.track && <span class="track"> · {s.track}</span>}
        </p>
        {s.abstract && (
          <details>
            <summary>Abstract</summary>
            <p class="abstract">{s.abstract}</p>
          </details>
        )}
      </div>
      <div class="actions">
        {live && (
          <Link href={stage} class="button primary" aria-label={`Join live: ${s.title}`}>
            Join live
          </Link>
        )}
        {onStar && (
          <button type="button" class="star" aria-pressed={!!starred} aria-label={`${starred ? 'Remove from' : 'Add to'} my agenda: ${s.title}`} onClick={() => onStar(s.guid, !starred)}>
            {starred ? '★' : '☆'}
          </button>
        )}
      </div>
    </li>
  );
}
