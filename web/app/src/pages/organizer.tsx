// OrganizerHome: every convention of the tenant (published or not),
// creating one, and importing a schedule file.

import { useState } from 'preact/hooks';
import { api, enc, errorText } from '../lib/api';
import { Link } from '../lib/router';
import type { Convention } from '../lib/types';
import { ErrorBox, Loading, useAsync, usePageTitle } from '../components/common';
import { ImportForm } from '../components/import';
import { viewerZone } from '../lib/time';

export function OrganizerHome({ tenant }: { tenant: string }) {
  usePageTitle('Organizer');
  const t = encodeURIComponent(tenant);
  const list = useAsync((signal) => api<{ conventions: Convention[] }>('/v1/conventions', { signal }), [tenant]);
  return (
    <section>
      <h1>Organizer</h1>
      {list.loading && <Loading />}
      <ErrorBox error={list.error} retry={list.reload} />
      <h2>Conventions</h2>
      {list.data && list.data.conventions.length === 0 && <p>No conventions yet: create one or import a schedule.</p>}
      <table class="table">
        <thead>
          <tr>
            <th scope="col">Convention</th>
            <th scope="col">Days</th>
            <th scope="col">Sessions</th>
            <th scope="col">Rooms</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.conventions.map((c) => (
            <tr key={c.slug} data-slug={c.slug}>
              <th scope="row">
                <Link href={`/t/${t}/organizer/${enc(c.slug)}`}>{c.title || c.slug}</Link>
              </th>
              <td data-count="days">{c.days.length}</td>
              <td data-count="sessions">{c.counts.sessions}</td>
              <td>{c.counts.rooms}</td>
              <td>{c.published ? 'published' : 'draft'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="grid2">
        <ImportForm onDone={() => list.reload()} />
        <CreateForm tenant={tenant} onDone={() => list.reload()} />
      </div>
    </section>
  );
}

function CreateForm({ tenant, onDone }: { tenant: string; onDone: () => void }) {
  const [err, setErr] = useState('');
  const [created, setCreated] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const body: Record<string, string> = {};
    for (const k of ['slug', 'title', 'time_zone', 'start', 'end', 'venue']) {
      const v = String(f.get(k) || '').trim();
      if (v) body[k] = v;
    }
    setErr('');
    try {
      const c = await api<Convention>('/v1/conventions', { method: 'POST', body });
      setCreated(c.slug);
      (e.target as HTMLFormElement).reset();
      onDone();
    } catch (x) {
      setErr(errorText(x));
    }
  };
  return (
    <form class="card stack" onSubmit={submit} aria-label="Create a convention">
      <h2>Create a convention</h2>
      <label for="c-slug">Short name (used in links)</label>
      <input id="c-slug" name="slug" required pattern="[A-Za-z0-9_.\-]{1,64}" />
      <label for="c-title">Title</label>
      <input id="c-title" name="title" required />
      <label for="c-tz">Time zone</label>
      <input id="c-tz" name="time_zone" defaultValue={viewerZone()} list="zones" />
      <datalist id="zones">
        {(Intl as any).supportedValuesOf?.('timeZone')?.map((z: string) => <option key={z} value={z} />)}
      </datalist>
      <div class="row">
        <label>
          First day
          <input name="start" type="date" />
        </label>
        <label>
          Last day
          <input name="end" type="date" />
        </label>
      </div>
      <label for="c-venue">Venue</label>
      <input id="c-venue" name="venue" />
      <button type="submit" class="primary">
        Create
      </button>
      <ErrorBox error={err} />
      {created && (
        <p class="ok" role="status">
          Created. <Link href={`/t/${encodeURIComponent(tenant)}/organizer/${enc(created)}`}>Open it</Link>
        </p>
      )}
    </form>
  );
}
