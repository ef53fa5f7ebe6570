// CoursePage: lessons with progress bars, enrolment and the certificate.

import { useState } from 'preact/hooks';
import { api, enc, errorText } from '../lib/api';
import { Link } from '../lib/router';
import type { Course, CourseProgress } from '../lib/types';
import { ErrorBox, Loading, ProgressBar, useAsync, usePageTitle } from '../components/common';
import { courseFraction } from './library';

export function CoursePage({ tenant, id }: { tenant: string; id: string }) {
  const t = encodeURIComponent(tenant);
  const course = useAsync((signal) => api<Course & { progress: CourseProgress }>(`/v1/library/courses/${enc(id)}`, { signal }), [id]);
  usePageTitle(course.data?.title || 'Course');
  const [err, setErr] = useState('');
  const enrol = async () => {
    try {
      await api(`/v1/library/courses/${enc(id)}/enrol`, { method: 'POST' });
      course.reload();
    } catch (e) {
      setErr(errorText(e));
    }
  };
  const c = course.data;
  const p = c?.progress;
  return (
    <section>
      <p>
        <Link href={`/t/${t}/library`}>← Library</Link>
      </p>
      {course.loading && !c && <Loading />}
      <ErrorBox error={course.error} retry={course.reload} />
      {c && (
        <>
          <h1>{c.title}</h1>
          {c.description && <p>{c.description}</p>}
          <ProgressBar value={courseFraction(p)} label="Course progress" />
          {p?.certificate ? (
            <div class="card ok" data-certificate={p.certificate.code}>
              <h2>Certificate</h2>
              <p>
                Completed. Verification code <code>{p.certificate.code}</code>
              </p>
              <a class="button primary" href={`/v1/certificates/${enc(p.certificate.code)}/pdf`} download={`certificate-${p.certificate.code}.pdf`}>
                Download certificate (PDF)
              </a>
            </div>
          ) : p?.enrolled ? (
            <p class="muted">Watch every lesson to at least {Math.round((p.threshold || 0.9) * 100)}% to earn the certificate.</p>
          ) : (
            <button type="button" class="primary" onClick={enrol}>
              Enrol to earn a certificate
            </button>
          )}
          <ErrorBox error={err} />
          <h2>Lessons</h2>
          <ol class="lessons">
            {c.lessons.map((l, i) => {
              const lp = p?.lessons.find((x) => x.recording === l.recording);
              return (
                <li key={l.recording} data-recording={l.recording}>
                  <Link href={`/t/${t}/library/watch/${enc(l.recording)}?course=${enc(c.id)}`}>
                    {i + 1}. {l.title || l.recording}
                  </Link>
                  {lp?.complete && <span class="badge ok">complete</span>}
                  <ProgressBar value={lp?.fraction || 0} label={`Progress in ${l.title || l.recording}`} />
                </li>
              );
            })}
          </ol>
        </>
      )}
    </section>
  );
}
