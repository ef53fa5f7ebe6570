// ConventionList: the tenant's conventions; with exactly one, go straight
// to its home page.

import { useEffect } from 'preact/hooks';
import { api } from '../lib/api';
import { atLeast, claims } from '../lib/auth';
import { Link, navigate } from '../lib/router';
import type { Convention } from '../lib/types';
import { ErrorBox, Loading, useAsync, usePageTitle } from '../components/common';
import { dayLabel } from '../lib/time';

export function ConventionList({ tenant }: { tenant: string }) {
  usePageTitle('Conventions');
  const t = encodeURIComponent(tenant);
  const list = useAsync((signal) => api<{ conventions: Convention[] }>('/v1/conventions', { signal }), [tenant]);
  const organizer = atLeast(claims()?.role, 'organizer');
  const convs = list.data?.conventions || [];
  const visible = convs.filter((c) => c.published || organizer);
  useEffect(() => {
    if (!organizer && visible.length === 1) navigate(`/t/${t}/c/${encodeURIComponent(visible[0].slug)}`, true);
  }, [list.data]);
  return (
    <section>
      <h1>Conventions</h1>
      {list.loading && <Loading />}
      <ErrorBox error={list.error} retry={list.reload} />
      {list.data && visible.length === 0 && (
        <p>
          Nothing is published yet.{' '}
          {organizer && <Link href={`/t/${t}/organizer`}>Create a convention or import a schedule</Link>}
        </p>
      )}
      <ul class="cards">
        {visible.map((c) => (
          <li key={c.slug} class="card">
            <h2>
              <Link href={`/t/${t}/c/${encodeURIComponent(c.slug)}`}>{c.title || c.slug}</Link>
            </h2>
            {c.subtitle && <p>{c.subtitle}</p>}
            <p class="muted">
              {c.days.length > 0 && `${dayLabel(c.days[0].date)} – ${dayLabel(c.days[c.days.length - 1].date)} · `}
              {c.counts.sessions} sessions · {c.counts.rooms} rooms{!c.published && ' · not published'}
            </p>
          </li>
        ))}
      </ul>
    </section>
  );
}
