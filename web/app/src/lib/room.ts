// RoomState is everything the session page and the moderator console show
// about one room: presence, chat, Q&A, polls and media, kept up to date
// from the WebSocket's events. Pages subscribe and re-render on change.

import { atLeast } from './auth';
import { Conn, type Envelope, type Status } from './conn';
import { Media } from './media';
import type { ChatMessage, Participant, Poll, Question } from './types';

/** Toast is a short notice shown to the user. */
export interface Toast {
  id: number;
  text: string;
  kind: 'info' | 'error';
}

let toastId = 0;

export class RoomState {
  status: Status = 'connecting';
  detail = '';
  self: Participant | null = null;
  role = '';
  canPublish = false;
  locked = false;
  count = 0;
  participants = new Map<string, Participant>();
  messages: ChatMessage[] = [];
  questions = new Map<string, Question>();
  qaSettings = { premoderation: false, open: true };
  pending = 0;
  polls = new Map<string, Poll>();
  voted = new Set<string>();
  upvoted = new Set<string>();
  recording = false;
  toasts: Toast[] = [];
  readonly conn: Conn;
  readonly media: Media;
  private listeners = new Set<() => void>();
  private scheduled = false;

  constructor(
    readonly tenant: string,
    readonly room: string,
    token: string,
    private tokenRole: string,
  ) {
    this.conn = new Conn(tenant, room, token, {
      joined: (ack, fresh) => this.onJoined(ack, fresh),
      event: (env) => this.onEvent(env),
      status: (s, d) => {
        this.status = s;
        this.detail = d;
        this.changed();
      },
      reset: () => {
        this.messages = [];
        this.changed();
      },
    });
    this.media = new Media(
      this.conn,
      () => this.changed(),
      (m) => this.toast(m, 'error'),
    );
  }

  /** start connects and joins. */
  start(): void {
    this.conn.start();
  }

  /** close leaves the room. */
  close(): void {
    this.media.close();
    this.conn.close();
    this.listeners.clear();
  }

  /** subscribe calls fn after every change (batched per frame); returns the unsubscribe. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** changed schedules a notification of the subscribers. */
  changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (const fn of this.listeners) fn();
    });
  }

  /** isModerator reports whether this user may moderate the room. */
  isModerator(): boolean {
    return atLeast(this.role, 'moderator') || atLeast(this.tokenRole, 'moderator');
  }

  /** toast shows a notice for a few seconds. */
  toast(text: string, kind: Toast['kind'] = 'info'): void {
    const t = { id: ++toastId, text, kind };
    this.toasts = [...this.toasts.slice(-3), t];
    this.changed();
    window.setTimeout(() => {
      this.toasts = this.toasts.filter((x) => x.id !== t.id);
      this.changed();
    }, 6000);
  }

  /** act runs a request and reports its failure as a toast. */
  async act<T = unknown>(type: string, data?: unknown): Promise<T | undefined> {
    try {
      return await this.conn.request<T>(type, data);
    } catch (e) {
      const err = e as { message?: string; code?: number };
      this.toast(err.message || `Request failed (${err.code})`, 'error');
      return undefined;
    }
  }

  private onJoined(ack: any, fresh: boolean): void {
    this.self = ack.self;
    this.role = ack.self.role;
    this.canPublish = ack.can_publish;
    this.locked = ack.locked;
    this.count = ack.count;
    this.participants = new Map((ack.participants as Participant[]).map((p) => [p.id, p]));
    this.participants.set(ack.self.id, ack.self);
    if (!fresh) this.media.rejoined();
    this.changed();
    void this.loadLists();
    void this.media.listDevices();
    if (this.canPublish && this.role === 'speaker') void this.media.startPublishing();
  }

  private async loadLists(): Promise<void> {
    const qa = await this.conn.request<{ questions: Question[]; settings: { premoderation: boolean; open: boolean } }>('qa.list', {}).catch(() => null);
    if (qa) {
      for (const q of qa.questions) this.questions.set(q.id, q);
      this.qaSettings = qa.settings;
    }
    if (this.isModerator()) await this.loadPending();
    const polls = await this.conn.request<{ polls: Poll[] }>('poll.list', {}).catch(() => null);
    if (polls) for (const p of polls.polls) this.polls.set(p.id, p);
    this.changed();
  }

  /** loadPending fetches the pre-moderation queue (moderators). */
  async loadPending(): Promise<void> {
    const r = await this.conn.request<{ questions: Question[] }>('qa.list', { status: 'pending' }).catch(() => null);
    if (!r) return;
    for (const q of r.questions) this.questions.set(q.id, q);
    this.pending = r.questions.length;
    this.changed();
  }

  private upsert(p: Participant): void {
    if (!this.participants.has(p.id)) this.count++;
    this.participants.set(p.id, p);
    if (this.self && p.id === this.self.id) {
      this.self = p;
      this.role = p.role;
    }
  }

  private onEvent(env: Envelope): void {
    const d = env.data || {};
    switch (env.type) {
      case 'presence.join':
      case 'presence.update':
        this.upsert(d.participant);
        break;
      case 'presence.leave':
        if (this.participants.delete(d.participant.id)) this.count = Math.max(1, this.count - 1);
        break;
      case 'room.state':
        this.locked = d.locked;
        this.toast(d.locked ? 'The room is now locked.' : 'The room is unlocked.');
        break;
      case 'media.offer':
        this.media.onOffer(d.sdp);
        break;
      case 'media.ice':
        this.media.onIce(d.target, d.candidate);
        break;
      case 'media.track':
        this.media.onTrack(d.state, d.track);
        break;
      case 'media.reset':
      case 'media.moved':
        this.canPublish = d.can_publish;
        this.media.reset(d.can_publish);
        break;
      case 'mod.promoted':
        this.role = d.role;
        this.canPublish = true;
        this.toast('You are on stage: your camera and microphone are being shared.');
        void this.media.startPublishing();
        break;
      case 'mod.demoted':
        this.role = d.role;
        this.canPublish = false;
        this.media.stopPublishing();
        this.toast('You have left the stage.');
        break;
      case 'mod.muted':
        // The server already stopped the tracks; muting locally keeps the
        // controls true (and tells nobody: the server knows).
        this.media.modMuted(!!d.video);
        this.toast(
          (d.video ? 'A moderator muted your microphone and camera.' : 'A moderator muted your microphone.') +
            (d.hard ? ' You can unmute when a moderator allows it.' : ''),
        );
        break;
      case 'mod.unmuted':
        this.toast('A moderator allows you to unmute.');
        break;
      case 'mod.removed':
        this.media.close();
        this.status = 'closed';
        this.detail = d.banned ? 'A moderator banned you from this room.' : 'A moderator removed you from this room.';
        this.conn.close();
        break;
      case 'chat.message':
      case 'announce.message':
        this.addMessage(env);
        break;
      case 'chat.edited':
        this.editMessage(d.message, (m) => ({ ...m, text: d.text, edited: true }));
        break;
      case 'chat.deleted':
        this.editMessage(d.message, (m) => ({ ...m, text: '', deleted: true }));
        break;
      case 'chat.reaction':
        this.editMessage(d.message, (m) => ({ ...m, reactions: { ...m.reactions, [d.emoji]: d.count } }));
        break;
      case 'chat.moderation':
        if (d.action === 'slowmode') this.toast(d.seconds ? `Slow mode: one message every ${d.seconds} s.` : 'Slow mode is off.');
        else if (this.self && d.user === this.self.user) this.toast(`A moderator applied "${d.action}" to you.`);
        break;
      case 'qa.question':
        this.questions.set(d.id, d);
        if (this.isModerator() && d.status !== 'pending') this.pending = [...this.questions.values()].filter((q) => q.status === 'pending').length;
        break;
      case 'qa.queue':
        this.pending = d.pending;
        if (this.isModerator()) void this.loadPending();
        break;
      case 'qa.settings':
        this.qaSettings = d;
        break;
      case 'poll.created':
        this.polls.set(d.id, d);
        break;
      case 'poll.results':
      case 'poll.closed': {
        const p = this.polls.get(d.id);
        if (p) this.polls.set(d.id, { ...p, counts: d.counts, total: d.total, closed: d.closed || env.type === 'poll.closed' });
        break;
      }
      case 'error':
        if (env.error) this.toast(env.error.message, 'error');
        break;
      default:
        return;
    }
    this.changed();
  }

  private addMessage(env: Envelope): void {
    const d = env.data;
    const m: ChatMessage = {
      seq: env.seq!,
      kind: env.type === 'announce.message' ? 'announce' : 'message',
      user: d.user,
      name: d.name,
      role: d.role,
      text: d.text || '',
      ts: d.ts,
      edited: d.edited,
      deleted: d.deleted,
      reactions: d.reactions || {},
    };
    const last = this.messages[this.messages.length - 1];
    if (!last || last.seq < m.seq) this.messages = [...this.messages, m].slice(-500);
    else if (!this.messages.some((x) => x.seq === m.seq)) this.messages = [...this.messages, m].sort((a, b) => a.seq - b.seq);
  }

  private editMessage(seq: number, fn: (m: ChatMessage) => ChatMessage): void {
    this.messages = this.messages.map((m) => (m.seq === seq ? fn(m) : m));
  }

  /** loadOlder pages chat history backwards (chat.history). */
  async loadOlder(): Promise<boolean> {
    const first = this.messages[0]?.seq || 0;
    const page = await this.conn.request<{ events: { type: string; seq: number; data: any }[]; more: boolean }>('chat.history', { before: first, limit: 50 }).catch(() => null);
    if (!page) return false;
    const older: ChatMessage[] = page.events
      .filter((e) => !this.messages.some((m) => m.seq === e.seq))
      .map((e) => ({ seq: e.seq, kind: e.type === 'announce.message' ? 'announce' : 'message', user: e.data.user, name: e.data.name, role: e.data.role, text: e.data.text || '', ts: e.data.ts, edited: e.data.edited, deleted: e.data.deleted, reactions: e.data.reactions || {} }));
    this.messages = [...older, ...this.messages].sort((a, b) => a.seq - b.seq);
    this.changed();
    return page.more;
  }
}
