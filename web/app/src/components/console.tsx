// ModeratorBar: the room-wide controls of the moderator console — live
// counts, lock, recording, slow mode and announcements.

import { useEffect, useState } from 'preact/hooks';
import { api, enc, errorText } from '../lib/api';
import type { RoomState } from '../lib/room';
import type { Recording } from '../lib/types';

export function ModeratorBar({ rs, session }: { rs: RoomState; session?: { guid: string; title: string; track?: string } }) {
  const ps = [...rs.participants.values()];
  const hands = ps.filter((p) => p.hand).length;
  const stage = ps.filter((p) => p.role === 'speaker').length;
  const [rec, setRec] = useState<Recording | null>(null);
  const [recErr, setRecErr] = useState('');
  const [busy, setBusy] = useState(false);
  const [slow, setSlow] = useState(0);
  const [announce, setAnnounce] = useState('');
  const refresh = async () => {
    try {
      const list = await api<Recording[]>('/v1/library/recordings');
      setRec(list.find((r) => r.room === rs.room && r.status === 'recording') || null);
    } catch {
      /* the library may not be wired: the button still works */
    }
  };
  useEffect(() => {
    void refresh();
    const id = window.setInterval(refresh, 10_000);
    return () => window.clearInterval(id);
  }, []);
  const record = async (start: boolean) => {
    setBusy(true);
    setRecErr('');
    try {
      const body: Record<string, string> = { action: start ? 'start' : 'stop' };
      if (session) {
        body.session = session.guid;
        body.title = session.title;
        if (session.track) body.track = session.track;
      }
      if (!start && rec) body.recording = rec.id;
      await api(`/v1/rooms/${enc(rs.room)}/recording`, { method: 'POST', body });
      rs.recording = start;
      rs.toast(start ? 'Recording requested.' : 'Recording stopped.');
      window.setTimeout(refresh, 1500);
    } catch (e) {
      setRecErr(errorText(e));
    }
    setBusy(false);
  };
  const recording = !!rec || rs.recording;
  return (
    <div class="modbar" aria-label="Room controls">
      <dl class="counts" aria-live="polite">
        <div>
          <dt>In room</dt>
          <dd data-count="participants">{rs.count}</dd>
        </div>
        <div>
          <dt>On stage</dt>
          <dd>{stage}</dd>
        </div>
        <div>
          <dt>Hands</dt>
          <dd data-count="hands">{hands}</dd>
        </div>
        <div>
          <dt>Questions waiting</dt>
          <dd data-count="pending">{rs.pending}</dd>
        </div>
      </dl>
      <div class="row">
        <button type="button" aria-pressed={rs.locked} onClick={() => rs.act('mod.lock', { locked: !rs.locked })}>
          {rs.locked ? 'Unlock room' : 'Lock room'}
        </button>
        <button type="button" class={recording ? 'danger' : ''} disabled={busy} onClick={() => record(!recording)} aria-pressed={recording}>
          {recording ? 'Stop recording' : 'Start recording'}
        </button>
        <label>
          Slow mode
          <select
            value={slow}
            onChange={(e) => {
              const s = Number((e.target as HTMLSelectElement).value);
              setSlow(s);
              void rs.act('chat.slowmode', { seconds: s });
            }}
          >
            <option value={0}>Off</option>
            <option value={5}>5 s</option>
            <option value={15}>15 s</option>
            <option value={60}>1 min</option>
          </select>
        </label>
      </div>
      {recErr && (
        <p class="error" role="alert">
          Recording: {recErr}
        </p>
      )}
      <form
        class="composer"
        onSubmit={(e) => {
          e.preventDefault();
          if (!announce.trim()) return;
          void rs.act('announce.send', { text: announce.trim() }).then((r) => r && setAnnounce(''));
        }}
      >
        <label for="announce" class="sr-only">
          Announcement to the room
        </label>
        <input id="announce" value={announce} maxLength={500} placeholder="Announcement to everyone in the room" onInput={(e) => setAnnounce((e.target as HTMLInputElement).value)} />
        <button type="submit">Announce</button>
      </form>
    </div>
  );
}
