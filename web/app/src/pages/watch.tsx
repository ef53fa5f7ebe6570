// WatchPage plays a recording's signed HLS master playlist with hls.js
// (natively where the browser plays HLS itself) and reports progress as
// xAPI statements; at the end it refreshes the course to show completion
// and the certificate.

import { useEffect, useRef, useState } from 'preact/hooks';
import type Hls from 'hls.js';
import { api, enc, errorText } from '../lib/api';
import { token } from '../lib/auth';
import { Link } from '../lib/router';
import { duration } from '../lib/time';
import { Tracker } from '../lib/xapi';
import type { Course, CourseProgress, Recording } from '../lib/types';
import { ErrorBox, Loading, ProgressBar, useAsync, usePageTitle } from '../components/common';

export function WatchPage({ tenant, id, course }: { tenant: string; id: string; course: string }) {
  const t = encodeURIComponent(tenant);
  const rec = useAsync((signal) => api<Recording>(`/v1/library/recordings/${enc(id)}`, { signal }), [id]);
  const [cp, setCp] = useState<(Course & { progress: CourseProgress }) | null>(null);
  const [err, setErr] = useState('');
  const [fraction, setFraction] = useState(0);
  usePageTitle(rec.data?.title || 'Watch');
  const loadCourse = async () => {
    if (!course) return;
    try {
      const c = await api<Course & { progress: CourseProgress }>(`/v1/library/courses/${enc(course)}`);
      setCp(c);
      const lp = c.progress.lessons.find((l) => l.recording === id);
      if (lp) setFraction(lp.fraction);
    } catch {
      /* the course part is optional */
    }
  };
  useEffect(() => {
    void loadCourse();
  }, [course, id]);
  useEffect(() => {
    if (rec.data?.progress) setFraction(rec.data.progress.fraction);
  }, [rec.data]);
  const r = rec.data;
  const refresh = async () => {
    try {
      const fresh = await api<Recording>(`/v1/library/recordings/${enc(id)}`);
      if (fresh.progress) setFraction(fresh.progress.fraction);
    } catch (e) {
      setErr(errorText(e));
    }
    await loadCourse();
  };
  const enrol = async () => {
    if (course && cp && !cp.progress.enrolled) await api(`/v1/library/courses/${enc(course)}/enrol`, { method: 'POST' }).catch(() => undefined);
  };
  const idx = cp ? cp.lessons.findIndex((l) => l.recording === id) : -1;
  const next = cp && idx >= 0 ? cp.lessons[idx + 1] : undefined;
  return (
    <section>
      <p>{course ? <Link href={`/t/${t}/library/course/${enc(course)}`}>← {cp?.title || 'Course'}</Link> : <Link href={`/t/${t}/library`}>← Library</Link>}</p>
      {rec.loading && !r && <Loading />}
      <ErrorBox error={rec.error} retry={rec.reload} />
      {r && (
        <>
          <h1>{r.title || r.id}</h1>
          <p class="muted">
            {duration(r.duration || 0)}
            {r.track && ` · ${r.track}`}
          </p>
          {r.playback_url ? <Player rec={r} onProgress={refresh} onStart={enrol} onError={setErr} /> : <p>This recording is not ready yet ({r.status}).</p>}
          <ErrorBox error={err} />
          <ProgressBar value={fraction} label="Watched" />
          {cp?.progress.certificate && (
            <div class="card ok" data-certificate={cp.progress.certificate.code}>
              <p>Course complete! Verification code <code>{cp.progress.certificate.code}</code></p>
              <a class="button primary" href={`/v1/certificates/${enc(cp.progress.certificate.code)}/pdf`} download={`certificate-${cp.progress.certificate.code}.pdf`}>
                Download certificate (PDF)
              </a>
            </div>
          )}
          {next && (
            <p>
              Next lesson: <Link href={`/t/${t}/library/watch/${enc(next.recording)}?course=${enc(course)}`}>{next.title}</Link>
            </p>
          )}
        </>
      )}
    </section>
  );
}

function Player({ rec, onProgress, onStart, onError }: { rec: Recording; onProgress: () => void; onStart: () => void; onError: (e: string) => void }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const v = ref.current;
    if (!v || !rec.playback_url) return;
    const tr = new Tracker(rec.activity, rec.title || rec.id);
    let hls: Hls | null = null;
    let gone = false;
    const url = rec.playback_url;
    // hls.js is loaded only on this page (it is most of the bundle).
    void import('hls.js').then(({ default: HlsJS }) => {
      if (gone) return;
      if (HlsJS.isSupported()) {
        hls = new HlsJS({ enableWorker: true });
        hls.on(HlsJS.Events.ERROR, (_e, d) => {
          if (d.fatal) onError(`Playback failed: ${d.details}`);
        });
        hls.loadSource(url);
        hls.attachMedia(v);
      } else if (v.canPlayType('application/vnd.apple.mpegurl')) {
        v.src = url;
      } else {
        onError('This browser cannot play the video.');
      }
    }, () => onError('The player could not be loaded.'));
    const len = () => (isFinite(v.duration) ? v.duration : rec.duration || 0);
    const post = (verb: Parameters<Tracker['send']>[0], time: number) =>
      tr.send(verb, time, len()).then(
        () => onProgress(),
        (e) => onError(errorText(e)),
      );
    let started = false;
    let heartbeat = 0;
    const onLoaded = () => void tr.send('initialized', 0, len()).catch(() => undefined);
    const onPlay = () => {
      if (!started) {
        started = true;
        onStart();
      }
      tr.start(v.currentTime);
      void tr.send('played', v.currentTime, len()).catch(() => undefined);
      window.clearInterval(heartbeat);
      heartbeat = window.setInterval(() => {
        const now = v.currentTime;
        tr.stop(now);
        tr.start(now);
        void post('interacted', now);
      }, 15000);
    };
    const onPause = () => {
      window.clearInterval(heartbeat);
      if (v.ended) return;
      tr.stop(v.currentTime);
      void post('paused', v.currentTime);
    };
    let seekFrom = 0;
    const onSeeking = () => {
      tr.stop(seekFrom);
    };
    const onSeeked = () => {
      if (!v.paused) tr.start(v.currentTime);
      void tr.send('seeked', v.currentTime, len(), { 'https://w3id.org/xapi/video/extensions/time-from': seekFrom, 'https://w3id.org/xapi/video/extensions/time-to': v.currentTime }).catch(() => undefined);
    };
    const onTime = () => {
      if (!v.seeking) seekFrom = v.currentTime;
    };
    const onEnded = () => {
      window.clearInterval(heartbeat);
      tr.stop(len());
      void post('completed', len());
    };
    const onHide = () => tr.beacon(v.currentTime, len(), token());
    v.addEventListener('loadedmetadata', onLoaded);
    v.addEventListener('play', onPlay);
    v.addEventListener('pause', onPause);
    v.addEventListener('seeking', onSeeking);
    v.addEventListener('seeked', onSeeked);
    v.addEventListener('timeupdate', onTime);
    v.addEventListener('ended', onEnded);
    window.addEventListener('pagehide', onHide);
    return () => {
      gone = true;
      window.clearInterval(heartbeat);
      if (!v.paused && !v.ended) {
        tr.stop(v.currentTime);
        void tr.send('terminated', v.currentTime, len()).catch(() => undefined);
      }
      window.removeEventListener('pagehide', onHide);
      v.removeEventListener('loadedmetadata', onLoaded);
      v.removeEventListener('play', onPlay);
      v.removeEventListener('pause', onPause);
      v.removeEventListener('seeking', onSeeking);
      v.removeEventListener('seeked', onSeeked);
      v.removeEventListener('timeupdate', onTime);
      v.removeEventListener('ended', onEnded);
      hls?.destroy();
    };
  }, [rec.playback_url]);
  return (
    <div class="player">
      <video ref={ref} controls playsInline poster={rec.poster_url} aria-label={`Recording: ${rec.title || rec.id}`} data-recording={rec.id} />
    </div>
  );
}
