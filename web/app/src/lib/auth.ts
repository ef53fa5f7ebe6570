// Token handling. The link a user receives carries ?token=JWT; the app moves
// it into sessionStorage (per tab, gone when the tab closes) and removes it
// from the address bar so that it stays out of history, bookmarks and
// screenshots. The token is never verified here — the server does that —
// its claims are only read to shape the UI.

const KEY = 'plenary.token';

/** Role of a token, lowest to highest. */
export type Role = 'attendee' | 'speaker' | 'moderator' | 'organizer';

const ROLE_RANK: Record<Role, number> = { attendee: 1, speaker: 2, moderator: 3, organizer: 4 };

/** Claims the UI reads from the token (see internal/auth). */
export interface Claims {
  sub: string;
  tid: string;
  name?: string;
  role: Role;
  rooms?: string[];
  exp?: number;
}

/** atLeast reports whether role r is min or higher. */
export function atLeast(r: Role | string | undefined, min: Role): boolean {
  return !!r && (ROLE_RANK[r as Role] || 0) >= ROLE_RANK[min];
}

/** captureToken moves ?token= from the URL into sessionStorage. */
export function captureToken(): void {
  const url = new URL(location.href);
  const tok = url.searchParams.get('token');
  if (!tok) return;
  try {
    sessionStorage.setItem(KEY, tok);
  } catch {
    memoryToken = tok;
  }
  url.searchParams.delete('token');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
}

let memoryToken = '';

/** token returns the stored token, or ''. */
export function token(): string {
  try {
    return sessionStorage.getItem(KEY) || memoryToken;
  } catch {
    return memoryToken;
  }
}

/** setToken replaces the stored token (used after sign-in with a pasted link). */
export function setToken(tok: string): void {
  memoryToken = tok;
  try {
    sessionStorage.setItem(KEY, tok);
  } catch {
    /* private mode: memory only */
  }
}

/** claims decodes the token's payload, or returns null when there is none. */
export function claims(): Claims | null {
  const t = token();
  const part = t.split('.')[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
    const c = JSON.parse(new TextDecoder().decode(bytes)) as Claims;
    if (typeof c.sub !== 'string' || typeof c.role !== 'string') return null;
    return c;
  } catch {
    return null;
  }
}

/** expired reports whether the token's exp has passed. */
export function expired(c: Claims | null): boolean {
  return !!c && !!c.exp && c.exp * 1000 < Date.now();
}
