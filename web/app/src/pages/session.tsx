// SessionPage is the live room: the stage, chat, Q&A, polls and people,
// the attendee's controls (raise hand, and microphone, camera, screen and
// device choice when allowed) and, with console set, the moderator console.

import { useEffect, useState } from 'preact/hooks';
import { api, enc } from '../lib/api';
import { atLeast, claims, token } from '../lib/auth';
import { RoomState } from '../lib/room';
import { Link } from '../lib/router';
import { clock } from '../lib/time';
import type { Convention, NowNext, Session } from '../lib/types';
import { Panel, Tabs, usePageTitle } from '../components/common';
import { Stage, enableSound, sound } from '../components/stage';
import { Chat } from '../components/chat';
import { QA } from '../components/qa';
import { Polls } from '../components/polls';
import { People } from '../components/people';
import { ModeratorBar } from '../components/console';

type Side = 'chat' | 'qa' | 'polls' | 'people';

interface Props {
  tenant: string;
  room: string;
  convention: string;
  console: boolean;
}

/** useRoom creates the room connection for the page's lifetime. */
function useRoom(tenant: string, room: string): RoomState {
  const [rs] = useState(() => new RoomState(tenant, room, token(), claims()?.role || ''));
  const [, setN] = useState(0);
  useEffect(() => {
    const off = rs.subscribe(() => setN((x) => x + 1));
    const soundOff = () => setN((x) => x + 1);
    sound.listeners.add(soundOff);
    rs.start();
    (window as any).plenaryRoom = rs; // test and debugging hook (read-only use)
    return () => {
      off();
      sound.listeners.delete(soundOff);
      rs.close();
    };
  }, []);
  return rs;
}

export function SessionPage({ tenant, room, convention, console: consoleMode }: Props) {
  const rs = useRoom(tenant, room);
  const [side, setSide] = useState<Side>(consoleMode ? 'qa' : 'chat');
  const [current, setCurrent] = useState<Session | null>(null);
  const [conv, setConv] = useState<Convention | null>(null);
  useEffect(() => {
    if (!convention) return;
    api<Convention>(`/v1/conventions/${enc(convention)}`).then(setConv, () => undefined);
    api<NowNext>(`/v1/conventions/${enc(convention)}/now`).then(
      (nn) => setCurrent(nn.rooms.find((r) => r.room.slug === room || r.room.name === room)?.now || null),
      () => undefined,
    );
  }, [convention, room]);
  const title = current?.title || room;
  usePageTitle(consoleMode ? `Console: ${title}` : title);
  const t = encodeURIComponent(tenant);
  const q = convention ? `?c=${enc(convention)}` : '';
  const mod = rs.isModerator();
  const me = rs.self ? rs.participants.get(rs.self.id) || rs.self : null;
  const m = rs.media;
  return (
    <div class={`room${consoleMode ? ' console' : ''}`}>
      <div class="room-head">
        <div>
          {convention && (
            <Link href={`/t/${t}/c/${enc(convention)}`} class="small">
              ← {conv?.title || 'Schedule'}
            </Link>
          )}
          <h1>
            {consoleMode && 'Console: '}
            {title}
          </h1>
          <p class="muted">
            {current && conv && `${clock(current.start, conv.time_zone)}–${clock(current.end, conv.time_zone)} · `}
            {current?.persons.map((p) => p.name).join(', ')}
            {current && ' · '}
            Room {room} · <span data-count="room">{rs.count}</span> here · you are {rs.role || claims()?.role}
            {rs.locked && ' · locked'}
          </p>
        </div>
        {mod &&
          (consoleMode ? (
            <Link class="button" href={`/t/${t}/stage/${enc(room)}${q}`}>
              Attendee view
            </Link>
          ) : (
            <Link class="button" href={`/t/${t}/moderate/${enc(room)}${q}`}>
              Moderator console
            </Link>
          ))}
      </div>
      <Banner rs={rs} />
      {rs.toasts.length > 0 && (
        <div class="toasts" role="status" aria-live="polite">
          {rs.toasts.map((x) => (
            <p key={x.id} class={x.kind === 'error' ? 'error' : 'note'}>
              {x.text}
            </p>
          ))}
        </div>
      )}
      {consoleMode && mod && <ModeratorBar rs={rs} session={current ? { guid: current.guid, title: current.title, track: current.track } : undefined} />}
      <div class="room-body">
        <div class="room-main">
          <Stage rs={rs} />
          <div class="controls" role="toolbar" aria-label="Your controls">
            <button type="button" aria-pressed={!!me?.hand} disabled={rs.status !== 'live'} onClick={() => rs.act(me?.hand ? 'hand.lower' : 'hand.raise', {})}>
              {me?.hand ? 'Lower hand' : 'Raise hand'}
            </button>
            {rs.canPublish && !m.publishing && (
              <button type="button" class="primary" onClick={() => m.startPublishing()}>
                {atLeast(rs.role, 'moderator') ? 'Share camera and microphone' : 'Start camera and microphone'}
              </button>
            )}
            {m.publishing && (
              <>
                <button type="button" aria-pressed={!m.micOn} onClick={() => m.setMic(!m.micOn)}>
                  {m.micOn ? 'Mute microphone' : 'Unmute microphone'}
                </button>
                <button type="button" aria-pressed={!m.camOn} onClick={() => m.setCam(!m.camOn)}>
                  {m.camOn ? 'Turn camera off' : 'Turn camera on'}
                </button>
                {navigator.mediaDevices && 'getDisplayMedia' in navigator.mediaDevices && (
                  <button type="button" aria-pressed={!!m.screen} onClick={() => (m.screen ? m.stopScreen() : m.shareScreen().catch((e) => rs.toast(`Screen sharing failed: ${e.message || e}`, 'error')))}>
                    {m.screen ? 'Stop sharing' : 'Share screen'}
                  </button>
                )}
                <DevicePicker rs={rs} />
              </>
            )}
            {sound.blocked && (
              <button type="button" class="primary" onClick={enableSound}>
                Enable sound
              </button>
            )}
          </div>
        </div>
        <aside class="room-side" aria-label="Room activity">
          <Tabs<Side>
            label="Room activity"
            value={side}
            onChange={setSide}
            tabs={[
              ['chat', 'Chat'],
              ['qa', consoleMode && rs.pending ? `Q&A (${rs.pending})` : 'Q&A'],
              ['polls', 'Polls'],
              ['people', consoleMode ? `People (${rs.count})` : 'People'],
            ]}
          />
          <Panel id={side}>
            {side === 'chat' && <Chat rs={rs} />}
            {side === 'qa' && <QA rs={rs} moderate={consoleMode && mod} />}
            {side === 'polls' && <Polls rs={rs} moderate={consoleMode && mod} />}
            {side === 'people' && <People rs={rs} moderate={consoleMode && mod} />}
          </Panel>
        </aside>
      </div>
    </div>
  );
}

/** Banner tells the user when the connection is not live. */
function Banner({ rs }: { rs: RoomState }) {
  if (rs.status === 'live') return null;
  if (rs.status === 'closed') {
    return (
      <div class="banner closed" role="alert">
        <span>{rs.detail || 'Disconnected.'}</span>
        <button type="button" onClick={() => location.reload()}>
          Rejoin
        </button>
      </div>
    );
  }
  return (
    <div class="banner" role="status" aria-live="assertive" data-banner={rs.status}>
      <span class="spinner" aria-hidden="true" />
      {rs.status === 'reconnecting' ? `Connection lost — reconnecting… ${rs.detail}` : 'Connecting…'}
    </div>
  );
}

function DevicePicker({ rs }: { rs: RoomState }) {
  const m = rs.media;
  const pick = (kind: 'audio' | 'video') => (e: Event) => {
    m.useDevice(kind, (e.target as HTMLSelectElement).value).catch((err) => rs.toast(`Could not switch device: ${err.message || err}`, 'error'));
  };
  return (
    <details class="devices">
      <summary>Devices</summary>
      <label>
        Microphone
        <select value={m.micId} onChange={pick('audio')}>
          <option value="">Default</option>
          {m.devices.audio.map((d, i) => (
            <option key={d.deviceId} value={d.deviceId}>
              {d.label || `Microphone ${i + 1}`}
            </option>
          ))}
        </select>
      </label>
      <label>
        Camera
        <select value={m.camId} onChange={pick('video')}>
          <option value="">Default</option>
          {m.devices.video.map((d, i) => (
            <option key={d.deviceId} value={d.deviceId}>
              {d.label || `Camera ${i + 1}`}
            </option>
          ))}
        </select>
      </label>
    </details>
  );
}
