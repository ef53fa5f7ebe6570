// People lists the room's participants, raised hands first. In the
// moderator console each row has the moderation actions of
// docs/protocol.md (promote, demote, lower hand, mute, remove, ban).

import type { RoomState } from '../lib/room';
import type { Participant } from '../lib/types';

/** ordered puts raised hands first (oldest first), then stage, then by join time. */
export function ordered(ps: Participant[]): Participant[] {
  const stage = (p: Participant) => (p.role === 'attendee' ? 1 : 0);
  return [...ps].sort((a, b) => (a.hand || Infinity) - (b.hand || Infinity) || stage(a) - stage(b) || a.joined - b.joined);
}

export function People({ rs, moderate = false }: { rs: RoomState; moderate?: boolean }) {
  const people = ordered([...rs.participants.values()]);
  return (
    <div class="people">
      <p class="muted">{rs.count} in the room</p>
      <ul>
        {people.map((p) => {
          const self = p.id === rs.self?.id;
          const label = p.name || p.user;
          return (
            <li key={p.id} data-participant={p.id} class={p.hand ? 'hand' : ''}>
              <span class="who">
                {p.hand ? <span class="badge hand">hand raised</span> : null} 
                {label}
                {self && ' (you)'} <span class="badge">{p.role}</span>
                {p.muted && <span class="badge">muted</span>}
                {p.speaking && <span class="badge ok">speaking</span>}
              </span>
              {moderate && !self && (
                <span class="row">
                  {p.role === 'attendee' && (
                    <button type="button" class="primary" onClick={() => rs.act('mod.promote', { participant: p.id })} aria-label={`Promote ${label} to speaker`}>
                      Promote
                    </button>
                  )}
                  {p.role === 'speaker' && (
                    <button type="button" onClick={() => rs.act('mod.demote', { participant: p.id })} aria-label={`Demote ${label}`}>
                      Demote
                    </button>
                  )}
                  {p.hand && (
                    <button type="button" onClick={() => rs.act('hand.lower', { participant: p.id })} aria-label={`Lower hand of ${label}`}>
                      Lower hand
                    </button>
                  )}
                  <button type="button" onClick={() => rs.act('mod.mute', { participant: p.id })} aria-label={`Mute ${label}`}>
                    Mute
                  </button>
                  <button
                    type="button"
                    onClick={() => {
                      if (confirm(`Remove ${label} from the room?`)) void rs.act('mod.remove', { participant: p.id });
                    }}
                    aria-label={`Remove ${label}`}
                  >
                    Remove
                  </button>
                  <button
                    type="button"
                    class="danger"
                    onClick={() => {
                      if (confirm(`Ban ${label} from the room for 24 hours?`)) void rs.act('mod.ban', { participant: p.id });
                    }}
                    aria-label={`Ban ${label}`}
                  >
                    Ban
                  </button>
                </span>
              )}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
