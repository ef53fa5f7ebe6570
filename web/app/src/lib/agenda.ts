// useStars keeps the set of sessions in the viewer's personal agenda and
// toggles them (PUT/DELETE /v1/conventions/{slug}/agenda/{guid}).

import { useEffect, useState } from 'preact/hooks';
import { api, enc } from './api';
import type { SessionList } from './types';

export function useStars(slug: string, onError: (e: unknown) => void) {
  const [stars, setStars] = useState<Set<string>>(new Set());
  useEffect(() => {
    api<SessionList>(`/v1/conventions/${enc(slug)}/agenda`).then(
      (l) => setStars(new Set(l.sessions.map((s) => s.guid))),
      () => undefined,
    );
  }, [slug]);
  const toggle = async (guid: string, on: boolean) => {
    try {
      await api(`/v1/conventions/${enc(slug)}/agenda/${enc(guid)}`, { method: on ? 'PUT' : 'DELETE' });
      setStars((s) => {
        const n = new Set(s);
        if (on) n.add(guid);
        else n.delete(guid);
        return n;
      });
    } catch (e) {
      onError(e);
    }
  };
  return { stars, toggle };
}
