// App is the shell: header with navigation, the page for the current path,
// and focus moved to the page heading after each navigation so that screen
// reader and keyboard users land where the new content starts.

import { useEffect, useRef } from 'preact/hooks';
import { atLeast, claims, expired, setToken } from './lib/auth';
import { Link, match, navigate, useLocation } from './lib/router';
import { ConventionHome } from './pages/convention';
import { ConventionList } from './pages/conventions';
import { Agenda } from './pages/agenda';
import { SessionPage } from './pages/session';
import { OrganizerHome } from './pages/organizer';
import { OrganizerConvention } from './pages/organizer-convention';
import { LibraryHome } from './pages/library';
import { CoursePage } from './pages/course';
import { WatchPage } from './pages/watch';
import { ErrorBox } from './components/common';

/** App renders the page for the current location. */
export function App() {
  const { path, query } = useLocation();
  const main = useRef<HTMLElement>(null);
  useEffect(() => {
    const h = main.current?.querySelector('h1');
    if (h) {
      h.setAttribute('tabindex', '-1');
      h.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }, [path]);

  const c = claims();
  const tm = match('/t/:tenant', path) || /^\/t\/([^/]+)\//.exec(path);
  const tenant = tm ? (Array.isArray(tm) ? decodeURIComponent(tm[1]) : tm.tenant) : c?.tid || '';
  const wide = /\/(stage|live|moderate)\//.test(path);

  let page;
  let m: Record<string, string> | null;
  if (!c) page = <SignIn />;
  else if (expired(c)) page = <SignIn expired />;
  else if (tenant && c.tid !== tenant) page = <ErrorBox error={`This link is for "${c.tid}", not "${tenant}". Open the link you were given for this convention.`} />;
  else if (path === '/' || path === '/t/' || match('/t/:tenant', path)) page = <ConventionList tenant={tenant} />;
  else if ((m = match('/t/:tenant/c/:slug', path))) page = <ConventionHome tenant={tenant} slug={m.slug} />;
  else if ((m = match('/t/:tenant/c/:slug/agenda', path))) page = <Agenda tenant={tenant} slug={m.slug} />;
  else if ((m = match('/t/:tenant/stage/:room', path) || match('/t/:tenant/live/:room', path))) page = <SessionPage key={m.room} tenant={tenant} room={m.room} convention={query.get('c') || ''} console={false} />;
  else if ((m = match('/t/:tenant/moderate/:room', path))) page = <SessionPage key={m.room} tenant={tenant} room={m.room} convention={query.get('c') || ''} console />;
  else if (match('/t/:tenant/organizer', path)) page = <OrganizerHome tenant={tenant} />;
  else if ((m = match('/t/:tenant/organizer/:slug', path))) page = <OrganizerConvention tenant={tenant} slug={m.slug} />;
  else if (match('/t/:tenant/library', path)) page = <LibraryHome tenant={tenant} />;
  else if ((m = match('/t/:tenant/library/course/:id', path))) page = <CoursePage tenant={tenant} id={m.id} />;
  else if ((m = match('/t/:tenant/library/watch/:id', path))) page = <WatchPage tenant={tenant} id={m.id} course={query.get('course') || ''} />;
  else page = <NotFound />;

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href={tenant ? `/t/${encodeURIComponent(tenant)}/` : '/'} class="brand">
          Plenary
        </Link>
        {c && tenant && (
          <nav aria-label="Main">
            <Link href={`/t/${encodeURIComponent(tenant)}/`} aria-current={match('/t/:tenant', path) ? 'page' : undefined}>
              Schedule
            </Link>
            <Link href={`/t/${encodeURIComponent(tenant)}/library`} aria-current={path.includes('/library') ? 'page' : undefined}>
              Library
            </Link>
            {atLeast(c.role, 'organizer') && (
              <Link href={`/t/${encodeURIComponent(tenant)}/organizer`} aria-current={path.includes('/organizer') ? 'page' : undefined}>
                Organizer
              </Link>
            )}
          </nav>
        )}
        {c && (
          <span class="whoami">
            {c.name || c.sub} <span class="badge">{c.role}</span>
          </span>
        )}
      </header>
      <main id="main" ref={main} class={wide ? 'wide' : ''}>
        {page}
      </main>
    </>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        <Link href="/">Go to the start page</Link>
      </p>
    </section>
  );
}

/** SignIn asks for the invitation link when the tab has no token. */
function SignIn({ expired: exp = false }: { expired?: boolean }) {
  const onSubmit = (e: Event) => {
    e.preventDefault();
    const v = (new FormData(e.target as HTMLFormElement).get('link') as string).trim();
    let tok = v;
    let dest = '/';
    try {
      const u = new URL(v);
      tok = u.searchParams.get('token') || '';
      dest = u.pathname;
    } catch {
      /* a bare token */
    }
    if (!tok) return;
    setToken(tok);
    const c = claims();
    navigate(dest !== '/' ? dest : c ? `/t/${encodeURIComponent(c.tid)}/` : '/');
  };
  return (
    <section class="narrow">
      <h1>{exp ? 'Your link has expired' : 'Welcome to Plenary'}</h1>
      <p>Open the personal link you received from the organizers, or paste it here.</p>
      <form onSubmit={onSubmit} class="stack">
        <label for="link">Invitation link</label>
        <input id="link" name="link" type="text" required autocomplete="off" placeholder="https://…/t/…?token=…" />
        <button type="submit">Continue</button>
      </form>
    </section>
  );
}
