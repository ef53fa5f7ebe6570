// LibraryHome: courses with the viewer's progress, and every recording.

import { api, enc } from '../lib/api';
import { Link } from '../lib/router';
import { duration } from '../lib/time';
import type { Course, CourseProgress, Recording } from '../lib/types';
import { ErrorBox, Loading, ProgressBar, useAsync, usePageTitle } from '../components/common';

type CourseView = Course & { progress: CourseProgress };

/** courseFraction is the mean lesson progress of a course. */
export function courseFraction(p: CourseProgress | undefined): number {
  if (!p || p.lessons.length === 0) return 0;
  return p.lessons.reduce((a, l) => a + Math.min(1, l.fraction), 0) / p.lessons.length;
}

export function LibraryHome({ tenant }: { tenant: string }) {
  usePageTitle('Library');
  const t = encodeURIComponent(tenant);
  const courses = useAsync(async (signal) => {
    const cs = await api<Course[]>('/v1/library/courses', { signal });
    return Promise.all(cs.slice(0, 50).map((c) => api<CourseView>(`/v1/library/courses/${enc(c.id)}`, { signal }).catch(() => ({ ...c, progress: undefined as unknown as CourseProgress }))));
  }, [tenant]);
  const recs = useAsync((signal) => api<Recording[]>('/v1/library/recordings', { signal }), [tenant]);
  return (
    <section>
      <h1>Library</h1>
      <h2>Courses</h2>
      {courses.loading && <Loading />}
      <ErrorBox error={courses.error} retry={courses.reload} />
      {courses.data && courses.data.length === 0 && <p>No courses yet. Recorded sessions appear here once they are processed.</p>}
      <ul class="cards">
        {courses.data?.map((c) => (
          <li key={c.id} class="card" data-course={c.id}>
            <h3>
              <Link href={`/t/${t}/library/course/${enc(c.id)}`}>{c.title}</Link>
            </h3>
            {c.description && <p>{c.description}</p>}
            <p class="muted">
              {c.lessons.length} lesson{c.lessons.length === 1 ? '' : 's'}
              {c.progress?.complete && ' · completed'}
            </p>
            <ProgressBar value={courseFraction(c.progress)} label={`Progress in ${c.title}`} />
          </li>
        ))}
      </ul>
      <h2>Recordings</h2>
      {recs.loading && <Loading />}
      <ErrorBox error={recs.error} retry={recs.reload} />
      {recs.data && recs.data.length === 0 && <p>No recordings yet.</p>}
      <ul class="cards">
        {recs.data?.map((r) => (
          <li key={r.id} class="card" data-recording={r.id}>
            {r.poster_url && <img src={r.poster_url} alt="" width={320} height={180} loading="lazy" />}
            <h3>{r.status === 'ready' ? <Link href={`/t/${t}/library/watch/${enc(r.id)}`}>{r.title || r.id}</Link> : r.title || r.id}</h3>
            <p class="muted">
              {r.status === 'ready' ? duration(r.duration || 0) : r.status}
              {r.track && ` · ${r.track}`}
            </p>
          </li>
        ))}
      </ul>
    </section>
  );
}
