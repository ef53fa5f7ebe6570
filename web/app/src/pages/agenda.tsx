// Agenda: the viewer's starred sessions and the private iCal feed to
// subscribe to from a calendar app.

import { useState } from 'preact/hooks';
import { api, enc, errorText } from '../lib/api';
import { Link } from '../lib/router';
import { dayLabel } from '../lib/time';
import type { Convention, SessionList } from '../lib/types';
import { ErrorBox, Loading, useAsync, usePageTitle } from '../components/common';
import { SessionRow } from '../components/sessionrow';

export function Agenda({ tenant, slug }: { tenant: string; slug: string }) {
  usePageTitle('My agenda');
  const conv = useAsync((signal) => api<Convention>(`/v1/conventions/${enc(slug)}`, { signal }), [slug]);
  const list = useAsync((signal) => api<SessionList>(`/v1/conventions/${enc(slug)}/agenda`, { signal }), [slug]);
  const [feed, setFeed] = useState('');
  const [err, setErr] = useState('');
  const [copied, setCopied] = useState(false);
  const getFeed = async (rotate: boolean) => {
    setErr('');
    try {
      const r = await api<{ url: string }>(`/v1/conventions/${enc(slug)}/agenda/feed`, { method: rotate ? 'POST' : 'GET' });
      setFeed(r.url);
      setCopied(false);
    } catch (e) {
      setErr(errorText(e));
    }
  };
  const unstar = async (guid: string) => {
    try {
      await api(`/v1/conventions/${enc(slug)}/agenda/${enc(guid)}`, { method: 'DELETE' });
      list.reload();
    } catch (e) {
      setErr(errorText(e));
    }
  };
  const tz = conv.data?.time_zone || '';
  const byDay = new Map<string, typeof sessions>();
  const sessions = list.data?.sessions || [];
  for (const s of sessions) {
    const k = dayLabel(s.start, tz);
    if (!byDay.has(k)) byDay.set(k, []);
    byDay.get(k)!.push(s);
  }
  return (
    <section>
      <p>
        <Link href={`/t/${encodeURIComponent(tenant)}/c/${enc(slug)}`}>← {conv.data?.title || 'Schedule'}</Link>
      </p>
      <h1>My agenda</h1>
      <div class="card">
        <h2>Subscribe in your calendar</h2>
        <p>A private iCal address that always lists the sessions you starred. Keep it to yourself: anyone with it can read your agenda.</p>
        {feed ? (
          <div class="feed">
            <label for="feed-url">Calendar address</label>
            <input id="feed-url" readOnly value={feed} onFocus={(e) => (e.target as HTMLInputElement).select()} />
            <div class="row">
              <button
                type="button"
                onClick={() => {
                  navigator.clipboard?.writeText(feed).then(() => setCopied(true), () => undefined);
                }}
              >
                {copied ? 'Copied' : 'Copy'}
              </button>
              <a class="button" href={feed.replace(/^https?:/, 'webcal:')}>
                Open in calendar app
              </a>
              <button type="button" onClick={() => getFeed(true)}>
                Issue a new address
              </button>
            </div>
          </div>
        ) : (
          <button type="button" class="primary" onClick={() => getFeed(false)}>
            Get my calendar address
          </button>
        )}
      </div>
      <ErrorBox error={err} />
      {list.loading && <Loading />}
      <ErrorBox error={list.error} retry={list.reload} />
      {list.data && sessions.length === 0 && <p>No sessions starred yet. Use ☆ in the schedule to add some.</p>}
      {[...byDay.entries()].map(([d, ss]) => (
        <section key={d} class="group" aria-label={d}>
          <h2 class="group-head">{d}</h2>
          <ul class="sessions">
            {ss.map((s) => (
              <SessionRow key={s.guid} s={s} tz={tz} tenant={tenant} slug={slug} starred onStar={(g) => unstar(g)} />
            ))}
          </ul>
        </section>
      ))}
    </section>
  );
}
