// Chat: the room's messages (plain text, rendered as text — never as HTML),
// emoji reactions, announcements, older pages on demand, and the composer.

import { useEffect, useRef, useState } from 'preact/hooks';
import type { RoomState } from '../lib/room';
import { clock } from '../lib/time';

const EMOJI = ['👍', '❤️', '😂', '👏', '🎉', '❓'];

export function Chat({ rs }: { rs: RoomState }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [more, setMore] = useState(true);
  const [mine, setMine] = useState<Set<string>>(new Set());
  const log = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const msgs = rs.messages;
  useEffect(() => {
    const el = log.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [msgs.length]);
  const onScroll = () => {
    const el = log.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  };
  const send = async (e: Event) => {
    e.preventDefault();
    const t = text.trim();
    if (!t || busy) return;
    setBusy(true);
    const nonce = Math.random().toString(36).slice(2);
    const r = await rs.act('chat.send', { text: t, nonce });
    setBusy(false);
    if (r) {
      setText('');
      stick.current = true;
    }
  };
  const react = (seq: number, emoji: string) => {
    const k = `${seq}:${emoji}`;
    const remove = mine.has(k);
    const n = new Set(mine);
    if (remove) n.delete(k);
    else n.add(k);
    setMine(n);
    void rs.act('chat.react', { message: seq, emoji, remove });
  };
  const mod = rs.isModerator();
  return (
    <div class="chat">
      {more && msgs.length > 0 && msgs[0].seq > 1 && (
        <button type="button" class="link" onClick={async () => setMore(await rs.loadOlder())}>
          Show earlier messages
        </button>
      )}
      <div class="messages" ref={log} onScroll={onScroll} role="log" aria-live="polite" aria-label="Chat messages" tabIndex={0}>
      <ol>
        {msgs.length === 0 && <li class="muted">No messages yet. Say hello!</li>}
        {msgs.map((m) => (
          <li key={m.seq} class={`msg ${m.kind}${m.deleted ? ' deleted' : ''}`} data-seq={m.seq}>
            <div class="meta">
              <strong class="author">{m.kind === 'announce' ? `Announcement: ${m.name || 'Organizers'}` : m.name || m.user}</strong>
              {m.role && m.role !== 'attendee' && <span class="badge">{m.role}</span>}
              <time dateTime={new Date(m.ts).toISOString()}>{clock(new Date(m.ts))}</time>
            </div>
            <p class="text">{m.deleted ? <em>message deleted</em> : m.text}</p>
            {m.edited && !m.deleted && <span class="muted small">(edited)</span>}
            {m.kind === 'message' && !m.deleted && (
              <div class="reactions">
                {Object.entries(m.reactions)
                  .filter(([, n]) => n > 0)
                  .map(([e, n]) => (
                    <button type="button" key={e} class="reaction" aria-pressed={mine.has(`${m.seq}:${e}`)} aria-label={`${e} ${n}, react`} onClick={() => react(m.seq, e)}>
                      {e} {n}
                    </button>
                  ))}
                <details class="react-picker">
                  <summary aria-label={`React to the message from ${m.name || m.user}`}>React</summary>
                  <div>
                    {EMOJI.map((e) => (
                      <button type="button" key={e} aria-label={`React ${e}`} onClick={() => react(m.seq, e)}>
                        {e}
                      </button>
                    ))}
                  </div>
                </details>
                {(mod || m.user === rs.self?.user) && (
                  <button type="button" class="link small" onClick={() => rs.act('chat.delete', { message: m.seq })} aria-label={`Delete message from ${m.name || m.user}`}>
                    Delete
                  </button>
                )}
              </div>
            )}
          </li>
        ))}
      </ol>
      </div>
      <form class="composer" onSubmit={send}>
        <label for="chat-input" class="sr-only">
          Message
        </label>
        <input id="chat-input" value={text} maxLength={500} autocomplete="off" placeholder="Write a message…" onInput={(e) => setText((e.target as HTMLInputElement).value)} disabled={rs.status !== 'live'} />
        <button type="submit" disabled={busy || !text.trim() || rs.status !== 'live'}>
          Send
        </button>
      </form>
    </div>
  );
}
