// Conn is the one WebSocket of a tab to the gateway (docs/protocol.md): it
// joins a room, sends requests and matches their replies, resumes a dropped
// session (counting every frame received), rejoins with the last chat
// sequence when a resume is refused, and hands room events to its owner
// in sequence order (docs/protocol-chat.md, "Sequence numbers").

import { claims, expired } from './auth';

/** Envelope is the protocol's frame. */
export interface Envelope {
  v: 1;
  id?: string;
  re?: string;
  type: string;
  room?: string;
  seq?: number;
  data?: any;
  error?: ProtocolError;
}

/** ProtocolError is the server's typed error. */
export interface ProtocolError {
  code: number;
  message: string;
  retryable?: boolean;
}

/** Status is what the reconnect banner shows. */
export type Status = 'connecting' | 'live' | 'reconnecting' | 'closed';

/** Handlers are what a Conn's owner is told. */
export interface Handlers {
  /** joined gets the join ack's data (after a first join or a rejoin). */
  joined(ack: any, fresh: boolean): void;
  /** event gets room events, sequenced ones in order and once. */
  event(env: Envelope): void;
  /** status reports connection changes; closeCode is the last close code. */
  status(s: Status, detail: string): void;
  /** reset asks the owner to forget sequenced state (history was reset). */
  reset(): void;
}

const FRESH_CODES = [4203, 4502, 4100, 4205];
const FINAL_CODES: Record<number, string> = {
  1000: 'You left the room.',
  4105: 'You are banned from this room.',
  4205: 'This session was opened in another tab.',
  4101: 'This link belongs to another convention.',
};

export class Conn {
  private ws: WebSocket | null = null;
  private nextId = 1;
  private pending = new Map<string, { resolve: (d: any) => void; reject: (e: ProtocolError) => void }>();
  private received = 0;
  private session: { resume_token: string; grace_ms: number } | null = null;
  private last = 0;
  private held = new Map<number, Envelope>();
  private gapTimer = 0;
  private retry = 0;
  private retryTimer = 0;
  private closed = false;
  private joinedOnce = false;
  private pingTimer = 0;

  constructor(
    private tenant: string,
    readonly room: string,
    private token: string,
    private h: Handlers,
    private wsPath = '/v1/ws',
  ) {}

  /** start opens the connection and joins. */
  start(): void {
    this.open(false);
  }

  /** close leaves for good (close code 1000 ends the session at once). */
  close(): void {
    this.closed = true;
    window.clearTimeout(this.retryTimer);
    window.clearTimeout(this.gapTimer);
    window.clearInterval(this.pingTimer);
    if (this.ws) this.ws.close(1000, 'bye');
    this.failPending({ code: 0, message: 'closed' });
  }

  /** lastSeq is the highest chat sequence applied. */
  lastSeq(): number {
    return this.last;
  }

  /** request sends a request and resolves with the ack's data. */
  request<T = any>(type: string, data?: unknown): Promise<T> {
    const id = 'c' + this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject({ code: 0, message: 'Not connected; try again in a moment.' });
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.send({ v: 1, id, type, room: this.room, data });
    });
  }

  /** notify sends a message that needs no reply. */
  notify(type: string, data?: unknown): void {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.send({ v: 1, type, room: this.room, data });
  }

  private send(env: Envelope): void {
    if (env.data === undefined) delete env.data;
    this.ws!.send(JSON.stringify(env));
  }

  private url(): string {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${this.wsPath}?access_token=${encodeURIComponent(this.token)}`;
  }

  private open(resume: boolean): void {
    if (this.closed) return;
    if (expired(claims())) {
      // Retrying with an expired token would fail forever (HTTP 401).
      this.closed = true;
      this.h.status('closed', 'Your link has expired. Open a fresh link to rejoin.');
      return;
    }
    this.h.status(this.joinedOnce ? 'reconnecting' : 'connecting', resume ? 'Resuming…' : 'Joining…');
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleRetry(false);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (resume && this.session) {
        this.send({ v: 1, id: 'c' + this.nextId++, type: 'resume', data: { token: this.session.resume_token, received: this.received } });
      } else {
        this.join();
      }
    };
    ws.onmessage = (m) => {
      if (ws !== this.ws) return;
      this.received++;
      let env: Envelope;
      try {
        env = JSON.parse(m.data as string);
      } catch {
        return;
      }
      this.dispatch(env);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.onClose(ev.code, ev.reason);
    };
  }

  private join(): void {
    const data: Record<string, unknown> = { tenant: this.tenant, media: true };
    if (this.last > 0) data.since = this.last;
    this.request('join', data).then(
      (ack) => {
        this.session = ack.session;
        this.retry = 0;
        const fresh = !this.joinedOnce;
        this.joinedOnce = true;
        this.h.joined(ack, fresh);
        this.h.status('live', '');
        this.startPing();
      },
      (err: ProtocolError) => {
        if (err.code === 4106) this.h.status('closed', 'The room is locked by a moderator. Try again later.');
        else if (err.code === 4105) this.h.status('closed', FINAL_CODES[4105]);
        else if (err.code === 4103) this.h.status('closed', 'Your link does not grant this room.');
        else if (err.code === 4101) this.h.status('closed', FINAL_CODES[4101]);
        else {
          this.h.status('reconnecting', err.message || 'Join failed');
          return;
        }
        this.closed = true;
        this.ws?.close(1000);
      },
    );
  }

  private startPing(): void {
    window.clearInterval(this.pingTimer);
    this.pingTimer = window.setInterval(() => {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.send({ v: 1, type: 'ping', data: { received: this.received } });
    }, 15000);
  }

  private failPending(err: ProtocolError): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private onClose(code: number, reason: string): void {
    window.clearInterval(this.pingTimer);
    if (this.closed) return;
    const final = FINAL_CODES[code];
    if (final && code !== 1000) {
      this.closed = true;
      this.failPending({ code, message: final });
      this.h.status('closed', final);
      return;
    }
    const fresh = !this.session || FRESH_CODES.includes(code);
    if (fresh) {
      // Replies to requests in flight will never come; after a resume they do.
      this.failPending({ code, message: 'Connection lost; try again.' });
      this.session = null;
      this.received = 0;
    }
    this.h.status('reconnecting', reason || (fresh ? 'Reconnecting…' : 'Connection lost, resuming…'));
    this.scheduleRetry(!fresh);
  }

  private scheduleRetry(resume: boolean): void {
    const delay = Math.min(250 * 2 ** this.retry++, 5000);
    this.retryTimer = window.setTimeout(() => this.open(resume), delay);
  }

  private dispatch(env: Envelope): void {
    if (env.re && this.pending.has(env.re)) {
      const p = this.pending.get(env.re)!;
      this.pending.delete(env.re);
      if (env.type === 'error') p.reject(env.error || { code: 4500, message: 'error' });
      else p.resolve(env.data || {});
      return;
    }
    if (env.type === 'ack' && env.data && env.data.rooms && env.data.session) {
      // A resume's ack: identity, rooms and media survived.
      this.session = env.data.session;
      this.retry = 0;
      this.h.status('live', '');
      this.startPing();
      return;
    }
    if (env.type === 'presence.batch') {
      for (const e of (env.data?.events || []) as Envelope[]) this.dispatch(e);
      return;
    }
    if (env.type === 'chat.sync') {
      const head = env.data?.head ?? 0;
      if (head < this.last) {
        this.last = 0;
        this.held.clear();
        this.h.reset();
      }
      if (env.data?.retry) window.setTimeout(() => this.replay(), 1000);
      return;
    }
    if (typeof env.seq === 'number') {
      this.sequenced(env);
      return;
    }
    this.h.event(env);
  }

  private sequenced(env: Envelope): void {
    const seq = env.seq!;
    if (seq <= this.last) return; // a duplicate from a replay
    if (seq > this.last + 1 && this.last > 0) {
      this.held.set(seq, env);
      if (!this.gapTimer) this.gapTimer = window.setTimeout(() => this.replay(), 1000);
      return;
    }
    this.apply(env);
    for (let next = this.held.get(this.last + 1); next; next = this.held.get(this.last + 1)) {
      this.held.delete(next.seq!);
      this.apply(next);
    }
    if (this.held.size === 0) {
      window.clearTimeout(this.gapTimer);
      this.gapTimer = 0;
    }
  }

  private apply(env: Envelope): void {
    this.last = env.seq!;
    this.h.event(env);
  }

  private replay(): void {
    this.gapTimer = 0;
    this.request<{ events: Envelope[] }>('chat.replay', { since: this.last }).then(
      (r) => {
        for (const e of r.events || []) this.sequenced({ ...e, v: 1, room: this.room });
        // Whatever is still held after the replay is newer than the head
        // the server had: apply it in order.
        const rest = [...this.held.values()].sort((a, b) => a.seq! - b.seq!);
        this.held.clear();
        for (const e of rest) if (e.seq! > this.last) this.apply(e);
      },
      () => {
        if (this.held.size) this.gapTimer = window.setTimeout(() => this.replay(), 2000);
      },
    );
  }
}
