// Small shared pieces: async loading, error and status boxes, tabs.

import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from '../lib/api';

/** Async is the state of a load. */
export interface Async<T> {
  data: T | undefined;
  error: string;
  loading: boolean;
  reload: () => void;
  set: (v: T) => void;
}

/** useAsync runs load when deps change and keeps its result. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Async<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(true);
  const [n, setN] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setLoading(true);
    setError('');
    load(ctl.signal).then(
      (d) => {
        if (ctl.signal.aborted) return;
        setData(d);
        setLoading(false);
      },
      (e) => {
        if (ctl.signal.aborted) return;
        setError(errorText(e));
        setLoading(false);
      },
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { data, error, loading, reload, set: setData };
}

/** Loading is a polite busy indicator. */
export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="muted" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

/** ErrorBox shows an error with an optional retry. */
export function ErrorBox({ error, retry }: { error: string; retry?: () => void }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      <span>{error}</span>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** Tabs is an accessible tab list (arrow keys move between tabs). */
export function Tabs<K extends string>({ tabs, value, onChange, label }: { tabs: [K, string][]; value: K; onChange: (k: K) => void; label: string }) {
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const onKey = (e: KeyboardEvent, i: number) => {
    let j = -1;
    if (e.key === 'ArrowRight') j = (i + 1) % tabs.length;
    else if (e.key === 'ArrowLeft') j = (i - 1 + tabs.length) % tabs.length;
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = tabs.length - 1;
    if (j < 0) return;
    e.preventDefault();
    onChange(tabs[j][0]);
    refs.current[j]?.focus();
  };
  return (
    <div class="tabs" role="tablist" aria-label={label}>
      {tabs.map(([k, text], i) => (
        <button
          type="button"
          role="tab"
          id={`tab-${k}`}
          aria-controls={`panel-${k}`}
          aria-selected={value === k}
          tabIndex={value === k ? 0 : -1}
          ref={(el) => {
            refs.current[i] = el;
          }}
          onClick={() => onChange(k)}
          onKeyDown={(e) => onKey(e, i)}
        >
          {text}
        </button>
      ))}
    </div>
  );
}

/** Panel is the tab panel belonging to a Tabs key. */
export function Panel({ id, children }: { id: string; children: ComponentChildren }) {
  return (
    <div role="tabpanel" id={`panel-${id}`} aria-labelledby={`tab-${id}`} tabIndex={0} class="panel">
      {children}
    </div>
  );
}

/** Progress is a labelled progress bar. */
export function ProgressBar({ value, label }: { value: number; label: string }) {
  const pct = Math.round(Math.max(0, Math.min(1, value)) * 100);
  return (
    <div class="progress">
      <progress max={100} value={pct} aria-label={label} />
      <span>{pct}%</span>
    </div>
  );
}

/** usePageTitle sets the document title. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Plenary` : 'Plenary';
  }, [title]);
}
