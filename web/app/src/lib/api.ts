// REST client for the same-origin API (docs/openapi.yaml, docs/recording.md,
// docs/protocol-chat.md). Every call sends the bearer token; errors come
// back as ApiError with the server's stable code.

import { token } from './auth';

/** ApiError is a failed API call: HTTP status plus the server's error body. */
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: number,
    message: string,
    public retryable = false,
  ) {
    super(message);
  }
}

interface Options {
  method?: string;
  body?: unknown;
  raw?: BodyInit;
  contentType?: string;
  signal?: AbortSignal;
}

/** api calls path and decodes a JSON answer (undefined for 204). */
export async function api<T>(path: string, opts: Options = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const tok = token();
  if (tok) headers.Authorization = `Bearer ${tok}`;
  let body: BodyInit | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['Content-Type'] = opts.contentType || 'application/octet-stream';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(path, { method: opts.method || 'GET', headers, body, signal: opts.signal, credentials: 'same-origin' });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 0, 'The server cannot be reached. Check your connection.', true);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: number; message?: string; retryable?: boolean } } | undefined)?.error;
    const msg = err?.message || (res.status === 404 ? 'Not found' : `Request failed (${res.status})`);
    throw new ApiError(res.status, err?.code || 0, msg, err?.retryable || res.status >= 500);
  }
  return data as T;
}

/** enc escapes one URL path segment. */
export const enc = encodeURIComponent;

/** errorText turns anything thrown into a sentence for the UI. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 401) return 'Your link has expired or is invalid. Ask the organizer for a new one.';
    if (e.status === 403) return `Not allowed: ${e.message}`;
    return e.message;
  }
  if (e && typeof e === 'object' && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}
