// Stage shows the room's video: the active speaker large (else a screen
// share, else the first video), everyone else in a strip, and the local
// preview. Each tile reports its rendered size so the SFU sends the layer
// that fits (media.prefs).

import { useEffect, useRef, useState } from 'preact/hooks';
import type { RoomState } from '../lib/room';
import type { RemoteVideo } from '../lib/media';

interface TileProps {
  id: string;
  stream: MediaStream;
  label: string;
  speaking?: boolean;
  local?: boolean;
  large?: boolean;
  onSize?: (w: number, h: number) => void;
  participant?: string;
}

function Tile({ id, stream, label, speaking, local, large, onSize, participant }: TileProps) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const v = ref.current;
    if (!v) return;
    if (v.srcObject !== stream) v.srcObject = stream;
    v.play().catch(() => undefined);
  }, [stream]);
  const sizeFn = useRef(onSize);
  sizeFn.current = onSize;
  useEffect(() => {
    const v = ref.current;
    if (!v || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver((entries) => {
      const r = entries[0].contentRect;
      const dpr = window.devicePixelRatio || 1;
      sizeFn.current?.(Math.round(r.width * dpr), Math.round(r.height * dpr));
    });
    ro.observe(v);
    return () => ro.disconnect();
  }, []);
  return (
    <figure class={`tile${large ? ' large' : ''}${speaking ? ' speaking' : ''}`} data-track={id}>
      <video ref={ref} autoplay playsInline muted data-participant={participant} data-local={local ? 'true' : undefined} aria-label={`Video of ${label}`} />
      <figcaption>
        {label}
        {speaking && <span class="sr-only"> (speaking)</span>}
      </figcaption>
    </figure>
  );
}

/** Stage renders the video area of a room. */
export function Stage({ rs }: { rs: RoomState }) {
  const m = rs.media;
  const [focus, setFocus] = useState('');
  const lastSpeaker = useRef('');
  const name = (pid: string) => {
    const p = rs.participants.get(pid);
    return p ? p.name || p.user : 'Participant';
  };
  const videos = [...m.videos.entries()];
  // The active speaker is the last participant the SFU flagged as speaking.
  const speaking = [...rs.participants.values()].find((p) => p.speaking && videos.some(([, v]) => v.participant === p.id));
  if (speaking) lastSpeaker.current = speaking.id;
  const pick = (): [string, RemoteVideo] | undefined => {
    if (focus) {
      const f = videos.find(([id]) => id === focus);
      if (f) return f;
    }
    return videos.find(([, v]) => v.participant === lastSpeaker.current) || videos[0];
  };
  const main = pick();
  const strip = videos.filter((v) => v !== main);
  const audio = [...m.audio.entries()];
  if (!main && !m.local) {
    return (
      <div class="stage empty" aria-label="Stage">
        <p>Nobody is on stage yet.</p>
        {audio.map(([pid, s]) => (
          <Audio key={pid} stream={s} />
        ))}
      </div>
    );
  }
  return (
    <div class="stage" aria-label="Stage">
      {main && (
        <Tile
          key={main[0]}
          id={main[0]}
          stream={main[1].stream}
          label={name(main[1].participant)}
          participant={main[1].participant}
          speaking={rs.participants.get(main[1].participant)?.speaking}
          large
          onSize={(w, h) => m.rendered(main[0], w, h)}
        />
      )}
      <div class="strip" role="list" aria-label="Other video">
        {strip.map(([id, v]) => (
          <div role="listitem" key={id}>
            <button type="button" class="tile-button" onClick={() => setFocus(id)} aria-label={`Show ${name(v.participant)} large`}>
              <Tile id={id} stream={v.stream} label={name(v.participant)} participant={v.participant} speaking={rs.participants.get(v.participant)?.speaking} onSize={(w, h) => m.rendered(id, w, h)} />
            </button>
          </div>
        ))}
        {m.local && (
          <div role="listitem">
            <Tile id="local" stream={m.local} label="You" local participant={rs.self?.id} />
          </div>
        )}
        {m.screen && (
          <div role="listitem">
            <Tile id="screen" stream={m.screen} label="Your screen" local />
          </div>
        )}
      </div>
      {audio.map(([pid, s]) => (
        <Audio key={pid} stream={s} />
      ))}
    </div>
  );
}

/** soundBlocked is set when the browser refused to play audio without a click. */
export const sound = { blocked: false, listeners: new Set<() => void>() };

function Audio({ stream }: { stream: MediaStream }) {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const a = ref.current;
    if (!a) return;
    a.srcObject = stream;
    a.play().catch(() => {
      sound.blocked = true;
      sound.listeners.forEach((f) => f());
    });
  }, [stream]);
  return <audio ref={ref} autoplay class="sr-only" />;
}

/** enableSound retries playing every audio element after a user gesture. */
export function enableSound(): void {
  document.querySelectorAll('audio').forEach((a) => void a.play().catch(() => undefined));
  sound.blocked = false;
  sound.listeners.forEach((f) => f());
}
