// ImportForm uploads a frab/pentabarf XML or c3voc JSON schedule file to
// POST /v1/conventions/{slug}/schedule and shows the summary and conflicts.

import { useState } from 'preact/hooks';
import { api, enc, errorText } from '../lib/api';
import type { ImportSummary } from '../lib/types';
import { ErrorBox } from './common';

export function ImportForm({ slug: fixed, onDone }: { slug?: string; onDone?: (slug: string, s: ImportSummary) => void }) {
  const [slug, setSlug] = useState(fixed || '');
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState('');
  const [sum, setSum] = useState<ImportSummary | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file || !slug) return;
    setBusy(true);
    setErr('');
    setSum(null);
    try {
      const json = file.name.endsWith('.json') || file.type === 'application/json';
      const s = await api<ImportSummary>(`/v1/conventions/${enc(slug)}/schedule`, {
        method: 'POST',
        raw: file,
        contentType: json ? 'application/json' : 'application/xml',
      });
      setSum(s);
      onDone?.(slug, s);
    } catch (e) {
      setErr(errorText(e));
    }
    setBusy(false);
  };
  return (
    <form class="card stack" onSubmit={submit} aria-label="Import a schedule">
      <h2>Import a schedule</h2>
      <p class="muted">frab/pentabarf schedule.xml or c3voc schedule JSON. Sessions are matched by guid: importing again updates them.</p>
      {!fixed && (
        <>
          <label for="imp-slug">Convention short name (used in links)</label>
          <input id="imp-slug" required pattern="[A-Za-z0-9_.\-]{1,64}" value={slug} onInput={(e) => setSlug((e.target as HTMLInputElement).value)} placeholder="fosdem-2026" />
        </>
      )}
      <label for="imp-file">Schedule file</label>
      <input id="imp-file" type="file" required accept=".xml,.json,application/xml,text/xml,application/json" onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] || null)} />
      <button type="submit" class="primary" disabled={busy || !file || !slug}>
        {busy ? 'Importing…' : 'Import'}
      </button>
      <ErrorBox error={err} />
      {sum && <Summary s={sum} />}
    </form>
  );
}

/** Summary shows what an import did. */
export function Summary({ s }: { s: ImportSummary }) {
  return (
    <div class="summary" role="status" aria-live="polite" data-testid="import-summary">
      <h3>Imported</h3>
      <dl class="counts">
        <div>
          <dt>Sessions</dt>
          <dd data-count="events">{s.events}</dd>
        </div>
        <div>
          <dt>Days</dt>
          <dd data-count="days">{s.days}</dd>
        </div>
        <div>
          <dt>Rooms</dt>
          <dd data-count="rooms">{s.rooms}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{s.created}</dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd>{s.updated}</dd>
        </div>
        <div>
          <dt>Unchanged</dt>
          <dd>{s.unchanged}</dd>
        </div>
        <div>
          <dt>Removed</dt>
          <dd>{s.deleted}</dd>
        </div>
      </dl>
      <Conflicts list={s.conflicts} />
    </div>
  );
}

const KIND: Record<string, string> = {
  room_double_booked: 'Room double-booked',
  speaker_double_booked: 'Speaker in two places',
  outside_day: 'Outside its day',
};

/** Conflicts lists timetable conflicts. */
export function Conflicts({ list }: { list: { kind: string; guids: string[]; message: string }[] }) {
  if (list.length === 0) return <p class="ok">No conflicts.</p>;
  return (
    <details open={list.length <= 20}>
      <summary>
        {list.length} conflict{list.length === 1 ? '' : 's'}
      </summary>
      <ul class="conflicts" tabIndex={0} aria-label="Conflicts">
        {list.map((c, i) => (
          <li key={i}>
            <strong>{KIND[c.kind] || c.kind}:</strong> {c.message}
          </li>
        ))}
      </ul>
    </details>
  );
}
