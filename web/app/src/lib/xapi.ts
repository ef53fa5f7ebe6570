// Tracker records what part of a video was watched and reports it as xAPI
// statements with the Video Profile verbs (docs/recording.md, "Progress").
// The server replaces the actor with the signed-in learner and computes
// progress from the union of played segments, so a statement only needs
// the verb, the recording activity and the segments.

import { api } from './api';

const VERB: Record<string, string> = {
  initialized: 'http://adlnet.gov/expapi/verbs/initialized',
  played: 'https://w3id.org/xapi/video/verbs/played',
  paused: 'https://w3id.org/xapi/video/verbs/paused',
  seeked: 'https://w3id.org/xapi/video/verbs/seeked',
  completed: 'http://adlnet.gov/expapi/verbs/completed',
  terminated: 'http://adlnet.gov/expapi/verbs/terminated',
  interacted: 'http://adlnet.gov/expapi/verbs/interacted',
};
const EXT = 'https://w3id.org/xapi/video/extensions/';

function uuid(): string {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

export class Tracker {
  private segments: [number, number][] = [];
  private from = -1;
  private session = uuid();
  private posted = 0;

  constructor(
    private activity: string,
    private title: string,
  ) {}

  /** start opens a played segment at t. */
  start(t: number): void {
    if (this.from < 0) this.from = t;
  }

  /** stop closes the open segment at t. */
  stop(t: number): void {
    if (this.from >= 0 && t > this.from) this.segments.push([this.from, t]);
    this.from = -1;
  }

  /** playedSegments formats the segments as "0[.]12.5[,]30[.]45". */
  playedSegments(now?: number): string {
    const all = [...this.segments];
    if (this.from >= 0 && now !== undefined && now > this.from) all.push([this.from, now]);
    return all.map(([a, b]) => `${r3(a)}[.]${r3(b)}`).join('[,]');
  }

  /** send posts one statement; failures are retried with the next one. */
  async send(verb: keyof typeof VERB, time: number, length: number, extra: Record<string, unknown> = {}): Promise<void> {
    const st = {
      id: uuid(),
      actor: { objectType: 'Agent', account: { homePage: location.origin, name: 'me' } },
      verb: { id: VERB[verb], display: { 'en-US': verb } },
      object: { objectType: 'Activity', id: this.activity, definition: { type: 'https://w3id.org/xapi/video/activity-type/video', name: { 'en-US': this.title } } },
      result: {
        extensions: {
          [`${EXT}time`]: r3(time),
          [`${EXT}played-segments`]: this.playedSegments(time),
          [`${EXT}progress`]: length ? r3(Math.min(1, time / length)) : 0,
          ...extra,
        },
        ...(verb === 'completed' ? { completion: true } : {}),
      },
      context: { registration: this.session, extensions: { [`${EXT}session-id`]: this.session, [`${EXT}length`]: r3(length) } },
      timestamp: new Date().toISOString(),
    };
    this.posted++;
    await api('/v1/xapi/statements', { method: 'POST', body: st });
  }

  /** beacon sends a final statement while the page is unloading. */
  beacon(time: number, length: number, token: string): void {
    const st = {
      id: uuid(),
      actor: { objectType: 'Agent', account: { homePage: location.origin, name: 'me' } },
      verb: { id: VERB.terminated },
      object: { objectType: 'Activity', id: this.activity },
      result: { extensions: { [`${EXT}time`]: r3(time), [`${EXT}played-segments`]: this.playedSegments(time) } },
      context: { registration: this.session },
    };
    void fetch('/v1/xapi/statements', {
      method: 'POST',
      keepalive: true,
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify(st),
    }).catch(() => undefined);
    void length;
  }
}
